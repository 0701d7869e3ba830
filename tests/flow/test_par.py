"""Pushed Authorization Requests (RFC 9126): /par authenticates the client as the token
endpoint does and answers a short-lived, single-use request_uri; /authorize acts on the pushed
parameters only; a client may be required to push."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import update

from idp.extensions import db
from idp.models.base import utcnow
from idp.models.pushed_request import PushedRequest
from tests.conftest import registrations_with
from tests.flow.dpop_steps import PREFIX
from tests.flow.dpop_steps import authorize_url
from tests.flow.dpop_steps import push
from tests.flow.dpop_steps import pushed_uri
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import assert_error_page
from tests.oidc import assert_error_redirect
from tests.oidc import basic_auth
from tests.oidc import finish_login
from tests.oidc import redeem

MUST_PUSH = "push-only"
CS_BASIC = {"Authorization": basic_auth("customer-space", "dev-customer-space-secret")}


@pytest.fixture
def overrides(tmp_path):
    app = {
        "name": "Push-only app",
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "scope": "openid profile",
        "require_pushed_authorization_requests": True,
    }
    return {"clients_file": registrations_with(tmp_path, {MUST_PUSH: app})}


def test_pushed_request_completes_the_code_flow(test_client):
    """RFC 9126 §2 and §4, with PKCE and nonce carried by the pushed request."""
    request = AuthorizationRequest()
    uri = pushed_uri(test_client, request)
    response = test_client.get(authorize_url("smart-app", uri))
    assert response.status_code == 302 and "/interaction/" in response.headers["Location"]
    callback = finish_login(test_client, request, response.headers["Location"])
    tokens = redeem(test_client, request, callback)
    assert tokens["claims"]["nonce"] == request.nonce


def test_confidential_client_pushes_with_its_authentication(test_client):
    """§2: the client authenticates as at the token endpoint; client_id may then be left out."""
    request = AuthorizationRequest.customer_space()
    uri = pushed_uri(test_client, request, headers=CS_BASIC, client_id=None)
    login = start_login_at(test_client, authorize_url("customer-space", uri))
    callback = finish_login(test_client, request, login)
    redeem(test_client, request, callback)


def start_login_at(test_client, url: str) -> str:
    response = test_client.get(url)
    assert response.status_code == 302 and "/interaction/" in response.headers["Location"]
    return response.headers["Location"]


def test_request_uri_is_single_use(test_client):
    """§4 / §7.3: one use (a replay gets an error page, nothing is redirected)."""
    request = AuthorizationRequest()
    uri = pushed_uri(test_client, request)
    start_login_at(test_client, authorize_url("smart-app", uri))
    page = assert_error_page(test_client.get(authorize_url("smart-app", uri)))
    assert request.redirect_uri not in page


def test_expired_request_uri_is_refused(app, test_client):
    """§2.2: short-lived."""
    uri = pushed_uri(test_client, AuthorizationRequest())
    with app.app_context():
        db.session.execute(update(PushedRequest).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert_error_page(test_client.get(authorize_url("smart-app", uri)))


@pytest.mark.parametrize(
    "url",
    [
        lambda uri: authorize_url("customer-space", uri),  # another client's request_uri
        lambda uri: "/authorize?" + urlencode({"request_uri": uri}),  # no client_id
        lambda uri: authorize_url("smart-app", uri + "x"),  # unknown
        lambda uri: authorize_url("smart-app", "https://app.example/request.jwt"),  # by reference
    ],
    ids=["other-client", "no-client-id", "unknown", "not-from-par"],
)
def test_request_uri_must_be_ours_and_the_clients(test_client, url):
    uri = pushed_uri(test_client, AuthorizationRequest())
    assert_error_page(test_client.get(url(uri)))


def test_only_the_pushed_parameters_count(test_client):
    """§4: parameters beside client_id and request_uri are ignored (the pushed redirect_uri,
    state and scope are the ones used)."""
    request = AuthorizationRequest()
    uri = pushed_uri(test_client, request)
    login = start_login_at(
        test_client,
        authorize_url(
            "smart-app",
            uri,
            redirect_uri="http://127.0.0.1:1/evil",
            state="forged",
            scope="openid",
        ),
    )
    callback = finish_login(test_client, request, login)
    assert callback["state"] == request.state
    tokens = redeem(test_client, request, callback)
    assert "eligibility" in tokens["claims"]


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"request_uri": PREFIX + "x"}, 400, "invalid_request"),
        ({"redirect_uri": "http://evil.example/cb"}, 400, "invalid_request"),
        ({"code_challenge": None, "code_challenge_method": None}, 400, "invalid_request"),
        ({"response_type": "token"}, 400, "unsupported_response_type"),
        ({"scope": "profile"}, 400, "invalid_scope"),
        ({"client_id": "nobody"}, 400, "invalid_client"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, 400, "request_not_supported"),
    ],
    ids=[
        "request-uri-pushed",
        "unregistered-redirect",
        "no-pkce",
        "implicit",
        "no-openid",
        "unknown-client",
        "request-object",
    ],
)
def test_bad_pushed_requests_get_json_errors(test_client, changes, status, error):
    """§2.3: errors are answered to the client in JSON, never redirected."""
    response = push(test_client, AuthorizationRequest(), changes=changes)
    assert response.status_code == status, response.text
    assert response.get_json()["error"] == error
    assert "Location" not in response.headers and "request_uri" not in response.get_json()


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": basic_auth("customer-space", "wrong")},
        {"Authorization": basic_auth("smart-app", "x")},
        {},
    ],
    ids=["wrong-secret", "secret-for-a-public-client", "none"],
)
def test_confidential_client_must_authenticate_to_push(test_client, headers):
    request = AuthorizationRequest.customer_space()
    response = push(test_client, request, headers=headers)
    assert response.status_code in (400, 401), response.text
    assert response.get_json()["error"] == "invalid_client"


def test_client_id_beside_authentication_must_match(test_client):
    request = AuthorizationRequest.customer_space()
    response = push(test_client, request, headers=CS_BASIC, changes={"client_id": "smart-app"})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_prompt_none_is_decided_at_authorize(test_client):
    """The pushed request is checked as a request; the session is looked at by /authorize."""
    request = AuthorizationRequest(extra={"prompt": "none"})
    uri = pushed_uri(test_client, request)
    response = test_client.get(authorize_url("smart-app", uri))
    assert_error_redirect(response, request, "login_required")


def test_client_that_must_push_cannot_send_a_plain_request(test_client):
    """§6 require_pushed_authorization_requests."""
    request = AuthorizationRequest(client_id=MUST_PUSH, scope="openid profile")
    assert_error_page(test_client.get(request.url()))
    uri = pushed_uri(test_client, request)
    start_login_at(test_client, authorize_url(MUST_PUSH, uri))


def test_discovery_advertises_par(test_client):
    metadata = test_client.get("/.well-known/openid-configuration").get_json()
    assert metadata["pushed_authorization_request_endpoint"] == f"{ISSUER}/par"
    assert metadata["require_pushed_authorization_requests"] is False
