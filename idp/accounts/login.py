"""Password login: one generic failure, constant work whether or not the login exists.

Imports idp.models, idp.accounts.{passwords,refusals} and idp.config.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select

from idp.accounts.passwords import hash_password
from idp.accounts.passwords import needs_rehash
from idp.accounts.passwords import verify_password
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.config import Settings
from idp.models.account import ACTIVE
from idp.models.account import Account
from idp.models.account import normalise_login
from idp.models.base import DbSession
from idp.models.base import utcnow


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    settings = Settings(
        argon2_time_cost=time_cost, argon2_memory_cost=memory_cost, argon2_parallelism=parallelism
    )
    return hash_password("not-a-real-password-for-timing", settings)


def find_account_by_login(session: DbSession, login: str) -> Account | None:
    """The account whose login matches without regard to case, if any."""
    return session.scalar(select(Account).where(Account.login == normalise_login(login)))


def spend_equal_time(secret: str, settings: Settings) -> None:
    """One argon2 verification against a dummy hash: a refusal that found nothing to check
    costs what a real check costs, so timing does not tell which logins or customers exist."""
    dummy = _dummy_hash(
        settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism
    )
    verify_password(dummy, secret, settings)


def authenticate(session: DbSession, login: str, password: str, settings: Settings) -> Account:
    """The active account for these credentials; commits its last login (and a hash made with
    older parameters, upgraded). Raises Refused(BAD_CREDENTIALS) whatever was wrong."""
    account = find_account_by_login(session, login)
    if account is None:
        spend_equal_time(password, settings)
    if (
        account is None
        or not verify_password(account.password_hash, password, settings)
        or account.status != ACTIVE
    ):
        session.rollback()
        raise Refused(Refusal.BAD_CREDENTIALS)
    if needs_rehash(account.password_hash, settings):
        account.password_hash = hash_password(password, settings)
    account.last_login_at = utcnow()
    session.commit()
    return account
