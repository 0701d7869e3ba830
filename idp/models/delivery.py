"""The columns every delivery queue row has (the mail outbox, back-channel logout
notifications), one vocabulary for the states idp/delivery.py moves a row through:

- waiting: ``sent_at`` and ``given_up_at`` both empty; due once ``next_try_at`` has passed;
- claimed: a worker wrote its name in ``claimed_by`` and holds the row until
  ``claimed_until`` (the lease, renewed by a heartbeat while it sends);
- sent: the receiver accepted it at ``sent_at`` (that message's own time);
- given up: ``given_up_at`` set after the last attempt or a permanent refusal.

``created_at`` is when the change that caused it committed; ``attempts`` counts the attempts
started (a claim is an attempt, even one a crash cut short); ``last_error`` says why the last
one failed. Imports sqlalchemy and idp.models.base only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement
from sqlalchemy import String
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.models.base import utcnow


class DeliveryColumns:
    """Mixin: the attempt, lease and outcome columns of a row delivered by idp.delivery."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    given_up_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))

    @classmethod
    def is_waiting(cls) -> ColumnElement[bool]:
        """SQL: neither sent nor given up."""
        return and_(cls.sent_at.is_(None), cls.given_up_at.is_(None))

    @classmethod
    def is_due(cls, at: datetime) -> ColumnElement[bool]:
        """SQL: waiting, past its ``next_try_at``, and unclaimed (or its lease has expired)."""
        unclaimed = or_(cls.claimed_until.is_(None), cls.claimed_until <= at)
        return and_(cls.is_waiting(), cls.next_try_at <= at, unclaimed)
