"""Growth: the statements of a login, a code redemption, a refresh, userinfo and a revocation
find their rows through indexes, so their cost does not grow with the tables (issue #10).

The statements are the ones the provider really runs (recorded during the flow), planned by
PostgreSQL with EXPLAIN after the tables were filled to realistic proportions (bench/filler.py)
and ANALYZEd: no plan may hold a sequential scan of a table that grows with the customers.
PostgreSQL only (SQLite's planner is not the production one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bench.filler import FILLED
from bench.filler import Volumes
from bench.filler import fill
from idp.extensions import db
from tests.conftest import emptied
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_login
from tests.oidc import exchange_code
from tests.oidc import refresh
from tests.oidc import revoke
from tests.oidc import userinfo
from tests.sql import recorded
from tests.sql import verb

POSTGRES_URL = os.environ.get("IDP_TEST_POSTGRES_URL")
VOLUMES = Volumes.scaled(accounts=20_000, tokens=100_000)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs IDP_TEST_POSTGRES_URL (CI sets it)"),
]

Recorded = list[tuple[str, Any]]


@pytest.fixture
def database_url(postgres_ready):
    """PostgreSQL only, emptied."""
    return emptied(postgres_ready)


@contextmanager
def recording(app) -> Iterator[Recorded]:
    """The reads and writes the app sends to the database inside the block."""
    with recorded(app) as seen:
        kept: Recorded = []
        yield kept
    kept.extend(
        (statement, parameters)
        for statement, parameters in seen
        if verb(statement) in ("SELECT", "INSERT", "UPDATE", "DELETE")
    )


def sequential_scans(plan: dict[str, Any]) -> Iterator[str]:
    """The tables a plan reads with a Seq Scan."""
    if plan.get("Node Type") == "Seq Scan":
        yield plan["Relation Name"]
    for child in plan.get("Plans", []):
        yield from sequential_scans(child)


def run_paths(app, test_client) -> dict[str, Recorded]:
    """A login, a code redemption, a refresh, userinfo and a revocation, each recorded."""
    phases: dict[str, Recorded] = {}
    request = AuthorizationRequest()
    with recording(app) as phases["login"]:
        callback = authorize_with_login(test_client, request)
    with recording(app) as phases["code redemption"]:
        tokens = exchange_code(test_client, request, callback["code"]).get_json()
    with recording(app) as phases["refresh"]:
        refreshed = refresh(test_client, tokens["refresh_token"]).get_json()
    with recording(app) as phases["userinfo"]:
        assert userinfo(test_client, refreshed["access_token"]).status_code == 200
    with recording(app) as phases["revocation"]:
        assert revoke(test_client, refreshed["refresh_token"]).status_code == 200
    assert all(phases.values()), "every path runs statements"
    return phases


def test_hot_statements_use_indexes_at_scale(app, test_client):
    phases = run_paths(app, test_client)
    with app.app_context(), db.engine.begin() as conn:
        fill(conn, VOLUMES)
    scans = []
    with app.app_context(), db.engine.connect() as conn:
        for phase, recorded in phases.items():
            for statement, parameters in recorded:
                plan = conn.exec_driver_sql(
                    "EXPLAIN (FORMAT JSON) " + statement, parameters
                ).scalar_one()[0]["Plan"]
                for name in set(sequential_scans(plan)) & set(FILLED):
                    scans.append(f"{phase}: Seq Scan on {name}: {' '.join(statement.split())}")
    assert scans == []
