"""Operator commands for support work: ``flask --app wsgi idp accounts show|disable|enable|
delete`` and ``idp customers unlock``. Each change is one transaction, recorded in the audit
trail (``admin_action``, with the operating system user as actor).

Imports idp.accounts.support, idp.audit and the command groups of idp.cli.
"""

from __future__ import annotations

import click
from flask import current_app

from idp import audit
from idp.accounts.support import Ambiguous
from idp.accounts.support import NotFound
from idp.accounts.support import delete_account
from idp.accounts.support import describe
from idp.accounts.support import disable_account
from idp.accounts.support import enable_account
from idp.accounts.support import find_accounts
from idp.accounts.support import find_one_account
from idp.accounts.support import unlock_activation
from idp.cli import accounts_group
from idp.cli_customers import customers_group
from idp.extensions import db
from idp.models.account import Account


def _one(query: str) -> Account:
    try:
        return find_one_account(db.session, query)
    except NotFound:
        raise click.ClickException(f"no account for {query!r}") from None
    except Ambiguous as many:
        raise click.ClickException(
            f"{len(many.logins)} accounts use this address; name one login: {many}"
        ) from None


@accounts_group.command("show")
@click.argument("query")
def accounts_show(query: str) -> None:
    """Show the accounts a login, e-mail address or customer number names (no secrets)."""
    found = find_accounts(db.session, query)
    if not found:
        raise click.ClickException(f"no account for {query!r}")
    for account in found:
        summary = describe(db.session, account)
        for name, value in vars(summary).items():
            shown = ", ".join(value) if isinstance(value, list) else value
            click.echo(f"{name:15} {'-' if shown in (None, '') else shown}")
        click.echo("")


@accounts_group.command("disable")
@click.argument("query")
def accounts_disable(query: str) -> None:
    """Refuse this account's logins and end its sessions and tokens now (clients are told
    through back-channel logout)."""
    account = _one(query)
    ended = disable_account(db.session, account)
    audit.admin_action("accounts disable", account.id)
    click.echo(f"account {account.login} disabled; {len(ended)} session(s) ended")


@accounts_group.command("enable")
@click.argument("query")
def accounts_enable(query: str) -> None:
    """Let a disabled account log in again."""
    account = _one(query)
    enable_account(db.session, account)
    audit.admin_action("accounts enable", account.id)
    click.echo(f"account {account.login} enabled")


@accounts_group.command("delete")
@click.argument("query")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def accounts_delete(query: str, yes: bool) -> None:
    """Delete an account for good, as its owner can on /account: sessions end (clients are
    told), its customers stay, a last mail confirms it to the owner."""
    account = _one(query)
    login, account_id = account.login, account.id
    if not yes:
        click.confirm(f"Delete account {login} for good?", abort=True)
    delete_account(db.session, account, current_app.config["IDP"])
    audit.admin_action("accounts delete", account_id)
    click.echo(f"account {login} deleted; its sessions ended and a last mail tells the owner")


@customers_group.command("unlock")
@click.argument("customer_number")
def customers_unlock(customer_number: str) -> None:
    """Give a customer's activation code its attempts back after too many wrong ones."""
    try:
        customer = unlock_activation(db.session, customer_number)
    except NotFound:
        raise click.ClickException(f"no customer {customer_number!r}") from None
    audit.admin_action(f"customers unlock {customer.number}", None)
    click.echo(f"customer {customer.number}: activation code unlocked")
