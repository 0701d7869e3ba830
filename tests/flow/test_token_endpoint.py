"""The token endpoint for the code grant: single-use codes bound to client, redirect URI and PKCE
verifier; client authentication by the registered method; JSON, never cached."""

from __future__ import annotations

import time

import pytest

from tests import presets
from tests.oidc import CUSTOMER_SPACE_REDIRECT
from tests.oidc import CUSTOMER_SPACE_SECRET
from tests.oidc import DEMO_PASSWORD
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_login
from tests.oidc import basic_auth
from tests.oidc import exchange_code
from tests.oidc import finish_login
from tests.oidc import login_and_get_tokens
from tests.oidc import query_of
from tests.oidc import redeem
from tests.oidc import refresh
from tests.oidc import run_in_parallel
from tests.oidc import s256
from tests.oidc import userinfo


def assert_token_error(response, status: int | tuple[int, ...], error: str) -> dict:
    """RFC 6749 §5.2: a JSON error object, not cached (§5.1)."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.is_json, response.headers
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["error"] == error, body
    assert "access_token" not in body and "id_token" not in body
    return body


def new_code(test_client, request: AuthorizationRequest) -> str:
    """A fresh code for ``request`` from the browser's OP session (logging in if needed)."""
    response = test_client.get(request.url())
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    if "/interaction/" in location:
        return finish_login(test_client, request, location)["code"]
    assert location.startswith(request.redirect_uri + "?"), location
    return query_of(location)["code"]


# ---- single use --------------------------------------------------------------------------------


def test_replayed_code_is_refused_and_revokes_what_it_issued(test_client):
    """RFC 6749 §4.1.2 (a code used twice: the request MUST be denied and the tokens issued from it
    SHOULD be revoked), RFC 9700 §4.5.3, product §5 ("a replayed code revokes what it issued")."""
    request = AuthorizationRequest()
    code = authorize_with_login(test_client, request)["code"]
    first = exchange_code(test_client, request, code)
    assert first.status_code == 200, first.text
    tokens = first.get_json()
    assert userinfo(test_client, tokens["access_token"]).status_code == 200
    refreshed = refresh(test_client, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    newer = refreshed.get_json()

    assert_token_error(exchange_code(test_client, request, code), 400, "invalid_grant")

    assert userinfo(test_client, tokens["access_token"]).status_code == 401
    assert userinfo(test_client, newer["access_token"]).status_code == 401  # refreshed ones too
    assert_token_error(refresh(test_client, newer["refresh_token"]), 400, "invalid_grant")


def test_replayed_code_of_customer_space_revokes_its_token(test_client):
    """RFC 6749 §4.1.2: the same for the confidential client."""
    request = AuthorizationRequest.customer_space()
    code = authorize_with_login(test_client, request)["code"]
    first = exchange_code(test_client, request, code)
    assert first.status_code == 200, first.text
    assert_token_error(exchange_code(test_client, request, code), 400, "invalid_grant")
    assert userinfo(test_client, first.get_json()["access_token"]).status_code == 401


def test_parallel_redemptions_of_one_code_give_one_token(app, test_client):
    """RFC 6749 §4.1.2 ("The client MUST NOT use the authorization code more than once"), enforced
    atomically: of simultaneous redemptions exactly one succeeds (RFC 9700 §4.5.3)."""
    login_and_get_tokens(test_client)
    for _ in range(3):
        request = AuthorizationRequest()
        code = new_code(test_client, request)
        results = run_in_parallel(
            app, [lambda c, r=request, k=code: exchange_code(c, r, k) for _ in range(3)]
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200, 400, 400], [r.get_json() for r in results]
        for response in results:
            assert response.is_json and response.headers["Cache-Control"] == "no-store"
            if response.status_code == 400:
                assert response.get_json()["error"] == "invalid_grant"


@pytest.mark.slow
@pytest.mark.settings(**presets.SHORT_CODES)
def test_expired_code_is_refused(test_client):
    """RFC 6749 §4.1.2 (the code MUST expire shortly after it is issued) → invalid_grant (§5.2)."""
    login_and_get_tokens(test_client)  # an immediate redemption works with the 1 s lifetime
    request = AuthorizationRequest()
    code = new_code(test_client, request)
    time.sleep(1.2)
    assert_token_error(exchange_code(test_client, request, code), 400, "invalid_grant")


# ---- bindings of the code ----------------------------------------------------------------------


def test_code_is_bound_to_the_client(test_client):
    """RFC 6749 §4.1.3 (the code was issued to the authenticated client / to client_id), §10.5."""
    cs_request = AuthorizationRequest.customer_space()
    cs_code = authorize_with_login(test_client, cs_request)["code"]
    stolen = AuthorizationRequest(
        redirect_uri=CUSTOMER_SPACE_REDIRECT, code_verifier=cs_request.code_verifier
    )
    assert_token_error(exchange_code(test_client, stolen, cs_code), 400, "invalid_grant")

    app_request = AuthorizationRequest()
    app_code = new_code(test_client, app_request)
    as_cs = AuthorizationRequest.customer_space(
        redirect_uri=app_request.redirect_uri, code_verifier=app_request.code_verifier
    )
    assert_token_error(exchange_code(test_client, as_cs, app_code), 400, "invalid_grant")

    # The rightful clients can still redeem them.
    redeem(
        test_client,
        cs_request,
        {"code": cs_code, "state": cs_request.state, "iss": "http://localhost"},
    )
    assert exchange_code(test_client, app_request, app_code).status_code == 200


def test_code_is_bound_to_the_redirect_uri(test_client):
    """RFC 6749 §4.1.3 (redirect_uri REQUIRED and identical), RFC 8252 §7.3 (the loopback port
    used at the request is part of it)."""
    request = AuthorizationRequest(redirect_uri="http://127.0.0.1:50001/callback")
    code = authorize_with_login(test_client, request)["code"]
    for other in (
        "http://127.0.0.1:50002/callback",
        "http://127.0.0.1/callback",
        "be.customerspace.smartapp:/oauth2redirect",
        None,
    ):
        response = exchange_code(test_client, request, code, redirect_uri=other)
        assert_token_error(response, 400, "invalid_grant")
    assert exchange_code(test_client, request, code).status_code == 200

    cs_request = AuthorizationRequest.customer_space()
    cs_code = new_code(test_client, cs_request)
    response = exchange_code(
        test_client, cs_request, cs_code, redirect_uri="http://127.0.0.1:5001/other"
    )
    assert_token_error(response, 400, "invalid_grant")
    response = exchange_code(test_client, cs_request, cs_code, redirect_uri=None)
    assert_token_error(response, 400, "invalid_grant")


def test_code_is_bound_to_the_pkce_verifier(test_client):
    """RFC 7636 §4.6 (verifier checked against the stored S256 challenge; mismatch →
    invalid_grant), RFC 9700 §2.1.1 (required for the public client)."""
    request = AuthorizationRequest()
    code = authorize_with_login(test_client, request)["code"]
    other_verifier = AuthorizationRequest().code_verifier
    assert_token_error(
        exchange_code(test_client, request, code, code_verifier=other_verifier),
        400,
        "invalid_grant",
    )
    # the challenge itself is not a valid verifier for it
    challenge = s256(request.code_verifier)
    response = exchange_code(test_client, request, code, code_verifier=challenge + "x" * 10)
    assert_token_error(response, 400, "invalid_grant")
    missing = exchange_code(test_client, request, code, code_verifier=None)
    assert missing.status_code == 400 and missing.get_json()["error"] in (
        "invalid_request",
        "invalid_grant",
    )
    assert "access_token" not in missing.get_json()
    assert exchange_code(test_client, request, code).status_code == 200


def test_customer_space_pkce_is_enforced_when_used_and_not_downgradable(test_client):
    """RFC 7636 §4.6 for the confidential client, and RFC 9700 §4.8.2 (PKCE downgrade: a verifier
    sent for a code issued without a challenge MUST be refused)."""
    request = AuthorizationRequest.customer_space()
    code = authorize_with_login(test_client, request)["code"]
    missing = exchange_code(test_client, request, code, code_verifier=None)
    assert missing.status_code == 400, missing.text
    assert "access_token" not in missing.get_json()
    other_verifier = AuthorizationRequest().code_verifier
    wrong = exchange_code(test_client, request, code, code_verifier=other_verifier)
    assert_token_error(wrong, 400, "invalid_grant")

    plain = AuthorizationRequest.customer_space(code_verifier=None)
    plain_code = new_code(test_client, plain)
    response = exchange_code(
        test_client, plain, plain_code, code_verifier=AuthorizationRequest().code_verifier
    )
    assert response.status_code == 400 and "access_token" not in response.get_json()
    assert exchange_code(test_client, plain, plain_code).status_code == 200


# ---- client authentication ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    ["wrong", "", CUSTOMER_SPACE_SECRET + "x", CUSTOMER_SPACE_SECRET.upper()],
    ids=["wrong", "empty", "longer", "upper-cased"],
)
def test_wrong_client_secret_is_invalid_client_401(test_client, secret):
    """RFC 6749 §5.2: failed client authentication → 401 invalid_client with WWW-Authenticate when
    the client used the Authorization header; §2.3.1."""
    request = AuthorizationRequest.customer_space()
    code = authorize_with_login(test_client, request)["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.redirect_uri,
        "code_verifier": request.code_verifier,
    }
    response = test_client.post(
        "/token", data=data, headers={"Authorization": basic_auth("customer-space", secret)}
    )
    assert_token_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")
    assert exchange_code(test_client, request, code).status_code == 200


def test_confidential_client_cannot_authenticate_with_none(test_client):
    """RFC 6749 §2.3 / §3.2.1 (a confidential client MUST authenticate), OIDC Core §9 (the
    registered token_endpoint_auth_method is the one accepted): client_id alone is not enough even
    with a valid PKCE verifier."""
    request = AuthorizationRequest.customer_space()
    code = authorize_with_login(test_client, request)["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "customer-space",
        "redirect_uri": request.redirect_uri,
        "code_verifier": request.code_verifier,
    }
    assert_token_error(test_client.post("/token", data=data), 401, "invalid_client")
    assert exchange_code(test_client, request, code).status_code == 200


def test_registered_method_is_enforced_client_secret_post_refused(test_client):
    """OIDC Core §9 / OIDC Registration §2 (token_endpoint_auth_method): customer-space is
    registered with client_secret_basic, so the right secret sent by client_secret_post
    (RFC 6749 §2.3.1) is refused; the same code then still works with basic."""
    request = AuthorizationRequest.customer_space()
    code = authorize_with_login(test_client, request)["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "customer-space",
        "client_secret": CUSTOMER_SPACE_SECRET,
        "redirect_uri": request.redirect_uri,
        "code_verifier": request.code_verifier,
    }
    assert_token_error(test_client.post("/token", data=data), 401, "invalid_client")
    assert exchange_code(test_client, request, code).status_code == 200


def test_public_client_cannot_use_a_secret_or_another_id(test_client):
    """RFC 6749 §2.3 / OIDC Core §9: smart-app is registered with ``none``; a client_id that is
    unknown or a made-up secret does not authenticate (§5.2: 401 is a MAY without the
    Authorization header)."""
    request = AuthorizationRequest()
    code = authorize_with_login(test_client, request)["code"]
    assert_token_error(
        exchange_code(test_client, request, code, client_id="no-such-client"),
        (400, 401),
        "invalid_client",
    )
    assert_token_error(
        exchange_code(test_client, request, code, client_secret="guess"),
        (400, 401),
        "invalid_client",
    )
    response = exchange_code(test_client, request, code, client_id=None)
    assert_token_error(response, (400, 401), "invalid_client")
    assert exchange_code(test_client, request, code).status_code == 200


# ---- grant types and the shape of every answer -------------------------------------------------


@pytest.mark.parametrize(
    "grant_type",
    [
        "password",
        "implicit",
        "token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ],
)
def test_unsupported_grant_types(test_client, grant_type):
    """RFC 6749 §5.2 unsupported_grant_type; product §5 (authorization code only, no password
    grant, no implicit) — for both clients, authenticated properly."""
    data = {
        "grant_type": grant_type,
        "username": "demo.actif@example.be",
        "password": DEMO_PASSWORD,
        "scope": "openid",
        "client_id": "smart-app",
    }
    assert_token_error(test_client.post("/token", data=data), 400, "unsupported_grant_type")
    data.pop("client_id")
    response = test_client.post(
        "/token",
        data=data,
        headers={"Authorization": basic_auth("customer-space", CUSTOMER_SPACE_SECRET)},
    )
    assert_token_error(response, 400, "unsupported_grant_type")


def test_every_token_answer_is_json_and_not_cached(test_client):
    """RFC 6749 §5.1 (Cache-Control: no-store on token responses) and §5.2 (JSON errors), for
    successes and each kind of failure."""
    request = AuthorizationRequest()
    code = authorize_with_login(test_client, request)["code"]
    responses = [
        exchange_code(test_client, request, code),  # 200
        exchange_code(test_client, request, code),  # replay
        test_client.post("/token", data={"grant_type": "password", "client_id": "smart-app"}),
        test_client.post(
            "/token",
            data={"grant_type": "authorization_code", "code": "x", "client_id": "smart-app"},
        ),
        test_client.post(
            "/token",
            data={"grant_type": "authorization_code", "code": "x"},
            headers={"Authorization": basic_auth("customer-space", "nope")},
        ),
        test_client.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": "smart-app"},
        ),
        test_client.post("/token", data={}),
        test_client.get("/token"),
    ]
    assert [r.status_code for r in responses][:2] == [200, 400]
    for response in responses:
        assert response.is_json, (response.status_code, response.headers)
        assert response.headers["Cache-Control"] == "no-store", response.headers
        assert "error" in response.get_json() or "access_token" in response.get_json()


def test_token_response_shape(test_client):
    """RFC 6749 §5.1 and OIDC Core §3.1.3.3: Bearer, expires_in, scope, ID token; RFC 6750."""
    tokens = login_and_get_tokens(test_client)
    assert tokens["token_type"] == "Bearer"
    assert isinstance(tokens["expires_in"], int) and tokens["expires_in"] > 0
    assert set(tokens["scope"].split()) == {
        "openid",
        "profile",
        "email",
        "offline_access",
        "eligibility",
    }
    assert tokens["access_token"] != tokens["refresh_token"]
