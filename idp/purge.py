"""``idp purge``: delete the rows nothing can use any more, in small batches, while serving.

A row goes once it is dead plus a grace period (one hour by default, so no request in flight
still reads it): authorization codes, pending logins (interactions), OP sessions, registration
links and password resets after they expire; tokens once their refresh token (or, without one,
their access token) has expired; mails and back-channel logout notifications some days after
they were sent. Each batch is one ``DELETE … WHERE key IN (SELECT key … LIMIT n)`` found
through an index and committed at once, so locks are held on at most ``batch_size`` rows for a
moment and never on a table. Imports sqlalchemy and idp.models.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import delete
from sqlalchemy import select

from idp.models.base import DbSession
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.interaction import Interaction
from idp.models.logout import LogoutNotification
from idp.models.oauth import AuthorizationCode
from idp.models.oauth import Token
from idp.models.op_session import OpSession
from idp.models.outbox import OutboxMail
from idp.models.registration import PasswordReset
from idp.models.registration import RegistrationRequest

GRACE = timedelta(hours=1)
KEEP_SENT = timedelta(days=30)
BATCH_SIZE = 1000
Dead = Callable[[datetime, datetime], ColumnElement[bool]]  # (expired, sent) → the condition


@dataclass(frozen=True)
class Kind:
    """Rows of one model and when they are dead (``expired``: before this time, ``sent``:
    delivered before that one)."""

    name: str
    model: type[Any]
    key: Any
    dead: Dead


def _expired(column: Any) -> Dead:
    """Dead once ``column`` (the row's expiry) is before the ``expired`` time."""
    return lambda expired, _sent: column < expired


def _sent(column: Any) -> Dead:
    """Dead once ``column`` (when the row was delivered) is before the ``sent`` time."""
    return lambda _expired, sent: column < sent


KINDS = (
    Kind("authorization codes", AuthorizationCode, AuthorizationCode.id,
         _expired(AuthorizationCode.expires_at)),
    Kind("tokens", Token, Token.id,
         lambda expired, _sent: (Token.refresh_expires_at < expired)
         & (Token.access_expires_at < expired)),
    Kind("tokens without refresh", Token, Token.id,
         lambda expired, _sent: Token.refresh_expires_at.is_(None)
         & (Token.access_expires_at < expired)),
    Kind("OP sessions", OpSession, OpSession.sid, _expired(OpSession.expires_at)),
    Kind("interactions", Interaction, Interaction.uid, _expired(Interaction.expires_at)),
    Kind("registration links", RegistrationRequest, RegistrationRequest.id,
         _expired(RegistrationRequest.expires_at)),
    Kind("password resets", PasswordReset, PasswordReset.id, _expired(PasswordReset.expires_at)),
    Kind("sent mails", OutboxMail, OutboxMail.id, _sent(OutboxMail.sent_at)),
    Kind("sent logout notifications", LogoutNotification, LogoutNotification.id,
         _sent(LogoutNotification.sent_at)),
)  # fmt: skip


def purge(
    session: DbSession,
    *,
    grace: timedelta = GRACE,
    keep_sent: timedelta = KEEP_SENT,
    batch_size: int = BATCH_SIZE,
    pause: float = 0.0,
) -> dict[str, int]:
    """Delete every dead row, batch by batch, committing each; return the count per kind.

    ``pause`` seconds between batches leave room to the requests being served."""
    now = utcnow()
    counts = {}
    for kind in KINDS:
        condition = kind.dead(now - grace, now - keep_sent)
        counts[kind.name] = _purge_kind(session, kind, condition, batch_size, pause)
    return counts


def _purge_kind(
    session: DbSession, kind: Kind, condition: ColumnElement[bool], batch_size: int, pause: float
) -> int:
    total = 0
    while True:
        batch = select(kind.key).where(condition).limit(batch_size).scalar_subquery()
        statement = delete(kind.model).where(kind.key.in_(batch))
        deleted = rowcount(session.execute(statement.execution_options(synchronize_session=False)))
        session.commit()
        total += deleted
        if deleted < batch_size:
            return total
        if pause:
            time.sleep(pause)
