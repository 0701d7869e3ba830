"""Billing sync back (product §3.5: an invoice shows the login once the account exists): which
customers were activated and under which login, whose login changed, which were unlinked from
their account or lost it.

``record_changes`` compares today's links (``account_customer`` with the account's login and
the customer's number) with what billing was last told (``billing_link``) and appends the
differences to the numbered journal ``billing_event`` with set-based ``INSERT … SELECT``
statements; the snapshot is then updated from the journal rows just written, so the two never
disagree whatever commits meanwhile. It runs under a lock (two exports never number one change
twice) and commits (idp/accounts/__init__: the service ends its transaction, which releases
the lock). Any code path that links, unlinks or deletes is seen, with no
hook to call. ``events_since`` streams the journal after a cursor: re-running an export with
the same cursor gives the same lines again, and each line states what to set, so billing
applies them idempotently. Imports sqlalchemy and idp.models.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from typing import cast

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.sql import Select

from idp.accounts.transactions import ends_transaction
from idp.models.account import Account
from idp.models.account import AccountCustomer
from idp.models.base import DbSession
from idp.models.base import UTCDateTime
from idp.models.base import utcnow
from idp.models.billing import ACTIVATED
from idp.models.billing import DELETED
from idp.models.billing import LOGIN_CHANGED
from idp.models.billing import UNLINKED
from idp.models.billing import BillingEvent
from idp.models.billing import BillingLink
from idp.models.bulk import serialise
from idp.models.customer import Customer

EVENT = cast(Table, BillingEvent.__table__)
SNAPSHOT = cast(Table, BillingLink.__table__)
LINK = cast(Table, AccountCustomer.__table__)
ACCOUNT = cast(Table, Account.__table__)
CUSTOMER = cast(Table, Customer.__table__)
COLUMNS = ("seq", "event", "customer_number", "login", "activated_at", "recorded_at")


class CursorAhead(ValueError):
    """The cursor is past the journal's end (a database restored from an older backup?)."""


@ends_transaction
def record_changes(session: DbSession) -> int:
    """Append to the journal what changed since the last export and commit; return how many
    events."""
    connection = session.connection()
    serialise(connection, "idp billing export", EVENT)
    now = bindparam("now", utcnow(), type_=UTCDateTime())
    return (
        _record_gone(connection, now)
        + _record_new(connection, now)
        + _record_renamed(connection, now)
    )


def last_seq(session: DbSession) -> int:
    """The number of the journal's last event (0 when empty)."""
    return session.scalar(select(func.coalesce(func.max(EVENT.c.seq), 0))) or 0


def events_since(session: DbSession, cursor: int) -> Iterator[Row[Any]]:
    """The events after ``cursor``, in order, streamed (``COLUMNS``)."""
    end = last_seq(session)
    if cursor > end:
        raise CursorAhead(f"cursor {cursor} is past the last event ({end})")
    result = session.execute(
        select(*(EVENT.c[name] for name in COLUMNS))
        .where(EVENT.c.seq > cursor)
        .order_by(EVENT.c.seq)
        .execution_options(yield_per=1000)
    )
    yield from result


def _append(connection: Connection, rows: Select[Any]) -> tuple[int, int]:
    """Insert the selected events after the journal's end; return (previous end, count)."""
    base = connection.scalar(select(func.coalesce(func.max(EVENT.c.seq), 0))) or 0
    numbered = rows.add_columns(
        (literal(base) + func.row_number().over(order_by=rows.selected_columns[0])).label("seq")
    )
    names = [c.name for c in rows.selected_columns] + ["seq"]
    connection.execute(insert(EVENT).from_select(names, numbered))
    # Not rowcount: drivers need not report it for INSERT … SELECT (psycopg 3 does not here).
    end = connection.scalar(select(func.coalesce(func.max(EVENT.c.seq), 0))) or 0
    return base, end - base


def _new_events(base: int) -> Any:
    """Events this run appended after ``base``, matching a snapshot row's customer."""
    return (EVENT.c.seq > base) & (EVENT.c.customer_id == SNAPSHOT.c.customer_id)


def _record_gone(connection: Connection, now: Any) -> int:
    """Snapshot links that no longer exist: unlinked, or deleted with their account."""
    gone = ~exists().where(
        LINK.c.customer_id == SNAPSHOT.c.customer_id, LINK.c.account_id == SNAPSHOT.c.account_id
    )
    account_left = exists().where(ACCOUNT.c.id == SNAPSHOT.c.account_id)
    base, count = _append(
        connection,
        select(
            SNAPSHOT.c.customer_id,
            SNAPSHOT.c.account_id,
            case((account_left, UNLINKED), else_=DELETED).label("event"),
            SNAPSHOT.c.customer_number,
            SNAPSHOT.c.login,
            SNAPSHOT.c.activated_at,
            now.label("recorded_at"),
        ).where(gone),
    )
    if count:
        connection.execute(
            delete(SNAPSHOT).where(
                exists().where(_new_events(base), EVENT.c.account_id == SNAPSHOT.c.account_id)
            )
        )
    return count


def _record_new(connection: Connection, now: Any) -> int:
    """Links billing has not been told of: activated (the customer's login from now on)."""
    unknown = ~exists().where(
        SNAPSHOT.c.customer_id == LINK.c.customer_id, SNAPSHOT.c.account_id == LINK.c.account_id
    )
    base, count = _append(
        connection,
        select(
            LINK.c.customer_id,
            LINK.c.account_id,
            literal(ACTIVATED).label("event"),
            CUSTOMER.c.number.label("customer_number"),
            ACCOUNT.c.login,
            CUSTOMER.c.activated_at,
            now.label("recorded_at"),
        )
        .select_from(
            LINK.join(CUSTOMER, CUSTOMER.c.id == LINK.c.customer_id).join(
                ACCOUNT, ACCOUNT.c.id == LINK.c.account_id
            )
        )
        .where(unknown),
    )
    if count:
        connection.execute(
            insert(SNAPSHOT).from_select(
                ["customer_id", "account_id", "customer_number", "login", "activated_at"],
                select(
                    EVENT.c.customer_id,
                    EVENT.c.account_id,
                    EVENT.c.customer_number,
                    EVENT.c.login,
                    EVENT.c.activated_at,
                ).where(EVENT.c.seq > base),
            )
        )
    return count


def _record_renamed(connection: Connection, now: Any) -> int:
    """Linked accounts whose login changed since billing was told."""
    base, count = _append(
        connection,
        select(
            SNAPSHOT.c.customer_id,
            SNAPSHOT.c.account_id,
            literal(LOGIN_CHANGED).label("event"),
            SNAPSHOT.c.customer_number,
            ACCOUNT.c.login,
            SNAPSHOT.c.activated_at,
            now.label("recorded_at"),
        )
        .select_from(SNAPSHOT.join(ACCOUNT, ACCOUNT.c.id == SNAPSHOT.c.account_id))
        .where(ACCOUNT.c.login != SNAPSHOT.c.login),
    )
    if count:
        connection.execute(
            update(SNAPSHOT)
            .where(exists().where(_new_events(base)))
            .values(login=select(EVENT.c.login).where(_new_events(base)).scalar_subquery())
        )
    return count


def isoformat(value: datetime | None) -> str:
    """An export timestamp: ISO 8601 in UTC with a ``Z``, or empty."""
    return "" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")
