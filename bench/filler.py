"""Fill a PostgreSQL database with realistic volumes: customers, contracts, accounts and their
links, tokens, codes, OP sessions and pending logins, for the growth test
(tests/growth/test_explain.py) and the one-off measurement (bench/growth.py).

Every table is filled by cloning one real row server-side (``INSERT … SELECT … FROM
generate_series``), so columns added later follow by themselves: unique columns get unique
values, foreign keys are spread over the filler rows (a few tokens, sessions and codes per
account, one customer and contract per account), everything else is copied. PostgreSQL only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Integer
from sqlalchemy import Table
from sqlalchemy import text

from idp.models import Base

#: The tables filled, by name (the ones that grow with the number of customers).
FILLED = (
    "customer",
    "contract",
    "account",
    "account_customer",
    "oauth_token",
    "authorization_code",
    "op_session",
    "op_session_client",
    "interaction",
)


@dataclass(frozen=True)
class Volumes:
    """How many filler rows: ``accounts`` customers, contracts, accounts and links; the rest
    per kind."""

    accounts: int
    tokens: int
    codes: int
    sessions: int
    interactions: int

    @classmethod
    def scaled(cls, accounts: int, tokens: int) -> Volumes:
        """One code, session and pending login per account; ``tokens`` tokens."""
        return cls(accounts, tokens, accounts, accounts, accounts)


def table(name: str) -> Table:
    """A model's table."""
    return Base.metadata.tables[name]


def _unique_value(column: Any, tag: str) -> str:
    """An SQL expression unique per ``g`` for a unique column."""
    if isinstance(column.type, Integer):
        return f"(g + {10**9})"
    length = getattr(column.type, "length", None) or 64
    return f"left(md5('{tag}.{column.name}.' || g), {min(length, 32)})"


def clone(
    conn: Connection, name: str, where: str, count: int, start: int = 1, **overrides: str
) -> None:
    """Insert ``count`` copies of the row ``where`` selects, ``g`` running from ``start``."""
    target = table(name)
    unique = {c.name for c in target.columns if c.unique}
    if len(target.primary_key.columns) == 1:
        unique.update(c.name for c in target.primary_key.columns)
    for constraint in target.constraints:
        columns = list(getattr(constraint, "columns", []))
        if len(columns) == 1 and constraint.__class__.__name__ == "UniqueConstraint":
            unique.add(columns[0].name)
    names, values = [], []
    for column in target.columns:
        if column.name in overrides:
            names.append(column.name)
            values.append(overrides[column.name])
        elif (
            column.primary_key
            and column.autoincrement in (True, "auto")
            and isinstance(column.type, Integer)
        ):
            continue  # serial: the sequence numbers the copies
        elif column.name in unique:
            names.append(column.name)
            values.append(_unique_value(column, name))
        else:
            names.append(column.name)
            values.append(f"src.{column.name}")
    conn.execute(
        text(
            f"INSERT INTO {name} ({', '.join(names)}) SELECT {', '.join(values)} "
            f"FROM {name} src, generate_series({start}, {start + count - 1}) g WHERE {where}"
        )
    )


def _id_range(conn: Connection, name: str, where: str, count: int) -> int:
    """The first id of the ``count`` filler rows ``where`` selects (they are consecutive)."""
    low, high = conn.execute(text(f"SELECT min(id), max(id) FROM {name} WHERE {where}")).one()
    assert high - low + 1 == count, f"{name}: filler ids are not consecutive"
    return int(low)


def fill(conn: Connection, volumes: Volumes, *, chunk: int = 1_000_000) -> None:
    """Add the filler rows (the database must hold at least one row of each table, as after
    one login flow), in chunks of ``chunk`` rows, then ANALYZE."""
    n = volumes.accounts
    clone(
        conn,
        "customer",
        "src.id = (SELECT min(id) FROM customer)",
        n,
        number="(3000000000 + g)::text",
        activation_code_hash="NULL",
        activated_at="now()",
    )
    first_customer = _id_range(conn, "customer", "number >= '3000000000'", n)
    clone(
        conn,
        "contract",
        "src.id = (SELECT min(id) FROM contract)",
        n,
        id="'FILL-' || g",
        customer_id=f"{first_customer} + g - 1",
    )
    clone(
        conn,
        "account",
        "src.id = (SELECT min(id) FROM account)",
        n,
        login="'filler-' || g || '@example.be'",
    )
    first_account = _id_range(conn, "account", "login LIKE 'filler-%'", n)
    account_of = f"({first_account} + (g - 1) % {n})"
    clone(
        conn,
        "account_customer",
        "src.customer_id = (SELECT min(customer_id) FROM account_customer)",
        n,
        account_id=f"{first_account} + g - 1",
        customer_id=f"{first_customer} + g - 1",
    )
    for start in range(1, volumes.tokens + 1, chunk):
        count = min(chunk, volumes.tokens - start + 1)
        clone(
            conn,
            "oauth_token",
            "src.id = (SELECT min(id) FROM oauth_token)",
            count,
            start,
            account_id=account_of,
            family_id="md5('family.' || (g / 2))",
            code_id=f"({10**9} + g)",
            sid=f"left(md5('op_session.sid.' || (g % {volumes.sessions} + 1)), 32)",
        )
    clone(
        conn,
        "authorization_code",
        "src.id = (SELECT min(id) FROM authorization_code)",
        volumes.codes,
        account_id=account_of,
    )
    clone(
        conn,
        "op_session",
        "src.sid = (SELECT min(sid) FROM op_session)",
        volumes.sessions,
        account_id=account_of,
    )
    clone(
        conn,
        "op_session_client",
        "src.sid = (SELECT min(sid) FROM op_session_client)",
        volumes.sessions,
        sid="left(md5('op_session.sid.' || g), 32)",
    )
    clone(
        conn,
        "interaction",
        "src.uid = (SELECT min(uid) FROM interaction)",
        volumes.interactions,
        account_id=account_of,
    )
    for name in FILLED:
        conn.execute(text(f"ANALYZE {name}"))
