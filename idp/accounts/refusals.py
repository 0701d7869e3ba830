"""How account services say no: ``Refused`` carrying a ``Refusal`` (see idp/accounts/__init__).

Imports idp.accounts.passwords (the policy's reasons) only.
"""

from __future__ import annotations

from enum import StrEnum

from idp.accounts.passwords import Reason


class Refusal(StrEnum):
    """Every reason an account service refuses; the value is a stable key for messages."""

    BAD_CREDENTIALS = "bad_credentials"  # login: one answer whatever was wrong
    DEAD_LINK = "dead_link"  # forged, expired, used up, superseded or already used
    WRONG_CUSTOMER_DATA = "wrong"  # unknown number, wrong code, or no code: one answer
    LOCKED = "locked"  # too many wrong activation codes
    UNKNOWN_CUSTOMER = "unknown_customer"
    ALREADY_ACTIVATED = "customer_already_activated"
    LOGIN_TAKEN = "login_taken"
    PASSWORD_REFUSED = "password_refused"
    SAME_EMAIL = "same_email"  # the account page: the address is already the account's
    ALREADY_LINKED = "already_linked"  # the account page: the customer is this account's
    INVALID_IMPORT = "invalid_import"  # a customer file with errors; nothing imported


class Refused(Exception):
    """A service refused. ``reason`` says why; the other fields are there when they apply.

    ``password_reasons``: what the password policy objects to (``PASSWORD_REFUSED``).
    ``uses_left``: submissions the registration link still allows (customer-data step).
    ``errors``: one line per problem (``INVALID_IMPORT``).
    """

    def __init__(
        self,
        reason: Refusal,
        *,
        password_reasons: list[Reason] | None = None,
        uses_left: int | None = None,
        errors: list[str] | None = None,
        detail: str = "",
    ):
        self.reason = reason
        self.password_reasons = list(password_reasons or [])
        self.uses_left = uses_left
        self.errors = list(errors or [])
        detail = detail or ", ".join(r.value for r in self.password_reasons)
        super().__init__(detail or "\n".join(self.errors) or reason.value)

    def __repr__(self) -> str:
        return f"Refused({self.reason.value!r}, {str(self)!r})"
