"""Single sign-on: the OP login session behind the ``idp_session`` cookie (``OpSession``).

The cookie holds a random secret; the database holds its hash and the public ``sid`` (OIDC
Front/Back-Channel Logout ``sid``). Ending a session queues its back-channel logout
notifications in the same transaction (idp.accounts.signout). Imports idp.models,
idp.accounts.signout and idp.config.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from idp.accounts.signout import end_sessions
from idp.config import Settings
from idp.devices import describe_user_agent
from idp.extensions import db
from idp.models.account import ACTIVE
from idp.models.account import Account
from idp.models.base import random_token
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.op_session import OpSession

COOKIE_NAME = "idp_session"
BROWSER_COOKIE = "idp_browser"  # Flask's signed cookie: CSRF token, pending interactions
LEGACY_COOKIES = (COOKIE_NAME, BROWSER_COOKIE)  # their names before the __Host- prefix
HOST_PREFIX = "__Host-"


def host_cookie_name(name: str, settings: Settings) -> str:
    """``__Host-<name>`` when the issuer is https (RFC 6265bis §4.1.3.2: the browser then keeps
    the cookie only if it is Secure, Path=/ and has no Domain, so no sibling host can set or
    toss it); the bare name over plain-HTTP development."""
    return HOST_PREFIX + name if settings.uses_https else name


def cookie_name(settings: Settings) -> str:
    """The name of the OP session cookie."""
    return host_cookie_name(COOKIE_NAME, settings)


@dataclass(frozen=True)
class NewSession:
    """A session just started, and the cookie value the browser must receive."""

    op_session: OpSession
    cookie_value: str


def find_live_session(cookie_value: str | None) -> OpSession | None:
    """The live session for a cookie value, else None (unknown, ended, expired, inactive)."""
    if not cookie_value or len(cookie_value) > 128:
        return None
    op_session = db.session.scalar(
        select(OpSession).where(OpSession.cookie_hash == token_hash(cookie_value))
    )
    if op_session is None or not op_session.is_live() or op_session.account.status != ACTIVE:
        return None
    return op_session


def start_session(account: Account, amr: list[str], settings: Settings) -> NewSession:
    """A new session with a fresh secret (never reuse one: session fixation). Caller commits."""
    now = utcnow()
    cookie_value = random_token(32)
    op_session = OpSession(
        sid=random_token(16),
        cookie_hash=token_hash(cookie_value),
        account_id=account.id,
        auth_time=now,
        amr=amr,
        expires_at=now + timedelta(seconds=settings.session_ttl),
    )
    op_session.account = account
    db.session.add(op_session)
    return NewSession(op_session, cookie_value)


def note_use(op_session: OpSession, user_agent: str | None) -> None:
    """Record that the session was used just now, from this browser (the account page lists
    it); the caller commits."""
    op_session.last_used_at = utcnow()
    op_session.device_hint = describe_user_agent(user_agent) or op_session.device_hint


def end_session(op_session: OpSession) -> None:
    """End the session and queue its back-channel logout tokens (Back-Channel Logout 1.0 §2.5);
    the caller commits. Offline refresh tokens outlive it (OIDC Core §11)."""
    end_sessions(db.session, [op_session])
