"""OP login sessions (``sid``, SSO) and the clients that took part in each.

Imports sqlalchemy and idp.models only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp.models.account import Account
from idp.models.base import Base
from idp.models.base import utcnow


class OpSession(Base):
    """A browser's login at the OP. The cookie carries a secret; only its hash is stored.

    ``sid`` is public (it goes into ID tokens and logout tokens); the cookie secret is not.
    """

    __tablename__ = "op_session"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    cookie_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    auth_time: Mapped[datetime]
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    # What the account page shows of it: the browser and system ("Chrome on Android") and
    # when it last answered an authorization request (SSO) or the account page.
    device_hint: Mapped[str | None] = mapped_column(String(120))
    last_used_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()

    def is_live(self) -> bool:
        """True until the session is ended or expires."""
        return self.ended_at is None and utcnow() < self.expires_at


class SessionClient(Base):
    """A client that received tokens within an OP session (to notify at logout)."""

    __tablename__ = "op_session_client"

    sid: Mapped[str] = mapped_column(
        ForeignKey("op_session.sid", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_client.client_id", ondelete="CASCADE"), primary_key=True
    )
