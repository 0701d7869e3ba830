"""The customer-data step (product §3.5) and the login and password step (product §3.6): formats at
the field, one generic message for a wrong number or code, lockout, the IP and global brakes
against code spraying, the already-activated answer, the password rules in plain words,
case-insensitive logins, and one account however many parallel creations."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idp.accounts.passwords import MAX_LENGTH
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.extensions import db
from idp.models.account import Account
from idp.models.account import AccountCustomer
from idp.models.registration import RegistrationRequest
from tests.conftest import csrf_token
from tests.flow.registration_steps import ACTIVATED_CUSTOMER
from tests.flow.registration_steps import GENEROUS
from tests.flow.registration_steps import NEW_CODE
from tests.flow.registration_steps import NEW_CUSTOMER
from tests.flow.registration_steps import OTHER_CODE
from tests.flow.registration_steps import OTHER_CUSTOMER
from tests.flow.registration_steps import STRONG_PASSWORD
from tests.flow.registration_steps import accept_cookies
from tests.flow.registration_steps import account_count
from tests.flow.registration_steps import alert_texts
from tests.flow.registration_steps import choose_password
from tests.flow.registration_steps import customer
from tests.flow.registration_steps import english
from tests.flow.registration_steps import in_parallel
from tests.flow.registration_steps import mails
from tests.flow.registration_steps import new_link
from tests.flow.registration_steps import register
from tests.flow.registration_steps import submit_customer
from tests.flow.registration_steps import uses_of
from tests.flow.registration_steps import verify
from tests.oidc import ISSUER

NEW = "nouvelle.cliente@example.be"
GENERIC = (
    "This customer number and activation code do not match. Check them on your latest "
    "invoice. After several wrong codes the code is blocked: contact us to receive a new one."
)
DEMO_LOGIN_LINK = f"{ISSUER}/start-login?login_hint=demo.actif%40example.be"
OWN_WORDS = "your login, your e-mail address or your customer"


@pytest.fixture
def overrides():
    """Limits out of the way unless a test tightens one with the ``settings`` marker."""
    return dict(GENEROUS)


@pytest.fixture(autouse=True)
def english_pages(test_client):
    """Pages in English: the assertions quote the message ids."""
    english(test_client)


@pytest.fixture
def browser(app, test_client):
    """A browser that accepted the cookie notice."""
    accept_cookies(test_client)
    return test_client


@pytest.fixture
def link(app, browser):
    """A fresh activation link of NEW."""
    return new_link(app, browser, NEW)


# ---- customer data: formats, match, lockout --------------------------------------------------


def test_page_shows_the_email_the_fields_and_their_help(browser, link):
    page = browser.get(link).text
    assert f'value="{NEW}"' in page and "readonly" in page
    for field in ("customer_number", "activation_code"):
        assert f'<label for="{field}">' in page
        assert re.search(rf'id="{field}"[^>]*inputmode="numeric"', page)
    assert page.count('<details class="help-details"') == 2 and "Need help?" in page
    assert "The customer number has 10 digits and starts with 2" in page
    assert "The activation code has 10 digits" in page
    assert "“Identifiant”" in page and ">Log in</a>" in page
    assert page.count('name="csrf_token"') == 1


@pytest.mark.parametrize(
    ("number", "code", "errors"),
    [
        ("", NEW_CODE, {"customer_number"}),
        ("1000000018", NEW_CODE, {"customer_number"}),
        ("20000000345", NEW_CODE, {"customer_number"}),
        ("２０００００００３４", NEW_CODE, {"customer_number"}),
        (NEW_CUSTOMER, "", {"activation_code"}),
        (NEW_CUSTOMER, "48151623", {"activation_code"}),
        (NEW_CUSTOMER, "48151623AB", {"activation_code"}),
        ("abc", "def", {"customer_number", "activation_code"}),
    ],
)
def test_format_errors_are_shown_at_the_field(app, browser, link, number, code, errors):
    response = submit_customer(browser, link, number, code)
    assert response.status_code == 400
    for field in ("customer_number", "activation_code"):
        marked = f'id="{field}-error" role="alert"' in response.text
        assert marked is (field in errors), field
        if marked:
            assert re.search(
                rf'id="{field}"[^>]*aria-invalid="true"[^>]*aria-describedby="'
                rf'[^"]*{field}-error',
                response.text,
            )
    assert GENERIC not in response.text
    assert uses_of(app, NEW) == [0]


def test_separators_are_accepted(app, browser, link):
    response = submit_customer(browser, link, "2.000.000/034", "4815 162 342")
    assert response.status_code == 303 and response.headers["Location"] == link + "/password"
    with app.app_context():
        row = db.session.scalar(select(RegistrationRequest))
        assert row.customer_id == customer(app, NEW_CUSTOMER).id and row.verified_at
        assert row.uses == 1


def test_wrong_number_and_wrong_code_get_one_generic_message(app, browser):
    answers = []
    for number, code in [
        ("2999999999", NEW_CODE),  # no such customer
        (NEW_CUSTOMER, "1111111111"),  # wrong code
        ("2000000075", NEW_CODE),
    ]:  # another customer's number
        link = new_link(app, browser, NEW)
        response = submit_customer(browser, link, number, code)
        assert response.status_code == 400
        answers.append(alert_texts(response.text))
    assert answers == [[GENERIC]] * 3
    assert customer(app, NEW_CUSTOMER).failed_activations == 1


# The number's growing waits (tests/flow/test_activation_spraying.py) are widened here: this
# test is about the lock behind them.
@pytest.mark.settings(registration_link_max_uses=10, activation_number_rate_limit="10/hour")
def test_the_code_locks_after_five_failures(app, browser, link):
    for n in range(5):
        response = submit_customer(browser, link, NEW_CUSTOMER, f"100000000{n}")
        assert alert_texts(response.text) == [GENERIC]
    locked = customer(app, NEW_CUSTOMER)
    assert locked.failed_activations == 5 and locked.activation_locked_at is not None
    response = submit_customer(browser, link, NEW_CUSTOMER, NEW_CODE)  # even the right code
    # Issue #8 finding 2: the generic answer, not "blocked" (which would confirm the number);
    # the lock holds.
    assert response.status_code == 400 and alert_texts(response.text) == [GENERIC]
    still = customer(app, NEW_CUSTOMER)
    assert still.activated_at is None and still.activation_locked_at == locked.activation_locked_at
    assert browser.get(link + "/password").status_code == 303  # back to the customer data
    # Another customer is not affected.
    assert submit_customer(browser, link, OTHER_CUSTOMER, OTHER_CODE).status_code == 303


@pytest.mark.settings(registration_link_max_uses=10, activation_number_rate_limit="10/hour")
def test_a_right_code_resets_the_failures(app, browser, link):
    for n in range(4):
        submit_customer(browser, link, NEW_CUSTOMER, f"100000000{n}")
    assert submit_customer(browser, link, NEW_CUSTOMER, NEW_CODE).status_code == 303
    assert customer(app, NEW_CUSTOMER).failed_activations == 0


@pytest.mark.settings(registration_link_max_uses=20)
def test_parallel_guesses_never_pass_the_lockout(app, browser, link):
    prepared = []
    for n in range(8):
        other = app.test_client()
        accept_cookies(other)
        token = csrf_token(other.get(link).text)
        prepared.append(
            lambda c=other, t=token, n=n: c.post(
                link,
                data={
                    "csrf_token": t,
                    "customer_number": NEW_CUSTOMER,
                    "activation_code": f"20000000{n:02d}",
                },
            )
        )
    results = in_parallel(prepared)
    assert all(getattr(r, "status_code", None) == 400 for r in results), results
    assert all(alert_texts(r.text) == [GENERIC] for r in results)
    locked = customer(app, NEW_CUSTOMER)
    assert locked.failed_activations == 5 and locked.activation_locked_at is not None


SPRAY = ["2000000042", "2000000059", "2000000067", "2000000075"]


@pytest.mark.settings(activation_rate_limit="3/hour", registration_link_max_uses=10)
def test_spraying_one_code_hits_the_per_ip_limit(app, browser, link):
    statuses = [
        submit_customer(browser, link, number, "1234567890").status_code for number in SPRAY
    ]
    assert statuses == [400, 400, 400, 429]
    assert uses_of(app, NEW) == [3]
    assert all(customer(app, n).failed_activations <= 1 for n in SPRAY)


@pytest.mark.settings(activation_global_rate_limit="3/hour", registration_link_max_uses=10)
def test_spraying_from_many_addresses_hits_the_global_limit(app, browser, link):
    """Past three wrong codes in total every submission waits (issue #8 finding 8; more in
    tests/flow/test_activation_spraying.py)."""
    statuses = [
        submit_customer(
            browser, link, number, "1234567890", environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}
        ).status_code
        for n, number in enumerate([*SPRAY, NEW_CUSTOMER])
    ]
    assert statuses == [400, 400, 400, 400, 429]


def test_an_activated_number_with_any_code_gets_the_generic_answer(app, browser, link):
    """Issue #8 finding 2: customer number 2000000018 with any code used to answer 409 "this
    customer already has an account" — to anyone. Without the right code it is the generic
    mismatch, and the owner gets no mail."""
    response = submit_customer(browser, link, ACTIVATED_CUSTOMER, "1234567890")
    assert response.status_code == 400 and alert_texts(response.text) == [GENERIC]
    assert "already has an account" not in response.text
    assert mails(app, "customer_already_activated") == []


@pytest.fixture
def owned(app) -> str:
    """NEW_CUSTOMER activated through a registration (its used code kept as a keyed hash);
    returns the owner's address."""
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "192.0.2.200"  # its own registration-mail budget
    accept_cookies(owner)
    assert register(app, owner, "owner@example.be").status_code == 303
    return "owner@example.be"


def test_the_already_has_an_account_answer_comes_after_the_right_code(app, browser, owned):
    """product §3.5 with issue #8 finding 2: whoever proves the code hears "log in or reset your
    password", and the owner is told by mail; a wrong code gets the generic answer."""
    link = new_link(app, browser, NEW)
    wrong = submit_customer(browser, link, NEW_CUSTOMER, "1234567890")
    assert wrong.status_code == 400 and alert_texts(wrong.text) == [GENERIC]
    assert mails(app, "customer_already_activated") == []
    response = submit_customer(browser, link, NEW_CUSTOMER, NEW_CODE)
    assert response.status_code == 409
    assert "This customer already has an account" in response.text
    assert f'href="{ISSUER}/forgot/password"' in response.text
    assert 'href="http://127.0.0.1:5001/login?iss=' in response.text  # log in
    (mail,) = mails(app, "customer_already_activated")
    assert mail.to_address == owned
    assert mail.context == {
        "login": owned,
        "login_link": f"{ISSUER}/start-login?login_hint=owner%40example.be",
        "reset_link": f"{ISSUER}/forgot/password",
    }
    with app.app_context():
        row = db.session.scalar(select(RegistrationRequest).where(RegistrationRequest.email == NEW))
        assert row.customer_id is None and row.uses == 2


@pytest.mark.settings(registration_rate_limit="1/hour", registration_link_max_uses=10)
def test_the_owner_is_not_flooded_with_mails(app, browser, owned):
    link = new_link(app, browser, NEW)
    for _ in range(3):
        assert submit_customer(browser, link, NEW_CUSTOMER, NEW_CODE).status_code == 409
    assert len(mails(app, "customer_already_activated")) == 1


# ---- the password step -----------------------------------------------------------------------


def test_the_password_step_belongs_to_the_browser_that_proved_the_customer(app, browser, link):
    verify(browser, link)
    stranger = app.test_client()  # has the link (a forwarded mail) but not the customer data
    accept_cookies(stranger)
    response = stranger.get(link + "/password")
    assert response.status_code == 303 and response.headers["Location"] == link
    assert choose_password(stranger, link, "stranger").status_code == 303  # sent back
    assert account_count(app) == 2  # the demo accounts only
    page = browser.get(link + "/password")
    assert page.status_code == 200 and f'value="{NEW}"' in page.text
    assert page.text.count('data-reveal="') == 2  # show/hide on both password fields


def test_the_password_step_expires_with_its_verification(app, browser, link, monkeypatch):
    from idp.views.registration import password as views

    verify(browser, link)
    monkeypatch.setattr(views, "STEP_TTL", -1)
    assert browser.get(link + "/password").status_code == 303


REFUSALS = [
    ("too short", "Short 2026", "Use at least 12 characters."),
    ("common", "Password-2026!", "one of the most used or leaked ones"),
    ("repeated common", "sunshinesunshine", "one of the most used or leaked ones"),
    ("repetitive", "abababababababab", "repeats characters or follows a sequence"),
    ("sequence", "1234567890123", "repeats characters or follows a sequence"),
    ("e-mail", "nouvelle.cliente du 77", OWN_WORDS),
    ("customer number", "mon numero 2000000034", OWN_WORDS),
    ("login", "le login kangourou9 et moi", OWN_WORDS),
    ("service name", "Mon Engie a moi 2026", "the name of our company or of this service"),
    ("smart app", "ma smart-app du matin", "the name of our company or of this service"),
    ("too long", "x" * (MAX_LENGTH - 3) + "2026", f"use at most {MAX_LENGTH} characters"),
    ("far too long", "y" * 5000, f"use at most {MAX_LENGTH} characters"),
    ("empty", "", "Please fill in this field."),
]


@pytest.mark.parametrize(
    ("password", "reason"),
    [pytest.param(password, reason, id=name) for name, password, reason in REFUSALS],
)
def test_refused_passwords_say_why_in_plain_words(app, browser, link, password, reason):
    verify(browser, link)
    response = choose_password(browser, link, "kangourou9", password)
    errors = " ".join(alert_texts(response.text))
    assert response.status_code == 400 and reason in errors, errors
    assert re.search(r'id="password"[^>]*aria-invalid="true"', response.text), "not marked invalid"
    assert account_count(app) == 2


def test_several_reasons_are_listed_together(browser, link):
    verify(browser, link)
    response = choose_password(browser, link, NEW, "engie")
    errors = " ".join(alert_texts(response.text))
    assert "Use at least 12 characters" in errors
    assert "the name of our company or of this service" in errors


def test_confirmation_must_match(app, browser, link):
    verify(browser, link)
    response = choose_password(browser, link, NEW, STRONG_PASSWORD, confirm=STRONG_PASSWORD + "!")
    assert response.status_code == 400
    assert alert_texts(response.text) == ["The two passwords are not the same."]
    assert 'id="confirm-error" role="alert"' in response.text


def test_a_mistyped_confirmation_does_not_hide_a_refused_password(browser, link):
    verify(browser, link)
    response = choose_password(browser, link, NEW, "Password-2026!", confirm="Password-2026")
    assert alert_texts(response.text) == [
        "This password is one of the most used or leaked ones: attackers try those first.",
        "The two passwords are not the same.",
    ]


def test_a_long_unicode_password_is_accepted_untruncated_and_nfkc(app, browser, link):
    password = "ﬁlet de Saint-Pierre au beurre blanc, " * 2 + "é" * 20  # ligature, 96 characters
    verify(browser, link)
    assert choose_password(browser, link, NEW, password).status_code == 303
    from idp.accounts.login import authenticate

    with app.app_context():
        settings = app.config["IDP"]
        nfkc = password.replace("ﬁ", "fi")
        assert authenticate(db.session, NEW, nfkc, settings) is not None
        for shortened in (password[:72], password[:-1]):
            with pytest.raises(Refused) as refused:
                authenticate(db.session, NEW, shortened, settings)
            assert refused.value.reason is Refusal.BAD_CREDENTIALS


@pytest.mark.parametrize(
    "login", ["DEMO.ACTIF@EXAMPLE.BE", "demo.actif@example.be", " Demo.Actif@Example.be "]
)
def test_logins_are_unique_without_regard_to_case(app, browser, link, login):
    verify(browser, link)
    response = choose_password(browser, link, login)
    assert response.status_code == 400
    assert alert_texts(response.text) == ["This login is already taken. Choose another one."]
    assert account_count(app) == 2


@pytest.mark.parametrize("login", ["ab", "with space", "accentué", "x" * 255])
def test_malformed_logins_are_refused_at_the_field(browser, link, login):
    verify(browser, link)
    response = choose_password(browser, link, login)
    assert response.status_code == 400 and 'id="login-error" role="alert"' in response.text


def test_the_account_is_created_in_one_transaction(app, browser, link):
    verify(browser, link)
    response = choose_password(browser, link, "Sophie.Lambert")
    assert response.status_code == 303
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.login == "sophie.lambert"))
        assert account.email == NEW and account.email_verified and account.status == "active"
        assert [c.number for c in account.customers] == [NEW_CUSTOMER]
        row = db.session.scalar(select(RegistrationRequest))
        assert row.consumed_at is not None
    activated = customer(app, NEW_CUSTOMER)
    # The used code is void (activated_at) but its keyed hash stays: it alone earns the
    # "already has an account" answer (issue #8 finding 2).
    assert activated.activated_at is not None and activated.activation_code_hash is not None
    (welcome,) = mails(app, "welcome")
    assert welcome.to_address == NEW
    assert welcome.context == {
        "login": "sophie.lambert",
        "login_link": f"{ISSUER}/start-login?login_hint=sophie.lambert",
    }


def test_a_second_registration_for_the_customer_is_told_it_has_an_account(app, browser):
    first = new_link(app, browser, NEW)
    verify(browser, first)
    assert choose_password(browser, first, NEW).status_code == 303
    second = new_link(app, browser, "autre@example.be")
    response = submit_customer(browser, second, NEW_CUSTOMER, NEW_CODE)
    assert response.status_code == 409 and "already has an account" in response.text
    (mail,) = mails(app, "customer_already_activated")
    assert mail.to_address == NEW


def _verified_browsers(app, emails):
    """One verified browser per e-mail (each with its own link) for NEW_CUSTOMER."""
    prepared = []
    for email in emails:
        other = app.test_client()
        accept_cookies(other)
        own = new_link(app, other, email)
        verify(other, own)
        prepared.append((other, own, csrf_token(other.get(own + "/password").text)))
    return prepared


def _create_call(client, link, token, login):
    return lambda: client.post(
        link + "/password",
        data={
            "csrf_token": token,
            "login": login,
            "password": STRONG_PASSWORD,
            "confirm": STRONG_PASSWORD,
        },
    )


def _one_account_for_the_customer(app):
    with app.app_context():
        linked = db.session.scalar(
            select(func.count())
            .select_from(AccountCustomer)
            .where(AccountCustomer.customer_id == customer(app, NEW_CUSTOMER).id)
        )
    assert linked == 1
    assert account_count(app) == 3
    assert len(mails(app, "welcome")) == 1


def test_parallel_creations_for_one_customer_make_one_account(app):
    emails = [f"personne{n}@example.be" for n in range(4)]
    prepared = _verified_browsers(app, emails)
    results = in_parallel(
        [_create_call(c, lk, t, f"login{n}") for n, (c, lk, t) in enumerate(prepared)]
    )
    statuses = sorted(getattr(r, "status_code", repr(r)) for r in results)
    assert statuses == [303, 409, 409, 409], statuses
    assert all("already has an account" in r.text for r in results if r.status_code == 409)
    _one_account_for_the_customer(app)


def test_a_double_submission_of_one_link_makes_one_account(app):
    """A double tap: two requests with the same cookies. The one that comes second shows the
    confirmation too when it overlapped, else the link is dead; never a second account."""
    ((client, own, token),) = _verified_browsers(app, ["double@example.be"])
    twin = app.test_client()
    for name in ("idp_browser", "cookie_notice"):
        twin.set_cookie(name, client.get_cookie(name).value)
    results = in_parallel(
        [_create_call(client, own, token, "double"), _create_call(twin, own, token, "double")]
    )
    outcomes = [
        "done"
        if r.status_code == 303 and r.headers["Location"].startswith("/register/done")
        else str(r.status_code)
        for r in results
    ]
    assert "done" in outcomes and set(outcomes) <= {"done", "410"}, outcomes
    _one_account_for_the_customer(app)


@pytest.mark.parametrize("moment", ["before-the-customer-read", "before-the-login-check"])
def test_a_double_submission_committed_in_between_shows_the_confirmation(app, monkeypatch, moment):
    """Deterministic version of the double tap: the first tap commits after the second one
    read the link (then the customer is activated) or after it read the customer (then the
    login is taken); the second shows the confirmation, not "already activated" or "taken"."""
    from idp.accounts import account_creation

    ((client, own, token),) = _verified_browsers(app, ["double@example.be"])
    twin = app.test_client()
    for name in ("idp_browser", "cookie_notice"):
        twin.set_cookie(name, client.get_cookie(name).value)
    first_tap, taps = _create_call(twin, own, token, "double"), []
    step = "open_password_step" if moment == "before-the-customer-read" else "password_refusals"
    real = getattr(account_creation, step)

    def step_then_first_tap(*args, **kwargs):
        answer = real(*args, **kwargs)
        if not taps:
            taps.append(None)
            taps.append(first_tap())
        return answer

    monkeypatch.setattr(account_creation, step, step_then_first_tap)
    second = _create_call(client, own, token, "double")()
    for response in (taps[1], second):
        assert response.status_code == 303, response.text
        assert response.headers["Location"].startswith("/register/done")
    _one_account_for_the_customer(app)


def test_parallel_creations_with_one_login_make_one_account(app):
    accept_a, accept_b = app.test_client(), app.test_client()
    prepared = []
    for client, email, number, code in [
        (accept_a, "a@example.be", NEW_CUSTOMER, NEW_CODE),
        (accept_b, "b@example.be", OTHER_CUSTOMER, OTHER_CODE),
    ]:
        accept_cookies(client)
        own = new_link(app, client, email)
        verify(client, own, number, code)
        prepared.append(
            _create_call(client, own, csrf_token(client.get(own + "/password").text), "Same.Login")
        )
    results = in_parallel(prepared)
    statuses = sorted(getattr(r, "status_code", repr(r)) for r in results)
    assert statuses == [303, 400], statuses
    loser = next(r for r in results if r.status_code == 400)
    assert alert_texts(loser.text) == ["This login is already taken. Choose another one."]
    assert account_count(app) == 3
