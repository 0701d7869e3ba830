"""A database outage answers 503 with Retry-After, logged once per outage, not per request.

Browsers get the localised page ``templates/errors/503.html`` (with the request id), protocol
endpoints the JSON error ``temporarily_unavailable`` (RFC 6749 §4.1.2.1 names it; the token,
userinfo and revocation endpoints reuse it with 503, RFC 9110 §15.6.4). Nothing here retries:
the pool's pre-ping replaces dead connections on the next checkout, so the provider recovers
by itself, and the first connection that works again closes the outage with one log record.
Imports idp.endpoint_kinds, idp.metrics and idp.views.errors.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask
from flask import jsonify
from flask import make_response
from flask import render_template
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.wrappers import Response

from idp.endpoint_kinds import answers_in_json
from idp.extensions import db
from idp.metrics import DATABASE_ERRORS
from idp.views.errors import unexpected_error

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


class Outage:
    """This process's view of the database: since when it has been failing, if it is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None

    def failed(self, exc: BaseException) -> None:
        """Count the failure; log only the first of an outage."""
        DATABASE_ERRORS.inc()
        with self._lock:
            first, self.since = self.since is None, self.since or time.monotonic()
        if first:
            log.warning("database unavailable, answering 503 until it returns: %s", _brief(exc))

    def connected(self) -> None:
        """A connection works again: close the outage with one record."""
        if self.since is None:
            return
        with self._lock:
            since, self.since = self.since, None
        if since is not None:
            log.warning("database available again after %.1f s", time.monotonic() - since)


def _brief(exc: BaseException) -> str:
    """The error's class and first line (no query, no parameters)."""
    original = getattr(exc, "orig", None) or exc
    first_line = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first_line[:200]}"


def is_outage(exc: BaseException) -> bool:
    """Connection lost or refused, pool exhausted: worth a retry later, not a 500."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def unavailable_response() -> Response:
    """503 with Retry-After: JSON for protocol endpoints, the localised page for people."""
    if answers_in_json():
        response = jsonify(
            error="temporarily_unavailable",
            error_description="The service is temporarily unavailable; retry later.",
        )
    else:
        response = make_response(render_template("errors/503.html"))
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_outage_handling(app: Flask) -> None:
    """503 for database outages on this app, and the pool's "it works again" signal."""
    outage = Outage()
    app.extensions["idp_database_outage"] = outage

    def database_error(exc: Exception) -> Response:
        if not is_outage(exc):
            return unexpected_error(exc)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is already gone
            db.session.remove()
        outage.failed(exc)
        return unavailable_response()

    app.register_error_handler(DBAPIError, database_error)
    app.register_error_handler(PoolTimeoutError, database_error)
    with app.app_context():
        engine: Engine = db.engine

    @event.listens_for(engine, "engine_connect")
    def _usable(_connection: Any) -> None:
        outage.connected()
