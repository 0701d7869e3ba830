"""compute_eligibility (product §4) on plain model objects: no database, "today" in the supplier's
time zone, contracts valid on [start, end)."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest

from idp.accounts.eligibility import ACCOUNT_DISABLED
from idp.accounts.eligibility import NO_ACTIVE_CONTRACT
from idp.accounts.eligibility import NO_CUSTOMER_LINKED
from idp.accounts.eligibility import compute_eligibility
from idp.models.account import ACTIVE
from idp.models.account import DISABLED
from idp.models.account import LOCKED
from idp.models.account import Account
from idp.models.customer import Contract
from idp.models.customer import Customer

BRUSSELS = "Europe/Brussels"
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
TODAY = date(2026, 3, 15)


def contract(
    status: str = "active", start: date = date(2024, 1, 1), end: date | None = None
) -> Contract:
    """A contract object, never stored."""
    return Contract(
        id=f"EL-{status}-{start}-{end}",
        energy="electricity",
        status=status,
        start_date=start,
        end_date=end,
    )


def account(*contracts: Contract, status: str = ACTIVE, customers: int = 1) -> Account:
    """An account linked to ``customers`` customers; the first one holds the contracts."""
    linked = [
        Customer(
            number=f"200000{i:04d}",
            holder_name="Test",
            language="fr",
            contracts=list(contracts) if i == 0 else [],
        )
        for i in range(customers)
    ]
    return Account(
        login="t@example.be",
        email="t@example.be",
        password_hash="x",
        status=status,
        customers=linked,
    )


def second_customer_active() -> Account:
    """Two customers: the first one's contract ended, the second one's is active."""
    acc = account(contract("ended", date(2019, 1, 1), date(2020, 1, 1)), customers=2)
    acc.customers[1].contracts.append(contract(start=date(2025, 6, 1)))
    return acc


CASES = [
    ("no-customer", account(customers=0), False, NO_CUSTOMER_LINKED),
    ("customer-without-contract", account(), False, NO_ACTIVE_CONTRACT),
    ("active-open-ended", account(contract()), True, None),
    ("active-ends-later", account(contract(end=date(2026, 3, 16))), True, None),
    ("starts-today", account(contract(start=TODAY)), True, None),
    (
        "ended-status",
        account(contract("ended", date(2019, 3, 1), date(2025, 6, 30))),
        False,
        NO_ACTIVE_CONTRACT,
    ),
    (
        "active-status-but-end-passed",
        account(contract(end=date(2026, 3, 1))),
        False,
        NO_ACTIVE_CONTRACT,
    ),
    ("end-date-is-today", account(contract(end=TODAY)), False, NO_ACTIVE_CONTRACT),
    ("future-contract", account(contract(start=date(2026, 3, 16))), False, NO_ACTIVE_CONTRACT),
    ("pending-status", account(contract("pending")), False, NO_ACTIVE_CONTRACT),
    ("cancelled-status", account(contract("cancelled")), False, NO_ACTIVE_CONTRACT),
    (
        "one-active-among-ended",
        account(
            contract("ended", date(2019, 1, 1), date(2020, 1, 1)), contract(start=date(2025, 1, 1))
        ),
        True,
        None,
    ),
    ("second-customer-active", second_customer_active(), True, None),
    (
        "disabled-account-with-active-contract",
        account(contract(), status=DISABLED),
        False,
        ACCOUNT_DISABLED,
    ),
    (
        "locked-account-with-active-contract",
        account(contract(), status=LOCKED),
        False,
        ACCOUNT_DISABLED,
    ),
    (
        "disabled-account-without-customer",
        account(status=DISABLED, customers=0),
        False,
        ACCOUNT_DISABLED,
    ),
]


@pytest.mark.parametrize(("case_id", "acc", "eligible", "reason"), CASES, ids=[c[0] for c in CASES])
def test_compute_eligibility(case_id, acc, eligible, reason):
    result = compute_eligibility(acc, NOW, BRUSSELS)
    assert (result.eligible, result.reason) == (eligible, reason)
    assert result.checked_at == int(NOW.timestamp())


def test_claim_value():
    claim = compute_eligibility(account(contract()), NOW, BRUSSELS).as_claim()
    assert claim == {"eligible": True, "reason": None, "checked_at": int(NOW.timestamp())}


# 23:30 UTC on 31 January is 00:30 on 1 February in Brussels (UTC+1 in winter).
LATE_31ST = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "eligible"), [(BRUSSELS, True), ("UTC", False)], ids=["brussels", "utc"]
)
def test_contract_starting_on_the_1st_is_active_at_2330_utc_on_the_31st(zone, eligible):
    acc = account(contract(start=date(2026, 2, 1)))
    assert compute_eligibility(acc, LATE_31ST, zone).eligible is eligible


@pytest.mark.parametrize(
    ("zone", "eligible"), [(BRUSSELS, False), ("UTC", True)], ids=["brussels", "utc"]
)
def test_contract_ending_on_the_1st_is_over_at_2330_utc_on_the_31st(zone, eligible):
    acc = account(contract(start=date(2025, 1, 1), end=date(2026, 2, 1)))
    assert compute_eligibility(acc, LATE_31ST, zone).eligible is eligible


def test_summer_time_edge():
    """22:30 UTC on 30 June is already 1 July in Brussels (UTC+2 in summer)."""
    acc = account(contract(start=date(2026, 7, 1)))
    assert compute_eligibility(acc, datetime(2026, 6, 30, 22, 30, tzinfo=UTC), BRUSSELS).eligible
    assert not compute_eligibility(
        acc, datetime(2026, 6, 30, 21, 30, tzinfo=UTC), BRUSSELS
    ).eligible
