"""Pending authorization requests waiting for the end-user (the interaction seam's rows).

Imports sqlalchemy and idp.models only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.models.base import Base
from idp.models.base import utcnow


class Interaction(Base):
    """A pending authorization request waiting for the end-user (login, registration…).

    Stored server-side so any worker on any host can resume it.
    """

    __tablename__ = "interaction"

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    # None: the provider's own page asked (the account page), not a client's request.
    client_id: Mapped[str | None] = mapped_column(
        ForeignKey("oauth_client.client_id", ondelete="CASCADE")
    )
    params: Mapped[list[list[str]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    login_at: Mapped[datetime | None]
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    consumed_at: Mapped[datetime | None]

    def params_pairs(self) -> list[tuple[str, str]]:
        """The stored request parameters, in order, repeated ones kept."""
        return [(str(k), str(v)) for k, v in self.params]
