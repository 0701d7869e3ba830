"""Customers and contracts, imported from billing; the provider never invents one.

Imports sqlalchemy and idp.models.base only.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Protocol

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from idp.models.base import Base
from idp.models.base import TimestampMixin


class ContractTerms(Protocol):
    """What decides whether a contract is active: a Contract or a plain row of its columns."""

    @property
    def status(self) -> str: ...
    @property
    def start_date(self) -> date: ...
    @property
    def end_date(self) -> date | None: ...


def is_active_on(contract: ContractTerms, on: date) -> bool:
    """product §2: status active and start <= on < end (or no end)."""
    if contract.status != "active" or contract.start_date > on:
        return False
    return contract.end_date is None or on < contract.end_date


class Customer(TimestampMixin, Base):
    """A billing customer: number, hashed single-use activation code, holder, language."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(10), unique=True)
    activation_code_hash: Mapped[str | None] = mapped_column(String(255))
    activated_at: Mapped[datetime | None]
    holder_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    failed_activations: Mapped[int] = mapped_column(default=0)
    activation_locked_at: Mapped[datetime | None]

    contracts: Mapped[list[Contract]] = relationship(
        back_populates="customer", order_by="Contract.start_date", cascade="all, delete-orphan"
    )

    def has_active_contract(self, on: date) -> bool:
        """True when at least one contract is active on that day."""
        return any(is_active_on(contract, on) for contract in self.contracts)


class Contract(TimestampMixin, Base):
    """A supply contract: energy, status and validity period [start, end)."""

    __tablename__ = "contract"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    energy: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date]
    end_date: Mapped[date | None]

    customer: Mapped[Customer] = relationship(back_populates="contracts")

    def is_active(self, on: date) -> bool:
        """product §2 (``is_active_on``)."""
        return is_active_on(self, on)
