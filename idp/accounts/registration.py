"""Registration (SPEC §3.3–§3.7): the e-mail step, the activation link, the customer-data
step and the creation of the account. Each public call commits at most once, its mails in the
same commit (the outbox).

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
from dataclasses import field
from datetime import timedelta
from enum import StrEnum

from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from idp.accounts.activation import AccountCreationError
from idp.accounts.activation import Verification
from idp.accounts.activation import create_account
from idp.accounts.activation import verify_activation
from idp.accounts.login import find_account_by_login
from idp.accounts.passwords import Reason
from idp.accounts.passwords import check_password_policy
from idp.config import Settings
from idp.mail.links import absolute
from idp.mail.links import login_link
from idp.mail.links import reset_link
from idp.mail.outbox import enqueue
from idp.models.account import Account
from idp.models.account import AccountCustomer
from idp.models.base import DbSession
from idp.models.base import random_token
from idp.models.base import rowcount
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.customer import Customer
from idp.models.registration import RegistrationRequest

LINK_SALT = "registration"
DONE_SALT = "registration-done"
DONE_TTL = 3600  # the confirmation page's own link, seconds
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
            .where(func.lower(Account.email) == email.strip().lower())
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
            context=_account_links(settings, account),
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


def _account_links(settings: Settings, account: Account) -> dict[str, str]:
    return {
        "login": account.login,
        "login_link": login_link(settings, account.login),
        "reset_link": reset_link(settings),
    }


def find_link(session: DbSession, token: str, settings: Settings) -> RegistrationRequest | None:
    """The request behind a genuine, unexpired, unconsumed link (whatever its uses)."""
    secret = _secret_of(token, settings)
    if secret is None:
        return None
    request = session.scalar(
        select(RegistrationRequest).where(RegistrationRequest.secret_hash == token_hash(secret))
    )
    if request is None or request.consumed_at is not None or utcnow() >= request.expires_at:
        return None
    return request


def open_link(session: DbSession, token: str, settings: Settings) -> RegistrationRequest | None:
    """The request when its customer-data page may still be submitted; counts nothing."""
    request = find_link(session, token, settings)
    if request is None or request.uses >= settings.registration_link_max_uses:
        return None
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


class Step(StrEnum):
    """Where a submission of the registration pages leads."""

    DEAD_LINK = "dead_link"
    WRONG = "wrong"
    LOCKED = "locked"
    ALREADY_ACTIVATED = "already_activated"
    VERIFIED = "verified"
    PASSWORD_REFUSED = "password_refused"
    LOGIN_TAKEN = "login_taken"
    CREATED = "created"


@dataclass(frozen=True)
class StepResult:
    """The outcome, the uses the link has left, and what the next page needs."""

    step: Step
    uses_left: int = 0
    request_id: int | None = None
    verified_at: int | None = None
    login: str | None = None
    reasons: list[Reason] = field(default_factory=list)


def submit_customer_data(
    session: DbSession,
    token: str,
    customer_number: str,
    code: str,
    settings: Settings,
    may_mail: Callable[[str], bool] = lambda address: True,
) -> StepResult:
    """One use of the link: check the customer number and activation code (formats already
    checked by the caller). A verified customer is remembered on the request. The owner of an
    already-activated customer is told by mail (when ``may_mail`` allows that address)."""
    request = open_link(session, token, settings)
    if request is None:
        return StepResult(Step.DEAD_LINK)
    uses_left = count_use(session, request.id, settings)
    if uses_left is None:
        session.rollback()
        return StepResult(Step.DEAD_LINK)
    check = verify_activation(session, customer_number, code, settings)
    result = StepResult(Step(check.outcome.value), uses_left, request.id)
    if check.outcome is Verification.VERIFIED and check.customer is not None:
        request.customer_id, request.verified_at = check.customer.id, utcnow()
        result = StepResult(
            Step.VERIFIED, uses_left, request.id, int(request.verified_at.timestamp())
        )
    elif check.outcome is Verification.ALREADY_ACTIVATED and check.customer is not None:
        _tell_owner(session, check.customer, settings, may_mail)
    session.commit()
    return result


def _tell_owner(
    session: DbSession, customer: Customer, settings: Settings, may_mail: Callable[[str], bool]
) -> None:
    owner = session.scalar(
        select(Account)
        .join(AccountCustomer, AccountCustomer.account_id == Account.id)
        .where(AccountCustomer.customer_id == customer.id)
    )
    if owner is not None and may_mail(owner.email):
        enqueue(
            session,
            to=owner.email,
            template="customer_already_activated",
            language=owner.language,
            context=_account_links(settings, owner),
        )


def open_password_step(
    session: DbSession, token: str, settings: Settings
) -> RegistrationRequest | None:
    """The request when its customer was verified and the account is not created yet."""
    request = find_link(session, token, settings)
    if request is None or request.customer_id is None or request.verified_at is None:
        return None
    return request


def password_refusals(
    session: DbSession,
    request: RegistrationRequest,
    login: str,
    password: str,
    settings: Settings,
) -> list[Reason]:
    """The policy's reasons, with this registration's own words as context (SPEC §3.6)."""
    customer = session.get(Customer, request.customer_id) if request.customer_id else None
    words = (login, request.email, customer.number if customer else "")
    return check_password_policy(password, settings, tuple(w for w in words if w))


def complete_registration(
    session: DbSession,
    token: str,
    *,
    login: str,
    password: str,
    language: str,
    settings: Settings,
) -> StepResult:
    """ONE transaction: the account, its link to the customer, the activation code and the
    link consumed, the "welcome" mail. Parallel creations make one account; the others get
    ``ALREADY_ACTIVATED`` (never a partial account)."""
    request = open_password_step(session, token, settings)
    if request is None:
        return StepResult(Step.DEAD_LINK)
    customer = session.get(Customer, request.customer_id)
    if customer is None:
        return StepResult(Step.DEAD_LINK)
    if customer.activated_at is not None:
        return StepResult(Step.ALREADY_ACTIVATED, request_id=request.id)
    reasons = password_refusals(session, request, login, password, settings)
    if reasons:
        return StepResult(Step.PASSWORD_REFUSED, request_id=request.id, reasons=reasons)
    if find_account_by_login(session, login) is not None:
        return StepResult(Step.LOGIN_TAKEN, request_id=request.id)
    try:
        return _create(session, request, customer, login, password, language, settings)
    except (AccountCreationError, IntegrityError) as exc:
        session.rollback()
        return _lost_race(session, request.id, customer.id, login, exc)


def _create(
    session: DbSession,
    request: RegistrationRequest,
    customer: Customer,
    login: str,
    password: str,
    language: str,
    settings: Settings,
) -> StepResult:
    request_id, email, number = request.id, request.email, customer.number
    claimed = session.execute(
        update(RegistrationRequest)
        .where(
            RegistrationRequest.id == request_id,
            RegistrationRequest.consumed_at.is_(None),
            RegistrationRequest.customer_id == customer.id,
        )
        .values(consumed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1:
        raise AccountCreationError("link_consumed")
    account = create_account(
        session,
        login=login,
        email=email,
        password=password,
        customer_number=number,
        language=language,
        settings=settings,
    )
    enqueue(
        session,
        to=email,
        template="welcome",
        language=account.language,
        context={"login": account.login, "login_link": login_link(settings, account.login)},
    )
    session.commit()
    return StepResult(Step.CREATED, request_id=request_id, login=account.login)


def _lost_race(
    session: DbSession, request_id: int, customer_id: int, login: str, exc: Exception
) -> StepResult:
    """After a rollback: say what the other, successful, transaction did. When it used this
    very link (a double submission, a second tab), the account is the one just made."""
    request = session.get(RegistrationRequest, request_id)
    if request is not None and request.consumed_at is not None:
        made = session.scalar(
            select(Account)
            .join(AccountCustomer, AccountCustomer.account_id == Account.id)
            .where(AccountCustomer.customer_id == customer_id)
        )
        if made is not None:
            return StepResult(Step.CREATED, request_id=request_id, login=made.login)
    customer = session.get(Customer, customer_id)
    reason = getattr(exc, "reason", "")
    if reason == "login_taken" or (
        customer is not None
        and customer.activated_at is None
        and find_account_by_login(session, login) is not None
    ):
        return StepResult(Step.LOGIN_TAKEN, request_id=request_id)
    if reason == "password_refused":  # the policy changed between two reads: say it again
        return StepResult(Step.PASSWORD_REFUSED, request_id=request_id)
    return StepResult(Step.ALREADY_ACTIVATED, request_id=request_id)


def done_token(settings: Settings, request_id: int) -> str:
    """A short-lived signed pointer to a completed registration (the confirmation page)."""
    return str(_serializer(settings, DONE_SALT).dumps(request_id))


@dataclass(frozen=True)
class Completed:
    """What the confirmation page needs: where the registration came from and the login."""

    login: str
    client_id: str | None
    return_params: list[list[str]] | None


def completed_registration(session: DbSession, token: str, settings: Settings) -> Completed | None:
    """The completed registration a confirmation token points to, if genuine and recent."""
    if not token or len(token) > MAX_SECRET:
        return None
    try:
        request_id = _serializer(settings, DONE_SALT).loads(token, max_age=DONE_TTL)
    except BadData:
        return None
    request = session.get(RegistrationRequest, request_id) if isinstance(request_id, int) else None
    if request is None or request.consumed_at is None or request.customer_id is None:
        return None
    account = session.scalar(
        select(Account)
        .join(AccountCustomer, AccountCustomer.account_id == Account.id)
        .where(AccountCustomer.customer_id == request.customer_id)
    )
    if account is None:
        return None
    return Completed(account.login, request.client_id, request.return_params)
