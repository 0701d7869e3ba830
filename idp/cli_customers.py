"""``flask --app wsgi idp customers …``: the billing import and the export of activations.

Imports idp.accounts.{customers,billing_sync}, idp.activation_keys and idp.extensions.
"""

from __future__ import annotations

import csv
import json
from typing import Any
from typing import TextIO

import click
from flask import current_app
from flask.cli import AppGroup

from idp.accounts.billing_sync import COLUMNS
from idp.accounts.billing_sync import CursorAhead
from idp.accounts.billing_sync import events_since
from idp.accounts.billing_sync import isoformat
from idp.accounts.billing_sync import record_changes
from idp.accounts.customers import ImportError_
from idp.accounts.customers import ImportResult
from idp.accounts.customers import import_customers
from idp.activation_keys import ActivationKeyError
from idp.extensions import db

customers_group = AppGroup("customers", help="Customers imported from billing.")


@customers_group.command("import")
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
@click.option(
    "--full",
    is_flag=True,
    help="The file lists every customer and contract: delete the contracts it does not name, "
    "and the customers it does not name unless they have an account.",
)
@click.option(
    "--max-removed",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0, 100),
    help="With --full: refuse a file that would remove more than this percentage of the "
    "customers or contracts.",
)
def customers_import(csv_file: TextIO, full: bool, max_removed: float) -> None:
    """Create or update customers and contracts from a billing CSV (a delta, or with --full
    the complete list), in one transaction: nothing is imported if any line is wrong."""
    try:
        result = import_customers(
            db.session,
            csv_file,
            current_app.config["IDP"],
            full=full,
            max_removed_percent=max_removed,
        )
    except ImportError_ as exc:
        for line in exc.errors:
            click.echo(line, err=True)
        raise click.ClickException(f"{exc.count} error(s); nothing imported") from None
    except ActivationKeyError as exc:
        raise click.ClickException(str(exc)) from None
    for line in import_summary(result):
        click.echo(line)


def import_summary(result: ImportResult) -> list[str]:
    """The lines ``customers import`` prints: notes, then what changed."""
    lines = list(result.notes)
    if result.notes_count > len(result.notes):
        lines.append(f"… and {result.notes_count - len(result.notes)} more notes")
    summary = (
        f"{result.rows} rows: {result.customers_created} customers and "
        f"{result.contracts_created} contracts created, {result.changed} changed"
    )
    if result.codes_rekeyed:
        summary += f", {result.codes_rekeyed} activation codes re-keyed"
    lines.append(summary)
    if result.removal is not None:
        removal = result.removal
        lines.append(
            f"absent from the file: {removal.contracts_removed} contracts and "
            f"{removal.customers_removed} customers removed, {removal.customers_kept} "
            "customers kept (they have an account)"
        )
    return lines


@customers_group.command("export-activations")
@click.option(
    "--since",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="The cursor the previous export printed; 0 for everything.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
)
@click.option("--output", type=click.File("w", encoding="utf-8", lazy=False), default="-")
def export_activations(since: int, output_format: str, output: TextIO) -> None:
    """Stream to billing what changed after the cursor: customers activated (with the login
    chosen), logins changed, customers unlinked or deleted with their account; one line each
    (seq, event, customer_number, login, activated_at, recorded_at). The next cursor goes to
    standard error. Re-running with the same cursor repeats the same lines."""
    record_changes(db.session)
    write = _csv_writer(output) if output_format == "csv" else _jsonl_writer(output)
    cursor = since
    try:
        for event in events_since(db.session, since):
            write(event._mapping)
            cursor = event.seq
    except CursorAhead as exc:
        raise click.ClickException(
            f"{exc}: was the database restored from an older backup? "
            "Export with --since 0 and let billing apply every line again."
        ) from None
    output.flush()
    click.echo(f"cursor: {cursor}", err=True)


def _csv_writer(output: TextIO) -> Any:
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(COLUMNS)
    return lambda event: writer.writerow(_values(event))


def _jsonl_writer(output: TextIO) -> Any:
    return lambda event: output.write(
        json.dumps(dict(zip(COLUMNS, _values(event), strict=True)), ensure_ascii=False) + "\n"
    )


def _values(event: Any) -> list[Any]:
    return [
        event["seq"],
        event["event"],
        event["customer_number"],
        event["login"],
        isoformat(event["activated_at"]),
        isoformat(event["recorded_at"]),
    ]
