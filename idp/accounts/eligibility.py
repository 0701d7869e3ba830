"""The Smart App's active-contract check (product §4): pure, over an Account or the plain rows
of ``idp.models.token_rows`` (one implementation for ID tokens, userinfo and the account page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from idp.models.account import ACTIVE
from idp.models.customer import ContractTerms
from idp.models.customer import is_active_on

NO_CUSTOMER_LINKED = "no_customer_linked"
NO_ACTIVE_CONTRACT = "no_active_contract"
ACCOUNT_DISABLED = "account_disabled"


class HasContracts(Protocol):
    """A linked customer: its contracts."""

    @property
    def contracts(self) -> Sequence[ContractTerms]: ...


class EligibilitySubject(Protocol):
    """An account: its status and linked customers."""

    @property
    def status(self) -> str: ...
    @property
    def customers(self) -> Sequence[HasContracts]: ...


@dataclass(frozen=True)
class Eligibility:
    """Whether the account may use the app, why not, and when this was computed."""

    eligible: bool
    reason: str | None
    checked_at: int

    def as_claim(self) -> dict[str, object]:
        """The JSON value of the ``eligibility`` claim."""
        return {"eligible": self.eligible, "reason": self.reason, "checked_at": self.checked_at}


def compute_eligibility(account: EligibilitySubject, now: datetime, timezone: str) -> Eligibility:
    """Eligible when the account is active and a linked customer has an active contract.

    Contract dates are calendar dates of the supplier, so "today" is taken in ``timezone``.
    """
    checked_at = int(now.timestamp())
    if account.status != ACTIVE:
        return Eligibility(False, ACCOUNT_DISABLED, checked_at)
    if not account.customers:
        return Eligibility(False, NO_CUSTOMER_LINKED, checked_at)
    today = now.astimezone(ZoneInfo(timezone)).date()
    if not any(
        is_active_on(c, today) for customer in account.customers for c in customer.contracts
    ):
        return Eligibility(False, NO_ACTIVE_CONTRACT, checked_at)
    return Eligibility(True, None, checked_at)
