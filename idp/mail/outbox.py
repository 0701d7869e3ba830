"""The outbox: a mail is a row written in the same transaction as the change that causes it;
delivery happens afterwards, with retries, so a failing mail server loses nothing.

Delivery (``deliver_pending``) is its own service and decides its own transactions: one short
commit to claim a row, one to record the outcome, so a crash or a second worker never blocks
the others and never loses a mail (delivery is at least once: a worker that dies between
sending and recording leaves a claim that expires, and the mail is sent again).
May import idp.models.outbox, idp.config and the rest of idp.mail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy import update

from idp.config import Settings
from idp.mail.links import view_online_link
from idp.mail.render import compose
from idp.mail.render import render
from idp.mail.transports import Transport
from idp.mail.transports import TransportError
from idp.models.base import DbSession
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.outbox import OutboxMail

log = logging.getLogger(__name__)

# Context keys each template needs (the caller's contract). Every ``*link`` value is an
# absolute URL under the configured issuer (idp/mail/links.py), never from the Host header.
# ``view_online_link`` is NOT part of the context: the outbox id is unknown at enqueue time,
# so delivery adds it from the row id (idp.mail.links.view_online_link) for the templates in
# VIEW_ONLINE; a value passed by the caller is ignored.
TEMPLATES = (
    "activation",  # {link}  (+ view_online_link, added at delivery)
    "account_exists",  # {login, login_link, reset_link}
    "customer_already_activated",  # {login, login_link, reset_link}  (to the account owner)
    "welcome",  # {login, login_link}
    "reset_password",  # {link}
    "password_changed",  # {login, reset_link}
    "forgot_login",  # {login, login_link}
)
# Mails with a "view online" page (/mail/<signed id>, SPEC §3.4). Their context is kept after
# sending, because the page renders from it, and forgotten once the registration link has
# expired; every other mail's context (one-time links, logins) is cleared as soon as it is sent.
VIEW_ONLINE = ("activation",)

MAX_ATTEMPTS = 10
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# How long a claimed mail stays reserved for the worker sending it; far above the SMTP
# timeouts, so a live worker always records its outcome before another may take the mail.
CLAIM_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class DeliveryResult:
    """What one delivery run did: sent, gave up on (failed), will retry later (deferred)."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0


@dataclass(frozen=True)
class OutboxCounts:
    """Rows waiting to be sent, given up on, and sent."""

    pending: int
    failed: int
    sent: int


def enqueue(
    session: DbSession, *, to: str, template: str, language: str, context: dict[str, Any]
) -> OutboxMail:
    """Add a mail to the caller's transaction (the caller commits; nothing is sent now).

    Links in ``context`` must be absolute URLs built from the configured issuer, never from
    the request's Host header.
    """
    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}")
    mail = OutboxMail(to_address=to, template=template, language=language, context=context)
    session.add(mail)
    return mail


def render_context(mail: OutboxMail, settings: Settings, *, online: bool = False) -> dict[str, Any]:
    """The row's context plus what delivery adds (the "view online" link; not on that page)."""
    context = dict(mail.context or {})
    context.pop("view_online_link", None)
    if mail.template in VIEW_ONLINE and not online:
        context["view_online_link"] = view_online_link(settings, mail.id)
    return context


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failed ones: 30 s, 1 min, 2 min … ≤ 1 h."""
    return min(BACKOFF_BASE * 2 ** max(0, attempts - 1), BACKOFF_CAP)


def deliver_pending(
    session: DbSession,
    transport: Transport,
    settings: Settings,
    limit: int = 50,
    now: datetime | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> DeliveryResult:
    """Send up to ``limit`` due mails; each failure is recorded on its row and retried later
    with exponential backoff, and given up after ``max_attempts`` (or a permanent refusal).

    Mail errors never escape; database errors do (the worker logs them and tries again).
    """
    now = now or utcnow()
    due = session.scalars(
        select(OutboxMail.id)
        .where(
            OutboxMail.sent_at.is_(None),
            OutboxMail.failed_at.is_(None),
            OutboxMail.next_try_at <= now,
        )
        .order_by(OutboxMail.next_try_at, OutboxMail.id)
        .limit(limit)
    ).all()
    outcomes = {"sent": 0, "failed": 0, "deferred": 0}
    for mail_id in due:
        mail = _claim(session, mail_id, now)
        if mail is not None:
            outcomes[_send(session, mail, transport, settings, now, max_attempts)] += 1
    return DeliveryResult(**outcomes)


def _claim(session: DbSession, mail_id: int, now: datetime) -> OutboxMail | None:
    """Reserve one due mail for this worker, or None when another worker took it first.

    A conditional UPDATE that pushes ``next_try_at`` past now (a lease): of two workers, only
    one sees its row count at 1 (SQLite serialises writers; PostgreSQL re-checks the WHERE
    after the other's commit), so no SELECT … FOR UPDATE is needed and both engines agree.
    """
    claimed = session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.id == mail_id,
            OutboxMail.sent_at.is_(None),
            OutboxMail.failed_at.is_(None),
            OutboxMail.next_try_at <= now,
        )
        .values(next_try_at=now + CLAIM_LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if rowcount(claimed) != 1:
        return None
    return session.get(OutboxMail, mail_id, populate_existing=True)


def _send(
    session: DbSession,
    mail: OutboxMail,
    transport: Transport,
    settings: Settings,
    now: datetime,
    max_attempts: int,
) -> str:
    """Render and send one claimed mail and record the outcome: sent, deferred or failed."""
    try:
        subject, text, html = render(
            mail.template, mail.language, render_context(mail, settings), settings
        )
        message = compose(
            to=mail.to_address,
            subject=subject,
            text=text,
            html=html,
            language=mail.language,
            settings=settings,
            message_key=(mail.id, mail.created_at),
        )
        transport.send(message)
    except Exception as exc:  # noqa: BLE001 - any failure of one mail is recorded, not raised
        return _record_failure(session, mail, exc, now, max_attempts)
    keep = mail.template in VIEW_ONLINE
    session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail.id)
        .values(
            sent_at=now,
            attempts=OutboxMail.attempts + 1,
            last_error=None,
            **({} if keep else {"context": null()}),
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return "sent"


def _record_failure(
    session: DbSession, mail: OutboxMail, exc: Exception, now: datetime, max_attempts: int
) -> str:
    attempts = mail.attempts + 1
    give_up = attempts >= max_attempts or (isinstance(exc, TransportError) and exc.permanent)
    error = str(exc) if isinstance(exc, TransportError) else f"{type(exc).__name__}: {exc}"
    log.warning("mail %s (%s) attempt %d failed: %s", mail.id, mail.template, attempts, error)
    session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail.id)
        .values(
            attempts=attempts,
            last_error=error[:500],
            next_try_at=now + backoff(attempts),
            failed_at=now if give_up else None,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return "failed" if give_up else "deferred"


def forget_old_contexts(session: DbSession, settings: Settings, now: datetime | None = None) -> int:
    """Clear the context of sent "view online" mails once their link has expired (the page
    already refuses them; this is data minimisation). It scans the table, so the worker runs
    it hourly, not every round."""
    cutoff = (now or utcnow()) - timedelta(seconds=settings.registration_link_ttl)
    result = session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.sent_at.is_not(None),
            OutboxMail.context.is_not(None),
            OutboxMail.created_at < cutoff,
        )
        .values(context=null())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(rowcount(result))


def requeue_failed(session: DbSession, now: datetime | None = None) -> int:
    """Give every mail that was given up on a fresh set of attempts (the caller commits)."""
    result = session.execute(
        update(OutboxMail)
        .where(OutboxMail.sent_at.is_(None), OutboxMail.failed_at.is_not(None))
        .values(failed_at=None, attempts=0, next_try_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(rowcount(result))


def count_by_state(session: DbSession) -> OutboxCounts:
    """How many mails are pending, given up on, and sent."""

    def count(*where: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(OutboxMail).where(*where)) or 0)

    return OutboxCounts(
        pending=count(OutboxMail.sent_at.is_(None), OutboxMail.failed_at.is_(None)),
        failed=count(OutboxMail.sent_at.is_(None), OutboxMail.failed_at.is_not(None)),
        sent=count(OutboxMail.sent_at.is_not(None)),
    )
