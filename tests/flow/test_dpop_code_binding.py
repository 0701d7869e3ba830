"""Authorization code binding to a DPoP key (RFC 9449 §10): ``dpop_jkt`` in the authorization
request, or a DPoP proof sent to /par (§10.1); the code is then redeemed only with a proof of
that key, and a wrong key does not spend it."""

from __future__ import annotations

import pytest

from tests.flow.dpop_steps import PAR_URL
from tests.flow.dpop_steps import TOKEN_URL
from tests.flow.dpop_steps import authorize_url
from tests.flow.dpop_steps import push
from tests.flow.dpop_steps import pushed_uri
from tests.flow.dpop_steps import smart_app_code
from tests.oidc import AuthorizationRequest
from tests.oidc import assert_error_redirect
from tests.oidc import dpop_proof
from tests.oidc import exchange_code
from tests.oidc import finish_login


def redeem_with(test_client, request, code, key=None):
    headers = {"DPoP": dpop_proof(key, "POST", TOKEN_URL)} if key is not None else None
    return exchange_code(test_client, request, code, _headers=headers)


def test_a_code_bound_by_dpop_jkt_is_redeemed_with_that_key(test_client, key):
    request = AuthorizationRequest(extra={"dpop_jkt": key.thumbprint()})
    code = smart_app_code(test_client, request)
    response = redeem_with(test_client, request, code, key)
    assert response.status_code == 200, response.text
    assert response.get_json()["token_type"] == "DPoP"


@pytest.mark.parametrize("proof", ["none", "other-key"])
def test_a_bound_code_is_refused_without_its_key_and_stays_usable(
    test_client, key, other_key, proof
):
    """§10: the proof's key must be the one named by dpop_jkt; a wrong try (an intercepted
    code) does not spend the code of the client that holds the key."""
    request = AuthorizationRequest(extra={"dpop_jkt": key.thumbprint()})
    code = smart_app_code(test_client, request)
    wrong = redeem_with(test_client, request, code, other_key if proof == "other-key" else None)
    assert wrong.status_code == 400, wrong.text
    expected = "invalid_grant" if proof == "other-key" else "invalid_dpop_proof"
    assert wrong.get_json()["error"] == expected
    assert "access_token" not in wrong.get_json()
    right = redeem_with(test_client, request, code, key)
    assert right.status_code == 200, right.text


def test_a_code_without_dpop_jkt_stays_unbound(test_client, key):
    request = AuthorizationRequest()
    code = smart_app_code(test_client, request)
    response = redeem_with(test_client, request, code)
    assert response.status_code == 200, response.text
    assert response.get_json()["token_type"] == "Bearer"


@pytest.mark.parametrize("value", ["abc", "x" * 42 + "=", "+" * 43, "a" * 44])
def test_a_malformed_dpop_jkt_is_refused_to_the_client(test_client, value):
    request = AuthorizationRequest(extra={"dpop_jkt": value})
    assert_error_redirect(test_client.get(request.url()), request, "invalid_request")


def test_a_proof_sent_to_par_binds_the_code(test_client, key, other_key):
    """§10.1: the DPoP header at /par binds the code like dpop_jkt does."""
    request = AuthorizationRequest()
    uri = pushed_uri(test_client, request, headers={"DPoP": dpop_proof(key, "POST", PAR_URL)})
    started = test_client.get(authorize_url("smart-app", uri))
    callback = finish_login(test_client, request, started.headers["Location"])
    wrong = redeem_with(test_client, request, callback["code"], other_key)
    assert wrong.get_json()["error"] == "invalid_grant", wrong.text
    right = redeem_with(test_client, request, callback["code"], key)
    assert right.status_code == 200, right.text
    assert right.get_json()["token_type"] == "DPoP"


def test_par_refuses_a_dpop_jkt_of_another_key_than_its_proof(test_client, key, other_key):
    """§10.1: both ways at once must name the same key."""
    request = AuthorizationRequest(extra={"dpop_jkt": other_key.thumbprint()})
    response = push(test_client, request, headers={"DPoP": dpop_proof(key, "POST", PAR_URL)})
    assert response.status_code == 400, response.text
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_par_accepts_both_ways_naming_one_key(test_client, key):
    request = AuthorizationRequest(extra={"dpop_jkt": key.thumbprint()})
    pushed_uri(test_client, request, headers={"DPoP": dpop_proof(key, "POST", PAR_URL)})


@pytest.mark.parametrize("target", ["token-endpoint", "replayed"])
def test_par_checks_its_proof(test_client, key, target):
    """§4.3: a proof at /par names /par (htu) and is used once."""
    request = AuthorizationRequest()
    url = TOKEN_URL if target == "token-endpoint" else PAR_URL
    proof = dpop_proof(key, "POST", url)
    if target == "replayed":
        pushed_uri(test_client, request, headers={"DPoP": proof})
    response = push(test_client, request, headers={"DPoP": proof})
    assert response.status_code == 400, response.text
    assert response.get_json()["error"] == "invalid_dpop_proof"
