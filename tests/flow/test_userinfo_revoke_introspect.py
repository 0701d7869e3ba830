"""UserInfo (OIDC Core §5.3), revocation (RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import idp.models.oauth
import idp.oauth.endpoints
from idp.models.base import utcnow
from tests.oidc import CUSTOMER_SPACE_SECRET
from tests.oidc import DEMO_ACTIVE
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_session
from tests.oidc import basic_auth
from tests.oidc import exchange_code
from tests.oidc import introspect
from tests.oidc import login_and_get_tokens
from tests.oidc import redeem
from tests.oidc import refresh
from tests.oidc import revoke
from tests.oidc import set_account_status
from tests.oidc import userinfo


def assert_bearer_challenge(response, error: str | None = None) -> None:
    """RFC 6750 §3: 401 with a Bearer WWW-Authenticate challenge; JSON, not cached."""
    assert response.status_code == 401, (response.status_code, response.text)
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.lower().startswith("bearer"), response.headers
    if error:
        assert f'error="{error}"' in challenge, challenge
    assert response.headers["Cache-Control"] == "no-store"
    assert "sub" not in (response.get_json(silent=True) or {})


def customer_space_tokens(test_client) -> dict:
    """Tokens of customer-space (in the same browser session as any earlier login)."""
    request = AuthorizationRequest.customer_space()
    response = test_client.get(request.url())
    if "/interaction/" in response.headers["Location"]:
        return login_and_get_tokens(test_client, request)
    return redeem(test_client, request, authorize_with_session(test_client, request))


# ---- userinfo ----------------------------------------------------------------------------------


def test_userinfo_get_and_post_return_the_claims_with_eligibility(test_client):
    """OIDC Core §5.3.1 (GET and POST, RFC 6750 §2.1 bearer header), §5.3.2 (sub equals the ID
    token's sub), product §4 (eligibility at userinfo, checked_at an integer)."""
    tokens = login_and_get_tokens(test_client)
    for method in ("GET", "POST"):
        response = userinfo(test_client, tokens["access_token"], method=method)
        assert response.status_code == 200, response.text
        assert response.is_json and response.headers["Cache-Control"] == "no-store"
        claims = response.get_json()
        assert claims["sub"] == tokens["claims"]["sub"]
        assert claims["email"] == DEMO_ACTIVE and claims["email_verified"] is True
        assert claims["name"] == "Amélie Dubois"
        eligibility = claims["eligibility"]
        assert eligibility["eligible"] is True and eligibility["reason"] is None
        assert isinstance(eligibility["checked_at"], int)
        assert abs(eligibility["checked_at"] - time.time()) < 60


def test_userinfo_returns_only_the_claims_of_the_granted_scope(test_client):
    """OIDC Core §5.4 (scope values request claims) and §5.3.2: an openid-only token gets sub."""
    request = AuthorizationRequest(scope="openid")
    tokens = login_and_get_tokens(test_client, request)
    claims = userinfo(test_client, tokens["access_token"]).get_json()
    assert claims == {"sub": tokens["claims"]["sub"]}


def test_userinfo_without_or_with_a_bad_token_is_401(test_client):
    """RFC 6750 §3 and §3.1 (401 + WWW-Authenticate: Bearer; invalid_token for a bad token),
    OIDC Core §5.3.3."""
    tokens = login_and_get_tokens(test_client)
    assert_bearer_challenge(test_client.get("/userinfo"))
    assert_bearer_challenge(test_client.post("/userinfo"))
    assert_bearer_challenge(userinfo(test_client, "garbage"), "invalid_token")
    assert_bearer_challenge(userinfo(test_client, tokens["access_token"] + "x"), "invalid_token")
    # A refresh token is not an access token (token confusion).
    assert_bearer_challenge(userinfo(test_client, tokens["refresh_token"]), "invalid_token")
    # The ID token is not an access token either.
    assert_bearer_challenge(userinfo(test_client, tokens["id_token"]), "invalid_token")


def test_userinfo_refuses_an_expired_access_token(test_client, monkeypatch):
    """RFC 6750 §3.1 invalid_token ("expired"), with the access token lifetime of product §5."""
    tokens = login_and_get_tokens(test_client)
    later = utcnow() + timedelta(seconds=tokens["expires_in"] + 1)
    monkeypatch.setattr(idp.models.oauth, "utcnow", lambda: later)
    assert_bearer_challenge(userinfo(test_client, tokens["access_token"]), "invalid_token")


def test_userinfo_refuses_a_disabled_accounts_token(app, test_client):
    """product §2 (disabled accounts) with RFC 6750 §3.1: its tokens stop working at once."""
    tokens = login_and_get_tokens(test_client)
    set_account_status(app, DEMO_ACTIVE, "disabled")
    assert_bearer_challenge(userinfo(test_client, tokens["access_token"]))


# ---- revocation --------------------------------------------------------------------------------


def test_public_client_revokes_its_access_token_with_client_id_only(test_client):
    """RFC 7009 §2.1 and §5 (public clients revoke with their client_id), §2.2 (200)."""
    tokens = login_and_get_tokens(test_client)
    response = revoke(test_client, tokens["access_token"], token_type_hint="access_token")
    assert response.status_code == 200, response.text
    assert_bearer_challenge(userinfo(test_client, tokens["access_token"]), "invalid_token")


def test_a_client_cannot_revoke_another_clients_token(test_client):
    """RFC 7009 §2.1 (the AS verifies the token was issued to the requesting client; else the
    request is refused) — a public client knowing another client's token cannot kill it."""
    app_tokens = login_and_get_tokens(test_client)
    cs_tokens = customer_space_tokens(test_client)
    response = revoke(test_client, cs_tokens["access_token"])  # smart-app, client_id only
    assert response.status_code in (400, 401), response.text
    assert userinfo(test_client, cs_tokens["access_token"]).status_code == 200
    response = revoke(test_client, app_tokens["refresh_token"], client_id="customer-space")
    assert response.status_code in (400, 401), response.text
    assert userinfo(test_client, app_tokens["access_token"]).status_code == 200
    assert refresh(test_client, app_tokens["refresh_token"]).status_code == 200


def test_revoking_a_refresh_token_kills_the_family(test_client):
    """RFC 7009 §2.1 (revoking a refresh token SHOULD also invalidate the access tokens of the
    same grant), RFC 9700 §4.14.2."""
    first = login_and_get_tokens(test_client)
    second = refresh(test_client, first["refresh_token"]).get_json()
    response = revoke(test_client, second["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200, response.text
    assert refresh(test_client, second["refresh_token"]).status_code == 400
    assert_bearer_challenge(userinfo(test_client, second["access_token"]))
    assert_bearer_challenge(userinfo(test_client, first["access_token"]))


def test_revoking_with_a_wrong_hint_still_revokes(test_client):
    """RFC 7009 §2.1: the hint is only a hint; the AS searches across all token types."""
    tokens = login_and_get_tokens(test_client)
    response = revoke(test_client, tokens["refresh_token"], token_type_hint="access_token")
    assert response.status_code == 200
    assert refresh(test_client, tokens["refresh_token"]).status_code == 400
    assert_bearer_challenge(userinfo(test_client, tokens["access_token"]))


def test_revoking_an_unknown_or_already_revoked_token_is_200(test_client):
    """RFC 7009 §2.2: invalid tokens do not cause an error response (200)."""
    tokens = login_and_get_tokens(test_client)
    assert revoke(test_client, "unknown-token").status_code == 200
    assert revoke(test_client, "unknown-token", client_id="customer-space").status_code == 200
    assert revoke(test_client, tokens["access_token"]).status_code == 200
    assert revoke(test_client, tokens["access_token"]).status_code == 200


def test_revocation_requires_client_authentication(test_client):
    """RFC 7009 §2.1 (the client authenticates as at the token endpoint), RFC 6749 §2.3."""
    tokens = login_and_get_tokens(test_client)
    response = test_client.post("/revoke", data={"token": tokens["access_token"]})
    assert response.status_code in (400, 401) and response.get_json()["error"] == "invalid_client"
    response = test_client.post(
        "/revoke",
        data={"token": tokens["access_token"]},
        headers={"Authorization": basic_auth("customer-space", "wrong")},
    )
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    assert userinfo(test_client, tokens["access_token"]).status_code == 200


def test_confidential_client_revokes_its_token(test_client):
    """RFC 7009 §2.1 with client_secret_basic."""
    tokens = customer_space_tokens(test_client)
    assert (
        revoke(test_client, tokens["access_token"], client_id="customer-space").status_code == 200
    )
    assert_bearer_challenge(userinfo(test_client, tokens["access_token"]))


# ---- introspection -----------------------------------------------------------------------------


def test_introspection_of_own_active_token(test_client):
    """RFC 7662 §2.2: active true with sub, scope, exp, client_id (and iat, iss, token_type)."""
    tokens = customer_space_tokens(test_client)
    response = introspect(test_client, tokens["access_token"])
    assert response.status_code == 200 and response.is_json, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["active"] is True
    assert body["sub"] == tokens["claims"]["sub"]
    assert set(body["scope"].split()) == set(tokens["scope"].split())
    assert body["client_id"] == "customer-space"
    assert isinstance(body["exp"], int) and time.time() < body["exp"] <= time.time() + 3600
    assert body["iss"] == ISSUER


def test_introspection_inactive_cases(test_client):
    """RFC 7662 §2.2 (active false for revoked, unknown, or tokens the caller may not see — with
    no other member), §4 (no leaking another client's token)."""
    app_tokens = login_and_get_tokens(test_client)
    revoked = customer_space_tokens(test_client)
    assert (
        revoke(test_client, revoked["access_token"], client_id="customer-space").status_code == 200
    )
    for token in (
        revoked["access_token"],
        "unknown-token",
        app_tokens["access_token"],
        app_tokens["refresh_token"],
        app_tokens["id_token"],
    ):
        response = introspect(test_client, token)
        assert response.status_code == 200, response.text
        assert response.get_json() == {"active": False}, token


def test_introspection_of_a_token_from_a_replayed_code_is_inactive(test_client):
    """RFC 7662 §2.2 with RFC 6749 §4.1.2 (tokens of a replayed code are revoked)."""
    login_and_get_tokens(test_client)
    request = AuthorizationRequest.customer_space()
    code = authorize_with_session(test_client, request)["code"]
    tokens = exchange_code(test_client, request, code).get_json()
    assert introspect(test_client, tokens["access_token"]).get_json()["active"] is True
    assert exchange_code(test_client, request, code).status_code == 400
    assert introspect(test_client, tokens["access_token"]).get_json() == {"active": False}


def test_public_client_cannot_introspect(test_client):
    """RFC 7662 §2.1 (the endpoint requires client authentication) and §4: the public smart-app
    gets 401 invalid_client, even about its own token."""
    tokens = login_and_get_tokens(test_client)
    for data in (
        {"token": tokens["access_token"], "client_id": "smart-app"},
        {"token": tokens["access_token"]},
    ):
        response = test_client.post("/introspect", data=data)
        assert response.status_code == 401, response.text
        assert response.get_json()["error"] == "invalid_client"
        assert "active" not in response.get_json()
    response = introspect(
        test_client,
        tokens["access_token"],
        authorization=basic_auth("customer-space", CUSTOMER_SPACE_SECRET + "x"),
    )
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_concurrent_revocations_do_not_mix_up_their_tokens(app, monkeypatch):
    """RFC 7009 §2.1 (a revoked refresh token takes the tokens of its grant with it) must hold
    under concurrency: the endpoint object is shared by all requests, so what was presented is
    request state. Interleaving forced: B's lookup of its refresh token waits while A revokes an
    access token."""
    a = login_and_get_tokens(app.test_client())
    b_browser = app.test_client()
    b_first = login_and_get_tokens(b_browser)
    b_second = refresh(b_browser, b_first["refresh_token"]).get_json()

    real_find_token = idp.oauth.endpoints.find_token
    b_waiting, a_looked_up = threading.Event(), threading.Event()

    def interleaved_find_token(value, hint):
        if value == b_second["refresh_token"]:
            b_waiting.set()
            a_looked_up.wait(timeout=5)
        elif value == a["access_token"]:
            a_looked_up.set()
        return real_find_token(value, hint)

    monkeypatch.setattr(idp.oauth.endpoints, "find_token", interleaved_find_token)
    answers: dict[str, object] = {}

    def revoke_b() -> None:
        try:
            answers["b"] = revoke(app.test_client(), b_second["refresh_token"]).status_code
        except Exception as exc:  # noqa: BLE001 - reported below
            answers["b"] = exc

    thread = threading.Thread(target=revoke_b)
    thread.start()
    assert b_waiting.wait(timeout=5)
    answers["a"] = revoke(app.test_client(), a["access_token"]).status_code
    thread.join(timeout=10)
    assert answers == {"a": 200, "b": 200}
    monkeypatch.undo()

    checker = app.test_client()
    assert_bearer_challenge(userinfo(checker, a["access_token"]))
    assert refresh(checker, b_second["refresh_token"]).status_code == 400
    assert_bearer_challenge(userinfo(checker, b_second["access_token"]))
    assert_bearer_challenge(userinfo(checker, b_first["access_token"]))  # the whole family
