"""The rate-limit store: bounded Redis calls and the per-process memory fallback.

The throttles are a brake, not a gate (issue 9): a hung or stopped Redis must neither freeze
nor refuse logins. Every Redis call gets a connect and a read timeout whatever URL the operator
wrote, without redis-py's default retries (three, with back-off up to seconds); when a call
fails, Flask-Limiter's in-memory fallback counts the same limits in this process's memory and
probes Redis again with back-off, returning to it by itself. Imports flask_limiter, limits,
redis and idp.metrics only.
"""

from __future__ import annotations

import logging
from typing import Any
from typing import cast

from flask import Flask
from limits import parse_many
from limits.storage import MemoryStorage
from limits.storage import Storage
from redis.backoff import NoBackoff
from redis.retry import Retry

from idp.config import Settings
from idp.extensions import limiter
from idp.metrics import RATELIMIT_FALLBACK
from idp.metrics import REDIS_ERRORS

log = logging.getLogger(__name__)
REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")
# Flask-Limiter's own records when it switches store; they are its public behaviour, and
# tests/faults/test_redis_faults.py fails if their wording changes.
FALLING_BACK = "Rate limit storage unreachable"
RECOVERED = "Rate limit storage recovered"
SWALLOWED = "Failed to rate limit"


def storage_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for the Redis client behind the limiter (redis-py names).

    URL query parameters would override them (redis-py lets the URL win), so
    ``Settings.validate`` refuses ``socket_*``/``retry*`` parameters in the URL.
    """
    url = settings.ratelimit_storage_url
    if not url.startswith(("redis", "valkey")):
        return {}
    seconds = settings.redis_timeout_ms / 1000
    options: dict[str, Any] = {"socket_connect_timeout": seconds, "socket_timeout": seconds}
    if url.startswith(REDIS_SCHEMES):
        options["retry"] = Retry(NoBackoff(), 0)
    return options


class FallbackObserver(logging.Filter):
    """Turns Flask-Limiter's "storage unreachable / recovered" records into metrics, and its
    "swallowing error" tracebacks (an expected store failure) into one-line warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Count the switch; let the record through (it is the once-per-outage warning)."""
        message = record.getMessage()
        if message.startswith(FALLING_BACK):
            REDIS_ERRORS.inc()
            RATELIMIT_FALLBACK.set(1)
        elif message.startswith(RECOVERED):
            RATELIMIT_FALLBACK.set(0)
        elif message.startswith(SWALLOWED) and record.exc_info:
            REDIS_ERRORS.inc()
            error = record.exc_info[1]
            record.msg, record.args = "%s (%s: %s)", (message, type(error).__name__, error)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


def init_ratelimit(app: Flask, settings: Settings) -> None:
    """Configure the limiter's store (timeouts, memory fallback) and bind it to the app."""
    app.config.update(
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_url,
        RATELIMIT_STORAGE_OPTIONS=storage_options(settings),
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        # Requests already waiting on Redis when another thread switched to memory would
        # otherwise raise (Flask-Limiter re-raises once the store is marked dead): let them
        # through unchecked instead (observed: 6 of 447 logins answered 500 at the switch).
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_HEADERS_ENABLED=True,
    )
    flask_limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(f, FallbackObserver) for f in flask_limiter_log.filters):
        flask_limiter_log.addFilter(FallbackObserver())
    limiter.init_app(app)
    # The limiter is a process singleton that keeps "store is dead" across init_app calls; a
    # new app (tests build many) starts on its configured store.
    limiter._storage_dead = False
    _MEMORY.reset()
    RATELIMIT_FALLBACK.set(0)


def spend(limits: str, *identifiers: str) -> bool:
    """Count one hit of every limit in ``limits`` for ``identifiers``; False when one is spent.

    Views use it for counters that are not tied to a route. It goes through the limiter's
    current store (memory while Redis is down) and never fails a request for the store's sake.
    """
    items = parse_many(limits)
    try:
        return all([limiter.limiter.hit(item, *identifiers) for item in items])
    except Exception:  # noqa: BLE001 - a store failure must not become a 500 (issue 9 item 2)
        log.warning("rate-limit store failed; this hit is not counted", exc_info=True)
        REDIS_ERRORS.inc()
        return True


def has_room(limits: str, *identifiers: str) -> bool:
    """True when every limit in ``limits`` still has room for ``identifiers`` (counts nothing)."""
    items = parse_many(limits)
    try:
        return all(limiter.limiter.test(item, *identifiers) for item in items)
    except Exception:  # noqa: BLE001 - same as spend
        log.warning("rate-limit store failed; limit not checked", exc_info=True)
        REDIS_ERRORS.inc()
        return True


class _StoreWithFallback:
    """A store that answers from this process's memory when the shared one fails (the growing
    login waits of idp.throttle use it like the route limits use Flask-Limiter's fallback)."""

    def __init__(self, shared: Storage, memory: Storage) -> None:
        self._shared = shared
        self._memory = memory

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return getattr(self._shared, name)(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - a store failure must not become a 500
                REDIS_ERRORS.inc()
                log.warning("rate-limit store failed, counting in memory: %r", exc)
                return getattr(self._memory, name)(*args, **kwargs)

        return call


# Per process, like Flask-Limiter's own fallback store: counts only while Redis fails; a new
# app starts with it empty (init_ratelimit), as a restarted process would.
_MEMORY = MemoryStorage()


def counter_store() -> Storage:
    """The limiter's current store (memory while Redis is known to be down), falling back to
    memory for a call that fails before the limiter has noticed the outage."""
    return cast(Storage, _StoreWithFallback(limiter.limiter.storage, _MEMORY))
