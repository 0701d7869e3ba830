"""Registration (product §3.2–§3.7) through the pages: the cookie notice, the e-mail step without
enumeration, its throttles, the activation link (signed, 3 days, 3 uses, one dead-link page),
the confirmation's way back, and whole journeys from /authorize to a working login."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from idp.accounts import registration as registration_service
from idp.extensions import db
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.oauth import Client
from idp.models.registration import RegistrationRequest
from tests.conftest import csrf_token
from tests.flow.registration_steps import GENEROUS
from tests.flow.registration_steps import NEW_CODE
from tests.flow.registration_steps import NEW_CUSTOMER
from tests.flow.registration_steps import STRONG_PASSWORD
from tests.flow.registration_steps import accept_cookies
from tests.flow.registration_steps import activation_link
from tests.flow.registration_steps import alert_texts
from tests.flow.registration_steps import ask_for_link
from tests.flow.registration_steps import back_to_app_href
from tests.flow.registration_steps import choose_password
from tests.flow.registration_steps import english
from tests.flow.registration_steps import in_parallel
from tests.flow.registration_steps import mails
from tests.flow.registration_steps import new_link
from tests.flow.registration_steps import register
from tests.flow.registration_steps import submit_customer
from tests.flow.registration_steps import uses_of
from tests.flow.registration_steps import verify
from tests.oidc import DEMO_ACTIVE
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import finish_login
from tests.oidc import redeem
from tests.oidc import start_login

NEW = "nouvelle.cliente@example.be"


@pytest.fixture
def overrides():
    """Limits out of the way unless a test tightens one with the ``settings`` marker."""
    return dict(GENEROUS)


@pytest.fixture(autouse=True)
def english_pages(test_client):
    """Pages in English: the assertions quote the message ids."""
    english(test_client)


def registration_link_of(login_page_html: str) -> str:
    """The "No account yet? >" link on the login page."""
    match = re.search(r'href="(/register\?uid=[^"]+)"', login_page_html)
    assert match, "the login page has no registration link"
    return html.unescape(match.group(1))


# ---- cookie notice (product §3.2) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/register",
        "/register?uid=abc",
        "/register/sent",
        "/register/some-token",
        "/register/some-token/password",
        "/register/done?t=x",
    ],
)
def test_registration_pages_wait_for_the_cookie_notice(test_client, path):
    response = test_client.get(path)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/cookies?next=")
    assert test_client.get(location).status_code == 200


def test_posts_wait_for_the_cookie_notice_too(test_client):
    token = csrf_token(test_client.get("/cookies").text)
    response = test_client.post("/register", data={"csrf_token": token, "email": NEW})
    assert response.status_code == 303 and response.headers["Location"].startswith("/cookies")


def test_accepting_returns_to_the_page_and_is_remembered(test_client):
    notice = test_client.get("/cookies?next=/register%3Fuid%3Dabc")
    assert 'name="next" value="/register?uid=abc"' in notice.text
    assert "strictly necessary" in notice.text and "no other company" in notice.text
    response = test_client.post(
        "/cookies",
        data={
            "csrf_token": csrf_token(notice.text),
            "choice": "accepted",
            "next": "/register?uid=abc",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/register?uid=abc"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("cookie_notice=accepted;")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    assert test_client.get("/register").status_code == 200
    assert "Your current choice: accepted." in test_client.get("/cookies").text


def test_the_choice_can_be_changed_from_the_footer(test_client):
    accept_cookies(test_client)
    page = test_client.get("/register")
    footer = re.search(r'<footer class="page-footer">\s*<a href="([^"]+)"', page.text)
    assert footer and html.unescape(footer.group(1)) == "/cookies?next=/register"
    notice = test_client.get(html.unescape(footer.group(1)))
    response = test_client.post(
        "/cookies",
        data={"csrf_token": csrf_token(notice.text), "choice": "declined", "next": "/register"},
    )
    assert response.status_code == 303 and response.headers["Location"].startswith("/cookies")
    assert "Your current choice: refused." in test_client.get("/cookies").text
    assert test_client.get("/register").status_code == 303


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/register",
        "/authorize?x=1",
        "/register\\@evil.example",
        "",
    ],
)
def test_the_notice_returns_only_to_registration_pages(test_client, target):
    notice = test_client.get("/cookies")
    response = test_client.post(
        "/cookies",
        data={"csrf_token": csrf_token(notice.text), "choice": "accepted", "next": target},
    )
    assert response.headers["Location"] == "/register"


# ---- e-mail step (product §3.3) -----------------------------------------------------------------


def test_login_page_link_starts_a_registration_that_remembers_its_origin(app, test_client):
    request = AuthorizationRequest()
    login_page = start_login(test_client, request)
    link = registration_link_of(test_client.get(login_page).text)
    uid = login_page.rsplit("/", 1)[-1]
    assert link == f"/register?uid={uid}"
    accept_cookies(test_client)
    response = ask_for_link(test_client, NEW, uid=uid)
    assert response.status_code == 303 and response.headers["Location"] == "/register/sent"
    with app.app_context():
        row = db.session.scalar(select(RegistrationRequest))
        assert row.client_id == "smart-app"
        assert dict(row.return_params) == request.params()
        assert row.expires_at - row.created_at == timedelta(days=3)
        assert row.uses == 0 and row.consumed_at is None and len(row.secret_hash) == 64


def test_an_expired_interaction_still_lets_the_visitor_register(app, test_client):
    accept_cookies(test_client)
    assert ask_for_link(test_client, NEW, uid="no-such-interaction").status_code == 303
    with app.app_context():
        row = db.session.scalar(select(RegistrationRequest))
        assert row.client_id is None and row.return_params is None


def _sent_page(test_client, response, email):
    assert response.status_code == 303 and response.headers["Location"] == "/register/sent"
    page = test_client.get("/register/sent")
    assert page.status_code == 200
    return page.text.replace(email, "EMAIL")


def test_same_answer_for_new_known_and_account_addresses(app, test_client):
    """No enumeration: one redirect and one page; only the outbox differs."""
    accept_cookies(test_client)
    known = "deja.inscrite@example.be"
    ask_for_link(test_client, known)  # a pending registration makes the address "known"
    answers = {}
    for email in (NEW, known, DEMO_ACTIVE):
        response = ask_for_link(test_client, email)
        answers[email] = (
            response.status_code,
            response.headers["Location"],
            sorted(k for k, _ in response.headers if k != "Set-Cookie"),
            _sent_page(test_client, response, email),
        )
    assert answers[NEW] == answers[known] == answers[DEMO_ACTIVE]
    assert [m.template for m in mails(app, to=NEW)] == ["activation"]
    assert [m.template for m in mails(app, to=known)] == ["activation", "activation"]
    exists = mails(app, to=DEMO_ACTIVE)
    assert [m.template for m in exists] == ["account_exists"]
    assert exists[0].context == {
        "login": DEMO_ACTIVE,
        "login_link": f"{ISSUER}/start-login?login_hint=demo.actif%40example.be",
        "reset_link": f"{ISSUER}/forgot/password",
    }
    with app.app_context():
        emails = db.session.scalars(select(RegistrationRequest.email)).all()
    assert sorted(emails) == sorted([known, known, NEW])


def test_an_address_with_an_account_matches_without_regard_to_case(app, test_client):
    accept_cookies(test_client)
    ask_for_link(test_client, "Demo.Actif@EXAMPLE.be")
    assert [m.template for m in mails(app)] == ["account_exists"]


def test_activation_mail_carries_the_link_and_the_language(app, test_client):
    accept_cookies(test_client)
    ask_for_link(test_client, NEW, headers={"Accept-Language": "nl-BE,nl;q=0.9"})
    (mail,) = mails(app)
    assert (mail.to_address, mail.template, mail.language) == (NEW, "activation", "nl")
    assert set(mail.context) == {"link"}  # delivery adds "view online" from the outbox id
    assert mail.context["link"].startswith(f"{ISSUER}/register/")


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "not-an-address",
        "a@b",
        "two@@example.be",
        "spaces in@example.be",
        "x" * 250 + "@example.be",
    ],
)
def test_malformed_addresses_are_refused_at_the_field(app, test_client, typed):
    accept_cookies(test_client)
    response = ask_for_link(test_client, typed)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.text and 'role="alert"' in response.text
    assert mails(app) == []


@pytest.mark.settings(registration_rate_limit="2/hour")
def test_throttled_address_gets_the_same_page_and_no_mail(app, test_client):
    accept_cookies(test_client)
    pages = []
    for n in range(4):  # a new client address each time: only the per-address limit applies
        response = ask_for_link(test_client, NEW, environ_base={"REMOTE_ADDR": f"192.0.2.{n}"})
        pages.append(_sent_page(test_client, response, NEW))
    assert len(set(pages)) == 1
    assert len(mails(app, "activation", NEW)) == 2
    ask_for_link(test_client, DEMO_ACTIVE, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert len(mails(app, "account_exists")) == 1  # other addresses are not affected


@pytest.mark.settings(registration_rate_limit="2/hour")
def test_registration_mails_are_throttled_per_client_ip(app, test_client):
    accept_cookies(test_client)
    assert ask_for_link(test_client, "typo-no-at-sign").status_code == 400  # not counted
    for n in range(2):
        assert ask_for_link(test_client, f"person{n}@example.be").status_code == 303
    assert ask_for_link(test_client, "person9@example.be").status_code == 429
    assert len(mails(app)) == 2


def test_csrf_is_required_on_every_registration_form(app, test_client):
    accept_cookies(test_client)
    link = new_link(app, test_client, NEW)
    assert test_client.post("/register", data={"email": "x@example.be"}).status_code == 400
    assert (
        test_client.post(
            link, data={"customer_number": NEW_CUSTOMER, "activation_code": NEW_CODE}
        ).status_code
        == 400
    )
    assert uses_of(app, NEW) == [0]
    verify(test_client, link)
    assert (
        test_client.post(
            link + "/password",
            data={"login": NEW, "password": STRONG_PASSWORD, "confirm": STRONG_PASSWORD},
        ).status_code
        == 400
    )
    assert test_client.post("/cookies", data={"choice": "accepted"}).status_code == 400
    assert mails(app, "welcome") == []


# ---- the link: signed, bound to its purpose, 3 days, 3 uses ------------------------------------


def _dead(response):
    assert response.status_code == 410, (response.status_code, response.text[:300])
    assert "This link can no longer be used" in response.text
    assert 'href="/register"' in response.text  # the way to a new link
    # The language switch links to the page's own URL; the rest must not differ at all.
    return re.sub(r'<nav class="languages".*?</nav>', "", response.text, flags=re.S)


def _own_link(app, secret: str, salt: str = "registration") -> str:
    """A registration request whose secret the test knows, signed with ``salt``."""
    with app.app_context():
        settings = app.config["IDP"]
        db.session.add(
            RegistrationRequest(
                email=NEW,
                secret_hash=token_hash(secret),
                language="fr",
                expires_at=utcnow() + timedelta(seconds=settings.registration_link_ttl),
            )
        )
        db.session.commit()
        return "/register/" + URLSafeTimedSerializer(settings.secret_key, salt=salt).dumps(secret)


def test_every_dead_link_gets_the_same_page(app, test_client, monkeypatch):
    accept_cookies(test_client)
    pages = {}
    # Forged: random, tampered, signed with another key, a password-reset token.
    live = _own_link(app, "s3cret-of-the-test")
    assert test_client.get(live).status_code == 200  # the control: same secret, right salt
    pages["random"] = _dead(test_client.get("/register/not-a-token"))
    pages["tampered"] = _dead(test_client.get(live[:-2] + ("AA" if live[-2:] != "AA" else "BB")))
    other_key = URLSafeTimedSerializer("another-key", salt="registration").dumps(
        "s3cret-of-the-test"
    )
    pages["other key"] = _dead(test_client.get(f"/register/{other_key}"))
    pages["reset token"] = _dead(test_client.get(_own_link(app, "reset-secret", "password-reset")))
    pages["huge"] = _dead(test_client.get("/register/" + "a" * 2000))
    # Used up: three uses.
    used = new_link(app, test_client, "used.up@example.be")
    for _ in range(3):
        submit_customer(test_client, used, "2999999999", NEW_CODE)
    pages["used up"] = _dead(test_client.get(used))
    # Already used to create the account.
    consumed = new_link(app, test_client, NEW)
    verify(test_client, consumed)
    assert choose_password(test_client, consumed, NEW).status_code == 303
    pages["consumed"] = _dead(test_client.get(consumed))
    pages["consumed password"] = _dead(test_client.get(consumed + "/password"))
    # Expired: three days and a second later.
    expiring = new_link(app, test_client, "late@example.be")
    later = utcnow() + timedelta(days=3, seconds=1)
    monkeypatch.setattr(registration_service, "utcnow", lambda: later)
    pages["expired"] = _dead(test_client.get(expiring))
    pages["expired post"] = _dead(submit_customer(test_client, expiring, NEW_CUSTOMER, NEW_CODE))
    assert len(set(pages.values())) == 1, list(pages)


def test_a_link_whose_signature_is_older_than_three_days_is_dead(app, test_client, monkeypatch):
    accept_cookies(test_client)
    old = TimestampSigner.get_timestamp(TimestampSigner("k")) - 3 * 24 * 3600 - 1
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: old)
    link = _own_link(app, "old-secret")  # the record itself is still valid
    monkeypatch.undo()
    _dead(test_client.get(link))


def test_get_and_head_of_the_link_count_nothing(app, test_client):
    accept_cookies(test_client)
    link = new_link(app, test_client, NEW)
    for _ in range(5):
        assert test_client.get(link).status_code == 200
        assert test_client.head(link).status_code == 200
    scanner = app.test_client()  # a mail scanner has no cookie: it is sent to the notice
    assert scanner.head(link).status_code == 303 and scanner.get(link).status_code == 303
    assert uses_of(app, NEW) == [0]
    page = test_client.get(link)
    assert NEW in page.text and page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    # Nothing is loaded from anywhere else: every src and stylesheet is ours.
    assert re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert not re.search(r'src="(?!/static/)', page.text)
    assert not re.search(r'<link[^>]+href="(?!/static/)', page.text)


def test_format_errors_do_not_use_the_link(app, test_client):
    accept_cookies(test_client)
    link = new_link(app, test_client, NEW)
    for _ in range(4):
        assert submit_customer(test_client, link, "12345", "abc").status_code == 400
    assert uses_of(app, NEW) == [0]


def test_the_fourth_use_is_refused(app, test_client):
    accept_cookies(test_client)
    link = new_link(app, test_client, NEW)
    first = submit_customer(test_client, link, "2999999999", NEW_CODE)
    assert first.status_code == 400 and "You can still use this link 2 times." in first.text
    assert submit_customer(test_client, link, "2999999998", NEW_CODE).status_code == 400
    third = submit_customer(test_client, link, "2999999997", NEW_CODE)
    _dead(third)  # no use left: the page says so at once …
    # … and that this last try did not match either (issue #7 item 5), with the way on.
    assert alert_texts(third.text) == [
        "This customer number and activation code do not match, and this link is now used up: "
        "ask for a new link."
    ]
    assert '<a class="button primary" href="/register">' in third.text
    fourth = submit_customer(test_client, link, NEW_CUSTOMER, NEW_CODE)  # even with the right data
    _dead(fourth)
    assert alert_texts(fourth.text) == []
    assert uses_of(app, NEW) == [3]
    assert test_client.get(link + "/password").status_code == 410


def test_parallel_submissions_never_count_past_three(app):
    browsers = []
    first = app.test_client()
    accept_cookies(first)
    link = new_link(app, first, NEW)
    for _ in range(6):
        browser = app.test_client()
        accept_cookies(browser)
        token = csrf_token(browser.get(link).text)
        browsers.append((browser, token))

    def submit(browser, token):
        return lambda: browser.post(
            link,
            data={
                "csrf_token": token,
                "customer_number": "2999999999",
                "activation_code": NEW_CODE,
            },
        )

    results = in_parallel([submit(b, t) for b, t in browsers])
    statuses = sorted(getattr(r, "status_code", repr(r)) for r in results)
    assert statuses == [400, 400, 410, 410, 410, 410], statuses
    assert uses_of(app, NEW) == [3]


# ---- confirmation (product §3.7) and whole journeys ------------------------------------------


def _done_page(test_client, response):
    assert response.status_code == 303, response.text
    assert response.headers["Location"].startswith("/register/done?t=")
    page = test_client.get(response.headers["Location"])
    assert page.status_code == 200 and "Your account is created" in page.text
    return page


def test_back_to_the_app_goes_to_the_customer_space_initiate_login_uri(app, test_client):
    request = AuthorizationRequest.customer_space()
    uid = start_login(test_client, request).rsplit("/", 1)[-1]
    accept_cookies(test_client)
    page = _done_page(test_client, register(app, test_client, NEW, uid=uid))
    expected = "http://127.0.0.1:5001/login?" + urlencode({"iss": ISSUER, "login_hint": NEW})
    assert back_to_app_href(page.text) == expected


def test_without_an_originating_client_back_goes_to_the_customer_space(app, test_client):
    accept_cookies(test_client)
    page = _done_page(test_client, register(app, test_client, NEW, login="Sophie.L"))
    expected = "http://127.0.0.1:5001/login?" + urlencode({"iss": ISSUER, "login_hint": "sophie.l"})
    assert back_to_app_href(page.text) == expected


def test_the_confirmation_link_is_signed_and_short_lived(app, test_client):
    accept_cookies(test_client)
    response = register(app, test_client, NEW)
    assert test_client.get(response.headers["Location"] + "x").status_code == 404
    assert test_client.get("/register/done?t=1").status_code == 404


def _eligible_login(test_client, request, login_page, login, password):
    callback = finish_login(test_client, request, login_page, login=login, password=password)
    tokens = redeem(test_client, request, callback)
    assert tokens["claims"]["eligibility"]["eligible"] is True
    assert tokens["claims"]["eligibility"]["reason"] is None
    return tokens


def _walk_to_confirmation(app, test_client, request):
    """Login page → "No account yet? >" → cookie notice → e-mail → the mail's link →
    customer data → login and password → "your account is created"; return that page."""
    login_page = start_login(test_client, request)
    response = test_client.get(registration_link_of(test_client.get(login_page).text))
    notice = test_client.get(response.headers["Location"])
    response = test_client.post(
        "/cookies",
        data={
            "csrf_token": csrf_token(notice.text),
            "choice": "accepted",
            "next": html.unescape(re.search(r'name="next" value="([^"]+)"', notice.text).group(1)),
        },
    )
    email_page = test_client.get(response.headers["Location"])
    response = test_client.post(
        "/register",
        data={
            "csrf_token": csrf_token(email_page.text),
            "email": NEW,
            "uid": re.search(r'name="uid" value="([^"]+)"', email_page.text).group(1),
        },
    )
    assert test_client.get(response.headers["Location"]).status_code == 200
    link = activation_link(app, NEW)
    password_page = test_client.get(verify(test_client, link, "2 000 000 034", "4815 1623 42"))
    assert f'id="login" name="login" type="text" value="{NEW}"' in password_page.text
    page = _done_page(test_client, choose_password(test_client, link, NEW))
    assert [m.template for m in mails(app, to=NEW)] == ["activation", "welcome"]
    return page


def test_whole_journey_from_the_smart_app_to_a_working_login(app, test_client, smart_app):
    """… → "Back to the app" (its initiate_login_uri, OIDC Core §4) → the app starts a new
    request with the hint → logged in with the new password, eligible."""
    page = _walk_to_confirmation(app, test_client, AuthorizationRequest())
    back = back_to_app_href(page.text)
    assert back == smart_app.initiate_login_uri + "?" + urlencode(
        {"iss": ISSUER, "login_hint": NEW}
    )
    again = AuthorizationRequest(extra={"login_hint": NEW})  # what the app does with it
    login_page = start_login(test_client, again)
    assert f'value="{NEW}"' in test_client.get(login_page).text
    tokens = _eligible_login(test_client, again, login_page, NEW, STRONG_PASSWORD)
    assert "refresh_token" in tokens


def test_a_client_without_initiate_login_uri_gets_its_own_request_back(app, test_client):
    """No initiate_login_uri: "Back to the app" replays the app's original authorization
    request (its state, nonce, PKCE challenge) with the new login as hint; the app, still
    waiting, receives the code and redeems it with its verifier."""
    with app.app_context():
        db.session.get(Client, "smart-app").initiate_login_uri = None
        db.session.commit()
    request = AuthorizationRequest(extra={"login_hint": "someone.else@example.be"})
    back = back_to_app_href(_walk_to_confirmation(app, test_client, request).text)
    assert back.startswith("/authorize?")
    replayed = parse_qs(urlsplit(back).query)
    assert replayed == {**{k: [v] for k, v in request.params().items()}, "login_hint": [NEW]}
    again = test_client.get(back)
    assert again.status_code == 302 and "/interaction/" in again.headers["Location"]
    login_page = again.headers["Location"]
    assert f'value="{NEW}"' in test_client.get(login_page).text
    _eligible_login(test_client, request, login_page, NEW, STRONG_PASSWORD)


def test_whole_journey_from_the_customer_space(app, test_client):
    request = AuthorizationRequest.customer_space()
    uid = start_login(test_client, request).rsplit("/", 1)[-1]
    accept_cookies(test_client)
    page = _done_page(test_client, register(app, test_client, NEW, login="Sophie2026", uid=uid))
    assert "login_hint=sophie2026" in back_to_app_href(page.text)
    # The customer space's /login starts a new request with the hint (OIDC Core §4).
    again = AuthorizationRequest.customer_space(extra={"login_hint": "sophie2026"})
    login_page = start_login(test_client, again)
    assert 'value="sophie2026"' in test_client.get(login_page).text
    _eligible_login(test_client, again, login_page, "SOPHIE2026", STRONG_PASSWORD)
