"""Logout token validation, OpenID Connect Back-Channel Logout 1.0 §2.6. Pure: the keys come
from a ``jwks_source(force_refresh)`` callable, so the receiver can be tested with keys of the
test's own. Imports joserfc only."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from typing import cast

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwk import KeySetSerialization

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
ALGORITHMS = ["RS256", "ES256"]  # the provider's id_token_signing_alg_values_supported
LEEWAY = 60  # seconds of clock difference
MAX_AGE = 600  # a token without exp is refused once its iat is this old

JwksSource = Callable[[bool], dict[str, Any]]


class LogoutTokenError(ValueError):
    """The logout token is invalid; the message is the ``error_description``."""


def _key_set(jwks_source: JwksSource, force_refresh: bool) -> KeySet:
    return KeySet.import_key_set(cast(KeySetSerialization, jwks_source(force_refresh)))


def _verified(token: str, jwks_source: JwksSource) -> jwt.Token:
    """§2.6 step 2: the signature, against the provider's JWKS (fetched again once for an
    unknown ``kid``: the provider may have rotated its keys)."""
    try:
        try:
            return jwt.decode(
                token,
                KeySet.import_key_set(cast(KeySetSerialization, jwks_source(False))),
                ALGORITHMS,
            )
        except InvalidKeyIdError:
            return jwt.decode(
                token,
                KeySet.import_key_set(cast(KeySetSerialization, jwks_source(True))),
                ALGORITHMS,
            )
    except (JoseError, ValueError) as exc:
        raise LogoutTokenError(f"signature not verified ({exc.__class__.__name__})") from None


def _check_time(claims: dict[str, Any], now: float) -> None:
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or iat > now + LEEWAY:
        raise LogoutTokenError("iat missing or in the future")
    if exp is not None and (not isinstance(exp, int | float) or exp < now - LEEWAY):
        raise LogoutTokenError("token expired")
    if exp is None and iat < now - MAX_AGE:
        raise LogoutTokenError("token too old")


def validate_logout_token(
    token: str, jwks_source: JwksSource, issuer: str, client_id: str, now: float | None = None
) -> dict[str, Any]:
    """The claims of a valid logout token; raises LogoutTokenError otherwise."""
    verified = _verified(token, jwks_source)
    typ = str(verified.header.get("typ", "logout+jwt")).lower()
    if typ.removeprefix("application/") != "logout+jwt":  # explicit typing (§2.4)
        raise LogoutTokenError("typ is not logout+jwt")
    claims = dict(verified.claims)
    if claims.get("iss") != issuer:
        raise LogoutTokenError("iss mismatch")
    aud = claims.get("aud")
    if aud != client_id and client_id not in (aud if isinstance(aud, list) else []):
        raise LogoutTokenError("aud mismatch")
    _check_time(claims, time.time() if now is None else now)
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise LogoutTokenError("events claim without the back-channel logout event")
    if not isinstance(claims.get("sid"), str) and not isinstance(claims.get("sub"), str):
        raise LogoutTokenError("neither sid nor sub")
    if "nonce" in claims:  # §2.4: a logout token must never pass for an ID token
        raise LogoutTokenError("nonce present")
    return claims
