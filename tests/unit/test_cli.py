"""``flask idp …`` commands through Click's runner: customer import (all or nothing,
idempotent), account creation, demo data, keys and clients (idempotent)."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from idp.accounts.activation_codes import code_matches
from idp.accounts.passwords import verify_password
from idp.activation_keys import load_activation_keys
from idp.extensions import db
from idp.models.account import Account
from idp.models.customer import Contract
from idp.models.customer import Customer
from idp.models.oauth import Client
from idp.seed import DEMO_CSV

HEADER = DEMO_CSV.splitlines()[0]
NEW_CUSTOMERS = f"""\
{HEADER}
2000000083,9999999999,Noor El Amrani,nl,EL-2000000083-1,electricity,active,2025-01-01,
2000000083,9999999999,Noor El Amrani,nl,GA-2000000083-1,gas,pending,2026-09-01,
2000000091,,Léa Dupont,fr,EL-2000000091-1,electricity,ended,2020-01-01,2024-12-31
"""
TWO_FAULTY_LINES = f"""\
{HEADER}
2000000083,9999999999,Noor El Amrani,nl,EL-2000000083-1,electricity,active,2025-01-01,
1000000083,,Wrong Number,fr,EL-1000000083-1,electricity,active,2025-01-01,
2000000091,,Léa Dupont,fr,EL-2000000091-1,electricity,active,2025-01-01,
2000000109,,Bad Date,de,GA-2000000109-1,gas,active,01/02/2025,
"""
STRONG_PASSWORD = "Windmolenpark-Noordzee-7"
NOT_ACTIVATED = "2000000034"  # a demo customer with an activation code and no account


def counts(app) -> tuple[int, int, int]:
    """(customers, contracts, accounts) in the database."""
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Customer, Contract, Account)
        )  # type: ignore[return-value]


def stored_code_matches(app, customer: Customer, code: str) -> bool:
    """Is ``code`` the customer's stored activation code (keyed hash)?"""
    settings = app.config["IDP"]
    keyring = load_activation_keys(settings.path(settings.keys_dir))
    return code_matches(keyring, customer.activation_code_hash, customer.number, code, settings)


def invoke(runner, *args: str, stdin: str | None = None):
    """Run ``flask idp <args>``."""
    return runner.invoke(args=["idp", *args], input=stdin)


def test_customers_import_then_idempotent_rerun(app, runner, tmp_path):
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(NEW_CUSTOMERS, encoding="utf-8")
    before = counts(app)
    first = invoke(runner, "customers", "import", str(csv_file))
    assert first.exit_code == 0, first.output
    assert "3 rows: 2 customers and 3 contracts created, 0 changed" in first.output
    assert counts(app) == (before[0] + 2, before[1] + 3, before[2])
    again = invoke(runner, "customers", "import", str(csv_file))
    assert again.exit_code == 0, again.output
    assert "3 rows: 0 customers and 0 contracts created, 0 changed" in again.output
    assert counts(app) == (before[0] + 2, before[1] + 3, before[2])
    with app.app_context():
        lea = db.session.scalar(select(Customer).where(Customer.number == "2000000091"))
        assert lea.holder_name == "Léa Dupont" and lea.activation_code_hash is None
        noor = db.session.scalar(select(Customer).where(Customer.number == "2000000083"))
        assert stored_code_matches(app, noor, "9999999999")


def test_customers_import_reports_a_change(app, runner, tmp_path):
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(NEW_CUSTOMERS, encoding="utf-8")
    invoke(runner, "customers", "import", str(csv_file))
    csv_file.write_text(
        NEW_CUSTOMERS.replace("pending,2026-09-01", "active,2026-09-01"), encoding="utf-8"
    )
    result = invoke(runner, "customers", "import", str(csv_file))
    assert result.exit_code == 0, result.output
    assert "0 customers and 0 contracts created, 1 changed" in result.output


def test_customers_import_with_faulty_lines_names_them_and_imports_nothing(app, runner, tmp_path):
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(TWO_FAULTY_LINES, encoding="utf-8")
    before = counts(app)
    result = invoke(runner, "customers", "import", str(csv_file))
    assert result.exit_code == 1
    assert "line 3: customer_number must be 10 digits starting with 2" in result.output
    assert "line 5: start_date must be an ISO date" in result.output
    assert "line 2" not in result.output and "line 4" not in result.output
    assert "2 error(s); nothing imported" in result.output
    assert counts(app) == before


def test_customers_import_refuses_a_wrong_header(app, runner, tmp_path):
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text("number,name\n2000000083,X\n", encoding="utf-8")
    result = invoke(runner, "customers", "import", str(csv_file))
    assert result.exit_code == 1 and "line 1: header must be" in result.output


def test_accounts_create_links_the_customer(app, runner):
    before = counts(app)
    result = invoke(
        runner,
        "accounts",
        "create",
        "--login",
        "Sophie.Lambert@Example.be",
        "--email",
        "sophie@example.be",
        "--customer",
        "2 000 000 034",
        stdin=STRONG_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "account sophie.lambert@example.be created (sub " in result.output
    assert counts(app) == (before[0], before[1], before[2] + 1)
    with app.app_context():
        account = db.session.scalar(
            select(Account).where(Account.login == "sophie.lambert@example.be")
        )
        assert [c.number for c in account.customers] == [NOT_ACTIVATED]
        assert account.email == "sophie@example.be" and account.email_verified
        assert account.language == "fr"  # the customer's
        assert verify_password(account.password_hash, STRONG_PASSWORD, app.config["IDP"])
        customer = account.customers[0]
        # The used code is void through activated_at; its keyed hash is kept so that only the
        # right code hears "already has an account" (issue #8 finding 2, docs/security.md).
        assert customer.activated_at is not None


def test_accounts_create_refuses_a_second_account_for_the_customer(app, runner):
    first = invoke(
        runner,
        "accounts",
        "create",
        "--login",
        "first@example.be",
        "--email",
        "first@example.be",
        "--customer",
        NOT_ACTIVATED,
        stdin=STRONG_PASSWORD,
    )
    assert first.exit_code == 0, first.output
    before = counts(app)
    second = invoke(
        runner,
        "accounts",
        "create",
        "--login",
        "second@example.be",
        "--email",
        "second@example.be",
        "--customer",
        NOT_ACTIVATED,
        stdin=STRONG_PASSWORD,
    )
    assert second.exit_code == 1
    assert "customer_already_activated" in second.output
    assert counts(app) == before


def test_accounts_create_refuses_a_taken_login(app, runner):
    result = invoke(
        runner,
        "accounts",
        "create",
        "--login",
        "DEMO.ACTIF@example.be",
        "--email",
        "x@example.be",
        "--customer",
        NOT_ACTIVATED,
        stdin=STRONG_PASSWORD,
    )
    assert result.exit_code == 1 and "login_taken" in result.output


def test_accounts_create_refuses_an_unknown_customer(app, runner):
    result = invoke(
        runner,
        "accounts",
        "create",
        "--login",
        "x@example.be",
        "--email",
        "x@example.be",
        "--customer",
        "2999999999",
        stdin=STRONG_PASSWORD,
    )
    assert result.exit_code == 1 and "unknown_customer" in result.output


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pw", "too_short"),
        ("", "too_short"),
        ("weak.login@example.be-2026", "contains_context"),
    ],
)
def test_accounts_create_refuses_weak_passwords(app, runner, password, reason):
    before = counts(app)
    result = invoke(
        runner,
        "accounts",
        "create",
        "--login",
        "weak.login@example.be",
        "--email",
        "weak.login@example.be",
        "--customer",
        "2000000042",
        stdin=password + "\n",
    )
    assert result.exit_code == 1, result.output
    assert f"password_refused: {reason}" in result.output
    assert counts(app) == before
    with app.app_context():
        customer = db.session.scalar(select(Customer).where(Customer.number == "2000000042"))
        assert customer.activated_at is None and customer.activation_code_hash is not None


def test_seed_demo_twice_says_present(app, runner):
    before = counts(app)
    for _ in range(2):
        result = invoke(runner, "seed-demo")
        assert result.exit_code == 0, result.output
        assert "demo data present" in result.output
    assert counts(app) == before


def test_keys_generate_when_keys_exist(app, runner):
    keys_dir = app.config["IDP"].path(app.config["IDP"].keys_dir)
    before = sorted(p.name for p in keys_dir.glob("*.json"))
    result = invoke(runner, "keys", "generate")
    assert result.exit_code == 0, result.output
    assert "keys present; nothing generated" in result.output
    assert sorted(p.name for p in keys_dir.glob("*.json")) == before


def test_clients_sync_is_idempotent(app, runner):
    def snapshot():
        with app.app_context():
            return {
                c.client_id: (
                    c.client_secret_hash,
                    c.redirect_uris,
                    c.scope,
                    c.token_endpoint_auth_method,
                )
                for c in db.session.scalars(select(Client))
            }

    before = snapshot()
    for _ in range(2):
        result = invoke(runner, "clients", "sync")
        assert result.exit_code == 0, result.output
        assert "clients synced: smart-app, customer-space" in result.output
        assert snapshot() == before
    assert set(before) == {"smart-app", "customer-space"}
