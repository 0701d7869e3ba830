"""Issue 9 items 1 and 2: a frozen Redis must not freeze the provider, a stopped Redis must not
be a login outage. The rate-limit store is a redis-server of the test's own."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import redis

from idp.metrics import RATELIMIT_FALLBACK
from idp.ratelimit import FALLING_BACK
from idp.ratelimit import RECOVERED
from tests.faults.conftest import wait_until
from tests.flow.registration_steps import accept_cookies
from tests.flow.registration_steps import ask_for_link
from tests.oidc import DEMO_ACTIVE
from tests.oidc import AuthorizationRequest
from tests.oidc import submit_login

pytestmark = pytest.mark.slow

FREEZE_SECONDS = 30  # the timer thaws Redis after this, whatever the test does
PARALLEL_LOGINS = 4  # in flight together when the store freezes (the switch to memory races)
PROMPT_SECONDS = 10  # "answers during the freeze": far below FREEZE_SECONDS, far above the timeout


@pytest.fixture
def overrides(redis_server):
    """The provider's limits live in the throwaway Redis; per-IP login limit 3/minute."""
    return {
        "ratelimit_storage_url": redis_server.url,
        "redis_timeout_ms": 300,
        "login_rate_limit": "3/minute",
    }


def _in_thread(call) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["status"] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            outcome["error"] = repr(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _login_page(test_client) -> str:
    return test_client.get(AuthorizationRequest().url()).headers["Location"]


def test_a_frozen_redis_does_not_freeze_discovery_or_logins(app, redis_server):
    """Issue 9 item 1: with the store frozen (SIGSTOP), discovery and logins still answer,
    well before the freeze ends (without timeouts a login waits for the whole freeze), and
    none of the logins that were waiting on Redis together fails (no 500)."""
    warm = app.test_client()
    page = _login_page(warm)
    assert submit_login(warm, page, DEMO_ACTIVE, "wrong-password-1").status_code == 401

    redis_server.freeze(at_most=FREEZE_SECONDS)
    try:
        clients = [app.test_client() for _ in range(PARALLEL_LOGINS)]
        pages = [_login_page(c) for c in clients]
        started = time.monotonic()
        discovery, found = _in_thread(
            lambda: clients[0].get("/.well-known/openid-configuration").status_code
        )
        logins = [
            _in_thread(
                lambda c=c, p=p: submit_login(c, p, DEMO_ACTIVE, "wrong-password-2").status_code
            )
            for c, p in zip(clients, pages, strict=True)
        ]
        discovery.join(PROMPT_SECONDS)
        for thread, _outcome in logins:
            thread.join(PROMPT_SECONDS)
        elapsed = time.monotonic() - started
    finally:
        redis_server.thaw()
    assert found == {"status": 200}
    answers = [outcome for _thread, outcome in logins]
    assert answers == [{"status": 401}] * PARALLEL_LOGINS, (
        f"logins in flight when the store froze: {answers} after {elapsed:.1f} s"
    )
    print(f"\nredis frozen: discovery and {PARALLEL_LOGINS} logins answered within {elapsed:.2f} s")  # noqa: T201


def test_a_stopped_redis_falls_back_to_memory_limits_and_recovers(app, redis_server, caplog):
    """Issue 9 item 2: logins and the registration e-mail step keep working (no 500) while
    Redis is down, the per-IP limit still applies from memory, one warning says so, a metric
    shows it, and the limits go back to Redis by themselves when it returns."""
    client = app.test_client()
    page = _login_page(client)
    assert submit_login(client, page, DEMO_ACTIVE, "wrong-password-1").status_code == 401
    store = redis.Redis.from_url(redis_server.url)
    assert store.keys("LIMITS*"), "the counters live in Redis before the outage"

    redis_server.stop()
    caplog.set_level(logging.INFO, logger="flask-limiter")
    outage = app.test_client()
    accept_cookies(outage)
    assert ask_for_link(outage, "someone@example.be").status_code == 303
    page = _login_page(outage)
    statuses = [
        submit_login(outage, page, DEMO_ACTIVE, f"wrong-password-{n}").status_code for n in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429], "3/minute per IP, counted in memory"
    warnings = [r for r in caplog.records if r.getMessage().startswith(FALLING_BACK)]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert RATELIMIT_FALLBACK._value.get() == 1
    ready = outage.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["redis"] == "failing"

    restarted_at = time.monotonic()
    redis_server.start()
    fresh = app.test_client()

    def back_on_redis() -> bool:
        fresh.get("/register")  # any limited request probes the store
        fresh_page = _login_page(fresh)
        submit_login(fresh, fresh_page, DEMO_ACTIVE, "wrong-password-x")
        return bool(store.keys("LIMITS*"))

    wait_until(back_on_redis, 70, "return to Redis")
    recovery = time.monotonic() - restarted_at
    assert any(r.getMessage().startswith(RECOVERED) for r in caplog.records)
    assert RATELIMIT_FALLBACK._value.get() == 0
    assert fresh.get("/readyz").get_json()["redis"] == "ok"
    print(f"\nredis stopped: recovered {recovery:.1f} s after the restart")  # noqa: T201


def test_growing_login_waits_survive_a_store_that_fails_before_the_switch(app, redis_server):
    """A request that checked its route limits while Redis answered, then finds it gone at the
    growing-wait step (observed under load: one 500 in 765 logins), counts in memory instead."""
    from idp.views.login import _delays

    redis_server.stop()
    with app.test_request_context("/interaction/x", method="POST"):
        delays = _delays()
        assert delays.wait_left("someone") == 0
        delays.fail("someone")
        delays.fail("someone")
        assert delays.failures("someone") == 2
