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
from tests.presets import BASE
from tests.presets import CUSTOMER_SPACE_SECRET
from tests.presets import DEMO_PASSWORD

DEMO_ACTIVE = "demo.actif@example.be"
DEMO_INACTIVE = "demo.inactif@example.be"
ISSUER = BASE["issuer"]
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
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
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
    return test_client.post(
        login_page,
        data={
            "csrf_token": csrf_token(page.text),
            "login": login,
            "password": password,
        },
    )


def authorize_with_login(
    test_client: Any,
    request: AuthorizationRequest,
    login: str = DEMO_ACTIVE,
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
    test_client: Any,
    request: AuthorizationRequest,
    code: str,
    _headers: Any = None,
    **overrides: str,
) -> Any:
    """POST the token request the way the request's client authenticates (``_headers``: more
    request headers, a dict or a list of pairs)."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": request.redirect_uri}
    if request.code_verifier:
        data["code_verifier"] = request.code_verifier
    headers = []
    if request.client_id == "customer-space":
        headers.append(("Authorization", basic_auth("customer-space", CUSTOMER_SPACE_SECRET)))
    else:
        data["client_id"] = request.client_id
    data.update(overrides)
    headers += list(dict(_headers).items()) if isinstance(_headers, dict) else list(_headers or [])
    return test_client.post(
        "/token", data={k: v for k, v in data.items() if v is not None}, headers=headers
    )


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
        test_client,
        tokens["id_token"],
        request.client_id,
        nonce=request.nonce,
        access_token=tokens["access_token"],
    )
    return tokens


def validate_id_token(
    test_client: Any,
    id_token: str,
    client_id: str,
    nonce: str | None,
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


# ---- helpers of the protocol flow tests (tests/flow/) -------------------------------------------


def query_lists(location: str) -> dict[str, list[str]]:
    """Every query parameter of a redirect with all its values (to see repeated ones)."""
    return parse_qs(urlsplit(location).query, keep_blank_values=True)


def assert_error_redirect(
    response: Any, request: AuthorizationRequest, error: str, state: str | None = None
) -> dict[str, str]:
    """A 302 to the request's redirect URI carrying ``error``, the original ``state`` and the
    issuer (RFC 6749 §4.1.2.1, RFC 9207 §2), each exactly once, and no code."""
    assert response.status_code == 302, (response.status_code, response.text[:500])
    location = response.headers["Location"]
    assert location.split("?", 1)[0] == request.redirect_uri, location
    params = query_lists(location)
    assert params.get("error") == [error], location
    assert params.get("state") == [state if state is not None else request.state], location
    assert params.get("iss") == [ISSUER], location
    assert "code" not in params, location
    return {k: v[0] for k, v in params.items()}


def assert_error_page(response: Any) -> str:
    """RFC 6749 §4.1.2.1: an error that must not be redirected is shown to the user."""
    assert response.status_code == 400, (response.status_code, response.headers)
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    return response.text


def start_login(test_client: Any, request: AuthorizationRequest) -> str:
    """GET /authorize expecting the login interaction; return its URL."""
    response = test_client.get(request.url())
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert "/interaction/" in location and not location.startswith(request.redirect_uri)
    return location


def finish_login(
    test_client: Any,
    request: AuthorizationRequest,
    login_page: str,
    login: str = DEMO_ACTIVE,
    password: str = DEMO_PASSWORD,
) -> dict[str, str]:
    """Log in on ``login_page`` and follow the resume; return the client's callback."""
    posted = submit_login(test_client, login_page, login, password)
    assert posted.status_code == 303, posted.text
    final = test_client.get(posted.headers["Location"])
    assert final.status_code == 302, final.text
    assert final.headers["Location"].split("?", 1)[0] == request.redirect_uri
    return query_of(final.headers["Location"])


def redeem(test_client: Any, request: AuthorizationRequest, callback: dict[str, str]) -> dict:
    """Exchange the callback's code; return the token response, ID token validated."""
    assert callback["state"] == request.state and callback["iss"] == ISSUER, callback
    response = exchange_code(test_client, request, callback["code"])
    assert response.status_code == 200, response.text
    tokens = response.get_json()
    tokens["claims"] = validate_id_token(
        test_client,
        tokens["id_token"],
        request.client_id,
        nonce=request.nonce,
        access_token=tokens["access_token"],
    )
    return tokens


def userinfo(test_client: Any, access_token: str, method: str = "GET") -> Any:
    """Call /userinfo with the bearer header (RFC 6750 §2.1)."""
    headers = {"Authorization": f"Bearer {access_token}"}
    if method == "POST":
        return test_client.post("/userinfo", headers=headers)
    return test_client.get("/userinfo", headers=headers)


def refresh(
    test_client: Any,
    refresh_token: str,
    client_id: str = "smart-app",
    _headers: dict[str, str] | None = None,
    **extra: str,
) -> Any:
    """POST a refresh_token grant the way ``client_id`` authenticates."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    headers = dict(_headers or {})
    if client_id == "customer-space":
        headers["Authorization"] = basic_auth("customer-space", CUSTOMER_SPACE_SECRET)
    else:
        data["client_id"] = client_id
    return test_client.post("/token", data=data, headers=headers)


def revoke(test_client: Any, token: str, client_id: str = "smart-app", **extra: str) -> Any:
    """RFC 7009 revocation request, authenticated the way ``client_id`` is registered."""
    data = {"token": token, **extra}
    headers = {}
    if client_id == "customer-space":
        headers["Authorization"] = basic_auth("customer-space", CUSTOMER_SPACE_SECRET)
    else:
        data["client_id"] = client_id
    return test_client.post("/revoke", data=data, headers=headers)


def introspect(test_client: Any, token: str, authorization: str | None = None, **extra: str) -> Any:
    """RFC 7662 introspection request, by default as customer-space with client_secret_basic."""
    if authorization is None:
        authorization = basic_auth("customer-space", CUSTOMER_SPACE_SECRET)
    headers = {"Authorization": authorization} if authorization else {}
    return test_client.post("/introspect", data={"token": token, **extra}, headers=headers)


def run_in_parallel(app: Any, calls: list[Any]) -> list[Any]:
    """Run each ``call(test_client)`` in its own thread with its own test client, released
    together by a barrier; return their results (or the exceptions they raised), in order."""
    import threading

    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def work(index: int, call: Any) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            results[index] = call(client)
        except Exception as exc:  # noqa: BLE001 - reported to the test, not lost in the thread
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a parallel request hung"
    return results


def set_account_status(app: Any, login: str, status: str) -> None:
    """Change an account's status directly in the database (an operator's action)."""
    from sqlalchemy import select

    from idp.extensions import db
    from idp.models.account import Account
    from idp.models.account import normalise_login

    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.login == normalise_login(login)))
        assert account is not None
        account.status = status
        db.session.commit()


def dpop_proof(
    key: Any,
    method: str,
    url: str,
    access_token: str | None = None,
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """An RFC 9449 §4.2 DPoP proof signed by ``key``; ``claims``/``header`` override the
    defaults (a None value removes the member)."""
    import json as _json

    from joserfc import jws

    alg = "ES256" if key.key_type == "EC" else "RS256"
    values: dict[str, Any] = {
        "jti": secrets.token_urlsafe(12),
        "htm": method,
        "htu": url,
        "iat": int(time.time()),
    }
    if access_token is not None:
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        values["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    values = {k: v for k, v in {**values, **claims}.items() if v is not None}
    head = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False), **(header or {})}
    head = {k: v for k, v in head.items() if v is not None}
    return jws.serialize_compact(head, _json.dumps(values).encode(), key, algorithms=[head["alg"]])
