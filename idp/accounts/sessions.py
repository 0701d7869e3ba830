"""Ending an account's OP sessions and tokens (password reset, account disabled).

Imports idp.models only; the caller commits. Back-channel logout notifications for the ended
sessions are queued here too (same transaction), and delivered by idp/oauth/backchannel.py.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy import update

from idp.models.base import DbSession
from idp.models.base import utcnow
from idp.models.logout import end_sessions
from idp.models.oauth import Token
from idp.models.op_session import OpSession


def end_account_sessions(session: DbSession, account_id: int) -> list[str]:
    """End every live OP session of the account, queue the back-channel logout of the clients
    that took part (OIDC Back-Channel Logout 1.0 §2.5) and revoke all its tokens; return the
    sids ended."""
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
