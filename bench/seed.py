"""Bench data: ``python -m bench.seed reset|users N`` against the database of the ``IDP_*``
environment. ``reset`` drops every table of that (scratch) database; ``users`` adds N accounts
``bench-user-<i>@example.be`` (one password, argon2id at the configured cost), each linked to a
customer with an active contract. Used by ``bench.run`` only."""

from __future__ import annotations

import sys
from datetime import date

from sqlalchemy import MetaData

from idp import create_app
from idp.accounts.passwords import hash_password
from idp.extensions import db
from idp.models.account import Account
from idp.models.account import AccountCustomer
from idp.models.customer import Contract
from idp.models.customer import Customer


def reset() -> None:
    """Drop every table, the migration history included."""
    app = create_app()
    with app.app_context():
        meta = MetaData()
        meta.reflect(bind=db.engine)
        meta.drop_all(bind=db.engine)


def add_users(count: int, password: str) -> None:
    """N active accounts, each with an eligible customer (an active electricity contract)."""
    app = create_app()
    settings = app.config["IDP"]
    with app.app_context():
        for i in range(count):
            number = f"29{i:08d}"
            customer = Customer(number=number, holder_name=f"Bench Customer {i}", language="fr")
            customer.contracts.append(
                Contract(
                    id=f"EL-{number}",
                    energy="electricity",
                    status="active",
                    start_date=date(2024, 1, 1),
                )
            )
            account = Account(
                login=f"bench-user-{i}@example.be",
                email=f"bench-user-{i}@example.be",
                email_verified=True,
                password_hash=hash_password(password, settings),
                language="fr",
            )
            db.session.add_all([customer, account])
            db.session.flush()
            db.session.add(AccountCustomer(account_id=account.id, customer_id=customer.id))
        db.session.commit()


if __name__ == "__main__":
    if sys.argv[1] == "reset":
        reset()
    else:
        add_users(int(sys.argv[2]), sys.argv[3])
