"""What one import has seen so far: the customers and contracts of the file, in temporary
tables private to the importing connection (bounded memory, whatever the file's size).

They serve the checks that span batches — a customer whose lines disagree, a contract listed
twice — made once, set-based, at the end of the file, and ``--full``'s "absent from the file".
Imports sqlalchemy, idp.models.bulk and idp.accounts.customer_file.
"""

from __future__ import annotations

from sqlalchemy import Column
from sqlalchemy import Connection
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import func
from sqlalchemy import select

from idp.accounts.customer_file import MAX_LISTED_ERRORS
from idp.accounts.customer_file import Errors
from idp.models.bulk import among
from idp.models.bulk import insert_rows

_SEEN = MetaData()
SEEN_CUSTOMER = Table(
    "import_seen_customer",
    _SEEN,
    Column("number", String(10), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    prefixes=["TEMPORARY"],
)
SEEN_CONTRACT = Table(
    "import_seen_contract",
    _SEEN,
    Column("id", String(64), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


def start(connection: Connection) -> None:
    """Create the tables (or empty those a failed import left on this connection)."""
    for table in (SEEN_CUSTOMER, SEEN_CONTRACT):
        table.create(connection, checkfirst=True)
        connection.execute(table.delete())


def finish(connection: Connection) -> None:
    """Drop the tables."""
    for table in (SEEN_CUSTOMER, SEEN_CONTRACT):
        table.drop(connection)


def record(
    connection: Connection,
    customers: list[tuple[str, int, str]],
    contracts: list[tuple[str, int]],
) -> None:
    """Remember a batch: (number, first line, fingerprint) per customer, (id, line) per
    contract."""
    insert_rows(
        connection,
        SEEN_CUSTOMER,
        [{"number": n, "line": line, "fingerprint": fp} for n, line, fp in customers],
    )
    insert_rows(connection, SEEN_CONTRACT, [{"id": c, "line": line} for c, line in contracts])


def check_across_batches(connection: Connection, errors: Errors) -> None:
    """Add an error for each customer whose lines disagree and each contract seen twice.

    The tables are analysed first: the planner then knows their size for these checks and for
    ``--full``'s anti-joins (a temporary table has no statistics of its own)."""
    for table in (SEEN_CUSTOMER, SEEN_CONTRACT):
        connection.exec_driver_sql(f"ANALYZE {table.name}")
    numbers = connection.scalars(
        select(SEEN_CUSTOMER.c.number)
        .group_by(SEEN_CUSTOMER.c.number)
        .having(func.count(SEEN_CUSTOMER.c.fingerprint.distinct()) > 1)
        .limit(MAX_LISTED_ERRORS)
    ).all()
    if numbers:
        rows = connection.execute(
            select(SEEN_CUSTOMER)
            .where(among(connection, SEEN_CUSTOMER.c.number, numbers))
            .order_by(SEEN_CUSTOMER.c.number, SEEN_CUSTOMER.c.line)
        ).all()
        first: dict[str, tuple[int, str]] = {}
        for number, line, fingerprint in rows:
            first_line, first_fingerprint = first.setdefault(number, (line, fingerprint))
            if fingerprint != first_fingerprint:
                errors.add(differs(line, number, first_line))
    contracts = connection.execute(
        select(SEEN_CONTRACT.c.id, func.min(SEEN_CONTRACT.c.line), func.max(SEEN_CONTRACT.c.line))
        .group_by(SEEN_CONTRACT.c.id)
        .having(func.count() > 1)
        .limit(MAX_LISTED_ERRORS)
    ).all()
    for contract_id, first_line, line in contracts:
        errors.add(twice(line, contract_id, first_line))


def differs(line: int, number: str, first_line: int) -> str:
    """The error for a customer line that disagrees with the customer's first line."""
    return (
        f"line {line}: customer {number} has another holder_name, language or "
        f"activation_code than on line {first_line}"
    )


def twice(line: int, contract_id: str, first_line: int) -> str:
    """The error for a contract listed again."""
    return f"line {line}: contract {contract_id} already on line {first_line}"
