"""``customers import --full``: delete the contracts and customers billing no longer lists.

A customer linked to an account is kept (the account is the person's; only the contracts go,
so eligibility follows billing). A file that would remove more than a given share of the
customers or contracts is refused, as a truncated file would. Imports idp.models and
idp.accounts.customer_file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement
from sqlalchemy import Connection
from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import select

from idp.accounts.customer_file import ImportError_
from idp.models.account import AccountCustomer
from idp.models.customer import Contract
from idp.models.customer import Customer

CUSTOMER = cast(Table, Customer.__table__)
CONTRACT = cast(Table, Contract.__table__)
LINK = cast(Table, AccountCustomer.__table__)


@dataclass(frozen=True)
class Removal:
    """What a full import removed, and the absent customers it kept (they have an account)."""

    customers_removed: int
    customers_kept: int
    contracts_removed: int


def remove_absent(
    connection: Connection, seen_customer: Table, seen_contract: Table, max_percent: float
) -> Removal:
    """Delete what the import did not see, unless that is more than ``max_percent``."""
    absent_contract = ~exists().where(seen_contract.c.id == CONTRACT.c.id)
    absent_customer = ~exists().where(seen_customer.c.number == CUSTOMER.c.number)
    linked = exists().where(LINK.c.customer_id == CUSTOMER.c.id)
    contracts = _count(connection, CONTRACT, absent_contract)
    customers = _count(connection, CUSTOMER, absent_customer, ~linked)
    kept = _count(connection, CUSTOMER, absent_customer, linked)
    _refuse_too_many(connection, contracts, customers, max_percent)
    connection.execute(delete(CONTRACT).where(absent_contract))
    connection.execute(delete(CUSTOMER).where(absent_customer, ~linked))
    return Removal(customers, kept, contracts)


def _count(connection: Connection, table: Table, *where: ColumnElement[bool]) -> int:
    return connection.scalar(select(func.count()).select_from(table).where(*where)) or 0


def _refuse_too_many(
    connection: Connection, contracts: int, customers: int, max_percent: float
) -> None:
    all_contracts = _count(connection, CONTRACT)
    all_customers = _count(connection, CUSTOMER)
    if (
        contracts * 100 > max_percent * all_contracts
        or customers * 100 > max_percent * all_customers
    ):
        raise ImportError_(
            [
                f"--full would remove {contracts} of {all_contracts} contracts and "
                f"{customers} of {all_customers} customers, more than {max_percent:g}%: "
                "is the file complete? (--max-removed PERCENT raises the limit)"
            ]
        )
