"""Customer numbers and activation codes: normalisation, format and verification.

Imports idp.models and idp.accounts.passwords.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts.login import find_account_by_login
from idp.accounts.passwords import check_password_policy
from idp.accounts.passwords import hash_password
from idp.config import Settings
from idp.models.account import Account
from idp.models.account import normalise_login
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
    """SPEC §2: 10 digits, the first one 2 (ASCII digits only)."""
    return bool(CUSTOMER_NUMBER.fullmatch(value))


def normalise_activation_code(raw: str) -> str:
    """Activation codes are printed in groups; separators are ignored."""
    return _SEPARATORS.sub("", raw or "")


def is_activation_code(value: str) -> bool:
    """SPEC §2: exactly 10 ASCII digits."""
    return bool(ACTIVATION_CODE.fullmatch(value))


class AccountCreationError(ValueError):
    """The account cannot be created; ``reason`` is a stable key for messages."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


def create_account(
    session: Session,
    *,
    login: str,
    email: str,
    password: str,
    customer_number: str,
    language: str | None,
    settings: Settings,
) -> Account:
    """Create an account linked to the customer, consuming its activation code (caller commits).

    Refuses a customer that already has an account, a taken login and a refused password.
    """
    number = normalise_customer_number(customer_number)
    customer = session.scalar(select(Customer).where(Customer.number == number))
    if customer is None:
        raise AccountCreationError("unknown_customer", f"no customer {number}")
    if customer.activated_at is not None:
        raise AccountCreationError("customer_already_activated", "customer already has an account")
    if find_account_by_login(session, login) is not None:
        raise AccountCreationError("login_taken", "this login is already in use")
    reasons = check_password_policy(password, settings, (login, email, number))
    if reasons:
        raise AccountCreationError("password_refused", ", ".join(r.value for r in reasons))
    account = Account(
        login=normalise_login(login),
        email=email.strip(),
        email_verified=True,
        password_hash=hash_password(password, settings),
        language=language or customer.language,
    )
    account.customers.append(customer)
    customer.activated_at = utcnow()
    customer.activation_code_hash = None
    session.add(account)
    session.flush()
    return account
