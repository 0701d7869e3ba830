"""Read-only token reads for userinfo and introspection: one Core SELECT of the token, its
account, customers and contracts into plain rows (no ORM objects, no identity map).

Imports sqlalchemy and idp.models only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from idp.models.account import Account
from idp.models.account import AccountCustomer
from idp.models.account import display_name_of
from idp.models.base import DbSession
from idp.models.customer import Contract
from idp.models.customer import Customer
from idp.models.oauth import Token
from idp.models.oauth import TokenState


@dataclass(frozen=True)
class ContractRow:
    """The columns that decide whether a contract is active (``is_active_on``)."""

    status: str
    start_date: date
    end_date: date | None


@dataclass(frozen=True)
class CustomerRow:
    """A linked customer's holder name and contracts."""

    holder_name: str
    contracts: tuple[ContractRow, ...]


@dataclass(frozen=True)
class AccountRow:
    """What the claims (``idp.oauth.claims``) and the eligibility check read of an account:
    its customers, then its columns in ``_ACCOUNT_COLUMNS`` order."""

    customers: tuple[CustomerRow, ...]
    sub: str
    login: str
    email: str
    email_verified: bool
    language: str
    status: str

    @property
    def display_name(self) -> str:
        """As ``Account.display_name``."""
        return display_name_of(self.login, self.customers)


@dataclass
class TokenRow(TokenState):
    """A token's account, then its columns in ``_TOKEN_COLUMNS`` order, for endpoints that
    only read it."""

    account: AccountRow = field(repr=False)
    id: int
    client_id: str
    scope: str
    refresh_token_hash: str | None
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    refresh_used_at: datetime | None
    revoked_at: datetime | None
    dpop_jkt: str | None


_TOKEN_COLUMNS = (
    Token.id,
    Token.client_id,
    Token.scope,
    Token.refresh_token_hash,
    Token.issued_at,
    Token.access_expires_at,
    Token.refresh_expires_at,
    Token.refresh_used_at,
    Token.revoked_at,
    Token.dpop_jkt,
)
_ACCOUNT_COLUMNS = (
    Account.sub,
    Account.login,
    Account.email,
    Account.email_verified,
    Account.language,
    Account.status,
)
_CUSTOMER_COLUMNS = (Customer.id, Customer.holder_name)
_CONTRACT_COLUMNS = (Contract.id, Contract.status, Contract.start_date, Contract.end_date)

# Built once with a bound parameter (SQLAlchemy memoises the cache key on the statement).
_ROWS_BY_HASH = {
    column.key: select(*_TOKEN_COLUMNS, *_ACCOUNT_COLUMNS, *_CUSTOMER_COLUMNS, *_CONTRACT_COLUMNS)
    .join(Account, Account.id == Token.account_id)
    .outerjoin(AccountCustomer, AccountCustomer.account_id == Account.id)
    .outerjoin(Customer, Customer.id == AccountCustomer.customer_id)
    .outerjoin(Contract, Contract.customer_id == Customer.id)
    .where(column == bindparam("digest"))
    # Account.customers and Customer.contracts order (what the ORM path reads).
    .order_by(Customer.number, Contract.start_date)
    for column in (Token.access_token_hash, Token.refresh_token_hash)
}
_T = len(_TOKEN_COLUMNS)
_A = _T + len(_ACCOUNT_COLUMNS)
_C = _A + len(_CUSTOMER_COLUMNS)


def read_token(
    session: DbSession, column: InstrumentedAttribute[Any], digest: str
) -> TokenRow | None:
    """The token whose ``column`` (access or refresh token hash) is ``digest`` with its account,
    customers and contracts, in one statement, as plain rows."""
    # On the session's connection (its transaction), past the ORM execution layer: plain rows
    # need none of it (10-19 % of a userinfo request's CPU in process).
    rows: Sequence[Any] = (
        session.connection().execute(_ROWS_BY_HASH[column.key], {"digest": digest}).all()
    )
    if not rows:
        return None
    customers: dict[int, tuple[str, list[ContractRow]]] = {}
    for row in rows:
        customer_id, holder_name = row[_A], row[_A + 1]
        if customer_id is None:
            continue
        contracts = customers.setdefault(customer_id, (holder_name, []))[1]
        if row[_C] is not None:
            contracts.append(ContractRow(*row[_C + 1 :]))
    first = rows[0]
    linked = tuple(CustomerRow(name, tuple(items)) for name, items in customers.values())
    return TokenRow(AccountRow(linked, *first[_T:_A]), *first[:_T])
