"""DPoP (RFC 9449): sender-constrained tokens for the Smart App. Optional per client, required
for a client registered with ``dpop_bound_access_tokens``; proofs checked at /token and at
/userinfo (``Authorization: DPoP``, ``ath``); refresh tokens of public clients bound to the key;
``cnf.jkt`` at introspection; the algorithms advertised."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey
from joserfc.jwk import OctKey
from joserfc.jwk import RSAKey

from idp.extensions import db
from idp.models.oauth import Client
from tests.conftest import registrations_with
from tests.flow.dpop_steps import TOKEN_URL
from tests.flow.dpop_steps import smart_app_code
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import dpop_proof
from tests.oidc import exchange_code
from tests.oidc import introspect
from tests.oidc import refresh

USERINFO_URL = f"{ISSUER}/userinfo"
REQUIRED = "dpop-app"


@pytest.fixture
def overrides(tmp_path):
    """A second native app that registered dpop_bound_access_tokens = true."""
    app = {
        "name": "DPoP-only app",
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile offline_access",
        "dpop_bound_access_tokens": True,
    }
    return {"clients_file": registrations_with(tmp_path, {REQUIRED: app})}


def dpop_tokens(test_client, key, request: AuthorizationRequest | None = None) -> dict:
    request = request or AuthorizationRequest()
    code = smart_app_code(test_client, request)
    proof = dpop_proof(key, "POST", TOKEN_URL)
    response = exchange_code(test_client, request, code, _headers={"DPoP": proof})
    assert response.status_code == 200, response.text
    return response.get_json()


def dpop_userinfo(test_client, token: str, proof: str | None, scheme: str = "DPoP"):
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return test_client.get("/userinfo", headers=headers)


def assert_dpop_error(response, error: str, status: int = 401) -> None:
    assert response.status_code == status, response.text
    challenges = response.headers.getlist("WWW-Authenticate")
    assert any(
        c.startswith("DPoP ") and f'error="{error}"' in c and 'algs="' in c for c in challenges
    ), challenges


def test_token_bound_to_the_proof_key_and_used_at_userinfo(test_client, key):
    """RFC 9449 §5 (token_type DPoP), §7 (DPoP scheme, proof with ath)."""
    tokens = dpop_tokens(test_client, key)
    assert tokens["token_type"] == "DPoP"
    access = tokens["access_token"]
    ok = dpop_userinfo(test_client, access, dpop_proof(key, "GET", USERINFO_URL, access))
    assert ok.status_code == 200, ok.text
    assert ok.get_json()["sub"]


def test_bound_token_is_refused_as_a_bearer_token(test_client, key):
    """RFC 9449 §7.2: a stolen DPoP-bound token is useless without the key, as bearer too."""
    tokens = dpop_tokens(test_client, key)
    response = dpop_userinfo(test_client, tokens["access_token"], None, scheme="Bearer")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    body = test_client.post("/userinfo", data={"access_token": tokens["access_token"]})
    assert body.status_code == 401


USERINFO_PROOFS = [
    ("no-proof", lambda k, o, t: None),
    ("other-key", lambda k, o, t: dpop_proof(o, "GET", USERINFO_URL, t)),
    ("no-ath", lambda k, o, t: dpop_proof(k, "GET", USERINFO_URL)),
    ("wrong-ath", lambda k, o, t: dpop_proof(k, "GET", USERINFO_URL, t + "x")),
    ("wrong-htm", lambda k, o, t: dpop_proof(k, "POST", USERINFO_URL, t)),
    ("wrong-htu", lambda k, o, t: dpop_proof(k, "GET", TOKEN_URL, t)),
    ("htu-with-query", lambda k, o, t: dpop_proof(k, "GET", USERINFO_URL + "?x=1", t)),
    ("old-iat", lambda k, o, t: dpop_proof(k, "GET", USERINFO_URL, t, iat=1_700_000_000)),
    ("future-iat", lambda k, o, t: dpop_proof(k, "GET", USERINFO_URL, t, iat=4_000_000_000)),
    ("no-jti", lambda k, o, t: dpop_proof(k, "GET", USERINFO_URL, t, jti=None)),
    ("wrong-typ", lambda k, o, t: dpop_proof(k, "GET", USERINFO_URL, t, header={"typ": "JWT"})),
    ("no-jwk", lambda k, o, t: dpop_proof(k, "GET", USERINFO_URL, t, header={"jwk": None})),
    (
        "private-jwk",
        lambda k, o, t: dpop_proof(
            k, "GET", USERINFO_URL, t, header={"jwk": k.as_dict(private=True)}
        ),
    ),
    (
        "jwk-of-another-key",
        lambda k, o, t: dpop_proof(
            k, "GET", USERINFO_URL, t, header={"jwk": o.as_dict(private=False)}
        ),
    ),
    ("garbage", lambda k, o, t: "not.a.jwt"),
]


@pytest.mark.parametrize(
    "make", [m for _, m in USERINFO_PROOFS], ids=[n for n, _ in USERINFO_PROOFS]
)
def test_userinfo_refuses_a_bad_proof(test_client, key, other_key, make):
    """RFC 9449 §4.3 and §7.1: 401 with a DPoP challenge naming invalid_dpop_proof."""
    tokens = dpop_tokens(test_client, key)
    response = dpop_userinfo(
        test_client, tokens["access_token"], make(key, other_key, tokens["access_token"])
    )
    assert_dpop_error(response, "invalid_dpop_proof")
    assert "sub" not in (response.get_json(silent=True) or {})


def test_userinfo_refuses_a_replayed_proof(test_client, key):
    """RFC 9449 §11.1: a proof's jti is used once."""
    tokens = dpop_tokens(test_client, key)
    proof = dpop_proof(key, "GET", USERINFO_URL, tokens["access_token"])
    assert dpop_userinfo(test_client, tokens["access_token"], proof).status_code == 200
    assert_dpop_error(
        dpop_userinfo(test_client, tokens["access_token"], proof), "invalid_dpop_proof"
    )


def test_hmac_proof_is_refused_at_the_token_endpoint(test_client):
    """RFC 9449 §4.2: asymmetric algorithms only."""
    request = AuthorizationRequest()
    code = smart_app_code(test_client, request)
    secret = OctKey.generate_key(256)
    proof = dpop_proof(secret, "POST", TOKEN_URL, header={"alg": "HS256", "jwk": {"kty": "oct"}})
    response = exchange_code(test_client, request, code, _headers={"DPoP": proof})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_dpop_proof"


TOKEN_PROOFS = [
    ("wrong-htu", lambda k: dpop_proof(k, "POST", USERINFO_URL)),
    ("wrong-htm", lambda k: dpop_proof(k, "GET", TOKEN_URL)),
    ("other-issuer", lambda k: dpop_proof(k, "POST", "https://elsewhere.example/token")),
    ("old-iat", lambda k: dpop_proof(k, "POST", TOKEN_URL, iat=1_700_000_000)),
    ("wrong-typ", lambda k: dpop_proof(k, "POST", TOKEN_URL, header={"typ": "jwt"})),
    (
        "alg-not-advertised",
        lambda k: dpop_proof(
            ECKey.generate_key("P-384", private=True), "POST", TOKEN_URL, header={"alg": "ES384"}
        ),
    ),
]


@pytest.mark.parametrize("make", [m for _, m in TOKEN_PROOFS], ids=[n for n, _ in TOKEN_PROOFS])
def test_token_endpoint_refuses_a_bad_proof(test_client, key, make):
    """RFC 9449 §5: invalid_dpop_proof, and no tokens."""
    request = AuthorizationRequest()
    code = smart_app_code(test_client, request)
    response = exchange_code(test_client, request, code, _headers={"DPoP": make(key)})
    assert response.status_code == 400, response.text
    assert response.get_json()["error"] == "invalid_dpop_proof"
    assert "access_token" not in response.get_json()


def test_two_dpop_headers_are_refused(test_client, key):
    """RFC 9449 §4.3 check 1."""
    request = AuthorizationRequest()
    code = smart_app_code(test_client, request)
    headers = [
        ("DPoP", dpop_proof(key, "POST", TOKEN_URL)),
        ("DPoP", dpop_proof(key, "POST", TOKEN_URL)),
    ]
    response = exchange_code(test_client, request, code, _headers=headers)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_dpop_proof"


@pytest.mark.parametrize(
    ("htu", "same"),
    [
        ("http://localhost/token", True),
        ("HTTP://LocalHost/token", True),
        ("http://localhost:80/token", True),
        ("http://localhost:8080/token", False),
        ("https://localhost/token", False),
        ("http://localhost/Token", False),
        ("http://localhost/token?x=1", False),
        ("http://localhost/token#f", False),
        ("http://localhost:99999/token", False),
        (None, False),
    ],
)
def test_htu_is_compared_after_normalisation(htu, same):
    """RFC 9449 §4.3 check 9 with RFC 3986 §6.2.2-6.2.3 normalisation."""
    from idp.oauth.dpop import same_target

    assert same_target(htu, "http://localhost/token") is same


def test_rsa_proof_works_too(test_client):
    rsa = RSAKey.generate_key(2048, private=True)
    assert dpop_tokens(test_client, rsa)["token_type"] == "DPoP"


def test_without_a_proof_the_smart_app_still_gets_bearer_tokens(test_client):
    """DPoP is optional for a client that did not register dpop_bound_access_tokens."""
    request = AuthorizationRequest()
    response = exchange_code(test_client, request, smart_app_code(test_client, request))
    assert response.status_code == 200 and response.get_json()["token_type"] == "Bearer"


def test_registered_client_must_send_a_proof(test_client, key):
    """RFC 9449 §5.2 dpop_bound_access_tokens: token requests without DPoP are rejected."""
    request = AuthorizationRequest(client_id=REQUIRED, scope="openid profile offline_access")
    code = smart_app_code(test_client, request)
    refused = exchange_code(test_client, request, code)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_dpop_proof"
    code = smart_app_code(test_client, request)
    tokens = dpop_tokens(test_client, key, request)
    assert tokens["token_type"] == "DPoP"
    refused = refresh(test_client, tokens["refresh_token"], client_id=REQUIRED)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_dpop_proof"


def test_public_refresh_token_is_bound_to_the_key(test_client, key, other_key):
    """RFC 9449 §5: a public client's refresh token needs a proof of the same key."""
    tokens = dpop_tokens(test_client, key)
    without = refresh(test_client, tokens["refresh_token"])
    assert without.status_code == 400 and without.get_json()["error"] == "invalid_dpop_proof"
    other = refresh(
        test_client,
        tokens["refresh_token"],
        _headers={"DPoP": dpop_proof(other_key, "POST", TOKEN_URL)},
    )
    assert other.status_code == 400 and other.get_json()["error"] == "invalid_grant"
    same = refresh(
        test_client, tokens["refresh_token"], _headers={"DPoP": dpop_proof(key, "POST", TOKEN_URL)}
    )
    assert same.status_code == 200, same.text
    renewed = same.get_json()
    assert renewed["token_type"] == "DPoP"
    proof = dpop_proof(key, "GET", USERINFO_URL, renewed["access_token"])
    assert dpop_userinfo(test_client, renewed["access_token"], proof).status_code == 200


def test_introspection_shows_the_key_binding(app, test_client, key):
    """RFC 9449 §6.2: cnf.jkt (RFC 7638 thumbprint) and token_type DPoP."""
    with app.app_context():
        client = db.session.get(Client, "customer-space")
        client.grant_types = ["authorization_code", "refresh_token"]
        client.scope = "openid profile email eligibility offline_access"
        db.session.commit()
    request = AuthorizationRequest.customer_space(scope="openid profile offline_access")
    code = smart_app_code(test_client, request)
    proof = dpop_proof(key, "POST", TOKEN_URL)
    response = exchange_code(test_client, request, code, _headers={"DPoP": proof})
    assert response.status_code == 200, response.text
    tokens = response.get_json()
    answer = introspect(test_client, tokens["access_token"]).get_json()
    assert answer["active"] is True and answer["token_type"] == "DPoP"
    assert answer["cnf"] == {"jkt": key.thumbprint()}
    # A confidential client's refresh token is bound by its authentication, not the key.
    other = ECKey.generate_key("P-256", private=True)
    again = refresh(
        test_client,
        tokens["refresh_token"],
        client_id="customer-space",
        _headers={"DPoP": dpop_proof(other, "POST", TOKEN_URL)},
    )
    assert again.status_code == 200, again.text
    renewed = introspect(test_client, again.get_json()["access_token"]).get_json()
    assert renewed["cnf"] == {"jkt": other.thumbprint()}
    plain = introspect(test_client, "unknown").get_json()
    assert plain == {"active": False}


def test_no_credentials_challenge_names_both_schemes(test_client):
    """RFC 9449 §7.1: DPoP with its algorithms beside Bearer."""
    challenges = test_client.get("/userinfo").headers.getlist("WWW-Authenticate")
    assert challenges[0].startswith("Bearer ")
    assert 'DPoP algs="ES256 RS256 PS256"' in challenges


def test_discovery_advertises_the_dpop_algorithms(test_client):
    metadata = test_client.get("/.well-known/openid-configuration").get_json()
    assert metadata["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256"]
