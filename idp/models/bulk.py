"""Set-based statements for batches of rows: a membership test, a bulk insert, and the lock
that keeps two bulk writers (two imports, two exports) apart.

On PostgreSQL a batch's keys travel as one array parameter (``= ANY(:values)``: one cached
statement rather than a new one per batch size) and rows are inserted with ``COPY``; on other
engines they are a plain ``IN`` list and an ``executemany``. Column types still convert the
values (the UTC datetimes of ``idp.models.base``). Imports sqlalchemy only.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Connection
from sqlalchemy import Table
from sqlalchemy import any_
from sqlalchemy import bindparam
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import KeyedColumnElement


def is_postgresql(connection: Connection) -> bool:
    """True when the connection speaks to PostgreSQL."""
    return connection.dialect.name == "postgresql"


def serialise(connection: Connection, name: str, table: Table) -> None:
    """Hold, until the transaction ends, a lock that one writer named ``name`` takes at a time:
    a PostgreSQL advisory lock; on SQLite the database's write lock, taken now by a write that
    changes nothing in ``table`` (a later write could fail on a stale read snapshot)."""
    if is_postgresql(connection):
        connection.execute(select(func.pg_advisory_xact_lock(zlib.crc32(name.encode()))))
    else:
        key = next(iter(table.primary_key.columns))
        connection.execute(update(table).where(false()).values({key.name: key}))


def among(
    connection: Connection, column: KeyedColumnElement[Any], values: Collection[Any]
) -> ColumnElement[bool]:
    """``column IN values``, as one array parameter on PostgreSQL."""
    if is_postgresql(connection):
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows that all name the same columns (COPY on PostgreSQL, else executemany)."""
    if not rows:
        return
    if not is_postgresql(connection):
        connection.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    converters = [table.c[name].type.bind_processor(connection.dialect) for name in names]
    preparer = connection.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(name) for name in names)
    statement = f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN"
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    value if convert is None else convert(value)
                    for value, convert in zip((row[n] for n in names), converters, strict=True)
                ]
            )
