"""Properties of every parser and form field, for any input (hypothesis): customer numbers,
activation codes, e-mail addresses, logins, passwords in any Unicode, redirect URIs, scopes.

Each property says what the function promises for all strings, not for a chosen few: a
parser never raises, what it accepts has the documented shape, its cleaning is idempotent,
and the spellings people type (separators, case) come back to one value.
"""

from __future__ import annotations

import re
import string
import unicodedata

from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp import forms
from idp.accounts.activation import is_activation_code
from idp.accounts.activation import is_customer_number
from idp.accounts.activation import normalise_customer_number
from idp.accounts.passwords import MAX_LENGTH
from idp.accounts.passwords import Reason
from idp.accounts.passwords import check_password_policy
from idp.accounts.passwords import hash_password
from idp.accounts.passwords import normalise
from idp.accounts.passwords import verify_password
from idp.config import Settings
from idp.models.account import normalise_login
from idp.models.oauth import Client
from idp.uris import loopback_without_port
from idp.uris import uri_is_registered
from tests.property.conftest import budget
from tests.property.conftest import count

# Anything a form field can carry: all of Unicode but surrogates (a browser cannot send
# them; werkzeug decodes invalid UTF-8 to U+FFFD), control characters and NUL included.
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
SEPARATORS = st.sampled_from([" ", ".", "/", "-", "\t"])
CHEAP_ARGON2 = Settings(argon2_time_cost=1, argon2_memory_cost=1024, argon2_parallelism=1)
DIGITS = st.text(st.sampled_from(string.digits), min_size=9, max_size=9)


def spread(value: str, separators: list[str]) -> str:
    """``value`` with separators between its characters, as printed on an invoice."""
    return "".join(c + (separators[i] if i < len(separators) else "") for i, c in enumerate(value))


# ---- customer numbers and activation codes (product §2) -----------------------------------------


@given(ANY_TEXT)
def test_a_customer_number_is_accepted_only_as_ten_ascii_digits_starting_with_2(raw):
    count("customer number")
    checked = forms.check_customer_number(raw)
    if checked.error is None:
        assert re.fullmatch(r"2[0-9]{9}", checked.value)
        assert forms.check_customer_number(checked.value) == checked  # idempotent
    else:
        assert checked.error in (forms.REQUIRED, forms.CUSTOMER_NUMBER_FORMAT)


@given(DIGITS, st.lists(SEPARATORS, max_size=9), st.sampled_from(["", " ", "  "]))
def test_separators_people_type_in_a_customer_number_are_ignored(tail, separators, pad):
    count("customer number")
    number = "2" + tail
    typed = pad + spread(number, separators) + pad
    assert forms.check_customer_number(typed).value == number
    assert forms.check_customer_number(typed).error is None


@given(st.text(st.characters(categories=["Nd"]), min_size=10, max_size=10))
def test_only_ascii_digits_make_a_customer_number_or_a_code(digits):
    """\\d would accept Arabic-Indic or fullwidth digits; the formats are ASCII."""
    count("customer number")
    assume(not digits.isascii())
    assert not is_customer_number(normalise_customer_number(digits))
    assert forms.check_activation_code(digits).error == forms.ACTIVATION_CODE_FORMAT


@given(ANY_TEXT)
def test_an_activation_code_is_accepted_only_as_ten_ascii_digits(raw):
    count("activation code")
    checked = forms.check_activation_code(raw)
    if checked.error is None:
        assert is_activation_code(checked.value) and re.fullmatch(r"[0-9]{10}", checked.value)
        assert forms.check_activation_code(checked.value) == checked
    else:
        assert checked.error in (forms.REQUIRED, forms.ACTIVATION_CODE_FORMAT)


@given(st.text(st.sampled_from(string.digits), min_size=10, max_size=10), st.lists(SEPARATORS))
def test_separators_in_an_activation_code_are_ignored(code, separators):
    count("activation code")
    assert forms.check_activation_code(spread(code, separators)).value == code


# ---- e-mail addresses ------------------------------------------------------------------------


@given(ANY_TEXT)
def test_an_accepted_email_has_one_at_no_space_and_fits_smtp(raw):
    count("e-mail")
    checked = forms.check_email(raw)
    if checked.error is None:
        value = checked.value
        assert value.count("@") == 1 and len(value) <= forms.MAX_EMAIL
        assert not any(c.isspace() or unicodedata.category(c) == "Cc" for c in value)
        local, domain = value.split("@")
        assert local and "." in domain and domain == domain.lower()
        assert forms.check_email(value) == checked  # cleaning twice changes nothing
    else:
        assert checked.error in (forms.REQUIRED, forms.EMAIL_INVALID)


@given(st.emails())
def test_ordinary_addresses_are_accepted_with_the_domain_in_lower_case(address):
    count("e-mail")
    assume(len(address) <= forms.MAX_EMAIL)
    local, domain = address.rsplit("@", 1)
    assume(len(local) <= 64)
    assert forms.check_email(address.upper() if address.isascii() else address).error is None
    assert forms.check_email(address).value == f"{local}@{domain.lower()}"


@given(st.emails(), st.sampled_from(["", " ", "\t", "  "]))
def test_an_email_is_trimmed_and_nfc_normalised(address, pad):
    count("e-mail")
    assume(len(address) <= forms.MAX_EMAIL and len(address.split("@")[0]) <= 64)
    assert forms.check_email(pad + address + pad) == forms.check_email(address)
    decomposed = unicodedata.normalize("NFD", address)
    assert forms.check_email(decomposed) == forms.check_email(address)


# ---- logins ------------------------------------------------------------------------------------


@given(ANY_TEXT)
def test_an_accepted_login_is_printable_ascii_of_3_to_254_characters(raw):
    count("login")
    checked = forms.check_login(raw)
    if checked.error is None:
        assert 3 <= len(checked.value) <= 254 and checked.value.isascii()
        assert re.fullmatch(r"[A-Za-z0-9._@+'\-]+", checked.value)
    else:
        assert checked.error in (forms.REQUIRED, forms.LOGIN_INVALID)


@given(ANY_TEXT)
def test_login_normalisation_is_idempotent_and_case_blind(raw):
    """Logins are unique without regard to case (product §2): one stored form per spelling."""
    count("login")
    once = normalise_login(raw)
    assert normalise_login(once) == once
    assert normalise_login(raw.upper()) == normalise_login(raw.lower()) or not raw.isascii()


# ---- passwords in any Unicode (NIST SP 800-63B-4 §3.1.1.2) ------------------------------------


@given(ANY_TEXT, st.lists(ANY_TEXT, max_size=3))
def test_the_password_policy_answers_for_any_unicode_and_never_truncates(password, context):
    count("password policy")
    reasons = check_password_policy(password, CHEAP_ARGON2, tuple(context))
    length = len(normalise(password))
    assert (Reason.TOO_LONG in reasons) == (length > MAX_LENGTH)
    if length <= MAX_LENGTH:
        assert (Reason.TOO_SHORT in reasons) == (length < CHEAP_ARGON2.password_min_length)
    assert len(set(reasons)) == len(reasons)


@given(
    st.text(st.characters(exclude_categories=["Cs"]), min_size=4, max_size=20).filter(
        lambda w: len(normalise(w).casefold().strip()) >= 4
    ),
    ANY_TEXT,
)
def test_a_password_holding_the_login_is_refused(login, rest):
    count("password policy")
    password = rest + login + rest
    assume(len(normalise(password)) <= MAX_LENGTH)
    # NFKC then casefold may merge the login into its neighbours differently: compare as the
    # policy does.
    assume(normalise(login).casefold().strip() in normalise(password).casefold())
    assert Reason.CONTAINS_CONTEXT in check_password_policy(password, CHEAP_ARGON2, (login,))


@settings(max_examples=budget(0.3))
@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=80))
def test_any_unicode_password_hashes_and_verifies_in_any_normal_form(password):
    """NFKC before hashing: the same password typed on another keyboard (composed or not,
    fullwidth or not) verifies; another password does not."""
    count("password hash")
    stored = hash_password(password, CHEAP_ARGON2)
    assert verify_password(stored, password, CHEAP_ARGON2)
    assert verify_password(stored, unicodedata.normalize("NFD", password), CHEAP_ARGON2)
    assert not verify_password(stored, password + "x", CHEAP_ARGON2)
    assert not verify_password("not-a-phc-string", password, CHEAP_ARGON2)


@given(ANY_TEXT, ANY_TEXT)
def test_the_new_password_form_compares_normalised_and_never_strips(password, confirm):
    count("password form")
    error, confirm_error = forms.check_new_password(password, confirm)
    if not password:
        assert error == forms.REQUIRED
    elif error is None:
        assert (confirm_error is None) == (normalise(password) == normalise(confirm))
    forms_again = forms.check_new_password(password, password)
    assert forms_again[1] is None


# ---- redirect URIs (RFC 9700 §4.1.3, RFC 8252 §7.3) -----------------------------------------

PATHS = st.from_regex(r"/[A-Za-z0-9/_\-]{0,20}", fullmatch=True)
PORTS = st.integers(min_value=1, max_value=65535)
REGISTERED_WEB = "https://customer-space.example.be/callback"


@given(ANY_TEXT)
def test_a_redirect_uri_is_registered_only_as_the_exact_string(uri):
    count("redirect uri")
    assert uri_is_registered(uri, [REGISTERED_WEB], native=False) == (uri == REGISTERED_WEB)
    assert uri_is_registered(uri, [REGISTERED_WEB], native=True) == (uri == REGISTERED_WEB)


@given(st.sampled_from(["127.0.0.1", "[::1]"]), PATHS, PORTS, PORTS)
def test_a_native_loopback_redirect_may_change_its_port_and_nothing_else(host, path, port, other):
    count("redirect uri")
    registered = f"http://{host}:{port}{path}"
    assert uri_is_registered(f"http://{host}:{other}{path}", [registered], native=True)
    assert uri_is_registered(f"http://{host}{path}", [registered], native=True)
    assert not uri_is_registered(f"http://{host}:{other}{path}", [registered], native=False) or (
        port == other
    )
    assert not uri_is_registered(f"http://{host}:0{other}{path}", [registered], native=True)
    assert not uri_is_registered(f"HTTP://{host}:{other}{path}", [registered], native=True)
    assert not uri_is_registered(f"http://{host}:{other}{path}x", [registered], native=True)
    assert not uri_is_registered(f"http://{host}:{other + 65536}{path}", [registered], native=True)


@given(ANY_TEXT)
def test_loopback_parsing_never_raises_and_strips_only_a_decimal_port(uri):
    count("redirect uri")
    bare = loopback_without_port(uri)
    if bare is not None:
        assert bare.startswith(("http://127.0.0.1", "http://[::1]"))
        assert loopback_without_port(bare) == bare
        assert len(bare) <= len(uri)


# ---- scopes (RFC 6749 §3.3) -----------------------------------------------------------------

SCOPE_WORDS = st.sampled_from(
    ["openid", "profile", "email", "offline_access", "eligibility", "admin", "OPENID", "x"]
)


@given(st.one_of(ANY_TEXT, st.lists(SCOPE_WORDS).map(" ".join)))
def test_the_allowed_scope_is_the_requested_registered_ones_in_order_once(scope):
    count("scope")
    client = Client(scope="openid profile email eligibility")
    allowed = client.get_allowed_scope(scope).split(" ") if client.get_allowed_scope(scope) else []
    requested = [s for s in scope.split(" ") if s]  # RFC 6749 §3.3: the space alone separates
    assert allowed == list(dict.fromkeys(s for s in requested if s in client.scope.split()))
