"""Support work on accounts and customers (the operator commands of ``flask idp``): find an
account by login, e-mail or customer number, describe it without secrets, disable, enable or
delete it (the same erasure as the customer's own deletion), unlock a customer's activation
code.

Each changing service ends its transaction (idp/accounts/__init__.py). Disabling ends the
account's OP sessions and tokens and queues the back-channel logout of every client that took
part (``end_account_sessions``). Imports idp.models, idp.config and idp.accounts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select

from idp.accounts.activation import is_customer_number
from idp.accounts.activation import normalise_customer_number
from idp.accounts.personal_data import erase_account
from idp.accounts.signout import end_account_sessions
from idp.config import Settings
from idp.models.account import ACTIVE
from idp.models.account import DISABLED
from idp.models.account import Account
from idp.models.account import AccountCustomer
from idp.models.account import normalise_login
from idp.models.base import DbSession
from idp.models.base import utcnow
from idp.models.customer import Customer
from idp.models.oauth import Token
from idp.models.op_session import OpSession


class NotFound(LookupError):
    """No account (or customer) answers to what the operator typed."""


class Ambiguous(LookupError):
    """Several accounts answer (a shared e-mail address): the operator must name one login."""

    def __init__(self, logins: list[str]) -> None:
        super().__init__(", ".join(logins))
        self.logins = logins


def find_accounts(session: DbSession, query: str) -> list[Account]:
    """Accounts whose login or e-mail is ``query`` (without regard to case), or that own the
    customer number ``query``."""
    text = query.strip()
    number = normalise_customer_number(text)
    if is_customer_number(number):
        owner = (
            select(Account)
            .join(AccountCustomer, AccountCustomer.account_id == Account.id)
            .join(Customer, Customer.id == AccountCustomer.customer_id)
            .where(Customer.number == number)
        )
        return list(session.scalars(owner))
    by_login = session.scalar(select(Account).where(Account.login == normalise_login(text)))
    if by_login is not None:
        return [by_login]
    by_email = select(Account).where(func.lower(Account.email) == text.casefold())
    return list(session.scalars(by_email.order_by(Account.id)))


def find_one_account(session: DbSession, query: str) -> Account:
    """The single account ``query`` names; NotFound or Ambiguous otherwise."""
    found = find_accounts(session, query)
    if not found:
        raise NotFound(query)
    if len(found) > 1:
        raise Ambiguous([a.login for a in found])
    return found[0]


@dataclass(frozen=True)
class AccountSummary:
    """What support may see of an account: no password hash, no token, no code."""

    id: int
    sub: str
    login: str
    email: str
    email_verified: bool
    status: str
    language: str
    created_at: datetime | None
    last_login_at: datetime | None
    customers: list[str]
    live_sessions: int
    live_tokens: int


def describe(session: DbSession, account: Account) -> AccountSummary:
    """The account as support sees it."""
    now = utcnow()
    sessions = session.scalar(
        select(func.count())
        .select_from(OpSession)
        .where(OpSession.account_id == account.id, OpSession.ended_at.is_(None))
    )
    tokens = session.scalar(
        select(func.count())
        .select_from(Token)
        .where(
            Token.account_id == account.id,
            Token.revoked_at.is_(None),
            Token.access_expires_at > now,
        )
    )
    return AccountSummary(
        id=account.id,
        sub=account.sub,
        login=account.login,
        email=account.email,
        email_verified=account.email_verified,
        status=account.status,
        language=account.language,
        created_at=getattr(account, "created_at", None),
        last_login_at=account.last_login_at,
        customers=[f"{c.number} ({c.holder_name})" for c in account.customers],
        live_sessions=int(sessions or 0),
        live_tokens=int(tokens or 0),
    )


def disable_account(session: DbSession, account: Account) -> list[str]:
    """No more logins; every session and token ends now, clients are told (back-channel).
    Returns the sids ended. Commits."""
    account.status = DISABLED
    ended = end_account_sessions(session, account.id)
    session.commit()
    return ended


def enable_account(session: DbSession, account: Account) -> None:
    """Logins work again (sessions ended by disabling stay ended). Commits."""
    account.status = ACTIVE
    session.commit()


def delete_account(session: DbSession, account: Account, settings: Settings) -> str:
    """Erase the account whatever its status, as its owner can on /account (sessions end,
    clients are told, a last mail goes to the owner). Returns the address. Commits."""
    address = erase_account(session, account, settings)
    session.commit()
    return address


def unlock_activation(session: DbSession, number: str) -> Customer:
    """Give a customer's activation code its attempts back after too many wrong ones.
    Commits."""
    customer = session.scalar(
        select(Customer).where(Customer.number == normalise_customer_number(number))
    )
    if customer is None:
        raise NotFound(number)
    customer.failed_activations = 0
    customer.activation_locked_at = None
    session.commit()
    return customer
