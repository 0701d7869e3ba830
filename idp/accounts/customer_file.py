"""The billing CSV of customers and contracts: header, one validated ``Row`` per line, streamed.

A line holds a contract and its customer's data; a customer with two contracts has two lines.
Rows are read lazily (the file is never held in memory) and errors are collected with their
line numbers, at most ``MAX_LISTED_ERRORS`` of them listed.
Imports idp.accounts.{activation,refusals}.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from idp.accounts.activation import is_activation_code
from idp.accounts.activation import is_customer_number
from idp.accounts.activation import normalise_activation_code
from idp.accounts.activation import normalise_customer_number
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused

HEADER = (
    "customer_number",
    "activation_code",
    "holder_name",
    "language",
    "contract_id",
    "energy",
    "contract_status",
    "start_date",
    "end_date",
)
LANGUAGES = ("fr", "nl", "en", "de")
ENERGIES = ("electricity", "gas")
STATUSES = ("active", "pending", "ended", "cancelled")
MAX_LISTED_ERRORS = 100


class ImportError_(Refused):
    """The file has errors; nothing was imported. ``errors`` lists them by line, ``count``
    says how many there were in all (a ``Refused`` with reason ``INVALID_IMPORT``)."""

    def __init__(self, errors: list[str], count: int | None = None):
        super().__init__(Refusal.INVALID_IMPORT, errors=errors)
        self.count = len(errors) if count is None else count


@dataclass
class FirstTexts:
    """Texts all counted, the first ``limit`` of them kept (a file's errors, an import's notes):
    a million faulty lines must not become a million strings in memory."""

    limit: int
    listed: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, text: str) -> None:
        """Count a text; keep it while the list is short."""
        self.count += 1
        if len(self.listed) < self.limit:
            self.listed.append(text)


@dataclass
class Errors(FirstTexts):
    """Faulty lines of a file: the first ``MAX_LISTED_ERRORS`` listed, all of them counted."""

    limit: int = MAX_LISTED_ERRORS

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_if_any(self) -> None:
        """Raise ImportError_ listing the errors (and how many more there were)."""
        if self.count:
            more = self.count - len(self.listed)
            listed = self.listed + ([f"… and {more} more"] if more else [])
            raise ImportError_(listed, self.count)


@dataclass(frozen=True, slots=True)
class Row:
    """One validated CSV line: a contract and its customer's data."""

    line: int
    number: str
    code: str
    holder_name: str
    language: str
    contract_id: str
    energy: str
    status: str
    start: date
    end: date | None


def read_rows(lines: Iterable[str], errors: Errors) -> Iterator[Row]:
    """Yield the valid rows of a CSV file; add every faulty line to ``errors``."""
    reader = csv.reader(lines)
    if tuple(next(reader, ())) != HEADER:
        raise ImportError_([f"line 1: header must be {','.join(HEADER)}"])
    for values in reader:
        try:
            yield parse_row(reader.line_num, values)
        except ValueError as exc:
            errors.add(f"line {reader.line_num}: {exc}")


def parse_row(line: int, v: list[str]) -> Row:
    """Validate one line's fields (ValueError says what is wrong)."""
    if len(v) != len(HEADER):
        raise ValueError("wrong number of fields")
    number_raw, code_raw, holder, language, contract_id, energy, status, start_raw, end_raw = v
    number = normalise_customer_number(number_raw)
    if not is_customer_number(number):
        raise ValueError("customer_number must be 10 digits starting with 2")
    code = normalise_activation_code(code_raw)
    if code and not is_activation_code(code):
        raise ValueError("activation_code must be 10 digits (or empty)")
    holder = holder.strip()
    if not holder or len(holder) > 200:
        raise ValueError("holder_name is required (at most 200 characters)")
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    contract_id = contract_id.strip()
    if not contract_id or len(contract_id) > 64:
        raise ValueError("contract_id is required (at most 64 characters)")
    if energy not in ENERGIES:
        raise ValueError(f"energy must be one of {', '.join(ENERGIES)}")
    if status not in STATUSES:
        raise ValueError(f"contract_status must be one of {', '.join(STATUSES)}")
    start = _iso_date(start_raw, "start_date")
    end = _iso_date(end_raw, "end_date") if end_raw else None
    if end is not None and end <= start:
        raise ValueError("end_date must be after start_date")
    return Row(line, number, code, holder, language, contract_id, energy, status, start, end)


def _iso_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{name} must be an ISO date (YYYY-MM-DD)") from None
