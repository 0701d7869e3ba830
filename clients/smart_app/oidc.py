"""The native app's OpenID Connect client: PKCE pair, loopback redirect listener (RFC 8252
§7.3), code exchange, ID token validation (OIDC Core §3.1.3.7) and refresh. HTTP only."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import HTTPServer
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

CLIENT_ID = "smart-app"
SCOPE = "openid profile email offline_access eligibility"
TIMEOUT = httpx.Timeout(10.0)


class LoginError(RuntimeError):
    """The login did not complete (error from the provider, wrong state, bad ID token)."""


@dataclass
class PendingLogin:
    """What the app remembers between sending the browser away and the callback."""

    redirect_uri: str
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    code_verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def code_challenge(self) -> str:
        """RFC 7636 §4.2: BASE64URL(SHA256(verifier))."""
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Provider:
    """The OP as the app sees it: discovery document and JWKS, fetched once."""

    def __init__(self, issuer: str, http: httpx.Client | None = None):
        self.issuer = issuer.rstrip("/")
        self.http = http or httpx.Client(timeout=TIMEOUT)
        meta = self.http.get(f"{self.issuer}/.well-known/openid-configuration")
        meta.raise_for_status()
        self.metadata: dict[str, Any] = meta.json()
        if self.metadata["issuer"] != self.issuer:
            raise LoginError("discovery issuer mismatch (OIDC Discovery §4.3)")
        self.jwks = KeySet.import_key_set(self.http.get(self.metadata["jwks_uri"]).json())

    def authorization_url(self, pending: PendingLogin, **extra: str) -> str:
        """The URL to open in the system browser."""
        params = {
            "response_type": "code", "client_id": CLIENT_ID, "scope": SCOPE,
            "redirect_uri": pending.redirect_uri, "state": pending.state, "nonce": pending.nonce,
            "code_challenge": pending.code_challenge, "code_challenge_method": "S256", **extra,
        }
        return f"{self.metadata['authorization_endpoint']}?{urlencode(params)}"

    def redeem(self, pending: PendingLogin, callback: dict[str, str]) -> dict[str, Any]:
        """Check the callback (state, RFC 9207 iss), exchange the code, validate the ID token."""
        if callback.get("state") != pending.state:
            raise LoginError("state mismatch")
        if callback.get("iss") != self.issuer:
            raise LoginError("iss mismatch (RFC 9207 §2.4)")
        if "error" in callback:
            raise LoginError(f"{callback['error']}: {callback.get('error_description', '')}")
        tokens = self._token_request({
            "grant_type": "authorization_code", "code": callback["code"],
            "redirect_uri": pending.redirect_uri, "code_verifier": pending.code_verifier,
        })
        tokens["claims"] = self.validate_id_token(tokens["id_token"], pending.nonce)
        return tokens

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """Rotate the refresh token (the old one is dead afterwards)."""
        tokens = self._token_request({"grant_type": "refresh_token",
                                      "refresh_token": refresh_token})
        tokens["claims"] = self.validate_id_token(tokens["id_token"], None)
        return tokens

    def _token_request(self, data: dict[str, str]) -> dict[str, Any]:
        response = self.http.post(self.metadata["token_endpoint"],
                                  data={**data, "client_id": CLIENT_ID})
        body = response.json()
        if response.status_code != 200:
            raise LoginError(f"{body.get('error')}: {body.get('error_description', '')}")
        return dict(body)

    def validate_id_token(self, id_token: str, nonce: str | None) -> dict[str, Any]:
        """OIDC Core §3.1.3.7: signature, iss, aud, exp, nonce."""
        token = jwt.decode(id_token, self.jwks, algorithms=["RS256", "ES256"])
        claims = token.claims
        if claims.get("iss") != self.issuer:
            raise LoginError("ID token iss mismatch")
        aud = claims.get("aud")
        if aud != CLIENT_ID and CLIENT_ID not in (aud or []):
            raise LoginError("ID token aud mismatch")
        if claims.get("exp", 0) < time.time():
            raise LoginError("ID token expired")
        if nonce is not None and claims.get("nonce") != nonce:
            raise LoginError("ID token nonce mismatch")
        return dict(claims)


class LoopbackListener:
    """A one-shot HTTP listener on 127.0.0.1 and a free port (RFC 8252 §7.3, §8.3)."""

    def __init__(self, path: str = "/callback"):
        self.path = path
        self.result: dict[str, str] | None = None
        self._done = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                parts = urlsplit(self.path)
                if parts.path != listener.path:
                    self.send_error(404)
                    return
                listener.result = {k: v[0] for k, v in parse_qs(parts.query).items()}
                body = "You can close this window and return to the app.".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                listener._done.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}{path}"

    def wait(self, timeout: float) -> dict[str, str]:
        """Serve until the callback arrives or ``timeout`` seconds pass."""
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            if not self._done.wait(timeout):
                raise LoginError("no callback received in time")
            return self.result or {}
        finally:
            self.server.shutdown()
            self.server.server_close()
