"""Demo customers, contracts and accounts for the embedded default (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from idp.accounts.activation import create_account
from idp.accounts.customers import import_customers
from idp.accounts.login import find_account_by_login
from idp.config import Settings
from idp.models.base import DbSession

DEMO_PASSWORD = "Zonnepaneel-2026!"

DEMO_CSV = """\
customer_number,activation_code,holder_name,language,contract_id,energy,contract_status,start_date,end_date
2000000018,,Amélie Dubois,fr,EL-2000000018-1,electricity,active,2024-01-01,
2000000026,,Pieter Janssens,nl,EL-2000000026-1,electricity,ended,2019-03-01,2025-06-30
2000000034,4815162342,Sophie Lambert,fr,EL-2000000034-1,electricity,active,2023-05-01,
2000000034,4815162342,Sophie Lambert,fr,GA-2000000034-1,gas,active,2023-05-01,
2000000042,2718281828,Jan Peeters,nl,EL-2000000042-1,electricity,active,2025-02-01,
2000000059,1414213562,Emma Schmitz,de,GA-2000000059-1,gas,active,2022-09-15,
2000000067,1732050807,Oliver Smith,en,EL-2000000067-1,electricity,active,2024-11-01,
2000000075,3141592653,Lucas Martin,fr,EL-2000000075-1,electricity,ended,2018-01-01,2024-12-31
"""


@dataclass(frozen=True)
class DemoAccount:
    """A demo login and the customer it is linked to."""

    login: str
    customer_number: str
    language: str


DEMO_ACCOUNTS = (
    DemoAccount("demo.actif@example.be", "2000000018", "fr"),
    DemoAccount("demo.inactif@example.be", "2000000026", "nl"),
)


def seed_demo(session: DbSession, settings: Settings) -> list[str]:
    """Load the demo data (each service commits its part); a second run changes nothing.
    Return what was created."""
    made = []
    result = import_customers(session, DEMO_CSV.splitlines(keepends=True), settings)
    if result.customers_created:
        made.append(f"{result.customers_created} customers")
    for demo in DEMO_ACCOUNTS:
        if find_account_by_login(session, demo.login) is None:
            create_account(
                session,
                login=demo.login,
                email=demo.login,
                password=DEMO_PASSWORD,
                customer_number=demo.customer_number,
                language=demo.language,
                settings=settings,
            )
            made.append(demo.login)
    return made
