"""Recording the SQL an app sends to its database (statement counts, writes, plans)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from idp.extensions import db


@contextmanager
def recorded(app: Any) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the app's engine runs inside the block, with its parameters (the first
    set of an executemany)."""
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters[0] if executemany and parameters else parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def verb(statement: str) -> str:
    """SELECT, INSERT, UPDATE, DELETE … of a statement."""
    return statement.split(None, 1)[0].upper()
