"""What operators see and do with the delivery queues (idp/delivery.py): each queue's backlog
for metrics and readiness, a fresh set of attempts for rows given up on, and the purge of
finished rows. Imports sqlalchemy and idp.models only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from idp.models.base import DbSession
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.delivery import DeliveryColumns


@dataclass(frozen=True)
class Backlog:
    """A queue's state for operators: rows waiting (due now or later, or being sent), those
    due now and not claimed (a worker should be on them), given up, and the oldest due row's
    ``next_try_at`` (how long the queue has been behind)."""

    waiting: int
    due: int
    given_up: int
    oldest_due_at: datetime | None


def requeue_given_up(
    session: DbSession, model: type[DeliveryColumns], now: datetime | None = None
) -> int:
    """Give every row that was given up on a fresh set of attempts (the caller commits)."""
    result = session.execute(
        update(model)
        .where(model.sent_at.is_(None), model.given_up_at.is_not(None))
        .values(given_up_at=None, attempts=0, next_try_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(rowcount(result))


def purge_finished(session: DbSession, model: type[DeliveryColumns], older_than: timedelta) -> int:
    """Delete rows sent or given up on more than ``older_than`` ago (the caller commits)."""
    cutoff = utcnow() - older_than
    result = session.execute(
        delete(model).where(or_(model.sent_at < cutoff, model.given_up_at < cutoff))
    )
    return int(rowcount(result))


def backlog(
    session: DbSession, model: type[DeliveryColumns], now: datetime | None = None
) -> Backlog:
    """How many rows wait, are due and unclaimed, were given up; since when the queue is
    behind. Cheap enough for every metrics scrape (sent rows are not counted)."""
    at = now or utcnow()
    waiting = session.scalar(select(func.count()).select_from(model).where(model.is_waiting()))
    due, oldest = session.execute(
        select(func.count(), func.min(model.next_try_at)).select_from(model).where(model.is_due(at))
    ).one()
    given_up = session.scalar(
        select(func.count())
        .select_from(model)
        .where(model.sent_at.is_(None), model.given_up_at.is_not(None))
    )
    return Backlog(
        waiting=int(waiting or 0),
        due=int(due or 0),
        given_up=int(given_up or 0),
        oldest_due_at=oldest,
    )
