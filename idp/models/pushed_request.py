"""Pushed authorization requests (RFC 9126): the parameters a client posted, waiting for the
browser to bring their ``request_uri`` to /authorize. Imports sqlalchemy and idp.models."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.models.base import Base
from idp.models.base import utcnow


class PushedRequest(Base):
    """One pushed request: single use, short-lived, bound to its client (RFC 9126 §2.2, §4)."""

    __tablename__ = "pushed_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_uri_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_client.client_id", ondelete="CASCADE"))
    params: Mapped[list[list[str]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]

    def params_pairs(self) -> list[tuple[str, str]]:
        """The pushed parameters, in order, repeated ones kept."""
        return [(str(k), str(v)) for k, v in self.params]
