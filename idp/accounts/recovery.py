"""Forgot login, forgot password and the password reset (product §3.8).

Services end their transaction, the mail in the outbox committed with the change that caused
it, and refuse with ``Refused`` (idp/accounts/__init__). Imports idp.models, idp.accounts,
idp.mail and idp.config (and itsdangerous), never flask.

Decisions:

- A reset link is ``URLSafeTimedSerializer(secret_key, salt="password-reset")`` over a random
  secret; only the secret's SHA-256 is stored (PasswordReset). The salt keeps tokens signed for
  another purpose (activation, cookies) from ever being read as a reset token.
- Opening the link (GET, HEAD: a mail scanner) consumes nothing; only a successful new password
  does, by a conditional UPDATE (``used_at IS NULL``) so two parallel submissions change the
  password once.
- A new reset request deletes the account's older unused links: only the latest mail works.
  A successful reset deletes the other unused ones too.
- Mails go only to active accounts whose address is verified: a disabled or locked account, an
  unverified address and an unknown one all get the same answer and no mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from idp.accounts.passwords import Reason
from idp.accounts.passwords import check_password_policy
from idp.accounts.passwords import hash_password
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.accounts.signout import end_account_sessions
from idp.accounts.transactions import ends_transaction
from idp.config import Settings
from idp.mail.links import absolute
from idp.mail.links import login_link
from idp.mail.links import reset_link
from idp.mail.outbox import enqueue
from idp.models.account import ACTIVE
from idp.models.account import Account
from idp.models.account import normalise_email
from idp.models.base import DbSession
from idp.models.base import random_token
from idp.models.base import rowcount
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.registration import PasswordReset

RESET_SALT = "password-reset"
MAX_TOKEN_LENGTH = 512
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True)
class ResetLink:
    """An open reset link: whose password it sets, and what the password must not contain."""

    reset_id: int
    account_id: int
    login: str
    context: tuple[str, ...]


@dataclass(frozen=True)
class PasswordChanged:
    """The outcome of a reset: the account's login (for the "log in" button)."""

    login: str


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=RESET_SALT)


def _recipients(session: DbSession, email: str) -> list[Account]:
    """Active accounts whose verified address is ``email`` (an address may serve several)."""
    address = normalise_email(email)
    if not address or len(address) > MAX_EMAIL_LENGTH:
        return []
    return list(
        session.scalars(
            select(Account)
            .where(
                func.lower(Account.email) == address,
                Account.status == ACTIVE,
                Account.email_verified.is_(True),
            )
            .order_by(Account.id)
        )
    )


def request_password_reset(session: DbSession, email: str, settings: Settings) -> int:
    """Queue a reset mail for each active account of ``email`` and commit; return how many
    (the page must not tell). Older unused links of those accounts stop working."""
    accounts = _recipients(session, email)
    for account in accounts:
        session.execute(
            delete(PasswordReset).where(
                PasswordReset.account_id == account.id, PasswordReset.used_at.is_(None)
            )
        )
        secret = random_token(32)
        session.add(
            PasswordReset(
                account_id=account.id,
                secret_hash=token_hash(secret),
                expires_at=utcnow() + timedelta(seconds=settings.password_reset_ttl),
            )
        )
        token = _serializer(settings).dumps(secret)
        enqueue(
            session,
            to=account.email,
            template="reset_password",
            language=account.language,
            context={"link": absolute(settings, f"/reset/{token}")},
        )
    session.commit()
    return len(accounts)


def request_login_reminder(session: DbSession, email: str, settings: Settings) -> int:
    """Queue a mail with the login to each active account of ``email`` and commit; return
    how many."""
    accounts = _recipients(session, email)
    for account in accounts:
        enqueue(
            session,
            to=account.email,
            template="forgot_login",
            language=account.language,
            context={"login": account.login, "login_link": login_link(settings, account.login)},
        )
    session.commit()
    return len(accounts)


def open_reset_link(session: DbSession, token: str, settings: Settings) -> ResetLink:
    """The reset link behind ``token``, still usable; raises Refused(DEAD_LINK) otherwise.

    Reading only: opening the link (a mail scanner's GET) consumes nothing.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Refused(Refusal.DEAD_LINK)
    try:
        secret = _serializer(settings).loads(token, max_age=settings.password_reset_ttl)
    except BadData:
        raise Refused(Refusal.DEAD_LINK) from None
    if not isinstance(secret, str):
        raise Refused(Refusal.DEAD_LINK)
    reset = session.scalar(
        select(PasswordReset).where(PasswordReset.secret_hash == token_hash(secret))
    )
    if reset is None or reset.used_at is not None or utcnow() >= reset.expires_at:
        raise Refused(Refusal.DEAD_LINK)
    account = session.get(Account, reset.account_id)
    if account is None or account.status != ACTIVE:
        raise Refused(Refusal.DEAD_LINK)
    context = (account.login, account.email, *(c.number for c in account.customers))
    return ResetLink(reset_id=reset.id, account_id=account.id, login=account.login, context=context)


def refused_reasons(link: ResetLink, password: str, settings: Settings) -> list[Reason]:
    """Why ``password`` cannot be this account's new password (empty when it can)."""
    return check_password_policy(password, settings, link.context)


@ends_transaction
def reset_password(
    session: DbSession, token: str, password: str, settings: Settings
) -> PasswordChanged:
    """Set the new password once per link: end every session and token of the account and
    queue the "password changed" mail, all in one commit.

    Raises Refused: DEAD_LINK (also for the loser of two parallel submissions) or
    PASSWORD_REFUSED with the policy's reasons; then nothing is written.
    """
    link = open_reset_link(session, token, settings)
    reasons = refused_reasons(link, password, settings)
    if reasons:
        raise Refused(Refusal.PASSWORD_REFUSED, password_reasons=reasons)
    new_hash = hash_password(password, settings)  # before the claim: keep the write lock short
    now = utcnow()
    claimed = session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == link.reset_id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
    )
    if rowcount(claimed) != 1:
        raise Refused(Refusal.DEAD_LINK)
    account = session.get(Account, link.account_id)
    if account is None or account.status != ACTIVE:
        raise Refused(Refusal.DEAD_LINK)
    account.password_hash = new_hash
    session.execute(
        delete(PasswordReset).where(
            PasswordReset.account_id == account.id, PasswordReset.used_at.is_(None)
        )
    )
    end_account_sessions(session, account.id)
    tell_password_changed(session, account, settings)
    return PasswordChanged(login=account.login)


def tell_password_changed(session: DbSession, account: Account, settings: Settings) -> None:
    """Queue the "your password was changed" mail, with a reset link in case it was not the
    owner (part of the caller's transaction)."""
    enqueue(
        session,
        to=account.email,
        template="password_changed",
        language=account.language,
        context={"login": account.login, "reset_link": reset_link(settings)},
    )
