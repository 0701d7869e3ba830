"""Where an account is signed in, for its owner (the account page): the live OP sessions
(browsers) and the offline grants (apps holding a refresh token), and signing out of one of
them or of all.

Each service that writes commits once; reads leave the transaction as they found it. Ending an
OP session queues its back-channel logout notifications (OIDC Back-Channel Logout 1.0 §2.5) in
that same commit. Imports idp.models and idp.accounts.signout only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from idp.accounts.signout import end_account_sessions
from idp.accounts.signout import end_sessions
from idp.models.base import DbSession
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.oauth import Client
from idp.models.oauth import Token
from idp.models.op_session import OpSession
from idp.models.op_session import SessionClient

BROWSER = "browser"
APP = "app"


@dataclass(frozen=True)
class SignedIn:
    """One line of the list: a browser (``key`` = sid) or an app's grant (``key`` = family)."""

    kind: str
    key: str
    clients: tuple[str, ...]
    device_hint: str | None
    since: datetime
    last_used: datetime
    current: bool = False


def _browsers(session: DbSession, account_id: int, current_sid: str | None) -> list[SignedIn]:
    now = utcnow()
    rows = session.scalars(
        select(OpSession)
        .where(
            OpSession.account_id == account_id,
            OpSession.ended_at.is_(None),
            OpSession.expires_at > now,
        )
        .order_by(OpSession.created_at.desc())
    ).all()
    names = _client_names(session, [row.sid for row in rows])
    return [
        SignedIn(
            kind=BROWSER,
            key=row.sid,
            clients=tuple(names.get(row.sid, ())),
            device_hint=row.device_hint,
            since=row.created_at,
            last_used=row.last_used_at or row.auth_time,
            current=row.sid == current_sid,
        )
        for row in rows
    ]


def _client_names(session: DbSession, sids: list[str]) -> dict[str, list[str]]:
    if not sids:
        return {}
    names: dict[str, list[str]] = {}
    for sid, name in session.execute(
        select(SessionClient.sid, Client.name)
        .join(Client, Client.client_id == SessionClient.client_id)
        .where(SessionClient.sid.in_(sids))
        .order_by(Client.name)
    ):
        names.setdefault(sid, []).append(name)
    return names


def _apps(session: DbSession, account_id: int) -> list[SignedIn]:
    """Grants whose newest refresh token still works (rotation keeps one alive per family)."""
    now = utcnow()
    live = session.scalars(
        select(Token)
        .where(
            Token.account_id == account_id,
            Token.refresh_token_hash.is_not(None),
            Token.refresh_used_at.is_(None),
            Token.revoked_at.is_(None),
            Token.refresh_expires_at > now,
        )
        .order_by(Token.issued_at.desc())
    ).all()
    firsts = dict(
        session.execute(
            select(Token.family_id, func.min(Token.issued_at))
            .where(Token.family_id.in_([t.family_id for t in live]))
            .group_by(Token.family_id)
        ).all()
    )
    return [
        SignedIn(
            kind=APP,
            key=token.family_id,
            clients=(token.client.name,),
            device_hint=token.device_hint,
            since=firsts.get(token.family_id, token.issued_at),
            last_used=token.issued_at,
        )
        for token in live
    ]


def signed_in(session: DbSession, account_id: int, current_sid: str | None) -> list[SignedIn]:
    """The browsers (this one first) then the apps where the account is signed in."""
    browsers = _browsers(session, account_id, current_sid)
    browsers.sort(key=lambda line: not line.current)
    return browsers + _apps(session, account_id)


def sign_out_one(session: DbSession, account_id: int, kind: str, key: str) -> bool:
    """End one browser's session (its clients are told by back-channel) or revoke one app's
    grant (every token of the family, RFC 7009 §2.1 spirit); False when it is not this
    account's or is already over. Commits."""
    done = False
    if kind == BROWSER:
        op_session = session.get(OpSession, key)
        if op_session is not None and op_session.account_id == account_id:
            done = bool(end_sessions(session, [op_session]))
    elif kind == APP:
        result = session.execute(
            update(Token)
            .where(
                Token.account_id == account_id,
                Token.family_id == key,
                Token.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        done = rowcount(result) > 0
    session.commit()
    return done


def sign_out_everywhere(session: DbSession, account_id: int) -> list[str]:
    """Every session and every token of the account ends; the clients that took part in a
    session are told by back-channel logout. Returns the sids ended. Commits."""
    ended = end_account_sessions(session, account_id)
    session.commit()
    return ended
