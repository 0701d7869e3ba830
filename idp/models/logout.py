"""Back-channel logout notifications (OIDC Back-Channel Logout 1.0 §2.5), queued like mail.

A row is written in the same transaction that ends an OP session, one per client that took part
in it and registered a ``backchannel_logout_uri``; it is delivered afterwards with retries.
Imports sqlalchemy and idp.models only.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.models.base import Base
from idp.models.base import DbSession
from idp.models.base import random_token
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.delivery import DeliveryColumns
from idp.models.oauth import Client
from idp.models.op_session import OpSession
from idp.models.op_session import SessionClient


class LogoutNotification(DeliveryColumns, Base):
    """One logout token to POST to one client for one ended session; retried until delivered.

    The token itself is signed at each attempt (its ``exp`` is short); ``jti`` stays the same
    so that a receiver can recognise a repeated delivery.
    """

    __tablename__ = "logout_notification"

    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_client.client_id", ondelete="CASCADE"))
    sid: Mapped[str] = mapped_column(String(64))
    sub: Mapped[str] = mapped_column(String(64))
    jti: Mapped[str] = mapped_column(String(64), unique=True, default=random_token)


def end_sessions(session: DbSession, op_sessions: Iterable[OpSession]) -> list[OpSession]:
    """End the live sessions among ``op_sessions`` and queue their notifications; return the
    ones this transaction ended (the caller commits).

    Each end is a conditional UPDATE, so two requests ending one session at once (a double
    click, a logout racing a password reset) queue its notifications once.
    """
    now = utcnow()
    ended = []
    for op_session in op_sessions:
        result = session.execute(
            update(OpSession)
            .where(OpSession.sid == op_session.sid, OpSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        if rowcount(result) == 1:
            ended.append(op_session)
    queue_logout_notifications(session, ended)
    return ended


def queue_logout_notifications(
    session: DbSession, ended: Iterable[OpSession]
) -> list[LogoutNotification]:
    """Add a notification for every client of the ended sessions that has a back-channel URI
    (the caller commits, so the queue and the session end share one transaction)."""
    by_sid = {op_session.sid: op_session for op_session in ended}
    if not by_sid:
        return []
    rows = session.execute(
        select(SessionClient.sid, SessionClient.client_id)
        .join(Client, Client.client_id == SessionClient.client_id)
        .where(SessionClient.sid.in_(by_sid), Client.backchannel_logout_uri.is_not(None))
        .order_by(SessionClient.sid, SessionClient.client_id)
    ).all()
    queued = [
        LogoutNotification(client_id=client_id, sid=sid, sub=by_sid[sid].account.sub)
        for sid, client_id in rows
    ]
    session.add_all(queued)
    return queued
