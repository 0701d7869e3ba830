"""The outbox: a mail is a row written in the same transaction as the change that causes it;
delivery happens afterwards, with retries, so a failing mail server loses nothing.

Delivery (``deliver_pending``) is the mail queue of idp/delivery.py: one short commit to claim
a mail, one to record its outcome right after it is sent, so a crash or a second worker never
blocks the others and never loses a mail. Delivery is at least once: a worker that dies between
the SMTP server's acceptance and that commit leaves a claim that expires after the lease
(IDP_DELIVERY_LEASE), and the mail is sent again with the same Message-ID.
May import idp.delivery, idp.delivery_admin, idp.models.outbox, idp.config and the rest of idp.mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from email.message import EmailMessage
from functools import partial
from typing import Any
from typing import Unpack

from sqlalchemy import func
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy import update

from idp import delivery_admin
from idp.config import Settings
from idp.delivery import DeliveryError
from idp.delivery import DeliveryResult
from idp.delivery import RoundOptions
from idp.delivery import deliver_due
from idp.mail.links import view_online_link
from idp.mail.render import compose
from idp.mail.render import render
from idp.mail.transports import Transport
from idp.mail.transports import TransportError
from idp.models.base import DbSession
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.outbox import OutboxMail

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
    "email_change_confirm",  # {link, login}  (to the new address)
    "email_change_notice",  # {new_email, reset_link}  (to the old address)
    "account_deleted",  # {login, register_link}
)
# Mails with a "view online" page (/mail/<signed id>, product §3.4). Their context is kept after
# sending, because the page renders from it, and forgotten once the registration link has
# expired; every other mail's context (one-time links, logins) is cleared as soon as it is sent.
VIEW_ONLINE = ("activation",)

MAX_ATTEMPTS = 10
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


@dataclass(frozen=True)
class OutboxCounts:
    """Mails waiting to be sent, given up on, and sent."""

    waiting: int
    given_up: int
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
    max_attempts: int = MAX_ATTEMPTS,
    **options: Unpack[RoundOptions],
) -> DeliveryResult:
    """Send the due mails through idp.delivery: each one marked sent at once, a failure
    retried with exponential backoff, given up after ``max_attempts`` (or a permanent
    refusal). Mail errors never escape; database errors do (the worker logs them)."""
    send = partial(_send_mail, transport, settings)
    lease = timedelta(seconds=settings.delivery_lease)
    return deliver_due(
        session, OutboxMail, send, backoff, max_attempts=max_attempts, lease=lease, **options
    )


def _send_mail(transport: Transport, settings: Settings, mail: OutboxMail) -> dict[str, Any]:
    """Hand one mail to the transport; the columns to clear once it is sent."""
    try:
        transport.send(message_for(mail, settings))
    except TransportError as exc:
        raise DeliveryError(str(exc), permanent=exc.permanent) from None
    return {} if mail.template in VIEW_ONLINE else {"context": null()}


def message_for(mail: OutboxMail, settings: Settings) -> EmailMessage:
    """The MIME message of one outbox row; its Message-ID is derived from the row, so every
    attempt carries the same one and receivers can drop a duplicate (idp.mail.render)."""
    subject, text, html = render(
        mail.template, mail.language, render_context(mail, settings), settings
    )
    return compose(
        to=mail.to_address,
        subject=subject,
        text=text,
        html=html,
        language=mail.language,
        settings=settings,
        message_key=(mail.id, mail.created_at),
    )


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


def requeue_given_up(session: DbSession, now: datetime | None = None) -> int:
    """Give every mail that was given up on a fresh set of attempts (the caller commits)."""
    return delivery_admin.requeue_given_up(session, OutboxMail, now)


def count_by_state(session: DbSession) -> OutboxCounts:
    """How many mails are waiting, given up on, and sent."""
    state = delivery_admin.backlog(session, OutboxMail)
    sent = session.scalar(
        select(func.count()).select_from(OutboxMail).where(OutboxMail.sent_at.is_not(None))
    )
    return OutboxCounts(waiting=state.waiting, given_up=state.given_up, sent=int(sent or 0))
