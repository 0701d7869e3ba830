"""One delivery queue: rows written in the same transaction as the change that causes them
(the mail outbox, back-channel logout notifications; columns in idp/models/delivery.py) and
delivered afterwards by ``deliver_due``, with retries, so a receiver that is down loses nothing.

Each due row is claimed with one conditional UPDATE (several workers may run at once: of two,
only one sees its row count at 1 — SQLite serialises writers, PostgreSQL re-checks the WHERE
after the other's commit), held by a short lease that a heartbeat renews while ``send_one``
runs with no transaction open, and its outcome is committed at once: sent, retrying after
``backoff(attempts)``, or given up. Delivery is at least once: a worker that dies between the
receiver's acceptance and that commit leaves a claim that expires after the lease, and the row
is sent again (same Message-ID or ``jti``; docs/operations.md states the guarantee). What
operators see and do with the queues (backlog, requeue, purge) is in idp/delivery_admin.py.
Imports sqlalchemy and idp.models only.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Protocol
from typing import TypedDict
from typing import TypeVar
from typing import Unpack

from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from idp.models.base import DbSession
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.delivery import DeliveryColumns

log = logging.getLogger(__name__)

BATCH = 50
LEASE = timedelta(seconds=30)  # default of IDP_DELIVERY_LEASE
# A send still running after this long is presumed hung: its lease is no longer renewed, so
# another worker may take the row (a hung connection must not hold a message for ever).
MAX_HOLD = timedelta(minutes=10)

Row = TypeVar("Row", bound=DeliveryColumns)


class StopFlag(Protocol):
    """Asked between two rows: stop after the current one (threading.Event fits)."""

    def is_set(self) -> bool:
        """True once the worker should stop."""


class DeliveryError(Exception):
    """``send_one`` could not deliver; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class DeliveryResult:
    """What one round did: sent, will retry later (retrying), given up."""

    sent: int = 0
    retrying: int = 0
    given_up: int = 0

    @property
    def handled(self) -> int:
        """Rows this round attempted."""
        return self.sent + self.retrying + self.given_up


def worker_name() -> str:
    """What a worker writes in ``claimed_by``: host, process id and a random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def _clock(now: datetime | None) -> Callable[[], datetime]:
    """The time of each step: the real time, or ``now`` plus the time elapsed since the round
    started (a round run "as of" another time still records each message's own time)."""
    if now is None:
        return utcnow
    start = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - start)


def _name(model: type[DeliveryColumns]) -> str:
    """The queue's table name, for logs and thread names."""
    return str(getattr(model, "__tablename__", model.__name__))


@dataclass(frozen=True)
class _Round:
    """What every step of one ``deliver_due`` call shares."""

    session: DbSession
    worker: str
    clock: Callable[[], datetime]
    lease: timedelta
    backoff: Callable[[int], timedelta]
    max_attempts: int


class RoundOptions(TypedDict, total=False):
    """How one round runs: at most ``limit`` rows (BATCH), as of ``now`` (the real time),
    reading ``stop`` before each row (never stops)."""

    limit: int
    now: datetime | None
    stop: StopFlag | None


def deliver_due(
    session: DbSession,
    model: type[Row],
    send_one: Callable[[Row], Mapping[str, Any] | None],
    backoff: Callable[[int], timedelta],
    *,
    max_attempts: int,
    lease: timedelta = LEASE,
    **options: Unpack[RoundOptions],
) -> DeliveryResult:
    """Deliver up to ``limit`` due rows of ``model``, one claim and one outcome commit each.

    ``send_one(row)`` gets a detached row, runs with no transaction open, and raises on
    failure (``DeliveryError(permanent=True)`` gives up at once); it may return more column
    values to store with ``sent_at``. After ``max_attempts`` attempts a row is given up.
    Delivery failures never escape; database errors do (the worker logs and retries).
    ``stop`` is read before each row: the row in hand is always finished and recorded.
    """
    step = _Round(session, worker_name(), _clock(options.get("now")), lease, backoff, max_attempts)
    stop = options.get("stop")
    ids = session.scalars(
        select(model.id)
        .where(model.is_due(step.clock()))
        .order_by(model.next_try_at, model.id)
        .limit(options.get("limit", BATCH))
    ).all()
    session.rollback()
    outcomes = {"sent": 0, "retrying": 0, "given_up": 0}
    for row_id in ids:
        if stop is not None and stop.is_set():
            break
        row = _claim(step, model, row_id)
        if row is not None:
            outcomes[_deliver_one(step, row, send_one)] += 1
    return DeliveryResult(**outcomes)


def _claim(step: _Round, model: type[Row], row_id: int) -> Row | None:
    """Take one due row for this worker (counting the attempt), or None when another worker
    took it first; the row comes back detached, with no transaction left open."""
    session, at = step.session, step.clock()
    claimed = session.execute(
        update(model)
        .where(model.id == row_id, model.is_due(at))
        .values(claimed_by=step.worker, claimed_until=at + step.lease, attempts=model.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if rowcount(claimed) != 1:
        return None
    row = session.get(model, row_id, populate_existing=True)
    if row is not None:
        session.expunge(row)
    session.rollback()
    return row


def _deliver_one(
    step: _Round, row: Row, send_one: Callable[[Row], Mapping[str, Any] | None]
) -> str:
    """Send one claimed row while its lease is renewed, then record the outcome at once."""
    failure: Exception | None = None
    extra: Mapping[str, Any] | None = None
    with _heartbeat(step, row):
        try:
            extra = send_one(row)
        except Exception as exc:  # noqa: BLE001 - any failure of one row is recorded
            step.session.rollback()
            failure = exc
    if failure is not None:
        return _record_failure(step, row, failure)
    return _record_sent(step, row, extra or {})


@contextmanager
def _heartbeat(step: _Round, row: DeliveryColumns) -> Iterator[None]:
    """Renew the lease every third of it while the body runs (on its own connection), so a
    slow receiver never lets another worker take the row; stops after MAX_HOLD."""
    done = threading.Event()
    engine = step.session.get_bind()
    thread = threading.Thread(
        target=_renew_lease,
        args=(step, engine, type(row), row.id, done),
        name=f"lease {_name(type(row))} {row.id}",
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(step.lease.total_seconds())


def _renew_lease(
    step: _Round, engine: Engine, model: type[DeliveryColumns], row_id: int, done: threading.Event
) -> None:
    hold_until = time.monotonic() + MAX_HOLD.total_seconds()
    while not done.wait(step.lease.total_seconds() / 3) and time.monotonic() < hold_until:
        try:
            with engine.begin() as connection:
                renewed = connection.execute(
                    update(model)
                    .where(
                        model.id == row_id,
                        model.claimed_by == step.worker,
                        model.sent_at.is_(None),
                    )
                    .values(claimed_until=step.clock() + step.lease)
                )
        except SQLAlchemyError as exc:
            log.warning("%s %s: lease not renewed: %s", _name(model), row_id, exc)
            continue
        if rowcount(renewed) != 1:
            log.warning("%s %s: lease lost to another worker", _name(model), row_id)
            return


def _record_sent(step: _Round, row: DeliveryColumns, extra: Mapping[str, Any]) -> str:
    """Mark the row sent now (this message's own time) in its own commit."""
    model = type(row)
    marked = step.session.execute(
        update(model)
        .where(model.id == row.id, model.sent_at.is_(None))
        .values(
            sent_at=step.clock(),
            given_up_at=None,
            claimed_by=None,
            claimed_until=None,
            last_error=None,
            **extra,
        )
        .execution_options(synchronize_session=False)
    )
    step.session.commit()
    if rowcount(marked) != 1:
        log.warning("%s %s was sent twice (its lease had expired)", _name(model), row.id)
    return "sent"


def _record_failure(step: _Round, row: DeliveryColumns, exc: Exception) -> str:
    """Schedule the next attempt after ``backoff(attempts)``, or give up; its own commit."""
    model, at = type(row), step.clock()
    permanent = isinstance(exc, DeliveryError) and exc.permanent
    give_up = permanent or row.attempts >= step.max_attempts
    error = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
    values: dict[str, Any] = {"last_error": error[:500], "claimed_by": None, "claimed_until": None}
    if give_up:
        values["given_up_at"] = at
    else:
        values["next_try_at"] = at + step.backoff(row.attempts)
    step.session.execute(
        update(model)
        .where(model.id == row.id, model.claimed_by == step.worker, model.sent_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    step.session.commit()
    then = "given up" if give_up else f"retrying at {values['next_try_at']:%H:%M:%S} UTC"
    log.warning("%s %s attempt %d failed, %s: %s", _name(model), row.id, row.attempts, then, error)
    return "given_up" if give_up else "retrying"
