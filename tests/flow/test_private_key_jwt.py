"""private_key_jwt (RFC 7523 §2.2 / §3, OIDC Core §9): a client that registered public keys
authenticates with a signed, short-lived, single-use assertion naming this server."""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import OctKey
from joserfc.jwk import RSAKey

from idp.oauth import remote_keys
from idp.oauth.remote_keys import RemoteKeySets
from tests.conftest import registrations_with
from tests.loopback import PROXY_VARIABLES
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_login
from tests.oidc import introspect
from tests.oidc import run_in_parallel
from tests.oidc import validate_id_token

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RSA_CLIENT = "jwt-web"
EC_CLIENT = "jwt-es256"
REDIRECT = "https://jwt.example/callback"


@pytest.fixture(scope="module")
def rsa_key():
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}, private=True)


@pytest.fixture(scope="module")
def ec_key():
    return ECKey.generate_key("P-256", parameters={"kid": "ec-1"}, private=True)


class KeyHost:
    """What the EC client publishes at its ``jwks_uri``, and how often it was fetched."""

    def __init__(self, *keys):
        self.keys = list(keys)
        self.fetches = 0


@pytest.fixture
def key_host(ec_key):
    return KeyHost(ec_key)


@pytest.fixture
def jwks_uri(key_host, monkeypatch):
    """The EC client's JWKS served on a loopback port (its ``jwks_uri``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            key_host.fetches += 1
            body = json.dumps({"keys": [k.as_dict(private=False) for k in key_host.keys]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def overrides(tmp_path, rsa_key, jwks_uri):
    common = {
        "token_endpoint_auth_method": "private_key_jwt",
        "redirect_uris": [REDIRECT],
        "scope": "openid profile email",
    }
    path = registrations_with(
        tmp_path,
        {
            RSA_CLIENT: {
                "name": "JWT web",
                **common,
                "jwks": {"keys": [rsa_key.as_dict(private=False)]},
            },
            EC_CLIENT: {
                "name": "JWT ES256",
                **common,
                "jwks_uri": jwks_uri,
                "token_endpoint_auth_signing_alg": "ES256",
            },
        },
    )
    return {"clients_file": path}


def assertion(key, client_id: str = RSA_CLIENT, alg: str = "RS256", header=None, **claims):
    """A client assertion; ``claims`` override the defaults (None removes one)."""
    now = int(time.time())
    values = {
        "iss": client_id,
        "sub": client_id,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
        **claims,
    }
    values = {k: v for k, v in values.items() if v is not None}
    head = {"alg": alg, "kid": key.kid, **(header or {})}
    return jwt.encode(head, values, key, algorithms=[alg])


def token_request(test_client, client_assertion: str, code: str = "bogus", **extra):
    """A code redemption authenticated by ``client_assertion``: with a bogus code, an
    authenticated client gets invalid_grant (400), an unauthenticated one invalid_client (401)."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion,
        **extra,
    }
    return test_client.post("/token", data=data)


def assert_authenticated(response) -> None:
    assert response.status_code == 400, response.text
    assert response.get_json()["error"] == "invalid_grant"


def assert_refused(response) -> None:
    """RFC 6749 §5.2 invalid_client: 401 when Basic was offered, else 400 (Authlib's rule)."""
    assert response.status_code in (400, 401), response.text
    assert response.get_json()["error"] == "invalid_client"
    assert "access_token" not in response.get_json()


def test_code_flow_with_private_key_jwt(test_client, rsa_key):
    request = AuthorizationRequest(
        client_id=RSA_CLIENT, redirect_uri=REDIRECT, scope="openid profile email"
    )
    code = authorize_with_login(test_client, request)["code"]
    response = token_request(
        test_client,
        assertion(rsa_key),
        code=code,
        code_verifier=request.code_verifier,
    )
    assert response.status_code == 200, response.text
    tokens = response.get_json()
    validate_id_token(test_client, tokens["id_token"], RSA_CLIENT, nonce=request.nonce)


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"aud": f"{ISSUER}/token"},
        {"aud": [f"{ISSUER}/token", "https://elsewhere.example"]},
        {"iat": None},
        {"exp": int(time.time()) + 299},
    ],
    ids=["issuer", "token-endpoint", "audience-list", "no-iat", "five-minutes"],
)
def test_valid_assertions_authenticate(test_client, rsa_key, claims):
    if "exp" in claims:
        claims = {"exp": int(time.time()) + 290}
    assert_authenticated(token_request(test_client, assertion(rsa_key, **claims)))


def test_assertion_by_jwks_uri_with_the_registered_algorithm(test_client, ec_key):
    assert_authenticated(token_request(test_client, assertion(ec_key, EC_CLIENT, "ES256")))


@pytest.fixture
def clock(app):
    """A settable clock for the app's kept key sets (``idp.oauth.remote_keys``)."""
    now = [1000.0]
    app.extensions["idp.remote_keys"] = RemoteKeySets(clock=lambda: now[0])
    return now


def test_jwks_uri_is_fetched_once_for_several_assertions(test_client, ec_key, key_host, clock):
    for _ in range(3):
        assert_authenticated(token_request(test_client, assertion(ec_key, EC_CLIENT, "ES256")))
    assert key_host.fetches == 1


def test_kept_keys_are_fetched_again_after_max_age(test_client, ec_key, key_host, clock):
    assert_authenticated(token_request(test_client, assertion(ec_key, EC_CLIENT, "ES256")))
    clock[0] += remote_keys.MAX_AGE
    assert_authenticated(token_request(test_client, assertion(ec_key, EC_CLIENT, "ES256")))
    assert key_host.fetches == 2


def test_a_key_the_client_publishes_later_is_fetched_for_its_kid(
    test_client, ec_key, key_host, clock
):
    """OIDC Core §10.1.1: the client adds its new key at its jwks_uri, then signs with it."""
    assert_authenticated(token_request(test_client, assertion(ec_key, EC_CLIENT, "ES256")))
    new_key = ECKey.generate_key("P-256", parameters={"kid": "ec-2"}, private=True)
    key_host.keys.append(new_key)
    clock[0] += remote_keys.MIN_REFETCH
    assert_authenticated(token_request(test_client, assertion(new_key, EC_CLIENT, "ES256")))
    assert key_host.fetches == 2


def test_made_up_kids_fetch_at_most_once_a_minute(test_client, ec_key, key_host, clock):
    """Assertions naming unknown kids are refused without turning each into a fetch."""
    assert_authenticated(token_request(test_client, assertion(ec_key, EC_CLIENT, "ES256")))
    stranger = ECKey.generate_key("P-256", private=True)
    for _ in range(5):
        forged = assertion(stranger, EC_CLIENT, "ES256", header={"kid": secrets.token_hex(4)})
        assert_refused(token_request(test_client, forged))
    assert key_host.fetches == 1
    clock[0] += remote_keys.MIN_REFETCH
    forged = assertion(stranger, EC_CLIENT, "ES256", header={"kid": secrets.token_hex(4)})
    assert_refused(token_request(test_client, forged))
    assert key_host.fetches == 2


def now_plus(seconds: int) -> int:
    return int(time.time()) + seconds


REFUSED = [
    ("wrong-audience", {"aud": "https://other.example"}),
    ("userinfo-audience", {"aud": f"{ISSUER}/userinfo"}),
    ("no-audience", {"aud": None}),
    ("no-jti", {"jti": None}),
    ("numeric-jti", {"jti": 12345}),
    ("no-exp", {"exp": None}),
    ("expired", {"exp": -120}),
    ("exp-too-far", {"exp": 3600}),
    ("iat-in-the-future", {"iat": 300}),
    ("iat-too-old", {"iat": -3600}),
    ("iss-not-sub", {"iss": "customer-space"}),
    ("sub-of-another-client", {"sub": "customer-space", "iss": "customer-space"}),
    ("unknown-client", {"sub": "nobody", "iss": "nobody"}),
]


@pytest.mark.parametrize("claims", [c for _, c in REFUSED], ids=[n for n, _ in REFUSED])
def test_bad_claims_are_refused(test_client, rsa_key, claims):
    """RFC 7523 §3: aud names this server, exp present and near, jti present, iss = sub;
    iat (when sent) not in the future nor old."""
    claims = {
        k: now_plus(v) if k in ("exp", "iat") and isinstance(v, int) else v
        for k, v in claims.items()
    }
    assert_refused(token_request(test_client, assertion(rsa_key, **claims)))


def test_signature_by_another_key_is_refused(test_client, rsa_key):
    stranger = RSAKey.generate_key(2048, parameters={"kid": rsa_key.kid}, private=True)
    assert_refused(token_request(test_client, assertion(stranger)))


def test_hmac_with_the_public_key_is_refused(test_client, rsa_key):
    """RFC 8725 §2.1 algorithm confusion: HS256 keyed with the public key bytes."""
    public = json.dumps(rsa_key.as_dict(private=False)).encode()
    key = OctKey.import_key(public, parameters={"kid": rsa_key.kid})
    assert_refused(token_request(test_client, assertion(key, alg="HS256")))


def test_unsigned_assertion_is_refused(test_client):
    def b64(data: dict) -> str:
        import base64

        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"iss": RSA_CLIENT, "sub": RSA_CLIENT, "aud": ISSUER, "exp": now + 60, "jti": "x"}
    unsigned = f"{b64({'alg': 'none'})}.{b64(claims)}."
    assert_refused(token_request(test_client, unsigned))


def test_other_algorithm_than_the_registered_one_is_refused(test_client, rsa_key):
    """OIDC Registration §2 token_endpoint_auth_signing_alg: only that one."""
    other = RSAKey.generate_key(2048, parameters={"kid": "ec-1"}, private=True)
    assert_refused(token_request(test_client, assertion(other, EC_CLIENT, "RS256")))


def test_client_id_beside_the_assertion_must_be_its_subject(test_client, rsa_key):
    """RFC 7521 §4.2."""
    response = token_request(test_client, assertion(rsa_key), client_id="customer-space")
    assert_refused(response)
    assert_authenticated(token_request(test_client, assertion(rsa_key), client_id=RSA_CLIENT))


def test_replayed_assertion_is_refused(test_client, rsa_key):
    """RFC 7523 §3 item 7: a jti is used once."""
    used = assertion(rsa_key)
    assert_authenticated(token_request(test_client, used))
    assert_refused(token_request(test_client, used))


def test_parallel_replays_of_one_assertion_authenticate_once(app, rsa_key):
    used = assertion(rsa_key)
    results = run_in_parallel(app, [lambda c: token_request(c, used)] * 4)
    errors = sorted(r.get_json()["error"] for r in results)
    assert errors == ["invalid_client"] * 3 + ["invalid_grant"], errors


def test_secret_methods_are_refused_for_a_key_client(test_client):
    response = test_client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": "bogus",
            "redirect_uri": REDIRECT,
            "client_id": RSA_CLIENT,
            "client_secret": f"dev-{RSA_CLIENT}-secret",
        },
    )
    assert_refused(response)


def test_a_secret_client_cannot_use_an_assertion(test_client, rsa_key):
    """customer-space registered client_secret_basic and no keys."""
    response = token_request(test_client, assertion(rsa_key, client_id="customer-space"))
    assert_refused(response)


def test_introspection_with_private_key_jwt(test_client, rsa_key):
    """RFC 7662 §2.1 client authentication by assertion too (aud: the issuer)."""
    response = test_client.post(
        "/introspect",
        data={
            "token": "unknown",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(rsa_key),
        },
    )
    assert response.status_code == 200, response.text
    assert response.get_json() == {"active": False}
    refused = introspect(test_client, "unknown", authorization="")
    assert refused.status_code == 401


def test_discovery_advertises_private_key_jwt(test_client):
    metadata = test_client.get("/.well-known/openid-configuration").get_json()
    for endpoint in ("token", "revocation", "introspection"):
        assert "private_key_jwt" in metadata[f"{endpoint}_endpoint_auth_methods_supported"]
        algs = metadata[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
        assert set(algs) == {"RS256", "PS256", "ES256"}
        assert "none" not in algs and not any(a.startswith("HS") for a in algs)
