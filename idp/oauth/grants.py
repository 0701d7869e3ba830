"""Grants: authorization code (+PKCE, +OpenID) and refresh token with rotation.

Closes Authlib's gaps: atomic single-use codes with replay revocation (RFC 6749 §4.1.2,
RFC 9700 §4.5.3), PKCE S256 only and required for public clients (RFC 9700 §2.1.1,
RFC 7636 §4.2), refresh token rotation with reuse detection (RFC 9700 §4.14.2), and an ID token
with fresh claims on refresh (OIDC Core §12.2). Hooks add rows but never commit, except the
revocations triggered by a replay, which must persist although the request fails.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from sqlalchemy import ColumnElement
from sqlalchemy import select
from sqlalchemy import update

from idp import audit
from idp.audit import Event
from idp.extensions import db
from idp.models.account import ACTIVE
from idp.models.account import Account
from idp.models.base import rowcount
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.oauth import AuthorizationCode
from idp.models.oauth import Client
from idp.models.oauth import Token
from idp.models.oauth import load_code
from idp.models.oauth import load_token
from idp.models.op_session import SessionClient
from idp.oauth import context
from idp.oauth.checks import check_scope_syntax
from idp.oauth.claims import generate_user_info
from idp.oauth.claims import issue_id_token
from idp.oauth.client_auth import CLIENT_AUTH_METHODS
from idp.oauth.dpop import InvalidDPoPProofError
from idp.oauth.dpop import token_request_proof


def _active(account: Account | None) -> Account | None:
    return account if account is not None and account.status == ACTIVE else None


def _revoke_now(tokens: ColumnElement[bool], event: Event, account_id: int, client_id: str) -> None:
    """Revoke the live ``tokens``, commit at once (the request fails, the revocation stays) and
    record ``event``. The caller reads its ids first: the rollback expires the ORM objects."""
    db.session.rollback()
    db.session.execute(
        update(Token).where(tokens, Token.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    db.session.commit()
    audit.event(event, account_id=account_id, client_id=client_id)


def revoke_code_tokens(code: AuthorizationCode) -> None:
    """A code came back (RFC 6749 §4.1.2): revoke every token it issued, refreshed ones
    included, commit at once, and record the replay."""
    tokens = Token.code_id == code.id
    _revoke_now(tokens, Event.CODE_REPLAY, code.account_id, code.client_id)


def revoke_family(token: Token) -> None:
    """A rotated refresh token came back: revoke its whole family, commit at once, and record
    the reuse (RFC 9700 §4.14.2)."""
    tokens = Token.family_id == token.family_id
    _revoke_now(tokens, Event.REFRESH_REUSE, token.account_id, token.client_id)


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only; required for public clients, honoured for confidential ones."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        """RFC 7636 §4.3 defaults a missing method to ``plain``, which RFC 9700 §2.1.1 refuses."""
        super().validate_code_challenge(grant, redirect_uri)
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        if challenge and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        if not challenge and grant.request.client.is_public:
            raise InvalidRequestError("PKCE (code_challenge, S256) is required for public clients")


class OpenIDCodeExtension(OpenIDCode):
    """OpenID Connect for the code grant; the ID token is built by ``claims.issue_id_token``."""

    def exists_nonce(self, nonce, request):
        # The nonce binds the ID token to the RP's session; the RP checks it (OIDC Core §15.5.2).
        return False

    def generate_user_info(self, user, scope):
        return generate_user_info(user, scope, context.settings())

    def encode_id_token(self, token, request):
        code: AuthorizationCode = request.authorization_code
        return issue_id_token(
            client=request.client,
            account=request.user,
            scope=token["scope"],
            access_token=token.get("access_token"),
            auth_time=code.auth_time,
            amr=code.amr,
            sid=code.sid,
            nonce=code.nonce,
            keyring=context.keyring(),
            settings=context.settings(),
        )


class DPoPTokenRequest:
    """RFC 9449 §5: a token request may carry a DPoP proof (then the tokens are bound to its
    key); a client registered with ``dpop_bound_access_tokens`` must send one."""

    request: Any

    def validate_token_request(self) -> None:
        super().validate_token_request()  # type: ignore[misc]
        client = self.request.client
        self.request.dpop = token_request_proof(self.request, client, context.settings().issuer)


class AuthorizationCodeGrant(DPoPTokenRequest, grants.AuthorizationCodeGrant):
    """RFC 6749 §4.1 with codes stored hashed, bound to the OP session, claimed atomically."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    @staticmethod
    def validate_no_multiple_request_parameter(request):
        """RFC 6749 §3.1 / §4.1.2.1: only a repeated ``client_id`` or ``redirect_uri`` leaves the
        redirect target unknown (an error page). Every other repetition is refused by
        ``AuthorizationRequestChecks`` once the redirect URI is validated, so it goes back to the
        client with ``state`` and ``iss`` like any other error."""
        datalist = request.payload.datalist
        for name in ("client_id", "redirect_uri"):
            if len(datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"Multiple '{name}' in request.")

    def save_authorization_code(self, code, request):
        op_session = request.op_session
        now = utcnow()
        data = request.payload.data
        db.session.add(
            AuthorizationCode(
                code_hash=token_hash(code),
                client_id=request.client.client_id,
                account_id=request.user.id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                sid=op_session.sid,
                auth_time=op_session.auth_time,
                amr=op_session.amr,
                dpop_jkt=data.get("dpop_jkt"),
                expires_at=now + timedelta(seconds=context.settings().authorization_code_ttl),
            )
        )
        link = {"sid": op_session.sid, "client_id": request.client.client_id}
        if db.session.get(SessionClient, link) is None:
            db.session.add(SessionClient(**link))

    def validate_token_request(self) -> None:
        """RFC 9449 §10: a code bound to a DPoP key is redeemed only with a proof of that key
        (checked before the code is claimed: a wrong key does not spend it)."""
        super().validate_token_request()
        bound = self.request.authorization_code.dpop_jkt
        proof = self.request.dpop
        if bound is not None:
            if proof is None:
                raise InvalidDPoPProofError("This code needs a DPoP proof of its key.")
            if proof.jkt != bound:
                raise InvalidGrantError("The code is bound to another DPoP key.")

    def query_authorization_code(self, code, client):
        item = load_code(db.session, token_hash(code))
        if item is None or item.client_id != client.client_id or item.is_expired():
            return None
        if item.used_at is not None:
            revoke_code_tokens(item)
            return None
        return item

    def create_token_response(self):
        """Claim the code with one conditional UPDATE: of parallel redemptions exactly one wins."""
        code: AuthorizationCode = self.request.authorization_code
        claimed = db.session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == code.id, AuthorizationCode.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if rowcount(claimed) != 1:
            revoke_code_tokens(code)
            raise InvalidGrantError("Invalid 'code' in request.")
        return super().create_token_response()

    def delete_authorization_code(self, authorization_code):
        # Kept (marked used) so that a replay is recognised; expired rows are purged later.
        pass

    def authenticate_user(self, authorization_code):
        return _active(authorization_code.account)


class RefreshTokenGrant(DPoPTokenRequest, grants.RefreshTokenGrant):
    """RFC 6749 §6 with rotation at every use and family revocation on reuse.

    RFC 9700 §4.14.2 asks reuse detection of public clients only; a confidential client
    authenticates every refresh, so parallel refreshes of one token (mod_auth_openidc sends
    them) are not theft. Within ``IDP_REFRESH_TOKEN_GRACE`` seconds of the rotation, the
    confidential client presenting the rotated token again gets the same successor tokens
    (``successor_tokens``: derived, so nothing secret is stored); after it, or from a public
    client at any time, the presentation is reuse and revokes the family.
    """

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def validate_token_request(self) -> None:
        """RFC 9449 §5: a public client's refresh token bound to a DPoP key is used only with a
        proof of that key (a confidential client's is bound by its authentication instead)."""
        super().validate_token_request()
        check_scope_syntax(self.request.payload.scope)
        old: Token = self.request.refresh_token
        proof = self.request.dpop
        if self.request.client.is_public and old.dpop_jkt is not None:
            if proof is None:
                raise InvalidDPoPProofError("This refresh token needs a DPoP proof of its key.")
            if proof.jkt != old.dpop_jkt:
                raise InvalidGrantError("The refresh token is bound to another DPoP key.")

    def authenticate_refresh_token(self, refresh_token):
        item = load_token(db.session, Token.refresh_token_hash, token_hash(refresh_token))
        if item is None:
            return None
        if item.refresh_used_at is not None and item.revoked_at is None:
            if self._in_grace(item):
                return item
            revoke_family(item)  # a rotated token came back: RFC 9700 §4.14.2
            return None
        return item if item.refresh_is_usable() else None

    def _in_grace(self, item: Token) -> bool:
        """True for a confidential client's token rotated less than the grace period ago."""
        grace = context.settings().refresh_token_grace
        return (
            not self.request.client.is_public
            and item.refresh_used_at is not None
            and item.revoked_at is None
            and utcnow() - item.refresh_used_at <= timedelta(seconds=grace)
        )

    def create_token_response(self):
        old: Token = self.request.refresh_token
        if _active(old.account) is None:
            raise InvalidGrantError("The account is not active.")
        claimed = db.session.execute(
            update(Token)
            .where(Token.id == old.id, Token.refresh_used_at.is_(None), Token.revoked_at.is_(None))
            .values(refresh_used_at=utcnow())
        )
        if rowcount(claimed) != 1:
            db.session.refresh(old)  # what the request that rotated it committed
            if not self._in_grace(old):
                revoke_family(old)
                raise InvalidGrantError()
            return self._repeat_successor(old)
        status, token, headers = super().create_token_response()
        return status, self._with_id_token(token, old), headers

    def issue_token(self, user, refresh_token):
        """Fresh tokens whose values derive from the presented refresh token."""
        token = super().issue_token(user, refresh_token)
        access, refresh = successor_tokens(self._presented(), context.settings().secret_key)
        token["access_token"] = access
        if "refresh_token" in token:
            token["refresh_token"] = refresh
        return token

    def _presented(self) -> str:
        value: str = self.request.form["refresh_token"]
        return value

    def _repeat_successor(self, old: Token) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """The grace answer: the successor the first presentation got, while it lives."""
        access, refresh = successor_tokens(self._presented(), context.settings().secret_key)
        successor = db.session.scalar(
            select(Token).where(Token.access_token_hash == token_hash(access))
        )
        if successor is None or successor.revoked_at is not None or successor.is_expired():
            raise InvalidGrantError()
        proof = self.request.dpop
        if successor.dpop_jkt != (proof.jkt if proof is not None else None):
            raise InvalidGrantError("The successor tokens are bound to another DPoP key.")
        token: dict[str, Any] = {
            "token_type": "DPoP" if successor.dpop_jkt else "Bearer",
            "access_token": access,
            "expires_in": int((successor.access_expires_at - utcnow()).total_seconds()),
            "scope": successor.scope,
        }
        if successor.refresh_token_hash is not None:
            token["refresh_token"] = refresh
        return 200, self._with_id_token(token, old), self.TOKEN_RESPONSE_HEADER

    def _with_id_token(self, token: dict[str, Any], old: Token) -> dict[str, Any]:
        """OIDC Core §12.2: a fresh ID token of the same login when the scope has openid."""
        scope = token.get("scope", "")
        if "openid" in scope.split():
            token["id_token"] = issue_id_token(
                client=self.request.client,
                account=old.account,
                scope=scope,
                access_token=token["access_token"],
                auth_time=old.auth_time,
                amr=old.amr,
                sid=old.sid,
                nonce=None,
                keyring=context.keyring(),
                settings=context.settings(),
            )
        return token

    def authenticate_user(self, refresh_token):
        return _active(refresh_token.account)

    def revoke_old_credential(self, refresh_token):
        # Already marked used by the atomic claim in create_token_response.
        pass


def successor_tokens(presented_refresh_token: str, secret_key: str) -> tuple[str, str]:
    """The access and refresh token that replace a refresh token: HMAC-SHA256 of it under the
    provider's secret key, so a repeated presentation within the grace gets the same pair
    while the database keeps only their hashes. A refresh token is rotated once (the atomic
    claim), so each pair is issued once."""

    def derive(label: str) -> str:
        message = f"{label}\x00{presented_refresh_token}".encode()
        digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    return derive("access_token"), derive("refresh_token")


def client_can_refresh(client: Client, scope: str) -> bool:
    """OIDC Core §11: a refresh token only with ``offline_access`` and the grant registered."""
    return client.check_grant_type("refresh_token") and "offline_access" in scope.split()
