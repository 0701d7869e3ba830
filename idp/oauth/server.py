"""The authorization server: Authlib's, configured with our storage, grants and endpoints."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import OAuth2Payload
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749 import UnsupportedResponseTypeError
from flask import Flask
from sqlalchemy import insert
from werkzeug.datastructures import MultiDict

from idp.devices import describe_user_agent
from idp.extensions import db
from idp.models.base import random_token
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.oauth import Client
from idp.models.oauth import Token
from idp.oauth import context
from idp.oauth.checks import AuthorizationRequestChecks
from idp.oauth.client_auth import PrivateKeyJWT
from idp.oauth.client_auth import authenticate_client_secret_basic
from idp.oauth.dpop import Proof
from idp.oauth.endpoints import Introspection
from idp.oauth.endpoints import Revocation
from idp.oauth.endpoints import UserInfo
from idp.oauth.endpoints import make_resource_protector
from idp.oauth.grants import AuthorizationCodeGrant
from idp.oauth.grants import OpenIDCodeExtension
from idp.oauth.grants import RefreshTokenGrant
from idp.oauth.grants import S256CodeChallenge
from idp.oauth.grants import client_can_refresh


class StoredPayload(OAuth2Payload):
    """Authorization request parameters kept server-side while the user logs in."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self._data = MultiDict(list(pairs))

    @property
    def data(self) -> MultiDict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return {k: self._data.getlist(k) for k in self._data}


class StoredAuthorizationRequest(OAuth2Request):
    """An OAuth2Request rebuilt from stored parameters (resuming after login)."""

    def __init__(self, pairs: Iterable[tuple[str, str]], uri: str):
        super().__init__("GET", uri, headers={})
        self.payload = StoredPayload(pairs)

    @property
    def args(self) -> MultiDict[str, str]:
        return self.payload.data

    @property
    def form(self) -> MultiDict[str, str]:
        return MultiDict()


class OAuthServer(AuthorizationServer):
    """Authlib's Flask server plus RFC 9207 ``iss`` on every authorization redirect."""

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)

    def handle_response(self, status_code, payload, headers):
        # The only redirects this server makes are authorization responses, success or error:
        # RFC 9207 §2 wants ``iss`` in every one of them.
        if status_code == 302:
            headers = [
                (k, add_params_to_uri(v, [("iss", context.settings().issuer)]))
                if k == "Location"
                else (k, v)
                for k, v in headers
            ]
        return super().handle_response(status_code, payload, headers)

    def get_authorization_grant(self, request):
        """Refuse first what Authlib would quote in an ``error_description``, which must be
        printable ASCII (RFC 6749 §4.1.2.1) or Authlib raises ValueError: a malformed
        ``redirect_uri`` is never redirected to; a malformed ``response_type`` goes back like
        any unsupported one."""
        uri = request.payload.redirect_uri
        if uri is not None and not _is_uri_text(uri):
            raise InvalidRequestError("Invalid 'redirect_uri' in request.")
        response_type = request.payload.response_type
        if response_type and invalid_error_characters(response_type):
            client = query_client(request.payload.client_id)
            trusted = uri if client is not None and uri and client.check_redirect_uri(uri) else None
            raise UnsupportedResponseTypeError(
                "invalid", "Unsupported 'response_type'.", redirect_uri=trusted
            )
        return super().get_authorization_grant(request)


def _is_uri_text(value: str) -> bool:
    """Printable ASCII that urlsplit can parse (RFC 3986 §2: a URI is ASCII)."""
    if invalid_error_characters(value):
        return False
    try:
        urlsplit(value)
    except ValueError:
        return False
    return True


def query_client(client_id: str) -> Client | None:
    """The registered client, or None."""
    if not isinstance(client_id, str) or len(client_id) > 64 or "\x00" in client_id:
        return None
    return db.session.get(Client, client_id)


def generate_bearer_token(
    grant_type: str,
    client: Client,
    user: Any = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = True,
) -> dict[str, Any]:
    """Opaque random tokens (RFC 6750); a refresh token only for offline access."""
    settings = context.settings()
    token: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": random_token(32),
        "expires_in": expires_in or settings.access_token_ttl,
        "scope": scope or "",
    }
    if include_refresh_token and client_can_refresh(client, scope or ""):
        token["refresh_token"] = random_token(32)
    return token


def save_token(token: dict[str, Any], request: OAuth2Request) -> None:
    """Store the issued tokens as hashes, in the grant's family; the view commits."""
    settings = context.settings()
    now = utcnow()
    parent: Token | None = request.refresh_token
    code = request.authorization_code
    origin = parent if parent is not None else code
    refresh = token.get("refresh_token")
    proof: Proof | None = getattr(request, "dpop", None)
    if proof is not None:
        token["token_type"] = "DPoP"  # RFC 9449 §5: bound to the proof's key
    # One INSERT statement now rather than an object for the unit of work to flush at commit.
    db.session.execute(
        insert(Token).values(
            access_token_hash=token_hash(token["access_token"]),
            refresh_token_hash=token_hash(refresh) if refresh else None,
            client_id=request.client.client_id,
            account_id=request.user.id,
            scope=token["scope"],
            family_id=parent.family_id if parent is not None else random_token(16),
            code_id=parent.code_id if parent is not None else code.id,
            sid=origin.sid,
            auth_time=origin.auth_time,
            amr=origin.amr,
            issued_at=now,
            access_expires_at=now + timedelta(seconds=token["expires_in"]),
            refresh_expires_at=now + timedelta(seconds=settings.refresh_token_ttl)
            if refresh
            else None,
            device_hint=describe_user_agent(request.headers.get("User-Agent")),
            dpop_jkt=proof.jkt if proof is not None else None,
        )
    )


server = OAuthServer()


def init_oauth(app: Flask) -> None:
    """Bind the server to the app and register grants and endpoints."""
    server.init_app(app, query_client=query_client, save_token=save_token)
    server.register_token_generator("default", generate_bearer_token)
    server.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)
    server.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT())
    if getattr(server, "_idp_configured", False):
        return
    server.register_grant(
        AuthorizationCodeGrant,
        [AuthorizationRequestChecks(), S256CodeChallenge(required=True), OpenIDCodeExtension()],
    )
    server.register_grant(RefreshTokenGrant)
    from idp.oauth.par import PushedAuthorization  # par.py builds StoredAuthorizationRequest

    server.register_endpoint(PushedAuthorization)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    server.register_endpoint(UserInfo(resource_protector=make_resource_protector()))
    server._idp_configured = True
