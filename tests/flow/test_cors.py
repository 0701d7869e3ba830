"""CORS (issue #8 finding 5): a browser-based public client (oidc-client-ts) reads /token,
/userinfo and /revoke from the origins of its own registered redirect URIs, and no other
origin; never ``*``, never credentials; preflights answered. Discovery and the JWKS are public."""

from __future__ import annotations

import pytest

from idp.oauth.cors import origin_of
from tests.conftest import registrations_with
from tests.oidc import CUSTOMER_SPACE_SECRET
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_login
from tests.oidc import basic_auth
from tests.oidc import exchange_code

SPA = "spa"
SPA_ORIGIN = "https://spa.example"
SPA_REDIRECT = "https://spa.example/callback"
SPA_SCOPE = "openid profile offline_access"
EVIL = "https://evil.example"


@pytest.fixture
def overrides(tmp_path):
    """A single-page application: public, web, redirect URIs on two origins."""
    spa = {
        "name": "Browser app",
        "application_type": "web",
        "token_endpoint_auth_method": "none",
        "redirect_uris": [SPA_REDIRECT, "http://localhost:8080/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": SPA_SCOPE,
    }
    return {"clients_file": registrations_with(tmp_path, {SPA: spa})}


def spa_tokens(test_client) -> dict:
    request = AuthorizationRequest(client_id=SPA, redirect_uri=SPA_REDIRECT, scope=SPA_SCOPE)
    code = authorize_with_login(test_client, request)["code"]
    response = exchange_code(test_client, request, code)
    assert response.status_code == 200, response.text
    return response.get_json()


def assert_allows(response, origin: str) -> None:
    assert response.headers.get("Access-Control-Allow-Origin") == origin, response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers.get("Vary", "")


def assert_no_cors(response) -> None:
    assert "Access-Control-Allow-Origin" not in response.headers, response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    ("path", "methods"), [("/token", "POST"), ("/userinfo", "GET, POST"), ("/revoke", "POST")]
)
@pytest.mark.parametrize("origin", [SPA_ORIGIN, "http://localhost:8080"])
def test_preflight_from_a_public_clients_origin(test_client, path, methods, origin):
    response = test_client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, dpop, authorization",
        },
    )
    assert response.status_code == 204
    assert_allows(response, origin)
    assert response.headers["Access-Control-Allow-Methods"] == methods
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"authorization", "content-type", "dpop"} <= allowed


@pytest.mark.parametrize("path", ["/token", "/userinfo", "/revoke"])
@pytest.mark.parametrize(
    "origin",
    [EVIL, "https://SPA.example", "https://spa.example:8443", "http://spa.example", "null", "*"],
)
def test_preflight_from_another_origin_gets_no_cors(test_client, path, origin):
    response = test_client.options(
        path, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert_no_cors(response)


def test_preflight_for_a_confidential_clients_origin_gets_no_cors(test_client):
    """customer-space's redirect origin (http://127.0.0.1:5001) is a server, not a browser app."""
    response = test_client.options(
        "/token",
        headers={"Origin": "http://127.0.0.1:5001", "Access-Control-Request-Method": "POST"},
    )
    assert_no_cors(response)


def test_token_response_names_the_clients_origin(test_client):
    request = AuthorizationRequest(client_id=SPA, redirect_uri=SPA_REDIRECT, scope=SPA_SCOPE)
    code = authorize_with_login(test_client, request)["code"]
    response = test_client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": SPA_REDIRECT,
            "code_verifier": request.code_verifier,
            "client_id": SPA,
        },
        headers={"Origin": SPA_ORIGIN},
    )
    assert response.status_code == 200, response.text
    assert_allows(response, SPA_ORIGIN)
    assert "access_token" in response.get_json()


def test_token_error_is_readable_by_the_client_too(test_client):
    """RFC 6749 §5.2 errors must reach the browser app as well (invalid_grant)."""
    response = test_client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": "bogus",
            "redirect_uri": SPA_REDIRECT,
            "code_verifier": "x" * 43,
            "client_id": SPA,
        },
        headers={"Origin": SPA_ORIGIN},
    )
    assert response.status_code == 400
    assert_allows(response, SPA_ORIGIN)


@pytest.mark.parametrize(
    ("client_id", "origin"),
    [
        (SPA, EVIL),  # a stranger's page
        (SPA, "http://127.0.0.1"),  # another public client's origin (smart-app's loopback)
        ("smart-app", SPA_ORIGIN),  # the SPA's origin claiming another client
        ("nobody", SPA_ORIGIN),
    ],
)
def test_token_request_from_an_origin_not_the_clients_gets_no_cors(test_client, client_id, origin):
    response = test_client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": client_id},
        headers={"Origin": origin},
    )
    assert response.status_code in (400, 401)
    assert_no_cors(response)


def test_confidential_client_gets_no_cors(test_client):
    response = test_client.post(
        "/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": "x"},
        headers={
            "Origin": "http://127.0.0.1:5001",
            "Authorization": basic_auth("customer-space", CUSTOMER_SPACE_SECRET),
        },
    )
    assert response.status_code == 400
    assert_no_cors(response)


def test_userinfo_and_revoke_name_the_tokens_clients_origin(test_client):
    tokens = spa_tokens(test_client)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    ok = test_client.get("/userinfo", headers={**bearer, "Origin": SPA_ORIGIN})
    assert ok.status_code == 200
    assert_allows(ok, SPA_ORIGIN)
    assert_no_cors(test_client.get("/userinfo", headers={**bearer, "Origin": EVIL}))
    revoked = test_client.post(
        "/revoke",
        data={"token": tokens["refresh_token"], "client_id": SPA},
        headers={"Origin": SPA_ORIGIN},
    )
    assert revoked.status_code == 200
    assert_allows(revoked, SPA_ORIGIN)
    # The revoked token's 401 is readable by its client's page (WWW-Authenticate exposed).
    after = test_client.get("/userinfo", headers={**bearer, "Origin": SPA_ORIGIN})
    assert after.status_code == 401
    assert_allows(after, SPA_ORIGIN)
    assert "WWW-Authenticate" in after.headers["Access-Control-Expose-Headers"]


def test_userinfo_with_an_unknown_token_gets_no_cors(test_client):
    response = test_client.get(
        "/userinfo", headers={"Authorization": "Bearer nope", "Origin": SPA_ORIGIN}
    )
    assert response.status_code == 401
    assert_no_cors(response)


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks.json"])
def test_public_documents_are_readable_from_any_origin_without_credentials(test_client, path):
    response = test_client.get(path, headers={"Origin": EVIL})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    ("uri", "origin"),
    [
        ("https://spa.example/callback", "https://spa.example"),
        ("https://spa.example:443/callback", "https://spa.example"),
        ("https://SPA.Example/callback", "https://spa.example"),
        ("http://localhost:8080/cb?x=1", "http://localhost:8080"),
        ("http://localhost:80/cb", "http://localhost"),
        ("http://[::1]:5000/cb", "http://[::1]:5000"),
        ("be.customerspace.smartapp:/oauth2redirect", None),
        ("https://spa.example:99999/cb", None),
        ("https:///cb", None),
    ],
)
def test_origin_of(uri, origin):
    assert origin_of(uri) == origin
