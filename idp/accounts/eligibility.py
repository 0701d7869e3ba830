"""The Smart App's active-contract check (product §4): pure, no I/O beyond reading models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from idp.models.account import ACTIVE
from idp.models.account import Account

NO_CUSTOMER_LINKED = "no_customer_linked"
NO_ACTIVE_CONTRACT = "no_active_contract"
ACCOUNT_DISABLED = "account_disabled"


@dataclass(frozen=True)
class Eligibility:
    """Whether the account may use the app, why not, and when this was computed."""

    eligible: bool
    reason: str | None
    checked_at: int

    def as_claim(self) -> dict[str, object]:
        """The JSON value of the ``eligibility`` claim."""
        return {"eligible": self.eligible, "reason": self.reason, "checked_at": self.checked_at}


def compute_eligibility(account: Account, now: datetime, timezone: str) -> Eligibility:
    """Eligible when the account is active and a linked customer has an active contract.

    Contract dates are calendar dates of the supplier, so "today" is taken in ``timezone``.
    """
    checked_at = int(now.timestamp())
    if account.status != ACTIVE:
        return Eligibility(False, ACCOUNT_DISABLED, checked_at)
    if not account.customers:
        return Eligibility(False, NO_CUSTOMER_LINKED, checked_at)
    today = now.astimezone(ZoneInfo(timezone)).date()
    if not any(customer.has_active_contract(today) for customer in account.customers):
        return Eligibility(False, NO_ACTIVE_CONTRACT, checked_at)
    return Eligibility(True, None, checked_at)
