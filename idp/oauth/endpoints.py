"""Revocation (RFC 7009), introspection (RFC 7662) and UserInfo (OIDC Core §5.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import TypeVar

from authlib.consts import default_json_headers
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import UserInfoEndpoint
from flask import g
from flask import request as flask_request
from sqlalchemy import update

from idp.extensions import db
from idp.models.account import ACTIVE
from idp.models.base import DbSession
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.oauth import Client
from idp.models.oauth import Token
from idp.models.oauth import load_token
from idp.models.token_rows import TokenRow
from idp.models.token_rows import read_token
from idp.oauth import context
from idp.oauth.claims import generate_user_info
from idp.oauth.client_auth import CLIENT_AUTH_METHODS as ANY_CLIENT
from idp.oauth.client_auth import CONFIDENTIAL_METHODS
from idp.oauth.dpop import ALGORITHMS as DPOP_ALGORITHMS
from idp.oauth.dpop import InvalidDPoPProofError
from idp.oauth.dpop import check_proof
from idp.oauth.dpop import proof_header

REALM = "userinfo"
ALGS = " ".join(DPOP_ALGORITHMS)
FORM = "application/x-www-form-urlencoded"


Found = TypeVar("Found", Token, TokenRow)


def _first(
    value: str, hint: str | None, load: Callable[[DbSession, Any, str], Found | None]
) -> Found | None:
    """The token for an access or refresh token string (the hint only orders the search)."""
    digest = token_hash(value)
    columns = [Token.access_token_hash, Token.refresh_token_hash]
    if hint == "refresh_token":
        columns.reverse()
    for column in columns:
        token = load(db.session, column, digest)
        if token is not None:
            return token
    return None


def find_token(value: str, hint: str | None) -> Token | None:
    """The token (ORM object, to change it) for an access or refresh token string."""
    return _first(value, hint, load_token)


def _noted(token: Found | None, value: str) -> Found | None:
    """The token, noting on it (this request's own object) whether the refresh token was
    presented. Not on the endpoint: one endpoint instance serves every concurrent request."""
    if token is not None:
        is_refresh = token.refresh_token_hash == token_hash(value)
        token.presented_refresh = is_refresh  # type: ignore[attr-defined]
    return token


def query_presented(value: str, hint: str | None) -> Token | None:
    """``find_token``, noting whether the refresh token was presented."""
    return _noted(find_token(value, hint), value)


def _presented_refresh(token: Token | TokenRow) -> bool:
    return bool(getattr(token, "presented_refresh", False))


class Revocation(RevocationEndpoint):
    """RFC 7009. Public clients may revoke their own tokens (RFC 7009 §5)."""

    CLIENT_AUTH_METHODS = ANY_CLIENT

    def query_token(self, token_string, token_type_hint):
        return query_presented(token_string, token_type_hint)

    def revoke_token(self, token, request):
        """A refresh token takes its whole grant with it (RFC 7009 §2.1); an access token alone."""
        if _presented_refresh(token):
            db.session.execute(
                update(Token)
                .where(Token.family_id == token.family_id, Token.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        elif token.revoked_at is None:
            token.revoked_at = utcnow()


class Introspection(IntrospectionEndpoint):
    """RFC 7662, for confidential clients about their own tokens (§2.1 requires client auth)."""

    CLIENT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def query_token(self, token_string, token_type_hint):
        # Read only: plain rows (idp.models.token_rows), not ORM objects.
        return _noted(_first(token_string, token_type_hint, read_token), token_string)

    def check_permission(self, token, client, request):
        return token.client_id == client.client_id

    def introspect_token(self, token):
        is_refresh = _presented_refresh(token)
        if is_refresh and not token.refresh_is_usable():
            return {"active": False}
        if not is_refresh and token.account.status != ACTIVE:
            return {"active": False}
        expires = token.refresh_expires_at if is_refresh else token.access_expires_at
        access_type = "DPoP" if token.dpop_jkt else "Bearer"
        answer = {
            "active": True,
            "client_id": token.client_id,
            "token_type": "refresh_token" if is_refresh else access_type,
            "scope": token.scope,
            "sub": token.account.sub,
            "aud": token.client_id,
            "iss": context.settings().issuer,
            "exp": int(expires.timestamp()),
            "iat": int(token.issued_at.timestamp()),
        }
        if token.dpop_jkt:
            answer["cnf"] = {"jkt": token.dpop_jkt}  # RFC 9449 §6.2
        return answer

    def create_introspection_payload(self, token):
        if token is not None and _presented_refresh(token):
            # A refresh token's life is its own, not the access token's (RFC 7662 §2.2).
            return self.introspect_token(token)
        return super().create_introspection_payload(token)


class AccessTokenValidator(BearerTokenValidator):
    """RFC 6750 bearer tokens, looked up by hash; a disabled account's tokens stop working."""

    def authenticate_token(self, token_string):
        token = read_token(db.session, Token.access_token_hash, token_hash(token_string))
        if token is not None:
            g.idp_token_client_id = token.client_id  # CORS answers its origins, errors included
            token.presented_access = token_string  # type: ignore[attr-defined]
        if token is not None and token.account.status != ACTIVE:
            return None
        return token

    def validate_token(self, token, scopes, request):
        super().validate_token(token, scopes, request)
        if token.dpop_jkt is not None:
            # RFC 9449 §7.2: a DPoP-bound token is never accepted as a bearer token.
            raise InvalidTokenError("This access token is bound to a DPoP key.", realm=self.realm)


class DPoPTokenError(InvalidTokenError):
    """RFC 9449 §7.1: invalid_token under the DPoP scheme."""

    def get_headers(self):
        return _dpop_challenge(super().get_headers())


class DPoPProofError(InvalidDPoPProofError):
    """RFC 9449 §7.1: a resource request's proof is wrong: 401 with a DPoP challenge."""

    status_code = 401

    def get_headers(self):
        description = (self.get_error_description() or "").replace('"', "'")
        challenge = f'DPoP algs="{ALGS}", error="{self.error}", error_description="{description}"'
        return [*default_json_headers, ("WWW-Authenticate", challenge)]


def _dpop_challenge(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Authlib's Bearer challenge rewritten for the DPoP scheme, with ``algs`` (§7.1)."""
    return [
        (k, f'DPoP algs="{ALGS}", ' + v.removeprefix("Bearer "))
        if k == "WWW-Authenticate"
        else (k, v)
        for k, v in headers
    ]


class DPoPAccessTokenValidator(AccessTokenValidator):
    """RFC 9449 §7: ``Authorization: DPoP <token>`` with a proof of the token's key whose
    ``ath`` names the token; only DPoP-bound tokens."""

    TOKEN_TYPE = "dpop"

    def validate_token(self, token, scopes, request):
        try:
            BearerTokenValidator.validate_token(self, token, scopes, request)
        except InvalidTokenError as exc:
            raise DPoPTokenError(exc.description, realm=self.realm) from exc
        if token.dpop_jkt is None:
            raise DPoPTokenError("This access token is not DPoP-bound.", realm=self.realm)
        try:
            header = proof_header(request.headers)
            if header is None:
                raise InvalidDPoPProofError("A DPoP proof is required.")
            proof = check_proof(
                header,
                method=flask_request.method,
                url=f"{context.settings().issuer}{flask_request.path}",
                access_token=token.presented_access,
            )
        except InvalidDPoPProofError as exc:
            raise DPoPProofError(exc.description) from exc
        if proof.jkt != token.dpop_jkt:
            raise DPoPProofError("The proof's key is not the token's.")


def presented_token_client() -> Client | None:
    """The client of the access token this request presented (found, valid or not)."""
    client_id: str | None = g.get("idp_token_client_id")
    return db.session.get(Client, client_id) if client_id is not None else None


class UserInfo(UserInfoEndpoint):
    """OIDC Core §5.3: the claims of the token's scope, eligibility computed now."""

    def __call__(self, request):
        """Authlib's answer without reading the client: it reads the client only for
        ``userinfo_signed_response_alg`` (OIDC Registration §2), which no client registers
        here (``Client.client_metadata``), so the answer is always JSON (OIDC Core §5.3.2)."""
        token = self.resource_protector.acquire_token("openid")
        user_info = self.generate_user_info(token.get_user(), token.scope)
        return 200, user_info, default_json_headers

    def get_issuer(self):
        return context.settings().issuer

    def generate_user_info(self, user, scope):
        return generate_user_info(user, scope, context.settings())

    def resolve_private_key(self):
        return context.keyring().signing_key("RS256")


class NoCredentials(InvalidRequestError):
    """RFC 6750 §3.1: a request without any credentials gets a challenge with no error code,
    one per scheme accepted (RFC 9449 §7.1: DPoP with its ``algs``)."""

    status_code = 401

    def get_headers(self):
        return [
            *default_json_headers,
            ("WWW-Authenticate", f'Bearer realm="{REALM}"'),
            ("WWW-Authenticate", f'DPoP algs="{ALGS}"'),
        ]


class BearerProtector(ResourceProtector):
    """Bearer tokens in the Authorization header (RFC 6750 §2.1) or, on POST, in the form body
    (§2.2: pyoidc and others send them there); never both at once (§2)."""

    def parse_request_authorization(self, request):
        header = request.headers.get("Authorization")
        body = None
        if flask_request.method == "POST" and flask_request.mimetype == FORM:
            body = flask_request.form.get("access_token")
        if header and body:
            raise InvalidRequestError(
                "Use one method to send the access token (RFC 6750 section 2)."
            )
        if body:
            return self.get_token_validator("bearer"), body
        if not header:
            raise NoCredentials("An access token is required.")
        return super().parse_request_authorization(request)


def make_resource_protector() -> ResourceProtector:
    """A protector accepting our bearer access tokens."""
    protector = BearerProtector()
    protector.register_token_validator(AccessTokenValidator(realm=REALM))
    protector.register_token_validator(DPoPAccessTokenValidator(realm=REALM))
    return protector
