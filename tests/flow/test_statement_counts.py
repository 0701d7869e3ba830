"""The token paths read what they need in one statement: no lazy loads of the account, its
customers and contracts, or the client (counted SQL statements, not time)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from idp.models.base import Base
from tests.oidc import AuthorizationRequest
from tests.oidc import introspect
from tests.oidc import login_and_get_tokens
from tests.oidc import refresh
from tests.oidc import userinfo
from tests.sql import recorded
from tests.sql import verb


@contextmanager
def statements(app) -> Iterator[list[str]]:
    """The verb of every SQL statement the engine runs inside the block."""
    with recorded(app) as seen:
        verbs: list[str] = []
        yield verbs
    verbs.extend(verb(statement) for statement, _parameters in seen)


@pytest.mark.postgres
def test_userinfo_reads_token_account_customers_contracts_and_client_in_one_select(
    app, test_client
):
    """OIDC Core §5.3 with the eligibility claim (product §4) computed from current contracts."""
    tokens = login_and_get_tokens(test_client)
    with statements(app) as seen:
        response = userinfo(test_client, tokens["access_token"])
    assert response.status_code == 200 and response.get_json()["eligibility"]["eligible"]
    assert [s for s in seen if s != "SELECT 1"].count("SELECT") == 1, seen


@pytest.mark.postgres
def test_introspection_reads_the_token_in_one_select(app, test_client):
    """RFC 7662 §2: one SELECT for the client, one for the token with its account."""
    tokens = login_and_get_tokens(test_client, AuthorizationRequest.customer_space())
    with statements(app) as seen:
        response = introspect(test_client, tokens["access_token"])
    assert response.status_code == 200 and response.get_json()["active"] is True
    assert seen.count("SELECT") <= 2, seen


@pytest.mark.postgres
def test_refresh_is_two_selects_one_claim_one_insert(app, test_client):
    """RFC 9700 §4.14.2 rotation: the client and the token with everything the new ID token's
    claims need (OIDC Core §12.2), the conditional UPDATE that claims it, the INSERT of the
    successor; no lazy loads."""
    tokens = login_and_get_tokens(test_client)
    with statements(app) as seen:
        response = refresh(test_client, tokens["refresh_token"])
    assert response.status_code == 200 and response.get_json()["id_token"]
    assert seen.count("SELECT") <= 2, seen
    assert seen.count("UPDATE") == 1 and seen.count("INSERT") == 1, seen


@contextmanager
def orm_loads() -> Iterator[list[str]]:
    """The class name of every ORM object loaded from a row inside the block."""
    loaded: list[str] = []

    def on_load(target, _context) -> None:
        loaded.append(type(target).__name__)

    event.listen(Base, "load", on_load, propagate=True)
    try:
        yield loaded
    finally:
        event.remove(Base, "load", on_load)


@pytest.mark.postgres
def test_userinfo_builds_no_orm_objects(app, test_client):
    """Userinfo only reads: the token, account, customers and contracts come back as plain rows
    (idp.models.token_rows), so no ORM object (nor identity map entry) is built."""
    tokens = login_and_get_tokens(test_client)
    with orm_loads() as loaded:
        response = userinfo(test_client, tokens["access_token"])
    assert response.status_code == 200 and response.get_json()["eligibility"]["eligible"]
    assert loaded == [], loaded


@pytest.mark.postgres
def test_introspection_builds_only_the_client(app, test_client):
    """RFC 7662: the authenticated client is the one ORM object; the token is read as rows."""
    tokens = login_and_get_tokens(test_client, AuthorizationRequest.customer_space())
    with orm_loads() as loaded:
        response = introspect(test_client, tokens["access_token"])
    assert response.status_code == 200 and response.get_json()["active"] is True
    assert loaded == ["Client"], loaded
