"""What billing learns back from the provider: activations, login changes, unlinks, deletions.

``BillingLink`` is what the last export told billing (one row per customer linked to an
account); ``BillingEvent`` is the numbered journal the export streams from. Neither has a
foreign key: a row must outlive the account or customer whose removal it reports.
Imports sqlalchemy and idp.models.base only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.models.base import Base

ACTIVATED = "activated"
LOGIN_CHANGED = "login_changed"
UNLINKED = "unlinked"
DELETED = "deleted"


class BillingLink(Base):
    """A customer ↔ account link as the last export reported it."""

    __tablename__ = "billing_link"

    customer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    account_id: Mapped[int]
    customer_number: Mapped[str] = mapped_column(String(10))
    login: Mapped[str] = mapped_column(String(254))
    activated_at: Mapped[datetime | None]


class BillingEvent(Base):
    """One change billing must apply, numbered in the order exports found them (the cursor)."""

    __tablename__ = "billing_event"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(index=True)
    account_id: Mapped[int]
    event: Mapped[str] = mapped_column(String(16))
    customer_number: Mapped[str] = mapped_column(String(10))
    login: Mapped[str] = mapped_column(String(254))
    activated_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime]
