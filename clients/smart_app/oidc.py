"""The native app's OpenID Connect client: PKCE pair, loopback redirect listener (RFC 8252
§7.3), code exchange, ID token validation (OIDC Core §3.1.3.7), refresh, revocation (RFC 7009)
and the RP-initiated logout URL. HTTP only (httpx); imports nothing of the app's screens."""

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
from joserfc.errors import InvalidKeyIdError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

CLIENT_ID = "smart-app"
SCOPE = "openid profile email offline_access eligibility"
TIMEOUT = httpx.Timeout(10.0)
ID_TOKEN_ALGS = ["RS256", "ES256"]
CLOCK_SKEW = 60  # seconds of clock difference tolerated on exp


class LoginError(RuntimeError):
    """The login did not complete (error from the provider, wrong state, bad ID token)."""


class TokenRefused(LoginError):
    """The token endpoint refused the grant (a code or refresh token expired, revoked or
    reused): it is dead, retrying cannot help."""


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
        self.jwks = self._fetch_jwks()

    def _fetch_jwks(self) -> KeySet:
        response = self.http.get(self.metadata["jwks_uri"])
        response.raise_for_status()
        return KeySet.import_key_set(response.json())

    def supports_prompt(self, value: str) -> bool:
        """Whether ``prompt=value`` is advertised (e.g. ``create``, OIDC Prompt Create 1.0)."""
        return value in self.metadata.get("prompt_values_supported", [])

    def authorization_url(self, pending: PendingLogin, **extra: str | None) -> str:
        """The URL to open in the system browser (``None`` extras are left out)."""
        params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "scope": SCOPE,
            "redirect_uri": pending.redirect_uri,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": pending.code_challenge,
            "code_challenge_method": "S256",
        }
        params.update({k: v for k, v in extra.items() if v})
        return f"{self.metadata['authorization_endpoint']}?{urlencode(params)}"

    def redeem(self, pending: PendingLogin, callback: dict[str, str]) -> dict[str, Any]:
        """Check the callback (state, RFC 9207 iss), exchange the code, validate the ID token."""
        if callback.get("state") != pending.state:
            raise LoginError("state mismatch")
        if callback.get("iss") != self.issuer:
            raise LoginError("iss mismatch (RFC 9207 §2.4)")
        if "error" in callback:
            raise LoginError(f"{callback['error']}: {callback.get('error_description', '')}")
        if not callback.get("code"):
            raise LoginError("no code in the callback")
        tokens = self._token_request(
            {
                "grant_type": "authorization_code",
                "code": callback["code"],
                "redirect_uri": pending.redirect_uri,
                "code_verifier": pending.code_verifier,
            }
        )
        tokens["claims"] = self.validate_id_token(tokens.get("id_token", ""), pending.nonce)
        return tokens

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """Rotate the refresh token (the old one is dead afterwards). The caller must store
        ``refresh_token`` of the answer before anything else; the ID token is not checked
        here (see ``validate_id_token``), so that a crash in between loses nothing."""
        return self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, token: str, hint: str = "refresh_token") -> bool:
        """RFC 7009 §2.1 as a public client (``client_id`` in the body); a refresh token takes
        its access tokens with it. False when the provider could not be told."""
        endpoint = self.metadata.get("revocation_endpoint")
        if not endpoint:
            return False
        try:
            response = self.http.post(
                endpoint, data={"token": token, "token_type_hint": hint, "client_id": CLIENT_ID}
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def end_session_url(
        self,
        id_token_hint: str | None,
        post_logout_redirect_uri: str,
        state: str,
        ui_locales: str | None = None,
    ) -> str | None:
        """OIDC RP-Initiated Logout 1.0 §2, or None when the provider has no such endpoint."""
        endpoint = self.metadata.get("end_session_endpoint")
        if not endpoint:
            return None
        params = {
            "client_id": CLIENT_ID,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "state": state,
            "id_token_hint": id_token_hint,
            "ui_locales": ui_locales,
        }
        query = urlencode({k: v for k, v in params.items() if v})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def _token_request(self, data: dict[str, str]) -> dict[str, Any]:
        response = self.http.post(
            self.metadata["token_endpoint"], data={**data, "client_id": CLIENT_ID}
        )
        try:
            body = response.json()
        except ValueError:
            raise LoginError(f"token endpoint answered {response.status_code}") from None
        if response.status_code != 200:
            error = TokenRefused if response.status_code in (400, 401) else LoginError
            raise error(f"{body.get('error')}: {body.get('error_description', '')}")
        return dict(body)

    def validate_id_token(self, id_token: str, nonce: str | None) -> dict[str, Any]:
        """OIDC Core §3.1.3.7: signature (JWKS fetched again once for an unknown ``kid``: the
        provider rotated its keys), iss, aud, exp; nonce when the request had one."""
        try:
            try:
                token = jwt.decode(id_token, self.jwks, algorithms=ID_TOKEN_ALGS)
            except InvalidKeyIdError:
                self.jwks = self._fetch_jwks()
                token = jwt.decode(id_token, self.jwks, algorithms=ID_TOKEN_ALGS)
        except (JoseError, ValueError) as exc:
            raise LoginError(f"ID token rejected: {exc}") from None
        claims = token.claims
        if claims.get("iss") != self.issuer:
            raise LoginError("ID token iss mismatch")
        aud = claims.get("aud")
        if aud != CLIENT_ID and CLIENT_ID not in (aud if isinstance(aud, list) else []):
            raise LoginError("ID token aud mismatch")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + CLOCK_SKEW < time.time():
            raise LoginError("ID token expired")
        if nonce is not None and claims.get("nonce") != nonce:
            raise LoginError("ID token nonce mismatch")
        if not claims.get("sub"):
            raise LoginError("ID token without sub")
        return dict(claims)


class LoopbackListener:
    """A one-shot HTTP listener on 127.0.0.1 and a free port (RFC 8252 §7.3, §8.3), for the
    headless login; the app's screens server answers its own /callback instead."""

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
                body = b"You can close this window and return to the app."
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Referrer-Policy", "no-referrer")
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
