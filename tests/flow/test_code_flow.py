"""Authorization code + PKCE for both clients, SSO, discovery and the token response."""

from __future__ import annotations

from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_INACTIVE
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_session
from tests.oidc import exchange_code
from tests.oidc import login_and_get_tokens
from tests.oidc import validate_id_token


def test_smart_app_logs_in_with_pkce_and_gets_eligibility(test_client):
    tokens = login_and_get_tokens(test_client)
    assert tokens["token_type"] == "Bearer"
    assert "refresh_token" in tokens
    claims = tokens["claims"]
    assert claims["eligibility"]["eligible"] is True
    assert claims["eligibility"]["reason"] is None
    assert claims["email"] == DEMO_ACTIVE
    assert claims["email_verified"] is True
    assert claims["name"] == "Amélie Dubois"
    assert "auth_time" in claims and "sid" in claims


def test_inactive_customer_is_not_eligible(test_client):
    tokens = login_and_get_tokens(test_client, login=DEMO_INACTIVE)
    assert tokens["claims"]["eligibility"]["eligible"] is False
    assert tokens["claims"]["eligibility"]["reason"] == "no_active_contract"


def test_customer_space_logs_in_with_client_secret_basic(test_client):
    request = AuthorizationRequest.customer_space()
    tokens = login_and_get_tokens(test_client, request)
    assert "refresh_token" not in tokens  # no offline_access for the web client
    assert tokens["claims"]["aud"] == "customer-space"


def test_second_client_in_same_browser_needs_no_password(test_client):
    first = login_and_get_tokens(test_client)
    request = AuthorizationRequest.customer_space()
    callback = authorize_with_session(test_client, request)
    assert callback["state"] == request.state and callback["iss"] == ISSUER
    response = exchange_code(test_client, request, callback["code"])
    assert response.status_code == 200, response.text
    claims = validate_id_token(
        test_client,
        response.get_json()["id_token"],
        "customer-space",
        request.nonce,
        response.get_json()["access_token"],
    )
    assert claims["sub"] == first["claims"]["sub"]
    assert claims["sid"] == first["claims"]["sid"]
    assert claims["auth_time"] == first["claims"]["auth_time"]


def test_token_responses_are_not_cached(test_client):
    request = AuthorizationRequest()
    login_and_get_tokens(test_client, request)
    response = test_client.post("/token", data={"grant_type": "authorization_code"})
    assert response.status_code in (400, 401)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.is_json


def test_subjects_are_opaque_and_distinct(test_client, app):
    a = login_and_get_tokens(test_client)["claims"]["sub"]
    other = app.test_client()
    b = login_and_get_tokens(other, login=DEMO_INACTIVE)["claims"]["sub"]
    assert a != b
    assert "@" not in a and not a.isdigit()


def test_es256_id_token_when_client_registers_it(app, test_client):
    from idp.extensions import db
    from idp.models.oauth import Client

    with app.app_context():
        db.session.get(Client, "smart-app").id_token_signed_response_alg = "ES256"
        db.session.commit()
    tokens = login_and_get_tokens(test_client)
    header = tokens["id_token"].split(".")[0]
    import base64
    import json

    decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    assert decoded["alg"] == "ES256" and decoded["kid"]
