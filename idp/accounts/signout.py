"""Signing out: ending OP sessions (one, or every one of an account) and queueing the
back-channel logout notifications of the clients that took part (OIDC Back-Channel Logout 1.0
§2.5), in the same transaction. Delivery is idp/oauth/backchannel.py's.

Everything here is part of the caller's transaction (idp/accounts/__init__): idp.oauth calls
``end_sessions`` at /logout and on a fresh login, idp.accounts.recovery calls
``end_account_sessions`` after a password reset. Imports idp.models only.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy import update

from idp.models.base import DbSession
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.logout import LogoutNotification
from idp.models.oauth import Client
from idp.models.oauth import Token
from idp.models.op_session import OpSession
from idp.models.op_session import SessionClient


def end_sessions(session: DbSession, op_sessions: Iterable[OpSession]) -> list[OpSession]:
    """End the live sessions among ``op_sessions`` and queue their notifications; return the
    ones this transaction ended (part of the caller's transaction).

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
    (part of the caller's transaction: the queue and the session end share one commit)."""
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


def end_account_sessions(session: DbSession, account_id: int) -> list[str]:
    """End every live OP session of the account, queue the back-channel logout of the clients
    that took part and revoke all its tokens; return the sids ended (part of the caller's
    transaction: password reset, account disabled)."""
    live = session.scalars(
        select(OpSession).where(OpSession.account_id == account_id, OpSession.ended_at.is_(None))
    ).all()
    ended = end_sessions(session, live)
    session.execute(
        update(Token)
        .where(Token.account_id == account_id, Token.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return [op_session.sid for op_session in ended]
