"""OpenID Connect RP-Initiated Logout 1.0: the ``end_session_endpoint`` decisions.

Authlib's EndSessionEndpoint validates the request (the hint's signature against our keys, expired
hints accepted, ``client_id`` against the hint's ``aud``, the exact ``post_logout_redirect_uri``,
``state``); we add our issuer, our algorithms, our clients' registered URIs, and decide whether
the End-User must confirm. Ending the session queues the back-channel logout of the clients that
took part in it (idp/oauth/sso.py → idp/accounts/signout.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.rpinitiated import EndSessionEndpoint
from authlib.oidc.rpinitiated import EndSessionRequest
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.models.oauth import Client
from idp.models.op_session import OpSession
from idp.oauth import context
from idp.oauth.server import StoredAuthorizationRequest
from idp.oauth.server import server
from idp.oauth.sso import end_session
from idp.uris import uri_is_registered

ALGORITHMS = ["RS256", "ES256"]  # what we sign with; never "none" or HMAC (RFC 8725 §3.1)
PARAMETERS = (
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
    "logout_hint",
)


def post_logout_uri_allowed(client: Client, uri: str) -> bool:
    """Exact string match with a registered ``post_logout_redirect_uri`` (RP-Initiated Logout
    1.0 §3: no added query parameter, no prefix match), except the port of a native client's
    loopback IP URI, which may vary like its redirect URIs (RFC 8252 §7.3): the app listens on
    whatever port the system gives it at logout time."""
    return uri_is_registered(
        uri, client.post_logout_redirect_uris or [], native=client.application_type == "native"
    )


class EndSession(EndSessionEndpoint):
    """Authlib's request validation with our keys, issuer, algorithms and registered URIs."""

    def get_server_jwks(self) -> KeySet:
        return KeySet(context.keyring().verification_keys())

    def get_algorithms(self) -> list[str]:
        return list(ALGORITHMS)

    def _is_valid_post_logout_redirect_uri(self, client: Any, uri: str) -> bool:
        # Authlib (pinned 1.9.10) reads client.client_metadata; our URIs are a column, and the
        # native loopback rule is post_logout_uri_allowed()'s.
        return post_logout_uri_allowed(client, uri)

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        raise NotImplementedError("ended by log_out(), after the End-User's confirmation")

    def validate_request(self, request: Any) -> EndSessionRequest:
        """Authlib's checks plus: parameters given once, a hint of ours (``iss``, ``sub``)."""
        datalist = request.payload.datalist
        for name in PARAMETERS:
            if len(datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"Multiple '{name}' in request.")
        try:
            validated = super().validate_request(request)
        except (ValueError, TypeError) as exc:  # a hint joserfc cannot even parse
            raise InvalidRequestError("Invalid 'id_token_hint'.") from exc
        claims = validated.id_token_claims
        if claims is not None and (
            claims.get("iss") != context.settings().issuer or not isinstance(claims.get("sub"), str)
        ):
            raise InvalidRequestError("'id_token_hint' was not issued by this provider.")
        return validated


@dataclass(frozen=True)
class LogoutDecision:
    """What to do with a logout request: which session ends, whether the End-User confirms
    first, and where the browser goes afterwards (None: our "you are logged out" page)."""

    target: OpSession | None
    confirm: bool
    redirect_uri: str | None
    params: list[tuple[str, str]] = field(default_factory=list)
    client_name: str | None = None


def _validate(pairs: list[tuple[str, str]]) -> EndSessionRequest | None:
    """The validated request, or None when it is in error (§4: then never redirect)."""
    request = StoredAuthorizationRequest(pairs, uri=f"{context.settings().issuer}/logout")
    try:
        validated = EndSession(server).validate_request(request)
    except OAuth2Error:
        return None
    data = request.payload.data
    if data.get("client_id") and validated.client is None:
        return None  # an unknown client_id
    if data.get("post_logout_redirect_uri") and validated.redirect_uri is None:
        # Unregistered, or not exactly registered (an added query parameter): §3 forbids the
        # redirect, and a request that asks for one is not the RP's own.
        return None
    return validated


def _hinted_session(claims: dict[str, Any]) -> OpSession | None:
    """The live session the hint names, when this browser has none (the Smart App logs out
    from a browser that may not hold the cookie): the RP proved it with the hint."""
    sid = claims.get("sid")
    op_session = db.session.get(OpSession, sid) if isinstance(sid, str) and len(sid) <= 64 else None
    if op_session is None or not op_session.is_live() or op_session.account.sub != claims["sub"]:
        return None
    return op_session


def decide_logout(pairs: list[tuple[str, str]], browser: OpSession | None) -> LogoutDecision:
    """RP-Initiated Logout 1.0 §2–§4: a valid hint of the session's own user logs out at once
    and may redirect; anything else (no hint, a hint of another user, an error) asks the
    End-User first (§6: logout requests are a denial-of-service vector) and never redirects
    unless the hint was valid and the URI registered."""
    params = [(k, v) for k, v in pairs if k in PARAMETERS]
    validated = _validate(params)
    if validated is None or validated.id_token_claims is None:
        return LogoutDecision(
            target=browser, confirm=browser is not None, redirect_uri=None, params=params
        )
    claims = validated.id_token_claims
    target = browser if browser is not None else _hinted_session(claims)
    return LogoutDecision(
        target=target,
        confirm=target is not None and target.account.sub != claims["sub"],
        # Authlib sets it only for an exactly registered URI (with ``state`` added).
        redirect_uri=validated.redirect_uri,
        params=params,
        client_name=validated.client.name if validated.client is not None else None,
    )


def log_out(target: OpSession | None) -> None:
    """End the session (and queue its back-channel notifications); the caller commits."""
    if target is not None:
        end_session(target)
