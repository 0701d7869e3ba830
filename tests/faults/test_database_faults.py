"""Issue 9 item 3: a database outage answers 503 with Retry-After (a localised page for people,
the JSON error for protocol endpoints), is logged once per outage, and heals by itself. The
database is a PostgreSQL cluster of the test's own, stopped and started, or its connections cut.
"""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text

from idp.extensions import db
from idp.views.unavailable import RETRY_AFTER_SECONDS
from tests.faults.conftest import wait_until
from tests.oidc import AuthorizationRequest
from tests.oidc import login_and_get_tokens
from tests.oidc import refresh

pytestmark = pytest.mark.slow
OUTAGE_LOG = "idp.views.unavailable"


@pytest.fixture
def database_url(postgres_cluster):
    """Every test here runs on the throwaway cluster (not the shared database)."""
    return postgres_cluster.url


def _assert_unavailable_page(response, language_text: str) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.mimetype == "text/html"
    assert language_text in response.text
    assert response.headers["X-Request-Id"] in response.text


def _assert_unavailable_json(response) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_stopped_database_answers_503_once_logged_and_recovers(
    app, test_client, postgres_cluster, caplog
):
    tokens = login_and_get_tokens(test_client)
    caplog.set_level(logging.INFO, logger=OUTAGE_LOG)

    postgres_cluster.stop("fast")
    dutch = {"Accept-Language": "nl"}
    for _ in range(3):
        _assert_unavailable_page(
            test_client.get(AuthorizationRequest().url(), headers=dutch),
            "Tijdelijk niet beschikbaar",
        )
    _assert_unavailable_page(
        test_client.get(AuthorizationRequest().url(), headers={"Accept-Language": "de"}),
        "Vorübergehend nicht verfügbar",
    )
    _assert_unavailable_json(refresh(test_client, tokens["refresh_token"]))
    _assert_unavailable_json(
        test_client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    )
    ready = test_client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["database"] == "failing"
    assert test_client.get("/healthz").status_code == 200
    assert test_client.get("/.well-known/openid-configuration").status_code == 200

    started = time.monotonic()
    postgres_cluster.start()
    restarted = time.monotonic()
    wait_until(
        lambda: test_client.get(AuthorizationRequest().url()).status_code == 302,
        30,
        "recovery after the restart",
    )
    recovered = time.monotonic()
    assert refresh(test_client, tokens["refresh_token"]).status_code == 200
    records = [r for r in caplog.records if r.name == OUTAGE_LOG]
    assert [r.getMessage().split(":")[0] for r in records] == [
        "database unavailable, answering 503 until it returns",
        f"database available again after {records[-1].getMessage().split()[-2]} s",
    ]
    print(  # noqa: T201
        f"\npostgres stopped: restart took {restarted - started:.1f} s, first success "
        f"{recovered - restarted:.2f} s after it answered"
    )


def _terminate_other_backends(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE pid <> pg_backend_pid() AND datname = current_database()"
                    )
                ).all()
            )
    finally:
        engine.dispose()


def test_connections_cut_between_requests_cost_nothing(app, test_client, postgres_cluster):
    """pg_terminate_backend on every pooled connection: pre-ping replaces them, no error."""
    tokens = login_and_get_tokens(test_client)
    assert _terminate_other_backends(postgres_cluster.url) >= 1
    statuses = [refresh(test_client, tokens["refresh_token"]).status_code]
    assert statuses == [200]
    assert test_client.get("/readyz").status_code == 200


def test_a_connection_cut_during_a_request_answers_503_and_the_next_one_works(
    app, test_client, caplog
):
    """The connection dies under a request (its backend terminated mid-way): that request
    gets 503 with Retry-After, the next one a fresh connection."""

    def cut_own_connection() -> None:
        db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    app.add_url_rule("/_test/cut", "cut", cut_own_connection)
    caplog.set_level(logging.INFO, logger=OUTAGE_LOG)
    response = test_client.get("/_test/cut", headers={"Accept-Language": "fr"})
    _assert_unavailable_page(response, "Temporairement indisponible")
    assert test_client.get(AuthorizationRequest().url()).status_code == 302
    messages = [r.getMessage() for r in caplog.records if r.name == OUTAGE_LOG]
    assert len(messages) == 2 and messages[1].startswith("database available again")
