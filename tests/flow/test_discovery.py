"""Discovery, JWKS and signing key rotation without downtime."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc.jwk import KeySet

import idp.keys
from idp import create_app
from idp.extensions import db
from tests import presets
from tests.oidc import AuthorizationRequest
from tests.oidc import login_and_get_tokens
from tests.oidc import start_login
from tests.oidc import validate_id_token

HTTPS_ISSUER = "https://idp.example.test"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def header_of(token: str) -> dict:
    """The JOSE header of a compact JWS."""
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


@pytest.mark.settings(issuer=HTTPS_ISSUER)
def test_discovery_document_validates_and_lists_endpoints_under_the_issuer(test_client):
    """OIDC Discovery 1.0 §3 and §4.3 (issuer identical to the one asked for), RFC 8414 §2,
    RFC 7636 §4.3 / RFC 9700 §2.1.1 (S256 only), RFC 9207 §3 (iss parameter), product §5 (code
    flow only)."""
    response = test_client.get("/.well-known/openid-configuration")
    assert response.status_code == 200 and response.is_json
    metadata = response.get_json()
    OpenIDProviderMetadata(metadata).validate()
    assert metadata["issuer"] == HTTPS_ISSUER
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
    ):
        url = metadata[name]
        assert url.startswith(HTTPS_ISSUER + "/"), (name, url)
        path = urlsplit(url).path
        answer = test_client.post(path) if name != "jwks_uri" else test_client.get(path)
        assert answer.status_code != 404, (name, url)
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["response_types_supported"] == ["code"]
    assert set(metadata["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert "none" not in metadata["id_token_signing_alg_values_supported"]
    assert "openid" in metadata["scopes_supported"]
    assert "eligibility" in metadata["claims_supported"]
    assert metadata["request_parameter_supported"] is False
    assert metadata["request_uri_parameter_supported"] is False


def test_discovery_issuer_matches_the_id_token_issuer(test_client):
    """OIDC Discovery 1.0 §4.3: the issuer in the metadata is exactly the iss of ID tokens and
    of the authorization response (RFC 9207 §2)."""
    metadata = test_client.get("/.well-known/openid-configuration").get_json()
    tokens = login_and_get_tokens(test_client)
    assert tokens["claims"]["iss"] == metadata["issuer"]


def test_jwks_publishes_public_rsa_and_ec_keys_only(test_client):
    """RFC 7517 §5 (JWK Set), RFC 7518 §6.2/§6.3 (private members must not be published),
    OIDC Core §10.1 (kid to pick the key); product §5 (RS256 and ES256 signing)."""
    response = test_client.get("/jwks.json")
    assert response.status_code == 200 and response.is_json
    keys = response.get_json()["keys"]
    assert {key["kty"] for key in keys} == {"RSA", "EC"}
    kids = [key["kid"] for key in keys]
    assert all(kids) and len(set(kids)) == len(kids)
    for key in keys:
        assert not PRIVATE_MEMBERS & set(key), key
        assert key.get("use", "sig") == "sig"
    KeySet.import_key_set({"keys": keys})  # importable as public keys
    tokens = login_and_get_tokens(test_client)
    assert header_of(tokens["id_token"])["kid"] in kids


def test_rotated_keys_keep_old_tokens_verifiable(app, test_client):
    """product §5 (signing keys rotated without downtime), OIDC Core §10.1.1 (a new key is published
    before it signs, the old one stays published while its tokens live)."""
    settings = app.config["IDP"]
    keys_dir = Path(settings.keys_dir)
    old_jwks = test_client.get("/jwks.json").get_json()
    old_kids = {key["kid"] for key in old_jwks["keys"]}
    before = login_and_get_tokens(test_client)
    old_kid = header_of(before["id_token"])["kid"]

    idp.keys.rotate(keys_dir)
    rotated = create_app(
        {**presets.BASE, "database_url": settings.database_url, "keys_dir": str(keys_dir)}
    )
    try:
        client = rotated.test_client()
        new_jwks = client.get("/jwks.json").get_json()
        assert not PRIVATE_MEMBERS & {m for key in new_jwks["keys"] for m in key}
        new_kids = {key["kid"] for key in new_jwks["keys"]}
        assert old_kid in new_kids  # retired, still published
        # The ID token signed before the rotation still validates against the new JWKS ...
        validate_id_token(
            client,
            before["id_token"],
            "smart-app",
            nonce=before["claims"]["nonce"],
            access_token=before["access_token"],
        )
        # ... and is still accepted as an id_token_hint (no invalid_request).
        request = AuthorizationRequest(extra={"id_token_hint": before["id_token"]})
        start_login(client, request)
        # New tokens are signed with the key that was already published as "next".
        after = login_and_get_tokens(client)
        new_kid = header_of(after["id_token"])["kid"]
        assert new_kid != old_kid
        assert new_kid in old_kids
        # Access tokens issued before the rotation keep working.
        answer = client.get(
            "/userinfo", headers={"Authorization": f"Bearer {before['access_token']}"}
        )
        assert answer.status_code == 200
    finally:
        with rotated.app_context():
            db.session.remove()
            db.engine.dispose()


def test_discovery_matches_what_the_server_really_does(app, test_client):
    """Every advertised endpoint answers, and every advertised method and algorithm is the one
    the code accepts (RFC 8414 §2, RFC 9126 §5, RFC 9449 §5.1)."""
    from joserfc.jwk import ECKey
    from joserfc.jwk import RSAKey

    from idp.keys import ALGORITHMS as SIGNING_ALGORITHMS
    from idp.oauth.client_auth import ASSERTION_ALGORITHMS
    from idp.oauth.dpop import ALGORITHMS as DPOP_ALGORITHMS
    from idp.oauth.dpop import check_proof
    from idp.oauth.endpoints import Introspection
    from idp.oauth.endpoints import Revocation
    from idp.oauth.grants import AuthorizationCodeGrant
    from idp.oauth.grants import RefreshTokenGrant
    from idp.oauth.par import PushedAuthorization
    from idp.oauth.server import server
    from tests.oidc import ISSUER
    from tests.oidc import dpop_proof

    metadata = test_client.get("/.well-known/openid-configuration").get_json()
    for name, url in metadata.items():
        if name.endswith("_endpoint") or name == "jwks_uri":
            path = urlsplit(url).path
            answer = test_client.get(path) if name == "jwks_uri" else test_client.post(path)
            assert answer.status_code != 404, (name, url)
    grants = {grant.GRANT_TYPE for grant, _ in server._token_grants}
    assert set(metadata["grant_types_supported"]) == grants
    assert metadata["token_endpoint_auth_methods_supported"] == (
        AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS
    )
    assert (
        RefreshTokenGrant.TOKEN_ENDPOINT_AUTH_METHODS
        == (metadata["token_endpoint_auth_methods_supported"])
    )
    assert metadata["revocation_endpoint_auth_methods_supported"] == Revocation.CLIENT_AUTH_METHODS
    assert (
        metadata["introspection_endpoint_auth_methods_supported"]
        == Introspection.CLIENT_AUTH_METHODS
    )
    assert set(PushedAuthorization.CLIENT_AUTH_METHODS) == set(
        metadata["token_endpoint_auth_methods_supported"]
    )
    for endpoint in ("token", "revocation", "introspection"):
        assert metadata[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] == (
            ASSERTION_ALGORITHMS
        )
    assert metadata["id_token_signing_alg_values_supported"] == list(SIGNING_ALGORITHMS)
    assert metadata["dpop_signing_alg_values_supported"] == DPOP_ALGORITHMS
    # Each advertised DPoP algorithm really verifies.
    with app.test_request_context():
        for alg in metadata["dpop_signing_alg_values_supported"]:
            key = (
                ECKey.generate_key("P-256", private=True)
                if alg.startswith("ES")
                else RSAKey.generate_key(2048, private=True)
            )
            proof = dpop_proof(key, "POST", f"{ISSUER}/token", header={"alg": alg})
            assert check_proof(proof, method="POST", url=f"{ISSUER}/token").jkt == key.thumbprint()
