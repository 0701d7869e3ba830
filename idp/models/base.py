"""Declarative base, timestamp mixin and the clock. Imports sqlalchemy only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import TypeAlias
from typing import cast

from sqlalchemy import CursorResult
from sqlalchemy import DateTime
from sqlalchemy import MetaData
from sqlalchemy import Result
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import scoped_session
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The database session a service takes: a plain ``Session`` or Flask-SQLAlchemy's scoped
#: ``db.session`` (which proxies every ``Session`` method).
DbSession: TypeAlias = Session | scoped_session[Any]


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE (``Session.execute`` types it as a plain Result)."""
    return cast(CursorResult[Any], result).rowcount


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random secret of ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def token_hash(value: str) -> str:
    """SHA-256 hex digest of a high-entropy secret: how tokens and codes are stored."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class UTCDateTime(TypeDecorator[datetime]):
    """A DateTime stored naive-UTC everywhere and returned timezone-aware (SQLite drops tz)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use idp.models.base.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Base of every model, with constraint names Alembic can diff on every engine."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


class TimestampMixin:
    """``created_at`` / ``updated_at`` columns maintained by SQLAlchemy."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
