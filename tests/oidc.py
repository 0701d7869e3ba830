"""Test-side relying party helpers: an AuthorizationRequest builder that fills state, nonce and
PKCE (node-oidc-provider's habit), the login walk through the pages, and ID token validation."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import csrf_token

DEMO_ACTIVE = "demo.actif@example.be"
DEMO_INACTIVE = "demo.inactif@example.be"
DEMO_PASSWORD = "Zonnepaneel-2026!"
CUSTOMER_SPACE_SECRET = "dev-customer-space-secret"
ISSUER = "http://localhost"
SMART_APP_REDIRECT = "http://127.0.0.1:49152/callback"
CUSTOMER_SPACE_REDIRECT = "http://127.0.0.1:5001/callback"


def s256(verifier: str) -> str:
    """RFC 7636 §4.2 S256 challenge."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class AuthorizationRequest:
    """An authorization request with fresh state, nonce and PKCE pair."""

    client_id: str = "smart-app"
    redirect_uri: str = SMART_APP_REDIRECT
    scope: str = "openid profile email offline_access eligibility"
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    code_verifier: str | None = field(default_factory=lambda: secrets.token_urlsafe(48))
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def customer_space(cls, **kwargs: Any) -> AuthorizationRequest:
        """A request of the confidential web client."""
        kwargs.setdefault("client_id", "customer-space")
        kwargs.setdefault("redirect_uri", CUSTOMER_SPACE_REDIRECT)
        kwargs.setdefault("scope", "openid profile email eligibility")
        return cls(**kwargs)

    def params(self) -> dict[str, str]:
        """The query parameters."""
        values = {
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": self.redirect_uri, "scope": self.scope, "state": self.state,
            "nonce": self.nonce,
        }
        if self.code_verifier:
            values["code_challenge"] = s256(self.code_verifier)
            values["code_challenge_method"] = "S256"
        values.update(self.extra)
        return {k: v for k, v in values.items() if v is not None}

    def url(self) -> str:
        """``/authorize?…``"""
        return "/authorize?" + urlencode(self.params())


def query_of(location: str) -> dict[str, str]:
    """The single-valued query parameters of a redirect."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def submit_login(test_client: Any, login_page: str, login: str, password: str) -> Any:
    """POST the login form found at ``login_page``."""
    page = test_client.get(login_page)
    assert page.status_code == 200, page.text
    return test_client.post(login_page, data={
        "csrf_token": csrf_token(page.text), "login": login, "password": password,
    })


def authorize_with_login(
    test_client: Any, request: AuthorizationRequest, login: str = DEMO_ACTIVE,
    password: str = DEMO_PASSWORD,
) -> dict[str, str]:
    """Run /authorize → login page → resume; return the client's callback parameters."""
    response = test_client.get(request.url())
    assert response.status_code == 302, response.text
    login_page = response.headers["Location"]
    assert "/interaction/" in login_page
    posted = submit_login(test_client, login_page, login, password)
    assert posted.status_code == 303, posted.text
    final = test_client.get(posted.headers["Location"])
    assert final.status_code == 302, final.text
    assert final.headers["Location"].startswith(request.redirect_uri)
    return query_of(final.headers["Location"])


def authorize_with_session(test_client: Any, request: AuthorizationRequest) -> dict[str, str]:
    """Run /authorize expecting an immediate answer from the OP session (SSO)."""
    response = test_client.get(request.url())
    assert response.status_code == 302, response.text
    assert response.headers["Location"].startswith(request.redirect_uri), response.headers
    return query_of(response.headers["Location"])


def exchange_code(
    test_client: Any, request: AuthorizationRequest, code: str, **overrides: str
) -> Any:
    """POST the token request the way the request's client authenticates."""
    data = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": request.redirect_uri}
    if request.code_verifier:
        data["code_verifier"] = request.code_verifier
    headers = {}
    if request.client_id == "customer-space":
        headers["Authorization"] = basic_auth("customer-space", CUSTOMER_SPACE_SECRET)
    else:
        data["client_id"] = request.client_id
    data.update(overrides)
    return test_client.post("/token", data={k: v for k, v in data.items() if v is not None},
                            headers=headers)


def basic_auth(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1 HTTP Basic credentials."""
    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def login_and_get_tokens(
    test_client: Any, request: AuthorizationRequest | None = None, login: str = DEMO_ACTIVE
) -> dict[str, Any]:
    """Full code flow; return the token response, its ID token already validated."""
    request = request or AuthorizationRequest()
    callback = authorize_with_login(test_client, request, login=login)
    assert callback["state"] == request.state
    assert callback["iss"] == ISSUER
    response = exchange_code(test_client, request, callback["code"])
    assert response.status_code == 200, response.text
    tokens = response.get_json()
    tokens["claims"] = validate_id_token(
        test_client, tokens["id_token"], request.client_id, nonce=request.nonce,
        access_token=tokens["access_token"],
    )
    return tokens


def validate_id_token(
    test_client: Any, id_token: str, client_id: str, nonce: str | None,
    access_token: str | None = None,
) -> dict[str, Any]:
    """OIDC Core §3.1.3.7: signature against the JWKS, iss, aud, exp, iat, nonce, at_hash."""
    jwks = KeySet.import_key_set(test_client.get("/jwks.json").get_json())
    token = jwt.decode(id_token, jwks, algorithms=["RS256", "ES256"])
    claims = token.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == client_id or client_id in claims["aud"]
    now = time.time()
    assert claims["exp"] > now
    assert claims["iat"] <= now + 5
    assert claims.get("nonce") == nonce
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,}", claims["sub"])
    if access_token is not None:
        alg = token.header["alg"]
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        expected = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
        assert alg in ("RS256", "ES256")
        assert claims["at_hash"] == expected
    return claims
