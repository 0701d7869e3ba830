"""Customer numbers and activation codes: normalisation, format, verification with lockout,
and the creation of an account for a customer (product §2, §3.5, §3.6).

Imports idp.models, idp.config, idp.activation_keys and idp.accounts.{login,passwords,
activation_codes,refusals}.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy import update

from idp.accounts.activation_codes import code_matches
from idp.accounts.activation_codes import spend_equal_time
from idp.accounts.login import find_account_by_login
from idp.accounts.passwords import check_password_policy
from idp.accounts.passwords import hash_password
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.accounts.transactions import ends_transaction
from idp.activation_keys import load_activation_keys
from idp.config import Settings
from idp.models.account import Account
from idp.models.account import normalise_login
from idp.models.base import DbSession
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.customer import Customer

# [0-9], not \d: \d also matches Arabic-Indic, fullwidth and other Unicode digits.
CUSTOMER_NUMBER = re.compile(r"^2[0-9]{9}$")
ACTIVATION_CODE = re.compile(r"^[0-9]{10}$")
_SEPARATORS = re.compile(r"[\s./\-]")


def normalise_customer_number(raw: str) -> str:
    """Strip the spaces, dots, slashes and dashes people type (``2 000.000/018``)."""
    return _SEPARATORS.sub("", raw or "")


def is_customer_number(value: str) -> bool:
    """product §2: 10 digits, the first one 2 (ASCII digits only)."""
    return bool(CUSTOMER_NUMBER.fullmatch(value))


def normalise_activation_code(raw: str) -> str:
    """Activation codes are printed in groups; separators are ignored."""
    return _SEPARATORS.sub("", raw or "")


def is_activation_code(value: str) -> bool:
    """product §2: exactly 10 ASCII digits."""
    return bool(ACTIVATION_CODE.fullmatch(value))


def verify_activation(
    session: DbSession, customer_number: str, code: str, settings: Settings
) -> Customer:
    """The customer a number and activation code prove; raises Refused (WRONG_CUSTOMER_DATA,
    LOCKED, ALREADY_ACTIVATED). Part of the caller's transaction, which must commit the
    counted attempt even when this refuses.

    Every check of a code first takes one attempt with a conditional UPDATE, so parallel
    guesses never exceed ``activation_max_failures``; a right code gives the attempts back.
    Past the limit the code is locked (``activation_locked_at``) until billing re-imports it,
    and LOCKED is said only to the caller: the page says the one generic mismatch (issue #8
    finding 2), and a locked code stays locked even when the right code is typed.

    ALREADY_ACTIVATED needs the right code too: an activated customer keeps the keyed hash of
    its used code (void: ``activated_at`` forbids a second account) so that whoever holds the
    invoice, and only they, hears "this customer already has an account". Every path does the
    same work whatever the number: one conditional UPDATE, one SELECT, one keyed hash (OWASP
    ASVS 5.0 V6.3.8: no enumeration by answer or by time).
    """
    number = normalise_customer_number(customer_number)
    code = normalise_activation_code(code)
    keyring = load_activation_keys(settings.path(settings.keys_dir))
    taken = _take_attempt(session, number, settings)
    customer = session.scalar(select(Customer).where(Customer.number == number))
    stored = customer.activation_code_hash if customer is not None else None
    if customer is None or stored is None:
        spend_equal_time(keyring, number, code)
        raise Refused(Refusal.WRONG_CUSTOMER_DATA)
    if taken is None:
        spend_equal_time(keyring, number, code)
        customer.activation_locked_at = customer.activation_locked_at or utcnow()
        raise Refused(Refusal.LOCKED)
    if not code_matches(keyring, stored, number, code, settings):
        if taken >= settings.activation_max_failures:
            customer.activation_locked_at = customer.activation_locked_at or utcnow()
        raise Refused(Refusal.WRONG_CUSTOMER_DATA)
    customer.failed_activations = 0
    if customer.activated_at is not None:
        raise Refused(Refusal.ALREADY_ACTIVATED)
    return customer


def _take_attempt(session: DbSession, number: str, settings: Settings) -> int | None:
    """Count one failure in advance, atomically, for a customer that has a code; the failures
    counted now, or None when the code is locked (or there is no such code): the same
    statement whether or not the number exists."""
    taken: int | None = session.execute(
        update(Customer)
        .where(
            Customer.number == number,
            Customer.activation_code_hash.is_not(None),
            Customer.failed_activations < settings.activation_max_failures,
        )
        .values(failed_activations=Customer.failed_activations + 1)
        .returning(Customer.failed_activations)
        .execution_options(synchronize_session="fetch")
    ).scalar()
    return taken


def add_account(
    session: DbSession,
    *,
    login: str,
    email: str,
    password: str,
    customer_number: str,
    language: str | None,
    settings: Settings,
) -> Account:
    """Add an account linked to the customer, consuming its activation code (part of the
    caller's transaction).

    Raises Refused: UNKNOWN_CUSTOMER, ALREADY_ACTIVATED, LOGIN_TAKEN, PASSWORD_REFUSED.
    Two parallel creations for one customer make one account: the customer is claimed with a
    conditional UPDATE (the loser gets ALREADY_ACTIVATED), and the unique
    ``account_customer.customer_id`` is the last line (an IntegrityError at flush, for the
    caller to roll back).
    """
    number = normalise_customer_number(customer_number)
    customer = session.scalar(select(Customer).where(Customer.number == number))
    if customer is None:
        raise Refused(Refusal.UNKNOWN_CUSTOMER, detail=f"no customer {number}")
    if customer.activated_at is not None:
        raise Refused(Refusal.ALREADY_ACTIVATED, detail="customer already has an account")
    if find_account_by_login(session, login) is not None:
        raise Refused(Refusal.LOGIN_TAKEN, detail="this login is already in use")
    reasons = check_password_policy(password, settings, (login, email, number))
    if reasons:
        raise Refused(Refusal.PASSWORD_REFUSED, password_reasons=reasons)
    claimed = session.execute(
        update(Customer)
        .where(Customer.id == customer.id, Customer.activated_at.is_(None))
        .values(activated_at=utcnow())  # the code's hash stays: see verify_activation
        .execution_options(synchronize_session="fetch")
    )
    if rowcount(claimed) != 1:
        raise Refused(Refusal.ALREADY_ACTIVATED, detail="customer already has an account")
    account = Account(
        login=normalise_login(login),
        email=email.strip(),
        email_verified=True,
        password_hash=hash_password(password, settings),
        language=language or customer.language,
    )
    account.customers.append(customer)
    session.add(account)
    session.flush()
    return account


create_account = ends_transaction(add_account)
"""Create an account for a customer and commit it (the ``accounts create`` command, the demo
data); raises Refused, nothing written, as ``add_account`` does."""
