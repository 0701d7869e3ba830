"""Registration, last steps (product §3.6–§3.7): the login and password step creates the account,
and the confirmation page's own short-lived link. Services end their transaction and refuse
with ``Refused`` (idp/accounts/__init__).

Imports idp.models, idp.config, idp.mail and idp.accounts; never flask.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from idp.accounts.activation import add_account
from idp.accounts.login import find_account_by_login
from idp.accounts.passwords import Reason
from idp.accounts.passwords import check_password_policy
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.accounts.registration import MAX_SECRET
from idp.accounts.registration import account_of_customer
from idp.accounts.registration import find_link
from idp.accounts.transactions import ends_transaction
from idp.config import Settings
from idp.mail.links import login_link
from idp.mail.outbox import enqueue
from idp.models.base import DbSession
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.customer import Customer
from idp.models.registration import RegistrationRequest

DONE_SALT = "registration-done"
DONE_TTL = 3600  # the confirmation page's own link, seconds


@dataclass(frozen=True)
class Created:
    """The account exists: the registration it completed and its login."""

    request_id: int
    login: str


def open_password_step(session: DbSession, token: str, settings: Settings) -> RegistrationRequest:
    """The request when its customer was verified and the account is not created yet; raises
    Refused(DEAD_LINK) otherwise."""
    request = find_link(session, token, settings)
    if request.customer_id is None or request.verified_at is None:
        raise Refused(Refusal.DEAD_LINK)
    return request


def password_refusals(
    session: DbSession,
    request: RegistrationRequest,
    login: str,
    password: str,
    settings: Settings,
) -> list[Reason]:
    """The policy's reasons, with this registration's own words as context (product §3.6)."""
    customer = session.get(Customer, request.customer_id) if request.customer_id else None
    words = (login, request.email, customer.number if customer else "")
    return check_password_policy(password, settings, tuple(w for w in words if w))


@ends_transaction
def complete_registration(
    session: DbSession,
    token: str,
    *,
    login: str,
    password: str,
    language: str,
    settings: Settings,
) -> Created:
    """ONE transaction: the account, its link to the customer, the activation code and the
    link consumed, the "welcome" mail. Parallel creations make one account; the others are
    refused ``ALREADY_ACTIVATED`` (never a partial account). Raises Refused: DEAD_LINK,
    ALREADY_ACTIVATED, PASSWORD_REFUSED (with the policy's reasons), LOGIN_TAKEN."""
    request = open_password_step(session, token, settings)
    customer = session.get(Customer, request.customer_id)
    if customer is None:
        raise Refused(Refusal.DEAD_LINK)
    if customer.activated_at is not None:
        return _settled_meanwhile(session, request, customer, login, Refusal.ALREADY_ACTIVATED)
    reasons = password_refusals(session, request, login, password, settings)
    if reasons:
        raise Refused(Refusal.PASSWORD_REFUSED, password_reasons=reasons)
    if find_account_by_login(session, login) is not None:
        return _settled_meanwhile(session, request, customer, login, Refusal.LOGIN_TAKEN)
    try:
        return _create(session, request, customer, login, password, language, settings)
    except (Refused, IntegrityError) as exc:
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
) -> Created:
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
        raise Refused(Refusal.DEAD_LINK)
    account = add_account(
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
    session.flush()
    return Created(request_id, account.login)


def _settled_meanwhile(
    session: DbSession,
    request: RegistrationRequest,
    customer: Customer,
    login: str,
    reason: Refusal,
) -> Created:
    """The customer is activated or the login taken: by whom? Maybe by a double submission of
    this very link that committed after this request read it (seen under load: the second tap
    answered 400 "login taken"); then this request shows the same confirmation."""
    request_id, customer_id = request.id, customer.id
    session.rollback()  # nothing written yet; read what the other transaction committed
    return _lost_race(session, request_id, customer_id, login, Refused(reason))


def _lost_race(
    session: DbSession, request_id: int, customer_id: int, login: str, exc: Exception
) -> Created:
    """After a rollback: say what the other, successful, transaction did. When it used this
    very link (a double submission, a second tab), the account is the one just made."""
    request = session.get(RegistrationRequest, request_id)
    if request is not None and request.consumed_at is not None:
        made = account_of_customer(session, customer_id)
        if made is not None:
            return Created(request_id, made.login)
    customer = session.get(Customer, customer_id)
    reason = exc.reason if isinstance(exc, Refused) else None
    if reason is Refusal.LOGIN_TAKEN or (
        customer is not None
        and customer.activated_at is None
        and find_account_by_login(session, login) is not None
    ):
        raise Refused(Refusal.LOGIN_TAKEN)
    if reason is Refusal.PASSWORD_REFUSED:  # the policy changed between two reads: say it again
        raise Refused(Refusal.PASSWORD_REFUSED)
    raise Refused(Refusal.ALREADY_ACTIVATED)


def _done_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=DONE_SALT)


def done_token(settings: Settings, request_id: int) -> str:
    """A short-lived signed pointer to a completed registration (the confirmation page)."""
    return str(_done_serializer(settings).dumps(request_id))


@dataclass(frozen=True)
class Completed:
    """What the confirmation page needs: where the registration came from and the login."""

    login: str
    client_id: str | None
    return_params: list[list[str]] | None


def completed_registration(session: DbSession, token: str, settings: Settings) -> Completed:
    """The completed registration a confirmation token points to, if genuine and recent;
    raises Refused(DEAD_LINK) otherwise."""
    if not token or len(token) > MAX_SECRET:
        raise Refused(Refusal.DEAD_LINK)
    try:
        request_id = _done_serializer(settings).loads(token, max_age=DONE_TTL)
    except BadData:
        raise Refused(Refusal.DEAD_LINK) from None
    request = session.get(RegistrationRequest, request_id) if isinstance(request_id, int) else None
    if request is None or request.consumed_at is None or request.customer_id is None:
        raise Refused(Refusal.DEAD_LINK)
    account = account_of_customer(session, request.customer_id)
    if account is None:
        raise Refused(Refusal.DEAD_LINK)
    return Completed(account.login, request.client_id, request.return_params)
