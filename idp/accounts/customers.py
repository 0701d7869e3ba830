"""Import of customers and contracts from billing (CSV), all or nothing, idempotent.

Imports idp.models, idp.accounts.activation and idp.accounts.passwords.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from sqlalchemy import select

from idp.accounts.activation import is_activation_code
from idp.accounts.activation import is_customer_number
from idp.accounts.activation import normalise_activation_code
from idp.accounts.activation import normalise_customer_number
from idp.accounts.passwords import hash_password
from idp.accounts.passwords import verify_password
from idp.config import Settings
from idp.models.base import DbSession
from idp.models.customer import Contract
from idp.models.customer import Customer

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


class ImportError_(ValueError):
    """The file has errors; nothing was imported. ``errors`` lists them by line."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    """How many rows were read and what changed."""

    rows: int = 0
    customers_created: int = 0
    contracts_created: int = 0
    changed: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
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


def parse_rows(lines: Iterable[str]) -> list[Row]:
    """Validate every line; raise ImportError_ listing every faulty line."""
    reader = csv.DictReader(lines)
    if tuple(reader.fieldnames or ()) != HEADER:
        raise ImportError_([f"line 1: header must be {','.join(HEADER)}"])
    rows, errors = [], []
    for values in reader:
        line = reader.line_num
        try:
            rows.append(_parse_row(line, values))
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
    if errors:
        raise ImportError_(errors)
    return rows


def _parse_row(line: int, v: dict[str, str | None]) -> Row:
    if None in v or any(v.get(k) is None for k in HEADER):
        raise ValueError("wrong number of fields")
    number = normalise_customer_number(v["customer_number"] or "")
    if not is_customer_number(number):
        raise ValueError("customer_number must be 10 digits starting with 2")
    code = normalise_activation_code(v["activation_code"] or "")
    if code and not is_activation_code(code):
        raise ValueError("activation_code must be 10 digits (or empty)")
    holder = (v["holder_name"] or "").strip()
    if not holder or len(holder) > 200:
        raise ValueError("holder_name is required (at most 200 characters)")
    if v["language"] not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    contract_id = (v["contract_id"] or "").strip()
    if not contract_id or len(contract_id) > 64:
        raise ValueError("contract_id is required (at most 64 characters)")
    if v["energy"] not in ENERGIES:
        raise ValueError(f"energy must be one of {', '.join(ENERGIES)}")
    if v["contract_status"] not in STATUSES:
        raise ValueError(f"contract_status must be one of {', '.join(STATUSES)}")
    start = _iso_date(v["start_date"] or "", "start_date")
    end = _iso_date(v["end_date"], "end_date") if v["end_date"] else None
    if end is not None and end <= start:
        raise ValueError("end_date must be after start_date")
    return Row(
        line,
        number,
        code,
        holder,
        v["language"] or "fr",
        contract_id,
        v["energy"] or "",
        v["contract_status"] or "",
        start,
        end,
    )


def _iso_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{name} must be an ISO date (YYYY-MM-DD)") from None


def import_customers(session: DbSession, lines: Iterable[str], settings: Settings) -> ImportResult:
    """Upsert customers and contracts from CSV lines in one transaction (caller commits)."""
    rows = parse_rows(lines)
    result = ImportResult(rows=len(rows))
    customers: dict[str, Customer] = {}
    for row in rows:
        customer = customers.get(row.number) or _upsert_customer(session, row, settings, result)
        customers[row.number] = customer
        _upsert_contract(session, customer, row, result)
    session.flush()
    return result


def _upsert_customer(
    session: DbSession, row: Row, settings: Settings, result: ImportResult
) -> Customer:
    customer = session.scalar(select(Customer).where(Customer.number == row.number))
    if customer is None:
        customer = Customer(number=row.number, holder_name=row.holder_name, language=row.language)
        session.add(customer)
        result.customers_created += 1
    elif (customer.holder_name, customer.language) != (row.holder_name, row.language):
        customer.holder_name, customer.language = row.holder_name, row.language
        result.changed += 1
    if row.code and customer.activated_at is None:
        current = customer.activation_code_hash
        if current is None or not verify_password(current, row.code, settings):
            customer.activation_code_hash = hash_password(row.code, settings)
            customer.failed_activations = 0
            result.changed += current is not None
    elif row.code:
        result.notes.append(f"line {row.line}: customer already activated; code ignored")
    return customer


def _upsert_contract(
    session: DbSession, customer: Customer, row: Row, result: ImportResult
) -> None:
    contract = session.get(Contract, row.contract_id)
    if contract is None:
        session.add(
            Contract(
                id=row.contract_id,
                customer=customer,
                energy=row.energy,
                status=row.status,
                start_date=row.start,
                end_date=row.end,
            )
        )
        result.contracts_created += 1
        return
    if (
        contract.customer_id is not None
        and customer.id is not None
        and (contract.customer_id != customer.id)
    ):
        raise ImportError_(
            [f"line {row.line}: contract {row.contract_id} belongs to another customer"]
        )
    new = (row.energy, row.status, row.start, row.end)
    if (contract.energy, contract.status, contract.start_date, contract.end_date) != new:
        contract.energy, contract.status, contract.start_date, contract.end_date = new
        result.changed += 1
