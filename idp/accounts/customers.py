"""Import of customers and contracts from billing (CSV): streamed, all or nothing, idempotent.

The file is read in batches of ``BATCH_SIZE`` lines; each batch costs a few set-based
statements (Core ``SELECT … IN``, ``executemany`` inserts and updates, no ORM object per row),
so memory stays bounded whatever the file's size. Everything happens in one transaction, which
the service ends (idp/accounts/__init__): on ``ImportError_`` (a ``Refused``) it rolls back and
nothing is imported, however late in the file the faulty line is. A row that matches the
database is not written, and activation codes are compared by their keyed hash
(``idp.accounts.activation_codes``), so an unchanged re-import writes nothing.

Any file is applied as a delta (the customers and contracts it names are created or updated;
nothing else is touched). With ``full=True`` the file is billing's complete list: contracts it
does not name are deleted, and so are the customers it does not name unless an account is
linked to them (those are kept, reported, and lose the deleted contracts), refused when that
would remove more than ``max_removed_percent`` of the customers or contracts (a truncated file).

Imports idp.models, idp.config, idp.activation_keys and idp.accounts.{customer_file,
customer_seen, customer_removal, activation_codes}.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from itertools import islice
from typing import Any
from typing import cast

from sqlalchemy import Connection
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update

from idp.accounts import customer_seen as seen
from idp.accounts.activation_codes import SCHEME
from idp.accounts.activation_codes import code_matches
from idp.accounts.activation_codes import hash_code
from idp.accounts.activation_codes import is_legacy
from idp.accounts.activation_codes import key_id
from idp.accounts.customer_file import Errors
from idp.accounts.customer_file import FirstTexts
from idp.accounts.customer_file import ImportError_
from idp.accounts.customer_file import Row
from idp.accounts.customer_file import read_rows
from idp.accounts.customer_removal import Removal
from idp.accounts.customer_removal import remove_absent
from idp.accounts.transactions import ends_transaction
from idp.activation_keys import ActivationKeyring
from idp.activation_keys import load_activation_keys
from idp.config import Settings
from idp.models.base import DbSession
from idp.models.base import utcnow
from idp.models.bulk import among
from idp.models.bulk import insert_rows
from idp.models.bulk import serialise
from idp.models.customer import Contract
from idp.models.customer import Customer

__all__ = ["BATCH_SIZE", "ImportError_", "ImportResult", "import_customers", "kids_in_use"]

BATCH_SIZE = 2000
MAX_NOTES = 20
CUSTOMER = cast(Table, Customer.__table__)
CONTRACT = cast(Table, Contract.__table__)
# The columns an import compares with the file (and keeps, for an activated customer).
CUSTOMER_READ = (
    "id",
    "number",
    "holder_name",
    "language",
    "activation_code_hash",
    "activated_at",
    "failed_activations",
    "activation_locked_at",
)
CONTRACT_READ = ("id", "customer_id", "energy", "status", "start_date", "end_date")


@dataclass
class ImportResult:
    """How many rows were read and what changed."""

    rows: int = 0
    customers_created: int = 0
    contracts_created: int = 0
    changed: int = 0
    codes_rekeyed: int = 0
    removal: Removal | None = None
    kept_notes: FirstTexts = field(default_factory=lambda: FirstTexts(MAX_NOTES))

    def note(self, text: str) -> None:
        """Count a note; keep its text while the list is short."""
        self.kept_notes.add(text)

    @property
    def notes(self) -> list[str]:
        """The first ``MAX_NOTES`` notes."""
        return self.kept_notes.listed

    @property
    def notes_count(self) -> int:
        """How many notes there were in all."""
        return self.kept_notes.count


@dataclass(frozen=True, slots=True)
class CustomerData:
    """A customer's fields as the file gives them, from its first line in the batch."""

    line: int
    number: str
    holder_name: str
    language: str
    code: str
    code_hash: str | None
    fingerprint: str


@ends_transaction
def import_customers(
    session: DbSession,
    lines: Iterable[str],
    settings: Settings,
    *,
    full: bool = False,
    max_removed_percent: float = 10.0,
) -> ImportResult:
    """Apply a billing CSV and commit it; on ``ImportError_`` (or any other error) roll back
    and raise: nothing is imported. ``full`` removes what the file does not name (see the
    module doc)."""
    keyring = load_activation_keys(settings.path(settings.keys_dir))
    connection = session.connection()
    serialise(connection, "idp customers import", CUSTOMER)  # a second import waits
    seen.start(connection)
    importer = _Importer(connection, keyring, settings)
    errors = Errors()
    for batch in _batched(read_rows(lines, errors), BATCH_SIZE):
        importer.result.rows += len(batch)
        importer.apply(batch, errors)
    seen.check_across_batches(connection, errors)
    errors.raise_if_any()
    if full:
        importer.result.removal = remove_absent(
            connection, seen.SEEN_CUSTOMER, seen.SEEN_CONTRACT, max_removed_percent
        )
    seen.finish(connection)
    return importer.result


def kids_in_use(session: DbSession, kids: Iterable[str]) -> set[str]:
    """The activation-code key ids among ``kids`` that a stored hash still names."""
    return {
        kid
        for kid in kids
        if session.scalar(
            select(CUSTOMER.c.id)
            .where(CUSTOMER.c.activation_code_hash.startswith(f"{SCHEME}${kid}$", autoescape=True))
            .limit(1)
        )
        is not None
    }


def _batched(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while batch := list(islice(rows, size)):
        yield batch


class _Importer:
    """Applies batches of rows; keeps only the running counts between batches."""

    def __init__(self, connection: Connection, keyring: ActivationKeyring, settings: Settings):
        self.connection = connection
        self.keyring = keyring
        self.settings = settings
        self.result = ImportResult()

    def apply(self, rows: list[Row], errors: Errors) -> None:
        """Check and remember one batch; write it unless the file has errors so far."""
        customers = self._customers_of(rows, errors)
        contracts = self._contracts_of(rows, errors)
        seen.record(
            self.connection,
            [(c.number, c.line, c.fingerprint) for c in customers.values()],
            [(row.contract_id, row.line) for row in contracts],
        )
        if errors:
            return  # keep reading to list every faulty line; nothing more will be written
        ids = self._write_customers(customers)
        self._write_contracts(contracts, ids, errors)

    def _customers_of(self, rows: list[Row], errors: Errors) -> dict[str, CustomerData]:
        customers: dict[str, CustomerData] = {}
        for row in rows:
            data = customers.get(row.number)
            if data is None:
                customers[row.number] = self._customer_data(row)
            elif (data.holder_name, data.language, data.code) != (
                row.holder_name,
                row.language,
                row.code,
            ):
                errors.add(seen.differs(row.line, row.number, data.line))
        return customers

    def _customer_data(self, row: Row) -> CustomerData:
        code_hash = hash_code(self.keyring, row.number, row.code) if row.code else None
        text = f"{row.holder_name}\x00{row.language}\x00{code_hash or ''}"
        fingerprint = hashlib.sha256(text.encode()).hexdigest()
        return CustomerData(
            row.line, row.number, row.holder_name, row.language, row.code, code_hash, fingerprint
        )

    @staticmethod
    def _contracts_of(rows: list[Row], errors: Errors) -> list[Row]:
        """The batch's rows, each contract once (a repeated one is an error)."""
        first: dict[str, Row] = {}
        for row in rows:
            if row.contract_id in first:
                errors.add(seen.twice(row.line, row.contract_id, first[row.contract_id].line))
            else:
                first[row.contract_id] = row
        return list(first.values())

    def _write_customers(self, customers: dict[str, CustomerData]) -> dict[str, int]:
        """Insert new customers, update changed ones; return the id of every customer."""
        existing = {
            row.number: row
            for row in self.connection.execute(
                select(*CUSTOMER.c[CUSTOMER_READ]).where(
                    among(self.connection, CUSTOMER.c.number, customers)
                )
            )
        }
        ids = {number: row.id for number, row in existing.items()}
        plan = _CustomerWrites()
        for data in customers.values():
            row = existing.get(data.number)
            if row is None:
                plan.inserts.append(data)
            else:
                self._plan_update(plan, row, data)
        ids.update(self._insert_customers(plan.inserts))
        self._execute_updates(plan)
        return ids

    def _plan_update(self, plan: _CustomerWrites, row: Any, data: CustomerData) -> None:
        changed = (row.holder_name, row.language) != (data.holder_name, data.language)
        if changed:
            plan.details.append(
                {"b_id": row.id, "holder_name": data.holder_name, "language": data.language}
            )
        stored = row.activation_code_hash
        rekey = {"b_id": row.id, "b_old": stored, "activation_code_hash": data.code_hash}
        if data.code_hash is None or stored == data.code_hash:
            pass
        elif row.activated_at is not None:
            # The code is used up: only the hash an account keeps of it is re-keyed, once the
            # file's code is proven to be that code; any other code is void.
            if (
                stored is not None
                and key_id(stored) in self.keyring.secrets
                and self._same_code(row, data)
            ):
                plan.rekeys.append(rekey)
            else:
                self.result.note(f"line {data.line}: customer already activated; code ignored")
        elif self._same_code(row, data):
            plan.rekeys.append(rekey)
        else:
            plan.new_codes.append({"b_id": row.id, "activation_code_hash": data.code_hash})
            changed = changed or stored is not None
        self.result.changed += changed

    def _same_code(self, row: Any, data: CustomerData) -> bool:
        """Is the stored hash (another key's, or a legacy argon2id one) of the same code?

        Only the failure counter depends on the answer (a new code starts it again), so a row
        with no failures is simply re-keyed; argon2id is verified only for the rare row whose
        counter must be kept or reset. A hash naming a deleted key keeps its counter.
        """
        stored = row.activation_code_hash
        if stored is None:
            return False
        kid = key_id(stored)
        if kid in self.keyring.secrets or (
            is_legacy(stored) and (row.failed_activations or row.activation_locked_at)
        ):
            return code_matches(self.keyring, stored, data.number, data.code, self.settings)
        return True

    def _insert_customers(self, inserts: list[CustomerData]) -> dict[str, int]:
        if not inserts:
            return {}
        now = utcnow()
        insert_rows(
            self.connection,
            CUSTOMER,
            [
                {
                    "number": c.number,
                    "holder_name": c.holder_name,
                    "language": c.language,
                    "activation_code_hash": c.code_hash,
                    "failed_activations": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for c in inserts
            ],
        )
        self.result.customers_created += len(inserts)
        numbers = [c.number for c in inserts]
        found = self.connection.execute(
            select(CUSTOMER.c.number, CUSTOMER.c.id).where(
                among(self.connection, CUSTOMER.c.number, numbers)
            )
        )
        return {number: id_ for number, id_ in found}

    def _execute_updates(self, plan: _CustomerWrites) -> None:
        by_id = CUSTOMER.c.id == bindparam("b_id")
        not_activated = CUSTOMER.c.activated_at.is_(None)
        statements = [
            (plan.details, update(CUSTOMER).where(by_id)),
            # Compare and set: a hash changed meanwhile (a new code, an activation) stays.
            (
                plan.rekeys,
                update(CUSTOMER).where(
                    by_id, CUSTOMER.c.activation_code_hash == bindparam("b_old")
                ),
            ),
            # A customer who activates meanwhile keeps a void code: only unactivated rows change.
            (
                plan.new_codes,
                update(CUSTOMER)
                .where(by_id, not_activated)
                .values(failed_activations=0, activation_locked_at=None),
            ),
        ]
        for params, statement in statements:
            if params:
                self.connection.execute(statement, params)
        self.result.codes_rekeyed += len(plan.rekeys)

    def _write_contracts(self, rows: list[Row], ids: dict[str, int], errors: Errors) -> None:
        existing = {
            c.id: c
            for c in self.connection.execute(
                select(*CONTRACT.c[CONTRACT_READ]).where(
                    among(self.connection, CONTRACT.c.id, [r.contract_id for r in rows])
                )
            )
        }
        now = utcnow()
        inserts, updates = [], []
        for row in rows:
            values = {
                "energy": row.energy,
                "status": row.status,
                "start_date": row.start,
                "end_date": row.end,
            }
            contract = existing.get(row.contract_id)
            if contract is None:
                inserts.append(
                    {
                        "id": row.contract_id,
                        "customer_id": ids[row.number],
                        **values,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            elif contract.customer_id != ids[row.number]:
                errors.add(
                    f"line {row.line}: contract {row.contract_id} belongs to another customer"
                )
            elif (contract.energy, contract.status, contract.start_date, contract.end_date) != (
                row.energy,
                row.status,
                row.start,
                row.end,
            ):
                updates.append({"b_id": row.contract_id, **values})
        if errors:
            return
        insert_rows(self.connection, CONTRACT, inserts)
        if updates:
            self.connection.execute(
                update(CONTRACT).where(CONTRACT.c.id == bindparam("b_id")), updates
            )
        self.result.contracts_created += len(inserts)
        self.result.changed += len(updates)


@dataclass
class _CustomerWrites:
    """What one batch writes to ``customer``."""

    inserts: list[CustomerData] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)
    rekeys: list[dict[str, Any]] = field(default_factory=list)
    new_codes: list[dict[str, Any]] = field(default_factory=list)
