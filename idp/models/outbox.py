"""Outgoing mail, committed with the change that caused it and delivered afterwards.

Imports sqlalchemy and idp.models.base only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.models.base import Base
from idp.models.base import utcnow


class OutboxMail(Base):
    """One mail to send: template, language and context; retried with backoff until sent.

    The context may hold a one-time link; it is cleared once the mail is sent, except for the
    activation mail, whose "view online" page needs it until the link itself expires.
    """

    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
