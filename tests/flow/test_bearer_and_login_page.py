"""Bearer token methods at userinfo (RFC 6750 §2, §3.1) and the login page's protections:
one generic failure message, rate limits (memory and Redis stores), CSRF, headers, cookies."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import csrf_token
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_PASSWORD
from tests.oidc import AuthorizationRequest
from tests.oidc import login_and_get_tokens

REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL")


def _login_page(test_client) -> str:
    response = test_client.get(AuthorizationRequest().url())
    assert response.status_code == 302
    return response.headers["Location"]


def _post_login(test_client, page_url: str, login: str, password: str):
    page = test_client.get(page_url)
    return test_client.post(
        page_url, data={"csrf_token": csrf_token(page.text), "login": login, "password": password}
    )


def test_userinfo_accepts_the_token_in_a_post_body(test_client):
    """RFC 6750 §2.2 (form-encoded body parameter), OIDC Core §5.3.1."""
    tokens = login_and_get_tokens(test_client)
    response = test_client.post("/userinfo", data={"access_token": tokens["access_token"]})
    assert response.status_code == 200, response.text
    assert response.get_json()["sub"] == tokens["claims"]["sub"]


def test_userinfo_refuses_two_token_methods_at_once(test_client):
    """RFC 6750 §2: clients MUST NOT use more than one method in a request."""
    tokens = login_and_get_tokens(test_client)
    response = test_client.post(
        "/userinfo",
        data={"access_token": tokens["access_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_userinfo_without_credentials_gets_a_challenge_without_error_code(test_client):
    """RFC 6750 §3.1: no authentication information → no error code in the challenge."""
    response = test_client.get("/userinfo")
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer") and "error=" not in challenge


def test_userinfo_with_a_bad_token_says_invalid_token(test_client):
    """RFC 6750 §3.1 invalid_token."""
    response = test_client.get("/userinfo", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_wrong_password_and_unknown_login_get_the_same_answer(test_client):
    """product §3.1: one generic message; no account enumeration (OWASP ASVS V2.2)."""
    page = _login_page(test_client)
    wrong = _post_login(test_client, page, DEMO_ACTIVE, "not-the-password")
    unknown = _post_login(test_client, page, "nobody@example.be", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda html: html.replace(DEMO_ACTIVE, "X").replace("nobody@example.be", "X")  # noqa: E731
    body_wrong = strip(wrong.text).split('name="csrf_token"')[0]
    body_unknown = strip(unknown.text).split('name="csrf_token"')[0]
    assert body_wrong == body_unknown


def test_login_without_csrf_token_is_refused(test_client):
    """Login CSRF (RFC 6749 §10.12, OWASP): the form needs its token."""
    page = _login_page(test_client)
    response = test_client.post(page, data={"login": DEMO_ACTIVE, "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert "/authorize/resume/" not in response.headers.get("Location", "")


def test_disabled_account_cannot_log_in(app, test_client):
    """product §2 status: a disabled account never logs in."""
    from tests.oidc import set_account_status

    set_account_status(app, DEMO_ACTIVE, "disabled")
    response = _post_login(test_client, _login_page(test_client), DEMO_ACTIVE, DEMO_PASSWORD)
    assert response.status_code == 401


@pytest.mark.settings(login_free_failures=3)
def test_login_attempts_are_limited_per_login(app):
    """OWASP ASVS 5.0 V6.3.1 / NIST SP 800-63B-4 §3.2.2: throttle guessing on one account,
    even from several addresses (browsers that never logged in to it wait; see
    tests/flow/test_login_throttle.py for the owner's exemption)."""
    statuses = []
    for i in range(6):
        browser = app.test_client()
        page = _login_page(browser)
        get = browser.get(page)
        statuses.append(
            browser.post(
                page,
                data={
                    "csrf_token": csrf_token(get.text),
                    "login": DEMO_ACTIVE,
                    "password": "wrong",
                },
                environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"},
            ).status_code
        )
    assert statuses[:4] == [401, 401, 401, 401]
    assert statuses[4:] == [429, 429]


@pytest.mark.settings(login_rate_limit="3/minute")
def test_rate_limit_page_is_a_page_not_a_stack_trace(test_client):
    """A 429 is a readable page (product §3.9)."""
    page = _login_page(test_client)
    for _ in range(4):
        response = _post_login(test_client, page, f"{uuid.uuid4().hex}@x.be", "wrong")
    assert response.status_code == 429
    assert "<h1>" in response.text and "Traceback" not in response.text


@pytest.mark.skipif(not REDIS_URL, reason="needs IDP_TEST_REDIS_URL (CI sets it)")
def test_login_limit_is_shared_through_redis(app, overrides):
    """product §7: several workers share one rate-limit store. Two apps (two workers) on the
    same Redis see one per-login counter (each guess from another address)."""
    from idp import create_app
    from idp.extensions import db
    from tests import presets

    login = f"{uuid.uuid4().hex}@example.be"
    settings = {
        **presets.BASE,
        "ratelimit_storage_url": REDIS_URL,
        "login_free_failures": 1,
        "database_url": app.config["IDP"].database_url,
        "keys_dir": app.config["IDP"].keys_dir,
    }
    workers = [create_app(settings), create_app(settings)]
    statuses = []
    try:
        for i, worker in enumerate(workers * 2):
            address = {"REMOTE_ADDR": f"10.9.{uuid.uuid4().int % 250}.{i + 1}"}
            browser = worker.test_client()
            response = browser.get(AuthorizationRequest().url(), environ_base=address)
            page_url = response.headers["Location"]
            page = browser.get(page_url, environ_base=address)
            statuses.append(
                browser.post(
                    page_url,
                    environ_base=address,
                    data={
                        "csrf_token": csrf_token(page.text),
                        "login": login,
                        "password": "wrong",
                    },
                ).status_code
            )
    finally:
        for worker in workers:
            with worker.app_context():
                db.engine.dispose()
    assert statuses == [401, 401, 429, 429]
    import redis

    from idp.throttle import subject_key

    store = redis.Redis.from_url(REDIS_URL)
    assert store.keys(f"*{login}*") == [], "the store never holds a login in clear"
    stored = store.keys(f"*idp-delay/login/*{subject_key(login)}*")
    assert stored, "the per-login counter must live in Redis, not in the worker's memory"


def test_pages_carry_the_security_headers(test_client):
    """RFC 9700 §4.16 (framing), CSP without inline script, no referrer, no caching."""
    response = test_client.get(_login_page(test_client))
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert "<script>" not in response.text and " onclick=" not in response.text


def test_session_cookie_is_host_only_httponly_lax(test_client):
    """The OP session cookie: HttpOnly, SameSite=Lax, never a Domain cookie (issue #4)."""
    request = AuthorizationRequest()
    response = test_client.get(request.url())
    page = response.headers["Location"]
    posted = _post_login(test_client, page, DEMO_ACTIVE, DEMO_PASSWORD)
    final = test_client.get(posted.headers["Location"])
    cookies = [c for c in final.headers.getlist("Set-Cookie") if c.startswith("idp_session=")]
    assert len(cookies) == 1
    cookie = cookies[0].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "domain=" not in cookie
    assert "max-age" not in cookie  # IDP_SESSION_COOKIE_MAX_AGE=0: a browser-session cookie


@pytest.mark.settings(issuer="https://idp.example")
def test_https_issuer_marks_cookies_secure_and_sends_hsts(app):
    """Cookies are Secure and HSTS is sent when the provider is served over HTTPS."""
    browser = app.test_client()
    request = AuthorizationRequest()
    response = browser.get(request.url(), base_url="https://idp.example")
    page = response.headers["Location"]
    get = browser.get(page, base_url="https://idp.example")
    assert get.headers["Strict-Transport-Security"].startswith("max-age=")
    posted = browser.post(
        page,
        base_url="https://idp.example",
        data={"csrf_token": csrf_token(get.text), "login": DEMO_ACTIVE, "password": DEMO_PASSWORD},
    )
    final = browser.get(posted.headers["Location"], base_url="https://idp.example")
    cookies = final.headers.getlist("Set-Cookie")
    cookie = [c for c in cookies if c.startswith("__Host-idp_session=")][0]  # RFC 6265bis
    assert "Secure" in cookie


def test_login_hint_is_escaped(test_client):
    """The login field is pre-filled from login_hint, HTML-escaped."""
    request = AuthorizationRequest(extra={"login_hint": '"><script>x</script>'})
    page = test_client.get(test_client.get(request.url()).headers["Location"])
    assert "<script>x</script>" not in page.text
    assert "&#34;&gt;&lt;script&gt;x&lt;/script&gt;" in page.text


def test_login_form_posted_from_another_origin_is_refused(test_client):
    """Cross-site form posts are refused by Origin as well as by the CSRF token."""
    page = _login_page(test_client)
    get = test_client.get(page)
    response = test_client.post(
        page,
        data={
            "csrf_token": csrf_token(get.text),
            "login": DEMO_ACTIVE,
            "password": DEMO_PASSWORD,
        },
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    same = test_client.post(
        page,
        data={
            "csrf_token": csrf_token(get.text),
            "login": DEMO_ACTIVE,
            "password": DEMO_PASSWORD,
        },
        headers={"Origin": "http://localhost"},
    )
    assert same.status_code == 303


def test_login_form_posted_with_a_null_origin_rests_on_the_csrf_token(test_client):
    """Our own pages send Referrer-Policy: no-referrer, so browsers post them with
    ``Origin: null``: accepted with a valid token, refused without one."""
    page = _login_page(test_client)
    get = test_client.get(page)
    refused = test_client.post(
        page, data={"login": DEMO_ACTIVE, "password": DEMO_PASSWORD}, headers={"Origin": "null"}
    )
    assert refused.status_code == 400
    accepted = test_client.post(
        page,
        data={
            "csrf_token": csrf_token(get.text),
            "login": DEMO_ACTIVE,
            "password": DEMO_PASSWORD,
        },
        headers={"Origin": "null"},
    )
    assert accepted.status_code == 303
