"""OAuth state: clients, authorization codes and tokens (secrets stored as SHA-256 hashes).

The classes implement Authlib's ClientMixin / AuthorizationCodeMixin / TokenMixin protocols by
duck typing, so that this package imports sqlalchemy and idp.models only.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import bindparam
from sqlalchemy import false
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.orm.strategy_options import _AbstractLoad

from idp.models.account import Account
from idp.models.base import Base
from idp.models.base import DbSession
from idp.models.base import TimestampMixin
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.customer import Customer
from idp.uris import uri_is_registered


def scope_tokens(scope: str) -> list[str]:
    """RFC 6749 §3.3: the scope's tokens, separated by spaces (U+0020) only."""
    return [token for token in scope.split(" ") if token]


class Client(TimestampMixin, Base):
    """A registered relying party (from clients/registrations.toml)."""

    __tablename__ = "oauth_client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    application_type: Mapped[str] = mapped_column(String(16), default="web")
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    response_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(String(255))
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(16), default="RS256")
    initiate_login_uri: Mapped[str | None] = mapped_column(String(500))
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    # private_key_jwt (RFC 7523 §2.2, OIDC Core §9): the client's public keys, inline or by URL
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(500))
    token_endpoint_auth_signing_alg: Mapped[str | None] = mapped_column(String(16))
    # RFC 9449 §5.2: every token request of this client must carry a DPoP proof
    dpop_bound_access_tokens: Mapped[bool] = mapped_column(default=False, server_default=false())
    # RFC 9126 §6: authorization requests only through the PAR endpoint
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )

    # ---- Authlib ClientMixin protocol ------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OIDC Core §3.1.2.1: redirect_uri is REQUIRED; no default is ever assumed.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scope tokens this client registered, in order, once each. RFC 6749
        §3.3 separates tokens by the space alone: another white space character is part of a
        token (which then matches no registered name), not a separator."""
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in dict.fromkeys(scope_tokens(scope)) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match (RFC 9700 §4.1.3); a native client's loopback port may vary
        (RFC 8252 §7.3). The rule is idp.uris'."""
        return uri_is_registered(
            redirect_uri, self.redirect_uris, native=self.application_type == "native"
        )

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client_secret_hash:
            return False
        return hmac.compare_digest(self.client_secret_hash, token_hash(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    @property
    def is_public(self) -> bool:
        """A public client (RFC 6749 §2.1) authenticates with ``none``."""
        return self.token_endpoint_auth_method == "none"

    @property
    def client_metadata(self) -> dict[str, Any]:
        """Registration metadata as Authlib's UserInfoEndpoint reads it."""
        return {"id_token_signed_response_alg": self.id_token_signed_response_alg}


class AuthorizationCode(Base):
    """A single-use code, bound to client, redirect URI, PKCE challenge and login session."""

    __tablename__ = "authorization_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_client.client_id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(String(255))
    nonce: Mapped[str | None] = mapped_column(String(512))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    sid: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[datetime]
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    # RFC 9449 §10: the thumbprint of the DPoP key the code is bound to (``dpop_jkt`` of the
    # authorization request, or of the proof sent to /par, §10.1); redeemed only with its proof.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()

    # ---- Authlib AuthorizationCodeMixin / OIDC protocol --------------------------------
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return list(self.amr or [])

    def is_expired(self) -> bool:
        """True once the code's short lifetime has passed."""
        return utcnow() >= self.expires_at


class TokenState:
    """Expiry, revocation and refresh usability read from the token's columns."""

    if TYPE_CHECKING:
        client_id: str
        scope: str
        refresh_token_hash: str | None
        issued_at: datetime
        access_expires_at: datetime
        refresh_expires_at: datetime | None
        refresh_used_at: datetime | None
        revoked_at: datetime | None
        account: Any

    def check_client(self, client: Any) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.access_expires_at - self.issued_at).total_seconds())

    def get_expires_at(self) -> int:
        return int(self.access_expires_at.timestamp())

    def is_expired(self) -> bool:
        return utcnow() >= self.access_expires_at

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def get_user(self) -> Any:
        return self.account

    def refresh_is_usable(self) -> bool:
        """True while the refresh token is unrotated, unrevoked and unexpired."""
        return (
            self.refresh_token_hash is not None
            and self.refresh_used_at is None
            and self.revoked_at is None
            and self.refresh_expires_at is not None
            and utcnow() < self.refresh_expires_at
        )


class Token(TokenState, Base):
    """An access token and, optionally, its refresh token; both stored as hashes.

    Tokens refreshed from one another share a ``family_id``: presenting a rotated refresh token
    revokes the family (RFC 9700 §4.14.2). ``code_id`` ties tokens to the code that issued them
    so that a replayed code revokes them (RFC 6749 §4.1.2).
    """

    __tablename__ = "oauth_token"
    # ``idp purge``: rows whose refresh token (or, without one, access token) has expired.
    __table_args__ = (Index("ix_oauth_token_expiry", "refresh_expires_at", "access_expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_client.client_id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(255))
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    code_id: Mapped[int | None] = mapped_column(index=True)
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    auth_time: Mapped[datetime]
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    access_expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime | None]
    refresh_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    device_hint: Mapped[str | None] = mapped_column(String(120))  # of the token request
    # RFC 9449 §6: JWK SHA-256 thumbprint of the DPoP key the tokens are bound to
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))

    account: Mapped[Account] = relationship()
    client: Mapped[Client] = relationship()

    # The rest of Authlib's TokenMixin protocol is TokenState's.
    def get_user(self) -> Account:
        return self.account

    def get_client(self) -> Client:
        return self.client


def _holder(account: InstrumentedAttribute[Account]) -> _AbstractLoad:
    """The account with its customers and their contracts: everything the claims read."""
    return joinedload(account).joinedload(Account.customers).joinedload(Customer.contracts)


# Built once: SQLAlchemy memoises a statement's cache key on the statement object, so reusing
# it with a bound parameter skips rebuilding the statement and its key on every request.
_CODE_BY_HASH = (
    select(AuthorizationCode)
    .where(AuthorizationCode.code_hash == bindparam("digest"))
    .options(_holder(AuthorizationCode.account))
)
_TOKEN_BY_HASH = {
    column.key: select(Token)
    .where(column == bindparam("digest"))
    .options(_holder(Token.account), joinedload(Token.client))
    for column in (Token.access_token_hash, Token.refresh_token_hash)
}


def load_code(session: DbSession, code_hash: str) -> AuthorizationCode | None:
    """The code with this hash and its account's claims data, in one statement."""
    return session.scalars(_CODE_BY_HASH, {"digest": code_hash}).unique().one_or_none()


def load_token(session: DbSession, column: InstrumentedAttribute[Any], digest: str) -> Token | None:
    """The token whose ``column`` (access or refresh token hash) is ``digest``, with its client
    and its account's claims data, in one statement (userinfo, introspection and a refresh
    read nothing else)."""
    statement = _TOKEN_BY_HASH[column.key]
    return session.scalars(statement, {"digest": digest}).unique().one_or_none()
