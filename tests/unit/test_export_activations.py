"""``customers export-activations``: what billing learns back (activations with the login,
login changes, unlinks and deletions), numbered by a cursor, streamed, idempotent to re-run,
and never numbered twice by two exports at once."""

from __future__ import annotations

import csv
import io
import json
import threading

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from idp.accounts.activation import create_account
from idp.accounts.billing_sync import record_changes
from idp.extensions import db
from idp.models.account import Account
from idp.models.account import AccountCustomer
from idp.models.billing import BillingEvent
from idp.models.customer import Customer

STRONG_PASSWORD = "Windmolenpark-Noordzee-7"


def export(runner, since: int = 0, fmt: str = "csv") -> tuple[list[dict], int]:
    """Run the export; its lines (as dicts) and the cursor it printed."""
    result = runner.invoke(
        args=["idp", "customers", "export-activations", "--since", str(since), "--format", fmt]
    )
    assert result.exit_code == 0, result.output
    cursor = int(result.stderr.strip().removeprefix("cursor: "))
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(result.stdout))), cursor
    return [json.loads(line) for line in result.stdout.splitlines()], cursor


def brief(lines: list[dict]) -> list[tuple[str, str, str]]:
    """(event, customer_number, login) of each line."""
    return [(line["event"], line["customer_number"], line["login"]) for line in lines]


def activate(app, number: str, login: str) -> None:
    """Create an account for a customer (as the registration does)."""
    with app.app_context():
        create_account(
            db.session,
            login=login,
            email=login,
            password=STRONG_PASSWORD,
            customer_number=number,
            language=None,
            settings=app.config["IDP"],
        )
        db.session.commit()


def account_id(app, login: str) -> int:
    """The id of the account with that login."""
    with app.app_context():
        return db.session.scalar(select(Account.id).where(Account.login == login))


def test_first_export_lists_every_activation_with_login_and_time(app, runner):
    lines, cursor = export(runner)
    assert brief(lines) == [
        ("activated", "2000000018", "demo.actif@example.be"),
        ("activated", "2000000026", "demo.inactif@example.be"),
    ]
    assert [line["seq"] for line in lines] == ["1", "2"] and cursor == 2
    with app.app_context():
        activated = db.session.scalar(
            select(Customer.activated_at).where(Customer.number == "2000000018")
        )
    assert lines[0]["activated_at"] == activated.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert lines[0]["recorded_at"].endswith("Z")


def test_rerunning_with_a_cursor_is_idempotent_and_incremental(app, runner):
    first, cursor = export(runner)
    assert export(runner, since=0) == (first, cursor)  # nothing new: the same lines again
    assert export(runner, since=cursor) == ([], cursor)
    activate(app, "2000000034", "sophie@example.be")
    lines, next_cursor = export(runner, since=cursor)
    assert brief(lines) == [("activated", "2000000034", "sophie@example.be")]
    assert next_cursor == cursor + 1
    assert export(runner, since=next_cursor) == ([], next_cursor)


def test_login_changes_unlinks_and_deletions_are_exported(app, runner):
    _lines, cursor = export(runner)
    activate(app, "2000000042", "jan@example.be")
    activate(app, "2000000059", "emma@example.be")
    _lines, cursor = export(runner, since=cursor)
    with app.app_context():
        db.session.execute(
            update(Account)
            .where(Account.login == "demo.actif@example.be")
            .values(login="amelie@example.be")
        )
        jan = db.session.scalar(select(Customer.id).where(Customer.number == "2000000042"))
        db.session.execute(delete(AccountCustomer).where(AccountCustomer.customer_id == jan))
        db.session.execute(delete(Account).where(Account.login == "emma@example.be"))
        db.session.commit()
    lines, cursor = export(runner, since=cursor, fmt="jsonl")
    assert sorted(brief(lines)) == [
        ("deleted", "2000000059", "emma@example.be"),
        ("login_changed", "2000000018", "amelie@example.be"),
        ("unlinked", "2000000042", "jan@example.be"),
    ]
    assert all(isinstance(line["seq"], int) and line["seq"] <= cursor for line in lines)
    assert export(runner, since=cursor, fmt="jsonl") == ([], cursor)


def test_a_customer_moved_to_another_account_is_unlinked_then_activated(app, runner):
    _lines, cursor = export(runner)
    pieter = account_id(app, "demo.inactif@example.be")
    with app.app_context():
        amelie = db.session.scalar(select(Customer.id).where(Customer.number == "2000000018"))
        db.session.execute(
            update(AccountCustomer)
            .where(AccountCustomer.customer_id == amelie)
            .values(account_id=pieter)
        )
        db.session.commit()
    lines, _cursor = export(runner, since=cursor)
    assert brief(lines) == [
        ("unlinked", "2000000018", "demo.actif@example.be"),
        ("activated", "2000000018", "demo.inactif@example.be"),
    ]


def test_a_cursor_past_the_journal_is_refused(app, runner):
    export(runner)
    result = runner.invoke(args=["idp", "customers", "export-activations", "--since", "99"])
    assert result.exit_code == 1
    assert "cursor 99 is past the last event (2)" in result.output
    assert "--since 0" in result.output


def test_two_exports_at_once_number_each_change_once(app, runner):
    with app.app_context():
        customers = db.session.scalars(
            select(Customer.id).where(Customer.activated_at.is_(None))
        ).all()
        account = account_id(app, "demo.actif@example.be")
        db.session.execute(
            insert(AccountCustomer), [{"account_id": account, "customer_id": c} for c in customers]
        )
        db.session.commit()
    errors: list[BaseException] = []

    def one_export():
        try:
            with app.app_context():
                record_changes(db.session)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_export) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        events = db.session.execute(
            select(BillingEvent.customer_number, func.count()).group_by(
                BillingEvent.customer_number
            )
        ).all()
    assert len(events) == 2 + len(customers) and all(count == 1 for _n, count in events)
