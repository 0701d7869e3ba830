"""What a customer does on their own account page: read it, change the password or the
e-mail address, link another customer number (personal data: personal_data.py).

Each service that writes commits once (the mails it queues go into that commit) and refuses
with ``Refused`` (idp.accounts.refusals) after rolling back — or after committing when the
refusal must be kept (a counted activation attempt). Imports idp.models, idp.accounts,
idp.mail (outbox, links) and idp.config (and itsdangerous); never flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy import update

from idp.accounts.activation import normalise_customer_number
from idp.accounts.activation import verify_activation
from idp.accounts.eligibility import NO_ACTIVE_CONTRACT
from idp.accounts.eligibility import Eligibility
from idp.accounts.eligibility import compute_eligibility
from idp.accounts.passwords import check_password_policy
from idp.accounts.passwords import hash_password
from idp.accounts.recovery import tell_password_changed
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.accounts.signout import end_sessions
from idp.config import Settings
from idp.mail.links import absolute
from idp.mail.links import reset_link
from idp.mail.outbox import enqueue
from idp.models.account import ACTIVE
from idp.models.account import Account
from idp.models.base import DbSession
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.customer import Customer
from idp.models.oauth import Token
from idp.models.op_session import OpSession

EMAIL_CHANGE_SALT = "email-change"
MAX_TOKEN_LENGTH = 1024


@dataclass(frozen=True)
class ContractLine:
    """A contract as the account page shows it."""

    energy: str
    start_date: date
    end_date: date | None
    active: bool


@dataclass(frozen=True)
class LinkedCustomer:
    """A customer number linked to the account, and whether it makes the account eligible."""

    number: str
    holder_name: str
    eligible: bool
    reason: str | None
    contracts: tuple[ContractLine, ...]


@dataclass(frozen=True)
class Overview:
    """What the account page shows about the account itself."""

    login: str
    email: str
    email_verified: bool
    eligibility: Eligibility
    customers: tuple[LinkedCustomer, ...]


def active_account(session: DbSession, account_id: int) -> Account:
    """The account, when it exists and is active; LookupError otherwise (read)."""
    account = session.get(Account, account_id)
    if account is None or account.status != ACTIVE:
        raise LookupError("no active account")
    return account


def account_overview(session: DbSession, account_id: int, settings: Settings) -> Overview:
    """Login, e-mail and each linked customer with its contracts and eligibility (read)."""
    account = active_account(session, account_id)
    now = utcnow()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    customers = tuple(
        LinkedCustomer(
            number=customer.number,
            holder_name=customer.holder_name,
            eligible=customer.has_active_contract(today),
            reason=None if customer.has_active_contract(today) else NO_ACTIVE_CONTRACT,
            contracts=tuple(
                ContractLine(c.energy, c.start_date, c.end_date, c.is_active(today))
                for c in customer.contracts
            ),
        )
        for customer in account.customers
    )
    return Overview(
        login=account.login,
        email=account.email,
        email_verified=account.email_verified,
        eligibility=compute_eligibility(account, now, settings.timezone),
        customers=customers,
    )


# ---- password ------------------------------------------------------------------------------


def change_password(
    session: DbSession, account_id: int, keep_sid: str | None, password: str, settings: Settings
) -> None:
    """Set a new password: every other session ends (back-channel logout), every token of
    the account is revoked (the apps sign in again), a notice goes to the address. The
    session ``keep_sid`` (this browser) stays. Commits."""
    account = active_account(session, account_id)
    context = (account.login, account.email, *(c.number for c in account.customers))
    reasons = check_password_policy(password, settings, context)
    if reasons:
        session.rollback()
        raise Refused(Refusal.PASSWORD_REFUSED, password_reasons=reasons)
    account.password_hash = hash_password(password, settings)
    others = session.scalars(
        select(OpSession).where(
            OpSession.account_id == account.id,
            OpSession.ended_at.is_(None),
            OpSession.sid != (keep_sid or ""),
        )
    ).all()
    end_sessions(session, others)
    session.execute(
        update(Token)
        .where(Token.account_id == account.id, Token.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    tell_password_changed(session, account, settings)
    session.commit()


# ---- e-mail address ------------------------------------------------------------------------


def _email_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=EMAIL_CHANGE_SALT)


def request_email_change(
    session: DbSession, account_id: int, new_email: str, settings: Settings
) -> None:
    """Mail a confirmation link to ``new_email`` and a notice to the current address; the
    address changes only when the link is opened (it carries the old address: once the
    address changed, every other link is dead). Commits."""
    account = active_account(session, account_id)
    if new_email.casefold() == account.email.casefold():
        session.rollback()
        raise Refused(Refusal.SAME_EMAIL)
    token = _email_serializer(settings).dumps(
        {"s": account.sub, "o": account.email, "n": new_email}
    )
    enqueue(
        session,
        to=new_email,
        template="email_change_confirm",
        language=account.language,
        context={"link": absolute(settings, f"/account/email/{token}"), "login": account.login},
    )
    enqueue(
        session,
        to=account.email,
        template="email_change_notice",
        language=account.language,
        context={"new_email": new_email, "reset_link": reset_link(settings)},
    )
    session.commit()


def confirm_email_change(session: DbSession, token: str, settings: Settings) -> str:
    """Set the address the link names; return it. A forged, expired or superseded link
    raises Refused(DEAD_LINK). Commits."""
    try:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise BadData("no token")
        data = _email_serializer(settings).loads(token, max_age=settings.email_change_ttl)
        sub, old, new = str(data["s"]), str(data["o"]), str(data["n"])
    except (BadData, KeyError, TypeError):
        raise Refused(Refusal.DEAD_LINK) from None
    changed = session.execute(
        update(Account)
        .where(Account.sub == sub, Account.email == old, Account.status == ACTIVE)
        .values(email=new, email_verified=True)
    )
    if rowcount(changed) != 1:
        session.rollback()
        raise Refused(Refusal.DEAD_LINK)
    session.commit()
    return new


# ---- another customer number ---------------------------------------------------------------


def link_customer(
    session: DbSession, account_id: int, number: str, code: str, settings: Settings
) -> str:
    """Link another customer with its activation code (consumed, as at registration); return
    its number. Every wrong guess counts toward the code's lock, as on the registration page,
    and an unknown number, a wrong code or a customer of another account get one answer.
    Commits, refusals included (the attempt is kept)."""
    account = active_account(session, account_id)
    try:
        customer = verify_activation(session, number, code, settings)
    except Refused as refused:
        mine = normalise_customer_number(number) in {c.number for c in account.customers}
        session.commit()
        if refused.reason is Refusal.ALREADY_ACTIVATED and mine:
            raise Refused(Refusal.ALREADY_LINKED) from None
        raise Refused(Refusal.WRONG_CUSTOMER_DATA) from None  # a locked code too (finding 2)
    claimed = session.execute(
        update(Customer)
        .where(Customer.id == customer.id, Customer.activated_at.is_(None))
        .values(activated_at=utcnow())  # the used code's hash stays (verify_activation)
        .execution_options(synchronize_session="fetch")
    )
    if rowcount(claimed) != 1:  # a parallel registration took it first
        session.rollback()
        raise Refused(Refusal.WRONG_CUSTOMER_DATA)
    account.customers.append(customer)
    session.commit()
    return customer.number
