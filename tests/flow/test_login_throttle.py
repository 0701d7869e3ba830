"""A stranger cannot lock a customer out of logging in (issue #8 finding 6).

Wrong passwords from browsers that never logged in to a login earn growing waits for that
login (NIST SP 800-63B-4 §3.2.2); a browser that did log in carries a signed device cookie
(OWASP "device cookies") and is exempt, with its own budget; the forgot-password path stays
open and a reset ends the waits.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from itsdangerous import URLSafeTimedSerializer

from idp.throttle import GrowingDelay
from tests.flow.recovery_steps import request_reset
from tests.flow.recovery_steps import submit_password
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_INACTIVE
from tests.oidc import DEMO_PASSWORD
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_login
from tests.oidc import redeem
from tests.oidc import start_login
from tests.oidc import submit_login

NEW_PASSWORD = "Windmolen aan de kust 2026"
PRODUCTION_LIMIT = "10/minute;50/hour"  # the default of IDP_LOGIN_RATE_LIMIT


def browser(app: Any, address: str) -> Any:
    """A test client coming from ``address`` (each stranger's request from a new one)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def try_password(client: Any, password: str, login: str = DEMO_ACTIVE) -> Any:
    """A fresh login page (prompt=login: no SSO) and one submission of it."""
    page = start_login(client, AuthorizationRequest(extra={"prompt": "login"}))
    return submit_login(client, page, login, password)


def strangers_guess(app: Any, times: int, login: str = DEMO_ACTIVE) -> list[int]:
    """``times`` wrong passwords, each from another address and a cookie-less browser."""
    return [
        try_password(browser(app, f"203.0.113.{i + 1}"), f"guess-{i}", login).status_code
        for i in range(times)
    ]


def owners_device(app: Any) -> Any:
    """The owner's browser, after one successful login (it now holds the device cookie)."""
    owner = browser(app, "198.51.100.10")
    request = AuthorizationRequest()
    redeem(owner, request, authorize_with_login(owner, request))
    return owner


@pytest.mark.settings(login_rate_limit=PRODUCTION_LIMIT)
def test_strangers_wrong_passwords_do_not_lock_out_the_owners_device(app):
    """Ten wrong passwords from elsewhere, then the owner's browser logs in at once."""
    owner = owners_device(app)
    statuses = strangers_guess(app, 10)
    assert statuses[:5] == [401] * 5 and 429 in statuses, statuses
    answer = try_password(owner, DEMO_PASSWORD)
    assert answer.status_code == 303, answer.text
    assert "/authorize/resume/" in answer.headers["Location"]


@pytest.mark.settings(login_rate_limit=PRODUCTION_LIMIT, login_free_failures=3)
def test_unknown_browser_waits_even_with_the_right_password(app):
    """Past the free failures an unknown browser waits, even with the right password; the
    wait is said (Retry-After, a page in the user's language) and never a bare error."""
    assert strangers_guess(app, 4) == [401, 401, 401, 401]
    newcomer = browser(app, "192.0.2.77")
    answer = try_password(newcomer, DEMO_PASSWORD)
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) >= 29
    assert "Too many wrong passwords for this login. Wait 30 seconds" in answer.text
    assert "/forgot" in answer.text
    assert "/authorize/resume/" not in answer.headers.get("Location", "")


@pytest.mark.settings(login_free_failures=2, login_max_delay=1)
def test_after_the_wait_the_right_password_gets_in(app):
    """The wait ends by itself: no hard window, no lockout of the account."""
    assert strangers_guess(app, 3) == [401, 401, 401]
    assert try_password(browser(app, "192.0.2.5"), DEMO_PASSWORD).status_code == 429
    time.sleep(1.1)
    answer = try_password(browser(app, "192.0.2.5"), DEMO_PASSWORD)
    assert answer.status_code == 303, answer.text


@pytest.mark.settings(login_free_failures=2)
def test_the_waits_of_one_login_do_not_touch_another(app):
    """The counter is per login: guessing at one account leaves the others alone."""
    strangers_guess(app, 4)
    assert try_password(browser(app, "192.0.2.8"), DEMO_PASSWORD, DEMO_INACTIVE).status_code == 303


@pytest.mark.settings(login_free_failures=2)
def test_forgot_password_stays_open_and_the_reset_ends_the_waits(app):
    """The owner on a new phone: the forgot-password path works during the waits, and the
    reset (which proves the mailbox) lets the new password in at once."""
    strangers_guess(app, 4)
    newcomer = browser(app, "192.0.2.9")
    assert try_password(newcomer, DEMO_PASSWORD).status_code == 429
    path = request_reset(app, newcomer)
    assert submit_password(newcomer, path, NEW_PASSWORD).status_code == 303
    answer = try_password(newcomer, NEW_PASSWORD)
    assert answer.status_code == 303, answer.text


def device_cookie(client: Any, name: str = "idp_device") -> Any:
    """The device cookie the test client holds (None without one)."""
    return client.get_cookie(name)


def test_device_cookie_is_signed_httponly_strict_and_long_lived(app):
    """Issued on a successful login only; HttpOnly, SameSite=Strict (the form posts from our
    own origin), Path=/, lasting ``login_device_ttl``."""
    stranger = browser(app, "192.0.2.10")
    try_password(stranger, "wrong")
    assert device_cookie(stranger) is None
    owner = owners_device(app)
    cookie = device_cookie(owner)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    assert cookie.path == "/" and cookie.domain in ("localhost", "")
    assert cookie.expires is not None
    assert DEMO_ACTIVE not in cookie.value


@pytest.mark.settings(issuer="https://idp.example.be")
def test_device_cookie_over_https_is_host_prefixed_and_secure(app):
    """RFC 6265bis §4.1.3.2: ``__Host-`` (Secure, Path=/, no Domain)."""
    owner = app.test_client()
    request = AuthorizationRequest()
    page = start_login(owner, request)
    posted = submit_login(owner, page, DEMO_ACTIVE, DEMO_PASSWORD)
    assert posted.status_code == 303
    header = next(
        c for c in posted.headers.getlist("Set-Cookie") if c.startswith("__Host-idp_device=")
    )
    assert "Secure" in header and "Path=/" in header and "Domain" not in header
    assert "HttpOnly" in header and "SameSite=Strict" in header


@pytest.mark.settings(login_rate_limit=PRODUCTION_LIMIT, login_free_failures=2)
def test_forged_or_foreign_device_cookies_give_no_exemption(app):
    """A cookie signed with another key, or naming another login, is a stranger's browser."""
    strangers_guess(app, 3)
    forger = browser(app, "192.0.2.11")
    forged = URLSafeTimedSerializer("not-our-key", salt="login-device").dumps([["x", "y"]])
    forger.set_cookie("idp_device", forged)
    assert try_password(forger, DEMO_PASSWORD).status_code == 429
    other = browser(app, "192.0.2.12")
    request = AuthorizationRequest()
    redeem(other, request, authorize_with_login(other, request, DEMO_INACTIVE))
    assert try_password(other, DEMO_PASSWORD).status_code == 429


@pytest.mark.settings(login_rate_limit="3/minute", login_free_failures=1)
def test_a_device_has_its_own_budget_of_wrong_passwords(app):
    """A stolen device cookie guesses no faster than the owner types: past the device's own
    budget its wrong passwords count as a stranger's (and so earn waits)."""
    owner = owners_device(app)
    statuses = []
    for i in range(6):
        owner.environ_base["REMOTE_ADDR"] = f"198.51.100.{20 + i}"  # not the per-IP limit
        statuses.append(try_password(owner, f"wrong-{i}").status_code)
    assert statuses[:3] == [401, 401, 401]  # the device's budget, exempt from the waits
    assert statuses[3:] == [401, 401, 429], statuses  # then a stranger: 1 free, then wait


def test_the_waits_double_up_to_the_cap():
    """Failure n past the free ones waits first·2^(n-free-1) seconds, at most ``cap``."""
    delays = GrowingDelay(None, "t", free=5, first=30, cap=3600, memory=86400)  # type: ignore[arg-type]
    assert [delays.delay_after(n) for n in range(1, 14)] == [
        0,
        0,
        0,
        0,
        0,
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]
    assert delays.delay_after(10_000) == 3600
