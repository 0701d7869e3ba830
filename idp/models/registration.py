"""Registration requests (the e-mail link) and password resets.

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


class RegistrationRequest(Base):
    """product §2: the e-mail, the signed link (its secret stored hashed), 3 days, at most 3 uses,
    consumed when the account is created. Remembers where the registration started from."""

    __tablename__ = "registration_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    uses: Mapped[int] = mapped_column(default=0)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    verified_at: Mapped[datetime | None]
    consumed_at: Mapped[datetime | None]
    client_id: Mapped[str | None] = mapped_column(
        ForeignKey("oauth_client.client_id", ondelete="SET NULL")
    )
    return_params: Mapped[list[list[str]] | None] = mapped_column(JSON)


class PasswordReset(Base):
    """A single-use, short-lived link to set a new password (secret stored hashed)."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
