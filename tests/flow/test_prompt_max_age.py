"""``prompt``, ``max_age``, ``login_hint`` and ``id_token_hint`` against the OP session
(OIDC Core §3.1.2.1, §3.1.2.3, §3.1.2.6)."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import markupsafe
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

import idp.oauth.authorize
from idp.models.base import utcnow
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_INACTIVE
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import assert_error_redirect
from tests.oidc import authorize_with_session
from tests.oidc import finish_login
from tests.oidc import login_and_get_tokens
from tests.oidc import redeem
from tests.oidc import start_login

SESSION_COOKIE = "idp_session"


def shift_clock(monkeypatch, seconds: int) -> None:
    """Make the authorization endpoint believe ``seconds`` have passed (no sleeping)."""
    shifted = lambda: utcnow() + timedelta(seconds=seconds)  # noqa: E731
    monkeypatch.setattr(idp.oauth.authorize, "utcnow", shifted)


def b64json(value: dict) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hint_request(id_token_hint: str, **extra: str) -> AuthorizationRequest:
    return AuthorizationRequest(extra={"id_token_hint": id_token_hint, **extra})


def our_signed_token(app, claims: dict) -> str:
    """A JWT signed with the OP's own current RS256 key (what only the OP can make)."""
    key = app.extensions["idp_keyring"].signing_key("RS256")
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key, algorithms=["RS256"])


# ---- prompt ------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["smart-app", "customer-space"])
def test_prompt_none_with_a_session_answers_without_a_login_page(test_client, client):
    """OIDC Core §3.1.2.1 (prompt=none: no UI when the End-User is already authenticated),
    §3.1.2.6; the SSO of product §6 for the other client."""
    first = login_and_get_tokens(test_client)
    request = (
        AuthorizationRequest(extra={"prompt": "none"})
        if client == "smart-app"
        else AuthorizationRequest.customer_space(extra={"prompt": "none"})
    )
    callback = authorize_with_session(test_client, request)
    assert "error" not in callback
    tokens = redeem(test_client, request, callback)
    assert tokens["claims"]["sub"] == first["claims"]["sub"]
    assert tokens["claims"]["sid"] == first["claims"]["sid"]


def test_prompt_login_with_a_session_asks_again_and_refreshes_auth_time(
    app, test_client, monkeypatch
):
    """OIDC Core §3.1.2.1 (prompt=login: the OP MUST prompt for reauthentication) and §2
    (``auth_time`` is the time of that authentication); same user, same OP session ``sid``
    (OIDC Back-Channel Logout §2.1), but a new cookie secret (session fixation, RFC 9700 §4.7)."""
    first = login_and_get_tokens(test_client)
    cookie_before = test_client.get_cookie(SESSION_COOKIE).value
    shift_clock(monkeypatch, 120)
    request = AuthorizationRequest(extra={"prompt": "login"})
    login_page = start_login(test_client, request)  # a login page, not a code
    tokens = redeem(test_client, request, finish_login(test_client, request, login_page))
    assert tokens["claims"]["sub"] == first["claims"]["sub"]
    assert tokens["claims"]["auth_time"] >= first["claims"]["auth_time"] + 100
    assert tokens["claims"]["sid"] == first["claims"]["sid"]
    assert test_client.get_cookie(SESSION_COOKIE).value != cookie_before
    # The refreshed session now answers without login (prompt=login is not sticky).
    later = AuthorizationRequest.customer_space(extra={"max_age": "60"})
    claims = redeem(test_client, later, authorize_with_session(test_client, later))["claims"]
    assert claims["auth_time"] == tokens["claims"]["auth_time"]


def test_prompt_login_for_another_browser_session_does_not_leak(app, test_client):
    """OIDC Core §3.1.2.1: a fresh browser with prompt=login is simply asked to log in."""
    login_and_get_tokens(test_client)
    other = app.test_client()
    start_login(other, AuthorizationRequest(extra={"prompt": "login"}))


# ---- max_age -----------------------------------------------------------------------------------


def test_max_age_zero_forces_a_login(test_client):
    """OIDC Core §3.1.2.1: ``max_age=0`` is equivalent to prompt=login; with prompt=none the
    answer is login_required (§3.1.2.6)."""
    first = login_and_get_tokens(test_client)
    silent = AuthorizationRequest(extra={"max_age": "0", "prompt": "none"})
    assert_error_redirect(test_client.get(silent.url()), silent, "login_required")
    request = AuthorizationRequest(extra={"max_age": "0"})
    login_page = start_login(test_client, request)
    tokens = redeem(test_client, request, finish_login(test_client, request, login_page))
    assert tokens["claims"]["auth_time"] >= first["claims"]["auth_time"]
    assert tokens["claims"]["sid"] == first["claims"]["sid"]


def test_large_max_age_does_not_force_a_login(test_client):
    """OIDC Core §3.1.2.1: a session younger than ``max_age`` answers; ``auth_time`` is that of
    the original login (§2, REQUIRED when max_age was sent)."""
    first = login_and_get_tokens(test_client)
    request = AuthorizationRequest(extra={"max_age": "86400"})
    tokens = redeem(test_client, request, authorize_with_session(test_client, request))
    assert tokens["claims"]["auth_time"] == first["claims"]["auth_time"]


def test_huge_max_age_is_just_large(test_client):
    """OIDC Core §3.1.2.1 (max_age is a number of seconds, no upper bound): a value beyond any
    date range means "no re-login needed", not a server error."""
    first = login_and_get_tokens(test_client)
    request = AuthorizationRequest(extra={"max_age": "9" * 40})
    tokens = redeem(test_client, request, authorize_with_session(test_client, request))
    assert tokens["claims"]["auth_time"] == first["claims"]["auth_time"]


def test_max_age_is_compared_with_the_session_age(test_client, monkeypatch):
    """OIDC Core §3.1.2.1: ten minutes after the login, max_age=300 needs a new login and
    max_age=900 does not."""
    login_and_get_tokens(test_client)
    shift_clock(monkeypatch, 600)
    fresh_enough = AuthorizationRequest(extra={"max_age": "900"})
    assert "code" in authorize_with_session(test_client, fresh_enough)
    too_old = AuthorizationRequest(extra={"max_age": "300", "prompt": "none"})
    assert_error_redirect(test_client.get(too_old.url()), too_old, "login_required")
    start_login(test_client, AuthorizationRequest(extra={"max_age": "300"}))


def test_auth_time_is_always_in_the_id_token(test_client):
    """OIDC Core §2 (auth_time REQUIRED with max_age; this OP always sends it, claims.py) for both
    clients, from a password login and from SSO."""
    before = int(time.time())
    tokens = login_and_get_tokens(test_client)
    assert before - 5 <= tokens["claims"]["auth_time"] <= int(time.time()) + 1
    request = AuthorizationRequest.customer_space()
    claims = redeem(test_client, request, authorize_with_session(test_client, request))["claims"]
    assert isinstance(claims["auth_time"], int)
    assert claims["auth_time"] == tokens["claims"]["auth_time"]


# ---- login_hint --------------------------------------------------------------------------------


def test_login_hint_prefills_the_login_field(test_client):
    """OIDC Core §3.1.2.1 (login_hint), product §3.1 (IDENTIFIANT field)."""
    request = AuthorizationRequest(extra={"login_hint": DEMO_ACTIVE})
    page = test_client.get(start_login(test_client, request)).text
    assert f'name="login" type="text" value="{DEMO_ACTIVE}"' in page


def test_login_hint_is_escaped_in_the_page(test_client):
    """OIDC Core §3.1.2.1 with RFC 9700 §4.16-style page hardening: the hint is attacker-chosen
    text and must not become markup."""
    hint = '"><script>alert(1)</script><input value="'
    request = AuthorizationRequest(extra={"login_hint": hint})
    page = test_client.get(start_login(test_client, request)).text
    assert "<script>alert(1)</script>" not in page
    assert f'value="{markupsafe.escape(hint)}"' in page


def test_login_hint_alone_does_not_log_anybody_in(test_client):
    """OIDC Core §3.1.2.1: login_hint is a hint; with prompt=none and no session the answer is
    login_required (§3.1.2.6)."""
    request = AuthorizationRequest(extra={"login_hint": DEMO_ACTIVE, "prompt": "none"})
    assert_error_redirect(test_client.get(request.url()), request, "login_required")


# ---- id_token_hint -----------------------------------------------------------------------------


def test_id_token_hint_of_the_same_user_with_prompt_none_gives_a_code(test_client):
    """OIDC Core §3.1.2.1 (id_token_hint with prompt=none: answer if that End-User is logged in)."""
    first = login_and_get_tokens(test_client)
    request = hint_request(first["id_token"], prompt="none")
    tokens = redeem(test_client, request, authorize_with_session(test_client, request))
    assert tokens["claims"]["sub"] == first["claims"]["sub"]


def test_expired_id_token_hint_of_the_same_user_is_accepted(app, test_client):
    """OIDC Core §3.1.2.1: the OP SHOULD accept an expired ID token it issued as a hint."""
    first = login_and_get_tokens(test_client)
    now = int(time.time())
    hint = our_signed_token(
        app,
        {
            "iss": ISSUER,
            "sub": first["claims"]["sub"],
            "aud": "smart-app",
            "iat": now - 7200,
            "exp": now - 3600,
        },
    )
    request = hint_request(hint, prompt="none")
    assert "code" in authorize_with_session(test_client, request)


def test_forged_or_garbage_id_token_hint_is_invalid_request(app, test_client):
    """OIDC Core §3.1.2.1 / §3.1.2.6: a hint that is not an ID token issued by this OP is an
    invalid request — with or without a session, with or without prompt=none — and never lets a
    forged ``sub`` select the user."""
    first = login_and_get_tokens(test_client)
    sub, now = first["claims"]["sub"], int(time.time())
    claims = {"iss": ISSUER, "sub": sub, "aud": "smart-app", "iat": now, "exp": now + 600}
    real_kid = app.extensions["idp_keyring"].signing_key("RS256").kid
    attacker = RSAKey.generate_key(2048, private=True)
    forged = jwt.encode({"alg": "RS256", "kid": real_kid}, claims, attacker, algorithms=["RS256"])
    head, body, _ = first["id_token"].split(".")
    unsigned = f"{b64json({'alg': 'none', 'typ': 'JWT'})}.{b64json(claims)}."
    other_issuer = our_signed_token(app, {**claims, "iss": "https://evil.example"})
    no_subject = our_signed_token(app, {k: v for k, v in claims.items() if k != "sub"})
    hints = {
        "garbage": "not-a-jwt",
        "three dots": "a.b.c",
        "forged signature": forged,
        "tampered token": f"{head}.{body}.AAAA",
        "alg none": unsigned,
        "other issuer": other_issuer,
        "no sub": no_subject,
    }
    fresh = app.test_client()  # no OP session
    for name, hint in hints.items():
        for client, extra in ((test_client, {"prompt": "none"}), (test_client, {}), (fresh, {})):
            request = hint_request(hint, **extra)
            try:
                assert_error_redirect(client.get(request.url()), request, "invalid_request")
            except AssertionError as exc:
                raise AssertionError(f"{name} {extra}: {exc}") from None


def test_id_token_hint_of_another_user_with_prompt_none_is_login_required(app, test_client):
    """OIDC Core §3.1.2.1: if the End-User identified by id_token_hint is not the one logged in,
    prompt=none MUST give login_required (§3.1.2.6); without prompt=none the OP asks for a login
    instead of answering for the wrong user."""
    login_and_get_tokens(test_client, login=DEMO_ACTIVE)
    other = login_and_get_tokens(app.test_client(), login=DEMO_INACTIVE)
    request = hint_request(other["id_token"], prompt="none")
    assert_error_redirect(test_client.get(request.url()), request, "login_required")
    request = hint_request(other["id_token"])
    login_page = start_login(test_client, request)
    tokens = redeem(
        test_client, request, finish_login(test_client, request, login_page, login=DEMO_INACTIVE)
    )
    assert tokens["claims"]["sub"] == other["claims"]["sub"]
