"""Issue #8 finding 4: several confidential clients, each with its own secret (an integrator
adds an Apache front end beside the customer space without sharing its secret)."""

from __future__ import annotations

import pytest

from idp.config import development_client_secret
from tests.conftest import registrations_with
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_login
from tests.oidc import basic_auth
from tests.oidc import validate_id_token

APACHE = "apache-front"
APACHE_REDIRECT = "https://apache.example/redirect_uri"
APACHE_SECRET = "apache-front-secret-from-the-vault-0123456789"
CUSTOMER_SPACE_SECRET = "customer-space-secret-from-the-vault-0123456789"


@pytest.fixture
def overrides(tmp_path):
    """A second confidential client; each client's secret from its own variable."""
    path = registrations_with(
        tmp_path,
        {
            APACHE: {
                "name": "Apache front end",
                "token_endpoint_auth_method": "client_secret_post",
                "redirect_uris": [APACHE_REDIRECT],
                "scope": "openid profile email",
            }
        },
    )
    return {
        "clients_file": path,
        "client_secrets": {"APACHE_FRONT": APACHE_SECRET, "CUSTOMER_SPACE": CUSTOMER_SPACE_SECRET},
    }


def apache_code(test_client) -> tuple[AuthorizationRequest, str]:
    request = AuthorizationRequest(
        client_id=APACHE, redirect_uri=APACHE_REDIRECT, scope="openid profile email"
    )
    return request, authorize_with_login(test_client, request)["code"]


def redeem_as_apache(test_client, request, code, secret):
    return test_client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.code_verifier,
            "client_id": APACHE,
            "client_secret": secret,
        },
    )


def test_second_confidential_client_uses_its_own_secret(test_client):
    request, code = apache_code(test_client)
    response = redeem_as_apache(test_client, request, code, APACHE_SECRET)
    assert response.status_code == 200, response.text
    tokens = response.get_json()
    validate_id_token(test_client, tokens["id_token"], APACHE, nonce=request.nonce)


@pytest.mark.parametrize(
    "secret",
    [
        CUSTOMER_SPACE_SECRET,
        development_client_secret("apache-front"),
        development_client_secret("customer-space"),
    ],
)
def test_another_clients_secret_or_the_development_one_is_refused(test_client, secret):
    request, code = apache_code(test_client)
    response = redeem_as_apache(test_client, request, code, secret)
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("secret", "status"),
    [
        (CUSTOMER_SPACE_SECRET, 400),
        (APACHE_SECRET, 401),
        (development_client_secret("customer-space"), 401),
    ],
)
def test_customer_space_has_its_own_secret(test_client, secret, status):
    """Authenticated (then a bad code: invalid_grant 400) only with its own secret."""
    response = test_client.post(
        "/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": "x"},
        headers={"Authorization": basic_auth("customer-space", secret)},
    )
    assert response.status_code == status, response.text
