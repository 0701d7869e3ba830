"""Outgoing mail, committed with the change that caused it and delivered afterwards.

Imports sqlalchemy, idp.models.base and idp.models.delivery only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.models.base import Base
from idp.models.delivery import DeliveryColumns


class OutboxMail(DeliveryColumns, Base):
    """One mail to send: template, language and context; delivered by idp.delivery (its
    Message-ID derives from the row, so every retry carries the same one).

    The context may hold a one-time link; it is cleared once the mail is sent, except for the
    activation mail, whose "view online" page needs it until the link itself expires.
    """

    __tablename__ = "outbox_mail"

    to_address: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
