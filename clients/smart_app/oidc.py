"""The native app's OpenID Connect client on Authlib's client (the same library as the customer
space): discovery, PKCE S256 and nonce (``create_authorization_url``), code exchange, ID token
validation (Authlib's ``parse_id_token``: JWKS signature with a re-fetch for an unknown ``kid``,
then OIDC Core §3.1.3.7 iss, aud, exp, iat, nonce, at_hash), refresh, revocation (RFC 7009) and
the RP-initiated logout URL. What Authlib leaves to the app is here too: ``state`` and RFC 9207
``iss`` of the callback, DPoP proofs (RFC 9449: the tokens are bound to a key the app keeps),
and the loopback redirect listener of the headless login (RFC 8252 §7.3). HTTP goes through
requests (Authlib's ``OAuth2Session``); imports nothing of the screens.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import HTTPServer
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import BaseApp
from authlib.integrations.base_client import FrameworkIntegration
from authlib.integrations.base_client import OAuth2Mixin
from authlib.integrations.base_client import OAuthError
from authlib.integrations.base_client import OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from requests.adapters import BaseAdapter

CLIENT_ID = "smart-app"
SCOPE = "openid profile email offline_access eligibility"
HTTP_TIMEOUT = 10  # seconds, every call to the provider
CLOCK_SKEW = 60  # seconds of clock difference tolerated on exp and iat
DPOP_ALG = "ES256"

# Network trouble: the provider may answer next time.
NetworkError = requests.RequestException


class LoginError(RuntimeError):
    """The login did not complete (error from the provider, wrong state, bad ID token)."""


class TokenRefused(LoginError):
    """The token endpoint refused the grant (a code or refresh token expired, revoked or
    reused): it is dead, retrying cannot help."""


class LoginCancelled(LoginError):
    """The customer turned back at the provider: ``error=access_denied`` (RFC 6749
    §4.1.2.1), with our ``state`` and the provider's ``iss``."""


def new_dpop_key() -> dict[str, Any]:
    """A fresh P-256 key pair (private JWK) to bind one login's tokens to (RFC 9449)."""
    return dict(ECKey.generate_key("P-256", private=True).as_dict(private=True))


def dpop_proof(private_jwk: dict[str, Any], method: str, url: str) -> str:
    """RFC 9449 §4.2: a proof JWT for one request, signed by the app's key."""
    key = ECKey.import_key(private_jwk)
    header = {"typ": "dpop+jwt", "alg": DPOP_ALG, "jwk": dict(key.as_dict(private=False))}
    claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(time.time())}
    return jws.serialize_compact(header, json.dumps(claims).encode(), key, algorithms=[DPOP_ALG])


@dataclass
class PendingLogin:
    """What the app remembers between sending the browser away and the callback (and the
    DPoP key the login's tokens will be bound to)."""

    redirect_uri: str
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    code_verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    dpop_key: dict[str, Any] = field(default_factory=new_dpop_key)


class _NativeIntegration(FrameworkIntegration):
    """Authlib's framework hooks for an app without a web framework: the pending logins
    live in the app's memory (``PendingLogin``) and tokens in its local state file."""

    def update_token(self, token: Any, refresh_token: Any = None, access_token: Any = None) -> None:
        """The app stores rotated tokens itself (``SmartApp._adopt_refresh``)."""


class _ProviderApp(OAuth2Mixin, OpenIDMixin, BaseApp):
    """Authlib's OAuth 2.0 + OpenID client app (what its Flask integration builds on),
    its HTTP sessions optionally mounted on a test transport."""

    client_cls = OAuth2Session

    def __init__(self, issuer: str, adapter: BaseAdapter | None):
        self._adapter = adapter
        self._issuer = issuer
        super().__init__(
            _NativeIntegration("idp"),
            name="idp",
            client_id=CLIENT_ID,
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": SCOPE,
                "token_endpoint_auth_method": "none",  # public client: PKCE instead
                "revocation_endpoint_auth_method": "none",
                "code_challenge_method": "S256",
                "default_timeout": HTTP_TIMEOUT,
            },
        )

    def _mounted(self, session: OAuth2Session) -> OAuth2Session:
        session.trust_env = False  # loopback and the provider only: no proxy from the env
        if self._adapter is not None:
            session.mount(self._issuer, self._adapter)
        return session

    def _get_session(self) -> OAuth2Session:
        return self._mounted(super()._get_session())

    def _get_oauth_client(self, **metadata: Any) -> OAuth2Session:
        return self._mounted(super()._get_oauth_client(**metadata))


class Provider:
    """The OP as the app sees it: discovery document and JWKS, fetched once (again for a
    new ``kid``), and the calls the app makes."""

    def __init__(self, issuer: str, adapter: BaseAdapter | None = None):
        self.issuer = issuer.rstrip("/")
        self._app = _ProviderApp(self.issuer, adapter)
        self.metadata: dict[str, Any] = self._app.load_server_metadata()
        if self.metadata.get("issuer") != self.issuer:
            raise LoginError("discovery issuer mismatch (OIDC Discovery §4.3)")
        self._app.fetch_jwk_set()

    def _dpop_headers(self, private_jwk: dict[str, Any] | None) -> dict[str, str]:
        """A proof for the token endpoint when the provider takes DPoP (RFC 9449 §5.1)."""
        if private_jwk is None:
            return {}
        if DPOP_ALG not in self.metadata.get("dpop_signing_alg_values_supported", []):
            return {}
        return {"DPoP": dpop_proof(private_jwk, "POST", self.metadata["token_endpoint"])}

    def supports_prompt(self, value: str) -> bool:
        """Whether ``prompt=value`` is advertised (``create``: OIDC Prompt Create 1.0 §4)."""
        return value in self.metadata.get("prompt_values_supported", [])

    def authorization_url(self, pending: PendingLogin, **extra: str | None) -> str:
        """The URL to open in the system browser (``None`` extras are left out)."""
        answer = self._app.create_authorization_url(
            pending.redirect_uri,
            state=pending.state,
            nonce=pending.nonce,
            code_verifier=pending.code_verifier,
            **{k: v for k, v in extra.items() if v},
        )
        return str(answer["url"])

    def redeem(self, pending: PendingLogin, callback: dict[str, str]) -> dict[str, Any]:
        """Check the callback (state, RFC 9207 iss), exchange the code, validate the ID token."""
        if callback.get("state") != pending.state:
            raise LoginError("state mismatch")
        if callback.get("iss") != self.issuer:
            raise LoginError("iss mismatch (RFC 9207 §2.4)")
        if callback.get("error") == "access_denied":
            raise LoginCancelled(callback.get("error_description", ""))
        if "error" in callback:
            raise LoginError(f"{callback['error']}: {callback.get('error_description', '')}")
        if not callback.get("code"):
            raise LoginError("no code in the callback")
        try:
            tokens = dict(
                self._app.fetch_access_token(
                    pending.redirect_uri,
                    code=callback["code"],
                    code_verifier=pending.code_verifier,
                    headers=self._dpop_headers(pending.dpop_key),
                )
            )
        except OAuthError as exc:
            raise TokenRefused(f"{exc.error}: {exc.description}") from None
        tokens["claims"] = self.validate_id_token(tokens, pending.nonce)
        return tokens

    def refresh(self, refresh_token: str, dpop_key: dict[str, Any] | None = None) -> dict[str, Any]:
        """Rotate the refresh token (the old one is dead afterwards), with a proof of the key
        it is bound to. The caller must store ``refresh_token`` of the answer before anything
        else; the ID token is not checked here (see ``validate_id_token``), so that a crash in
        between loses nothing."""
        with self._app._get_oauth_client(**self.metadata) as session:
            try:
                token = session.refresh_token(
                    self.metadata["token_endpoint"],
                    refresh_token=refresh_token,
                    headers=self._dpop_headers(dpop_key),
                )
            except OAuthError as exc:
                raise TokenRefused(f"{exc.error}: {exc.description}") from None
        return dict(token)

    def revoke(self, token: str, hint: str = "refresh_token") -> bool:
        """RFC 7009 §2.1 as a public client (``client_id`` in the body); a refresh token takes
        its access tokens with it. False when the provider could not be told."""
        endpoint = self.metadata.get("revocation_endpoint")
        if not endpoint:
            return False
        with self._app._get_oauth_client(**self.metadata) as session:
            try:
                response = session.revoke_token(endpoint, token, token_type_hint=hint)
            except NetworkError:
                return False
        return bool(response.status_code == 200)

    def end_session_url(
        self,
        id_token_hint: str | None,
        post_logout_redirect_uri: str,
        state: str,
        ui_locales: str | None = None,
    ) -> str | None:
        """OIDC RP-Initiated Logout 1.0 §2, or None when the provider has no such endpoint."""
        if not self.metadata.get("end_session_endpoint"):
            return None
        extra = {"ui_locales": ui_locales} if ui_locales else {}
        answer = self._app.create_logout_url(
            post_logout_redirect_uri=post_logout_redirect_uri,
            id_token_hint=id_token_hint,
            state=state,
            client_id=CLIENT_ID,
            **extra,
        )
        return str(answer["url"])

    def validate_id_token(self, tokens: dict[str, Any], nonce: str | None) -> dict[str, Any]:
        """OIDC Core §3.1.3.7 through Authlib: signature, iss, aud, azp, exp, iat, at_hash; the
        nonce when the request had one (a refreshed ID token has none, §12.2)."""
        if not tokens.get("id_token"):
            raise LoginError("no ID token")
        try:
            # Authlib checks iss by default and aud only through azp: both explicitly (§3.1.3.7
            # steps 2 and 3).
            options: dict[str, Any] = {
                "iss": {"essential": True, "values": [self.issuer]},
                "aud": {"essential": True, "values": [CLIENT_ID]},
            }
            claims = self._app.parse_id_token(
                tokens, nonce, claims_options=options, leeway=CLOCK_SKEW
            )
        except (JoseError, ValueError, KeyError) as exc:
            raise LoginError(f"ID token rejected: {exc}") from None
        if not claims or not claims.get("sub"):
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
