"""``flask --app wsgi idp …``: keys, clients, customers, accounts, mail, logout, demo data,
docs, purge."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup

from idp import activation_keys
from idp import audit
from idp import keys as keystore
from idp.accounts.activation import create_account
from idp.accounts.customers import kids_in_use
from idp.accounts.refusals import Refused
from idp.cli_customers import customers_group
from idp.clients_sync import RegistrationError
from idp.clients_sync import sync_clients
from idp.config import REPO_ROOT
from idp.config import Settings
from idp.config import configuration_table
from idp.config import with_readme_table
from idp.extensions import db
from idp.mail.outbox import MAX_ATTEMPTS
from idp.mail.outbox import count_by_state
from idp.mail.outbox import deliver_pending
from idp.mail.outbox import forget_old_contexts
from idp.mail.outbox import requeue_given_up
from idp.mail.transports import transport_for
from idp.oauth.backchannel import deliver_pending as deliver_logout_tokens
from idp.oauth.backchannel import purge_finished as purge_finished_logout_tokens
from idp.purge import BATCH_SIZE
from idp.purge import KEEP_SENT
from idp.purge import purge
from idp.seed import seed_demo
from idp.worker import worker_command

# AppGroup, not click.Group: its commands push an app context themselves, so they also work
# under ``app.test_cli_runner()`` (``flask`` itself pushes one for any command).
idp_cli = AppGroup("idp", help="Operate the customer-space identity provider.")
idp_cli.add_command(worker_command)


idp_cli.add_command(customers_group)


def _settings() -> Settings:
    value: Settings = current_app.config["IDP"]
    return value


@idp_cli.group("keys")
def keys_group() -> None:
    """Signing keys in IDP_KEYS_DIR."""


@keys_group.command("generate")
def keys_generate() -> None:
    """Create missing keys (a current and a next one per algorithm, and a current
    activation-code key); keep existing ones."""
    directory = _settings().path(_settings().keys_dir)
    made = keystore.generate_missing(directory) + activation_keys.generate_missing(directory)
    click.echo(f"generated {', '.join(made)}" if made else "keys present; nothing generated")


@keys_group.command("rotate")
def keys_rotate() -> None:
    """next → current → retired, and a new next key; a new activation-code key. Every host
    picks the new keys up by itself (IDP_KEYS_RELOAD_INTERVAL)."""
    directory = _settings().path(_settings().keys_dir)
    made = keystore.rotate(directory)
    coded = activation_keys.rotate(directory)
    audit.admin_action("keys rotate")
    click.echo(f"rotated; new next keys: {', '.join(made)}; new activation-code key: {coded[0]}")


@keys_group.command("prune")
def keys_prune() -> None:
    """Delete retired keys, once every token they signed has expired, and the retired
    activation-code keys no stored code hash names any more."""
    directory = _settings().path(_settings().keys_dir)
    in_use = kids_in_use(db.session, activation_keys.retired_kids(directory))
    gone = keystore.prune(directory) + activation_keys.prune(directory, in_use)
    audit.admin_action("keys prune")
    if in_use:
        click.echo(
            f"kept activation-code keys {', '.join(sorted(in_use))}: codes still hashed with "
            "them (the next customers import re-keys them)"
        )
    click.echo(f"removed {', '.join(gone)}" if gone else "no retired key")


@idp_cli.group("clients")
def clients_group() -> None:
    """Client registrations."""


@clients_group.command("sync")
def clients_sync() -> None:
    """Load IDP_CLIENTS_FILE into the database."""
    try:
        ids = sync_clients(db.session, _settings())
    except RegistrationError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"clients synced: {', '.join(ids)}")


@idp_cli.group("accounts")
def accounts_group() -> None:
    """Customer-space accounts."""


@accounts_group.command("create")
@click.option("--login", required=True)
@click.option("--email", required=True)
@click.option("--customer", "customer_number", required=True)
@click.option("--language", type=click.Choice(["fr", "nl", "en", "de"]), default=None)
def accounts_create(login: str, email: str, customer_number: str, language: str | None) -> None:
    """Create an account for a customer; the password is read from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        account = create_account(
            db.session,
            login=login,
            email=email,
            password=password,
            customer_number=customer_number,
            language=language,
            settings=_settings(),
        )
    except Refused as exc:
        raise click.ClickException(f"{exc.reason}: {exc}") from None
    audit.admin_action("accounts create", account.id)
    click.echo(f"account {account.login} created (sub {account.sub})")


@idp_cli.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo customers and accounts (idempotent)."""
    made = seed_demo(db.session, _settings())
    click.echo(f"demo data: created {', '.join(made)}" if made else "demo data present")


@idp_cli.command("docs-config")
def docs_config() -> None:
    """Regenerate docs/configuration.md and README.md's settings table from idp/config.py."""
    (REPO_ROOT / "docs" / "configuration.md").write_text(configuration_table())
    readme = REPO_ROOT / "README.md"
    readme.write_text(with_readme_table(readme.read_text()))
    click.echo("docs/configuration.md and README.md written")


@idp_cli.command("purge")
@click.option(
    "--batch-size",
    default=BATCH_SIZE,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows deleted per transaction.",
)
@click.option(
    "--keep-days",
    default=KEEP_SENT.days,
    show_default=True,
    type=click.IntRange(min=0),
    help="Keep sent mails and logout notifications this long.",
)
@click.option(
    "--pause",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds to wait between batches (room for the requests being served).",
)
def purge_command(batch_size: int, keep_days: int, pause: float) -> None:
    """Delete expired codes, tokens, sessions, pending logins, dead registration links,
    expired password resets and old sent mail, in batches; safe while serving."""
    counts = purge(
        db.session, keep_sent=timedelta(days=keep_days), batch_size=batch_size, pause=pause
    )
    click.echo("purged " + ", ".join(f"{count} {name}" for name, count in counts.items()))


@idp_cli.group("mail")
def mail_group() -> None:
    """The outbox of outgoing mail."""


@mail_group.command("deliver")
@click.option("--limit", default=500, show_default=True, help="Mails to handle at most.")
@click.option(
    "--max-attempts",
    default=MAX_ATTEMPTS,
    show_default=True,
    help="Attempts before a mail is given up on.",
)
def mail_deliver(limit: int, max_attempts: int) -> None:
    """Send the mails that are due now (the worker process does the same)."""
    settings = _settings()
    result = deliver_pending(
        db.session, transport_for(settings), settings, limit=limit, max_attempts=max_attempts
    )
    forget_old_contexts(db.session, settings)
    click.echo(f"sent {result.sent}, retrying {result.retrying}, given up {result.given_up}")


@mail_group.command("list")
def mail_list() -> None:
    """How many mails are waiting, given up on and sent."""
    counts = count_by_state(db.session)
    click.echo(f"waiting {counts.waiting}, given up {counts.given_up}, sent {counts.sent}")


@mail_group.command("requeue")
def mail_requeue() -> None:
    """Try again the mails that were given up on (for example after a long outage)."""
    count = requeue_given_up(db.session)
    db.session.commit()
    click.echo(f"requeued {count}")


@idp_cli.group("logout")
def logout_group() -> None:
    """Back-channel logout notifications (OIDC Back-Channel Logout 1.0)."""


@logout_group.command("deliver")
@click.option("--limit", default=500, show_default=True, help="Notifications to handle at most.")
def logout_deliver(limit: int) -> None:
    """POST the logout tokens that are due now (the worker process does the same)."""
    result = deliver_logout_tokens(db.session, limit=limit)
    click.echo(f"sent {result.sent}, retrying {result.retrying}, given up {result.given_up}")


@logout_group.command("purge")
@click.option("--days", default=30, show_default=True, help="Keep finished ones this long.")
def logout_purge(days: int) -> None:
    """Delete notifications delivered or given up on more than ``--days`` ago."""
    click.echo(f"purged {purge_finished_logout_tokens(db.session, timedelta(days=days))}")


def init_cli(app: Flask) -> None:
    """Register the ``idp`` command group."""
    import idp.cli_support  # noqa: F401 - adds the support commands to the groups above

    app.cli.add_command(idp_cli)
