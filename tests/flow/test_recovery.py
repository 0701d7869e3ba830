"""Forgot login / forgot password / reset (product §3.8): the same answer whether or not an address
is known, mails only to active accounts, a single-use one-hour link that a mail scanner cannot
spend, a reset that ends every session and refresh token, throttling per address and per IP."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from idp.extensions import db
from idp.models.account import Account
from idp.models.base import utcnow
from tests.conftest import csrf_token
from tests.flow.recovery_steps import ask
from tests.flow.recovery_steps import assert_dead
from tests.flow.recovery_steps import latest_reset_path
from tests.flow.recovery_steps import mails
from tests.flow.recovery_steps import password_hash_of
from tests.flow.recovery_steps import request_reset
from tests.flow.recovery_steps import resets
from tests.flow.recovery_steps import secret_of
from tests.flow.recovery_steps import submit_password
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_INACTIVE
from tests.oidc import DEMO_PASSWORD
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_login
from tests.oidc import authorize_with_session
from tests.oidc import finish_login
from tests.oidc import login_and_get_tokens
from tests.oidc import redeem
from tests.oidc import refresh
from tests.oidc import run_in_parallel
from tests.oidc import set_account_status
from tests.oidc import start_login
from tests.oidc import submit_login
from tests.oidc import userinfo
from tests.presets import SECRET_KEY


class EnglishBrowser(FlaskClient):
    """A browser asking for English pages: the assertions quote the English messages (the
    message ids), whatever the catalogues say."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture(autouse=True)
def english_pages(app):
    """Every test client of this module, the fixture's and the extra ones, reads English."""
    app.test_client_class = EnglishBrowser


NEW_PASSWORD = "Windmolen aan de kust 2026"
UNKNOWN = "nobody.here@example.be"


# ---- same answer, right mail --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["password", "login"])
def test_same_answer_for_known_unknown_and_disabled_addresses(app, test_client, kind):
    """product §3.8 (no enumeration): the answer is the same page; only the known active account
    gets a mail (a disabled one gets none), with absolute links from the issuer."""
    set_account_status(app, DEMO_INACTIVE, "disabled")
    pages = []
    for email in (DEMO_ACTIVE, UNKNOWN, DEMO_INACTIVE):
        posted = ask(test_client, kind, email)
        assert posted.status_code == 303
        assert posted.headers["Location"] == f"/forgot/sent?kind={kind}"
        page = test_client.get(posted.headers["Location"])
        assert page.status_code == 200
        assert email in page.text
        pages.append(page.text.replace(email, "ADDRESS"))
    assert pages[0] == pages[1] == pages[2]

    sent = mails(app)
    assert [(m.to_address, m.language) for m in sent] == [(DEMO_ACTIVE, "fr")]
    if kind == "password":
        assert sent[0].template == "reset_password"
        assert re.fullmatch(rf"{re.escape(ISSUER)}/reset/[A-Za-z0-9_.\-]+", sent[0].context["link"])
        assert len(resets(app)) == 1
    else:
        assert sent[0].template == "forgot_login"
        assert sent[0].context == {
            "login": DEMO_ACTIVE,
            "login_link": f"{ISSUER}/start-login?login_hint=demo.actif%40example.be",
        }
        assert resets(app) == []


def test_forgot_login_mail_carries_the_login(app, test_client):
    """product §3.8 "Login: mail with the login" — the login, not the address it was asked for;
    the address is matched without regard to case or surrounding spaces."""
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.login == DEMO_ACTIVE))
        account.login = "amelie.dubois"
        db.session.commit()
    assert ask(test_client, "login", "  Demo.Actif@EXAMPLE.be ").status_code == 303
    (mail,) = mails(app)
    assert (mail.template, mail.to_address) == ("forgot_login", DEMO_ACTIVE)
    assert mail.context["login"] == "amelie.dubois"
    assert mail.context["login_link"] == f"{ISSUER}/start-login?login_hint=amelie.dubois"


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Enter your e-mail address."),
        ("not-an-address", "Enter an e-mail address such as name@example.be."),
        ("two words@example.be", "Enter an e-mail address such as name@example.be."),
        ("a" * 250 + "@example.be", "Enter an e-mail address such as name@example.be."),
        # The registration pages' rule (idp.forms.check_email), not a weaker one of its own.
        ("name@example", "Enter an e-mail address such as name@example.be."),
        ("name@@example.be", "Enter an e-mail address such as name@example.be."),
    ],
)
@pytest.mark.parametrize("kind", ["password", "login"])
def test_malformed_address_is_explained_at_the_field(app, test_client, kind, email, message):
    response = ask(test_client, kind, email)
    assert response.status_code == 400
    assert message in response.text
    assert 'role="alert"' in response.text and 'aria-describedby="email-error"' in response.text
    assert mails(app) == []


def test_address_is_escaped_on_the_answer_page(app, test_client):
    response = ask(test_client, "password", "<script>alert(1)</script>@example.be")
    page = test_client.get(response.headers["Location"])
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text


# ---- the whole reset ---------------------------------------------------------------------------


def test_reset_ends_sessions_and_tokens_and_the_new_password_works(app, test_client):
    """product §3.8: the reset ends every session and refresh token of the account and sends a
    notification; the old password stops working and the new one logs in."""
    phone = test_client
    tokens = login_and_get_tokens(phone)  # smart-app: refresh token + an OP session (SSO)
    authorize_with_session(phone, AuthorizationRequest.customer_space())  # SSO works now

    mailbox = app.test_client()  # the mail is opened in another browser
    path = request_reset(app, mailbox)
    for _ in range(2):  # a mail scanner, then the person: nothing consumed
        assert mailbox.get(path).status_code == 200
    assert mailbox.head(path).status_code == 200
    assert [r.used_at for r in resets(app)] == [None]
    old_hash = password_hash_of(app)

    posted = submit_password(mailbox, path, NEW_PASSWORD)
    assert posted.status_code == 303
    assert posted.headers["Location"] == "/reset/done"
    done = mailbox.get("/reset/done")
    assert done.status_code == 200 and "Your password is changed" in done.text
    assert 'href="http://localhost/start-login?login_hint=demo.actif%40example.be"' in done.text
    assert password_hash_of(app) != old_hash

    # Every refresh and access token ended; the OP session no longer gives SSO.
    refused = refresh(phone, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert userinfo(phone, tokens["access_token"]).status_code == 401
    request = AuthorizationRequest()
    login_page = start_login(phone, request)

    assert submit_login(phone, login_page, DEMO_ACTIVE, DEMO_PASSWORD).status_code == 401
    fresh = redeem(phone, request, finish_login(phone, request, login_page, password=NEW_PASSWORD))
    assert fresh["claims"]["sub"] == tokens["claims"]["sub"]

    changed = mails(app, "password_changed")
    assert [(m.to_address, m.language) for m in changed] == [(DEMO_ACTIVE, "fr")]
    assert changed[0].context == {"login": DEMO_ACTIVE, "reset_link": f"{ISSUER}/forgot/password"}


def test_reset_started_from_a_login_page_returns_to_it(app, test_client):
    """product §3.1 → §3.8: "forgot" from the login page of a pending request; once the password is
    changed, the way to log in is that same pending login, which then completes the flow."""
    request = AuthorizationRequest()
    login_page = start_login(test_client, request)
    uid = login_page.rsplit("/", 1)[1]
    assert f'href="/forgot?uid={uid}"' in test_client.get(login_page).text
    choice = test_client.get(f"/forgot?uid={uid}")
    assert f'href="/forgot/password?uid={uid}"' in choice.text
    assert f'href="/forgot/login?uid={uid}"' in choice.text
    assert f'href="/interaction/{uid}"' in choice.text

    posted = ask(test_client, "password", DEMO_ACTIVE, uid=uid)
    assert posted.headers["Location"] == f"/forgot/sent?kind=password&uid={uid}"
    assert f'href="/interaction/{uid}"' in test_client.get(posted.headers["Location"]).text

    path = latest_reset_path(app)
    assert submit_password(test_client, path, NEW_PASSWORD).status_code == 303
    done = test_client.get("/reset/done")
    assert f'href="/interaction/{uid}"' in done.text
    tokens = redeem(
        test_client, request, finish_login(test_client, request, login_page, password=NEW_PASSWORD)
    )
    assert tokens["refresh_token"]


def test_link_is_single_use(app, test_client):
    path = request_reset(app, test_client)
    page = test_client.get(path)
    data = {
        "csrf_token": csrf_token(page.text),
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
    }
    assert test_client.post(path, data=data).status_code == 303
    changed = password_hash_of(app)
    assert_dead(
        test_client.post(
            path,
            data={
                **data,
                "password": "Another one 2026 !!",
                "password_confirm": "Another one 2026 !!",
            },
        )
    )
    assert_dead(test_client.get(path))
    assert password_hash_of(app) == changed
    assert len(mails(app, "password_changed")) == 1


def test_parallel_submissions_change_the_password_once(app, test_client):
    """Conditional UPDATE (used_at IS NULL): one winner, the others see the dead-link page."""
    path = request_reset(app, test_client)
    candidates = [f"{NEW_PASSWORD} #{i}" for i in range(3)]
    results = run_in_parallel(
        app, [(lambda c, pw=pw: submit_password(c, path, pw)) for pw in candidates]
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(r.status_code for r in results) == [303, 410, 410]
    winner = candidates[[r.status_code for r in results].index(303)]
    assert len(mails(app, "password_changed")) == 1
    (reset,) = resets(app)
    assert reset.used_at is not None
    request = AuthorizationRequest()
    redeem(test_client, request, authorize_with_login(test_client, request, password=winner))


def test_the_claim_is_a_conditional_update(app, test_client, monkeypatch):
    """Deterministic version of the race: a submission that read the link before another one
    spent it still fails at the claim (UPDATE … WHERE used_at IS NULL), changing nothing."""
    from idp.accounts import recovery
    from idp.accounts.refusals import Refusal
    from idp.accounts.refusals import Refused

    token = request_reset(app, test_client).rsplit("/", 1)[1]
    settings = app.config["IDP"]
    with app.app_context():
        stale = recovery.open_reset_link(db.session, token, settings)
        recovery.reset_password(db.session, token, NEW_PASSWORD, settings)
        db.session.commit()
        monkeypatch.setattr(recovery, "open_reset_link", lambda *args: stale)
        with pytest.raises(Refused) as refused:
            recovery.reset_password(db.session, token, "Another one 2026 !!", settings)
        assert refused.value.reason is Refusal.DEAD_LINK
        db.session.rollback()
    assert len(mails(app, "password_changed")) == 1
    request = AuthorizationRequest()
    redeem(test_client, request, authorize_with_login(test_client, request, password=NEW_PASSWORD))


def test_new_request_invalidates_older_links(app, test_client):
    """Decision: only the latest link works (older unused ones die at the next request)."""
    first = request_reset(app, test_client)
    second = request_reset(app, test_client)
    assert first != second
    assert_dead(test_client.get(first))
    assert test_client.get(second).status_code == 200
    assert submit_password(test_client, second, NEW_PASSWORD).status_code == 303


def test_link_of_an_account_disabled_since_is_dead(app, test_client):
    path = request_reset(app, test_client)
    set_account_status(app, DEMO_ACTIVE, "disabled")
    assert_dead(test_client.get(path))


# ---- expiry and forgery --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "seconds", "alive"),
    [
        ("both", 3500, True),
        ("both", 3601, False),
        ("signature", 3601, False),  # the token's own timestamp is enough to refuse it…
        ("row", 3601, False),  # …and so is the stored expiry
    ],
)
def test_link_lives_one_hour(app, test_client, monkeypatch, clock, seconds, alive):
    path = request_reset(app, test_client)
    page = test_client.get(path)
    real_time, real_now = time.time, utcnow
    if clock in ("both", "signature"):
        monkeypatch.setattr(time, "time", lambda: real_time() + seconds)
    if clock in ("both", "row"):
        monkeypatch.setattr(
            "idp.accounts.recovery.utcnow", lambda: real_now() + timedelta(seconds=seconds)
        )
    response = test_client.post(
        path,
        data={
            "csrf_token": csrf_token(page.text),
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    if alive:
        assert response.status_code == 303
    else:
        assert_dead(response)
        assert_dead(test_client.get(path))
        assert mails(app, "password_changed") == []


FORGERIES = {
    "random": lambda path: "/reset/" + "A" * 60,
    "tampered-signature": lambda path: path[:-2] + ("AA" if not path.endswith("AA") else "BB"),
    "tampered-payload": lambda path: path.replace("/reset/", "/reset/x", 1),
    "other-secret-key": lambda path: (
        "/reset/"
        + URLSafeTimedSerializer(
            "another-secret-key-0123456789abcdef", salt="password-reset"
        ).dumps(secret_of(path))
    ),
    "activation-salt": lambda path: (
        "/reset/" + URLSafeTimedSerializer(SECRET_KEY, salt="activation").dumps(secret_of(path))
    ),
    "registration-salt": lambda path: (
        "/reset/" + URLSafeTimedSerializer(SECRET_KEY, salt="registration").dumps(secret_of(path))
    ),
    "unsalted": lambda path: "/reset/" + URLSafeTimedSerializer(SECRET_KEY).dumps(secret_of(path)),
    "non-string-payload": lambda path: (
        "/reset/"
        + URLSafeTimedSerializer(SECRET_KEY, salt="password-reset").dumps(
            {"secret": secret_of(path)}
        )
    ),
    "huge": lambda path: "/reset/" + "A" * 5000,
    "done-as-token-post": lambda path: "/reset/done",
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_links_are_dead(app, test_client, forge):
    """Only a token signed with this provider's key *and* the password-reset salt, over a
    stored secret, opens the form: an activation-salt token over a real secret does not."""
    path = request_reset(app, test_client)
    forged = forge(path)
    assert forged != path
    if forged != "/reset/done":
        assert_dead(test_client.get(forged))
    form = test_client.get(path)
    assert_dead(
        test_client.post(
            forged,
            data={
                "csrf_token": csrf_token(form.text),
                "password": NEW_PASSWORD,
                "password_confirm": NEW_PASSWORD,
            },
        )
    )
    assert mails(app, "password_changed") == []
    assert test_client.get(path).status_code == 200  # the real link still works


# ---- the new password ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "confirm", "field", "message"),
    [
        ("", "", "password", "Enter a new password."),
        ("short", "short", "password", "Use at least 12 characters."),
        (
            "x" * 300,
            "x" * 300,
            "password",
            "This password is too long: use at most 256 characters.",
        ),
        (
            "Demo.Actif is my name!",
            "Demo.Actif is my name!",
            "password",
            "Do not use your login, your e-mail address or your customer number in your password.",
        ),
        (
            "my number 2000000018",
            "my number 2000000018",
            "password",
            "Do not use your login, your e-mail address or your customer number in your password.",
        ),
        (
            NEW_PASSWORD,
            NEW_PASSWORD + "!",
            "password_confirm",
            "The two passwords are not the same.",
        ),
        (
            "1qaz2wsx3edc",
            "1qaz2wsx3edc",
            "password",
            "This password is one of the most used or leaked ones",
        ),
        (
            "aaaaaaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaa",
            "password",
            "This password repeats characters or follows a sequence",
        ),
        (
            "Mijn Klantenzone 2026",
            "Mijn Klantenzone 2026",
            "password",
            "Do not use the name of our company or of this service in your password.",
        ),
    ],
    ids=[
        "empty",
        "too-short",
        "too-long",
        "login",
        "customer-number",
        "confirm-differs",
        "common",
        "repetitive",
        "service-name",
    ],
)
def test_refused_passwords_are_explained(app, test_client, password, confirm, field, message):
    """product §3.6 applied to the reset: same policy (login, e-mail, customer numbers), a confirm
    field, each refusal in plain words at its field; the link is not spent."""
    path = request_reset(app, test_client)
    old_hash = password_hash_of(app)
    response = submit_password(test_client, path, password, confirm)
    assert response.status_code == 400
    errors = re.search(
        rf'<div class="field-error" id="{field}-error" role="alert">\s*<ul>(.*?)</ul>',
        response.text,
        re.S,
    )
    assert errors and message in errors.group(1), response.text
    assert re.search(rf'aria-describedby="[^"]*{field}-error"', response.text)
    if password:
        assert f'value="{password}"' not in response.text  # never echoed back
    assert password_hash_of(app) == old_hash
    assert test_client.get(path).status_code == 200
    assert submit_password(test_client, path, NEW_PASSWORD).status_code == 303


def test_the_confirmation_is_compared_as_registration_compares_it(app, test_client):
    """Both pages compare the NFKC forms (idp.forms.check_new_password): a ligature typed in
    one field and plain letters in the other are the same password."""
    path = request_reset(app, test_client)
    typed = "ﬁlet de Saint-Pierre 2026"
    response = submit_password(test_client, path, typed, confirm=typed.replace("ﬁ", "fi"))
    assert response.status_code == 303, response.text


def test_a_reason_without_a_specific_message_is_still_explained(app, test_client, monkeypatch):
    """A reason added to the policy later (e.g. a common-password list) is never shown blank."""

    class Common:
        value = "some_future_reason"

    monkeypatch.setattr("idp.views.recovery.refused_reasons", lambda *args: [Common()])
    path = request_reset(app, test_client)
    response = submit_password(test_client, path, NEW_PASSWORD)
    assert response.status_code == 400
    assert "This password cannot be used. Choose another one." in response.text


def test_reset_form_is_accessible(app, test_client):
    """Labels, show/hide for both fields, help linked by aria-describedby, new-password
    autocomplete, the login for password managers, a CSRF token."""
    page = test_client.get(request_reset(app, test_client)).text
    for name in ("password", "password_confirm"):
        assert f'<label for="{name}">' in page
        assert f'data-reveal="{name}"' in page
        assert re.search(
            rf'id="{name}" name="{name}" type="password" '
            r'autocomplete="new-password"',
            page,
        )
    assert 'aria-describedby="password-help"' in page
    assert 'autocomplete="username" hidden' in page and DEMO_ACTIVE in page
    assert 'name="csrf_token"' in page


# ---- CSRF and throttling ---------------------------------------------------------------------


@pytest.mark.parametrize("form", ["/forgot/password", "/forgot/login", "reset link"])
def test_forms_without_csrf_token_are_refused(app, test_client, form):
    path = request_reset(app, test_client)
    before = len(mails(app))
    data = {"email": DEMO_ACTIVE}
    if form == "reset link":
        form, data = path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    assert test_client.post(form, data=data).status_code == 400, form
    assert len(mails(app)) == before
    assert [r.used_at for r in resets(app)] == [None]


@pytest.mark.settings(registration_rate_limit="2/hour")
def test_mails_are_throttled_per_address(app):
    """Per address, whatever the IP and whichever form: past the limit the same answer, no mail.
    Another address keeps its own budget."""
    answers = []
    for i, kind in enumerate(["password", "login", "password"]):
        response = ask(app.test_client(), kind, DEMO_ACTIVE, address=f"10.0.0.{i + 1}")
        answers.append((response.status_code, response.headers["Location"]))
    assert answers == [
        (303, "/forgot/sent?kind=password"),
        (303, "/forgot/sent?kind=login"),
        (303, "/forgot/sent?kind=password"),
    ]
    assert [m.template for m in mails(app)] == ["reset_password", "forgot_login"]
    assert ask(app.test_client(), "password", DEMO_INACTIVE, address="10.0.0.9").status_code == 303
    assert [m.to_address for m in mails(app)][-1] == DEMO_INACTIVE


@pytest.mark.settings(registration_rate_limit="2/hour")
def test_mails_are_throttled_per_client_ip(app, test_client):
    """Per IP across both forms; a refused (malformed) form does not spend the budget."""
    assert ask(test_client, "password", "not-an-address").status_code == 400
    assert ask(test_client, "password", UNKNOWN).status_code == 303
    assert ask(test_client, "login", "someone.else@example.be").status_code == 303
    throttled = ask(test_client, "password", DEMO_ACTIVE)
    assert throttled.status_code == 429
    assert "<h1>" in throttled.text and "Traceback" not in throttled.text
    assert mails(app) == []
    assert ask(test_client, "password", DEMO_ACTIVE, address="10.1.1.1").status_code == 303
    assert len(mails(app, "reset_password")) == 1


# ---- the pages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/forgot",
        "/forgot?uid=unknown",
        "/forgot?uid=" + "u" * 5000,
        "/forgot/password",
        "/forgot/login?uid=%ff",
        "/forgot/sent",
        "/forgot/sent?kind=%00x",
        "/forgot/sent?kind=evil",
        "/reset/done",
    ],
)
def test_pages_render_without_a_pending_login(test_client, path):
    response = test_client.get(path)
    assert response.status_code in (200, 400), response.status_code
    assert response.headers["Cache-Control"] == "no-store"
    if response.status_code == 200:
        assert 'href="/start-login' in response.text or "start-login" in response.text


def test_pages_follow_the_pending_logins_language(test_client):
    """ui_locales of the waiting authorization request chooses the language (product §3)."""
    login_page = start_login(test_client, AuthorizationRequest(extra={"ui_locales": "de"}))
    uid = login_page.rsplit("/", 1)[1]
    assert '<html lang="de">' in test_client.get(f"/forgot?uid={uid}").text
