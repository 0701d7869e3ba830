"""Client authentication at the token, revocation, introspection and PAR endpoints.

``client_secret_basic`` (RFC 6749 §2.3.1), ``client_secret_post`` and ``none`` are Authlib's;
``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9) is Authlib's JWT client assertion with our
rules: the client's registered keys (``jwks`` or ``jwks_uri``), asymmetric algorithms only
(the one it registered, if any), an audience naming this server, a short life and a ``jti``
used once.
"""

from __future__ import annotations

import time
from typing import Any
from typing import cast

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.authenticate_client import (
    authenticate_client_secret_basic as authlib_client_secret_basic,
)
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7523.client import ASSERTION_TYPE
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwk import KeySetSerialization

from idp.models.oauth import Client
from idp.oauth import context
from idp.oauth.remote_keys import KeysUnavailable
from idp.oauth.remote_keys import remote_key_sets
from idp.oauth.replay import ReplayStoreError
from idp.oauth.replay import first_use

SECRET_METHODS = ["client_secret_basic", "client_secret_post"]
CONFIDENTIAL_METHODS = [*SECRET_METHODS, "private_key_jwt"]
CLIENT_AUTH_METHODS = [*CONFIDENTIAL_METHODS, "none"]
# RFC 7518 §3.1 asymmetric algorithms; never "none" or HMAC (RFC 8725 §3.1).
ASSERTION_ALGORITHMS = ["RS256", "PS256", "ES256"]
MAX_ASSERTION_LIFETIME = 300  # seconds from now to exp, and age of iat
LEEWAY = 30  # clock skew allowed, seconds


def authenticate_client_secret_basic(query_client: Any, request: OAuth2Request) -> Any:
    """RFC 6749 §2.3.1 HTTP Basic; credentials that are not UTF-8 (RFC 7617 §2.1) fail like wrong
    ones instead of escaping Authlib as UnicodeDecodeError (a 500), and so does a header of
    blanks only (``"\xa0 \xa0"``: Authlib's ``split(None, 1)`` finds no parts, a ValueError)."""
    try:
        return authlib_client_secret_basic(query_client, request)
    except (UnicodeDecodeError, ValueError):
        return None


def audiences(issuer: str) -> list[str]:
    """Values of ``aud`` naming this server: the issuer (RFC 7523 §3), the token endpoint (OIDC
    Core §9) and the PAR endpoint (RFC 9126 §2)."""
    return [issuer, f"{issuer}/token", f"{issuer}/par"]


def assertion_algorithms(client: Client) -> list[str]:
    """The algorithm the client registered (OIDC Registration §2
    ``token_endpoint_auth_signing_alg``), else every one we accept."""
    registered = client.token_endpoint_auth_signing_alg
    return [registered] if registered else list(ASSERTION_ALGORITHMS)


def client_keys(client: Client, kid: str | None = None) -> KeySet:
    """The client's registered public keys: inline, or published at its ``jwks_uri`` (kept a
    while and fetched again for a ``kid`` the kept set lacks, ``idp.oauth.remote_keys``)."""
    if client.jwks is not None:
        return KeySet.import_key_set(cast("KeySetSerialization", client.jwks))
    if not client.jwks_uri:
        raise InvalidClientError(description="The client registered no keys.")
    try:
        return remote_key_sets().keys(client.jwks_uri, kid)
    except KeysUnavailable as exc:
        raise InvalidClientError(description="The client's jwks_uri did not give keys.") from exc


class PrivateKeyJWT(JWTBearerClientAssertion):
    """RFC 7523 §2.2 / §3 client assertions, checked beyond Authlib's defaults."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self) -> None:
        super().__init__(validate_jti=True, leeway=LEEWAY)

    def __call__(self, query_client: Any, request: OAuth2Request) -> Any:
        data = request.form
        assertion = data.get("client_assertion")
        if data.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
            return None
        headers, claims = self.extract_assertion(assertion)
        subject = claims.get("sub")
        client = query_client(subject) if isinstance(subject, str) else None
        if client is not None:
            if headers.get("alg") not in assertion_algorithms(client):
                raise InvalidClientError(description="The assertion's 'alg' is not accepted.")
            if client.jwks is None:
                # Authlib asks for the keys without the header: look the kid up now, so that a
                # key the client has just published is fetched (resolve_client_public_key below
                # then reads the same kept set).
                kid = headers.get("kid")
                client_keys(client, kid if isinstance(kid, str) else None)
        client_id = data.get("client_id")
        if client_id is not None and client_id != subject:
            # RFC 7521 §4.2: a client_id sent beside the assertion names the same client.
            raise InvalidClientError(description="'client_id' is not the assertion's subject.")
        return super().__call__(query_client, request)

    def get_audiences(self) -> list[str]:
        return audiences(context.settings().issuer)

    def resolve_client_public_key(self, client: Client) -> KeySet:
        return client_keys(client)

    def verify_claims(self, claims: jwt.Claims) -> None:
        """Authlib's (iss = sub, aud, exp, jti once) after our time bounds."""
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or exp > now + MAX_ASSERTION_LIFETIME + LEEWAY:
            raise InvalidClientError(description="The assertion's 'exp' is missing or too far.")
        if iat is not None and (
            not isinstance(iat, int | float)
            or iat > now + LEEWAY
            or iat < now - MAX_ASSERTION_LIFETIME - LEEWAY
        ):
            raise InvalidClientError(description="The assertion's 'iat' is out of bounds.")
        if not isinstance(claims.get("jti"), str):
            raise InvalidClientError(description="The assertion needs a 'jti'.")
        super().verify_claims(claims)

    def validate_jti(self, claims: jwt.Claims, jti: str) -> bool:
        ttl = MAX_ASSERTION_LIFETIME + 2 * LEEWAY
        try:
            return first_use(f"client-assertion/{claims['sub']}", jti, ttl)
        except ReplayStoreError:
            return False
