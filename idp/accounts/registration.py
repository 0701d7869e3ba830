"""Registration, first steps (product §3.3–§3.5): the e-mail step, the activation link and the
customer-data step. The password step and the account are idp/accounts/account_creation.py.
Services end their transaction and refuse with ``Refused`` (idp/accounts/__init__).

The link is ``/register/<token>``: an itsdangerous token (salt ``registration``, so no other
signed value of ours is accepted) carrying a random secret whose SHA-256 is the
``RegistrationRequest`` row. The row decides: 3 days, at most 3 uses, dead once the account
exists. A *use* is a checked submission of the customer-data page, counted by a conditional
UPDATE; opening the link (a mail scanner's GET or HEAD) counts nothing.

Imports idp.models, idp.config, idp.mail and idp.accounts; never flask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from idp.accounts.activation import normalise_customer_number
from idp.accounts.activation import verify_activation
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.config import Settings
from idp.mail.links import absolute
from idp.mail.links import login_link
from idp.mail.links import reset_link
from idp.mail.outbox import enqueue
from idp.models.account import Account
from idp.models.account import AccountCustomer
from idp.models.account import normalise_email
from idp.models.base import DbSession
from idp.models.base import random_token
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.customer import Customer
from idp.models.registration import RegistrationRequest

LINK_SALT = "registration"
MAX_SECRET = 512  # a token longer than this is not one of ours; refuse before any work
ACCOUNTS_PER_ADDRESS = 5  # "account exists" mails at most, for an address shared by accounts


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=salt)


def link_token(settings: Settings, secret: str) -> str:
    """The signed token of the activation link for ``secret``."""
    return str(_serializer(settings, LINK_SALT).dumps(secret))


def link_url(settings: Settings, token: str) -> str:
    """The absolute activation link (from the issuer, never the request's Host)."""
    return absolute(settings, f"/register/{token}")


def _secret_of(token: str, settings: Settings) -> str | None:
    if not token or len(token) > MAX_SECRET:
        return None
    try:
        secret = _serializer(settings, LINK_SALT).loads(
            token, max_age=settings.registration_link_ttl
        )
    except BadData:
        return None
    return secret if isinstance(secret, str) else None


def accounts_for_email(session: DbSession, email: str) -> list[Account]:
    """Accounts whose verified e-mail is this address (compared without regard to case)."""
    return list(
        session.scalars(
            select(Account)
            .where(func.lower(Account.email) == normalise_email(email))
            .order_by(Account.id)
            .limit(ACCOUNTS_PER_ADDRESS)
        )
    )


def start_registration(
    session: DbSession,
    email: str,
    *,
    language: str,
    settings: Settings,
    client_id: str | None = None,
    return_params: list[list[str]] | None = None,
) -> None:
    """The e-mail step. An address with an account gets "account_exists" (login and reset
    links); any other gets an activation link. The caller's answer is the same either way."""
    accounts = accounts_for_email(session, email)
    for account in accounts:
        enqueue(
            session,
            to=email,
            template="account_exists",
            language=language,
            context=account_links(settings, account),
        )
    if not accounts:
        secret, now = random_token(32), utcnow()
        session.add(
            RegistrationRequest(
                email=email,
                secret_hash=token_hash(secret),
                language=language,
                created_at=now,
                expires_at=now + timedelta(seconds=settings.registration_link_ttl),
                client_id=client_id,
                return_params=return_params,
            )
        )
        # Delivery adds the "view online" link (it needs the outbox id).
        enqueue(
            session,
            to=email,
            template="activation",
            language=language,
            context={"link": link_url(settings, link_token(settings, secret))},
        )
    session.commit()


def account_links(settings: Settings, account: Account) -> dict[str, str]:
    """What a mail about an existing account offers: its login, a login link, a reset link."""
    return {
        "login": account.login,
        "login_link": login_link(settings, account.login),
        "reset_link": reset_link(settings),
    }


def find_link(session: DbSession, token: str, settings: Settings) -> RegistrationRequest:
    """The request behind a genuine, unexpired, unconsumed link (whatever its uses); raises
    Refused(DEAD_LINK) otherwise."""
    secret = _secret_of(token, settings)
    request = (
        session.scalar(
            select(RegistrationRequest).where(RegistrationRequest.secret_hash == token_hash(secret))
        )
        if secret is not None
        else None
    )
    if request is None or request.consumed_at is not None or utcnow() >= request.expires_at:
        raise Refused(Refusal.DEAD_LINK)
    return request


def open_link(session: DbSession, token: str, settings: Settings) -> RegistrationRequest:
    """The request when its customer-data page may still be submitted; counts nothing.
    Raises Refused(DEAD_LINK) otherwise."""
    request = find_link(session, token, settings)
    if request.uses >= settings.registration_link_max_uses:
        raise Refused(Refusal.DEAD_LINK)
    return request


def count_use(session: DbSession, request_id: int, settings: Settings) -> int | None:
    """Take one use atomically (``uses = uses + 1 WHERE uses < max``); the uses left, or
    None when none was left (parallel submissions never count past the maximum)."""
    uses = session.execute(
        update(RegistrationRequest)
        .where(
            RegistrationRequest.id == request_id,
            RegistrationRequest.uses < settings.registration_link_max_uses,
            RegistrationRequest.consumed_at.is_(None),
            RegistrationRequest.expires_at > utcnow(),
        )
        .values(uses=RegistrationRequest.uses + 1)
        .returning(RegistrationRequest.uses)
        .execution_options(synchronize_session=False)
    ).scalar()
    return None if uses is None else settings.registration_link_max_uses - uses


@dataclass(frozen=True)
class Verified:
    """The customer data were proven: the request, the moment (a timestamp the password step
    checks) and the submissions the link has left."""

    request_id: int
    verified_at: int
    uses_left: int


def submit_customer_data(
    session: DbSession,
    token: str,
    customer_number: str,
    code: str,
    settings: Settings,
    may_mail: Callable[[str], bool] = lambda address: True,
) -> Verified:
    """One use of the link: check the customer number and activation code (formats already
    checked by the caller) and commit the use. A verified customer is remembered on the
    request. Raises Refused: DEAD_LINK; WRONG_CUSTOMER_DATA, LOCKED or ALREADY_ACTIVATED with
    ``uses_left`` (the attempt is committed). The owner of an already-activated customer is
    told by mail, when ``may_mail`` allows that address."""
    request = open_link(session, token, settings)
    uses_left = count_use(session, request.id, settings)
    if uses_left is None:
        session.rollback()
        raise Refused(Refusal.DEAD_LINK)
    try:
        customer = verify_activation(session, customer_number, code, settings)
    except Refused as refused:
        if refused.reason is Refusal.ALREADY_ACTIVATED:
            _tell_owner(session, customer_number, settings, may_mail)
        session.commit()
        raise Refused(refused.reason, uses_left=uses_left) from None
    request.customer_id, request.verified_at = customer.id, utcnow()
    verified = Verified(request.id, int(request.verified_at.timestamp()), uses_left)
    session.commit()
    return verified


def account_of_customer(session: DbSession, customer_id: int) -> Account | None:
    """The account linked to a customer, if one exists."""
    return session.scalar(
        select(Account)
        .join(AccountCustomer, AccountCustomer.account_id == Account.id)
        .where(AccountCustomer.customer_id == customer_id)
    )


def _tell_owner(
    session: DbSession, customer_number: str, settings: Settings, may_mail: Callable[[str], bool]
) -> None:
    number = normalise_customer_number(customer_number)
    customer_id = session.scalar(select(Customer.id).where(Customer.number == number))
    owner = account_of_customer(session, customer_id) if customer_id is not None else None
    if owner is not None and may_mail(owner.email):
        enqueue(
            session,
            to=owner.email,
            template="customer_already_activated",
            language=owner.language,
            context=account_links(settings, owner),
        )
