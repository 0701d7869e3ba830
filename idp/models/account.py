"""Customer-space accounts and their links to customers.

Imports sqlalchemy and idp.models only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp.models.base import Base
from idp.models.base import TimestampMixin
from idp.models.base import random_token
from idp.models.customer import Customer

ACTIVE = "active"
LOCKED = "locked"
DISABLED = "disabled"


def normalise_login(login: str) -> str:
    """Logins are unique without regard to case: stored and compared case-folded."""
    return login.strip().casefold()


def normalise_email(email: str) -> str:
    """Addresses are compared without surrounding spaces and without regard to case (the
    database compares ``lower(email)``, so this is ``lower`` too, not ``casefold``)."""
    return email.strip().lower()


def new_subject() -> str:
    """An opaque, random, never sequential subject identifier (OIDC Core §2 ``sub``)."""
    return random_token(24)


class HasHolderName(Protocol):
    """A linked customer, as far as the display name reads it."""

    @property
    def holder_name(self) -> str: ...


def display_name_of(login: str, customers: Sequence[HasHolderName]) -> str:
    """The holder name of the first linked customer, else the login."""
    return customers[0].holder_name if customers else login


class Account(TimestampMixin, Base):
    """The login of a person: opaque ``sub``, login, verified e-mail, argon2id hash, status."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub: Mapped[str] = mapped_column(String(64), unique=True, default=new_subject)
    login: Mapped[str] = mapped_column(String(254), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    email_verified: Mapped[bool] = mapped_column(default=False)
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    last_login_at: Mapped[datetime | None]

    customers: Mapped[list[Customer]] = relationship(
        secondary="account_customer", order_by="Customer.number"
    )

    @property
    def display_name(self) -> str:
        """The holder name of the first linked customer, else the login."""
        return display_name_of(self.login, self.customers)


class AccountCustomer(Base):
    """Link account ↔ customer. A customer belongs to at most one account (unique)."""

    __tablename__ = "account_customer"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True, unique=True
    )
