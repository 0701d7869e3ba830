"""JSON log lines, each carrying the id of the request it belongs to.

The request id comes from ``X-Request-Id`` only when a trusted reverse proxy sends it
(``IDP_TRUSTED_PROXIES`` > 0), else it is generated here; it goes back in the response header
and on the error pages, so support can find a customer's failed request in the logs. Services
read it (and the client address) through ``idp.request_context``, never through flask.request.

Every answered request gets one access line (logger ``idp.access``) naming its route as
declared (``/reset/<token>``), never the path or query it was called with: mail links carry
their secret in the path and authorization requests carry e-mail addresses, so a WSGI server's
own access log would write both (gunicorn runs without one; the development server's request
lines are dropped and its colour codes stripped).
Imports flask, python-json-logger and idp.request_context only.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask
from flask import current_app
from flask import g
from flask import request
from pythonjsonlogger.json import JsonFormatter
from werkzeug.wrappers import Response

from idp.request_context import RequestInfo
from idp.request_context import enter_request
from idp.request_context import request_id

HEADER = "X-Request-Id"
# A proxy's id is copied into every log line and a header: accept only a plain token.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _incoming_id(trusted_proxies: int) -> str:
    offered = request.headers.get(HEADER, "") if trusted_proxies else ""
    return offered if _SAFE_ID.fullmatch(offered) else uuid.uuid4().hex


access_log = logging.getLogger("idp.access")
# The development server's request line: ``127.0.0.1 - - [date] "GET /path?query HTTP/1.1" 200 -``.
_SERVER_REQUEST_LINE = re.compile(r'^\S+ - - \[[^\]]*\] "')
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def assign_request_id() -> None:
    """Before anything else: name this request (the proxy's id when trusted)."""
    g.idp_started = time.perf_counter()
    trusted = int(current_app.config["IDP"].trusted_proxies)
    enter_request(RequestInfo(_incoming_id(trusted), request.remote_addr))


def send_request_id(response: Response) -> Response:
    """Return the id to the caller (and to the proxy's access log)."""
    response.headers[HEADER] = request_id()
    return response


def write_access_line(response: Response) -> Response:
    """The request's access line (``IDP_ACCESS_LOG=on``)."""
    if access_log.isEnabledFor(logging.INFO):
        started = g.get("idp_started", time.perf_counter())
        route, status = route_of_request(), response.status_code
        access_log.info(
            "%s %s %s",
            request.method,
            route,
            status,
            extra={
                "method": request.method,
                "route": route,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
    return response


def route_of_request() -> str:
    """The matched route's rule (``/reset/<token>``), or ``(no route)``: never the URL itself."""
    rule = request.url_rule
    return rule.rule if rule is not None else "(no route)"


class DevelopmentServerFilter(logging.Filter):
    """Werkzeug's development server: its request lines go (they hold the full URL; the access
    line replaces them) and its terminal colour codes are stripped from the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a request line; other records lose their ANSI colour codes."""
        message = record.getMessage()
        if _SERVER_REQUEST_LINE.match(message):
            return False
        if "\x1b[" in message:
            record.msg, record.args = _ANSI.sub("", message), None
        return True


def forget_request(_exc: BaseException | None = None) -> None:
    """Threads are reused: a background log line must not carry a finished request's id."""
    enter_request(None)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record that does not carry one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Never drops a record."""
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


def json_handler() -> logging.Handler:
    """A stderr handler writing one JSON object per line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    handler.addFilter(RequestIdFilter())
    handler.set_name("idp-json")
    return handler


def init_logging(app: Flask, level: str, *, access_lines: bool = True) -> None:
    """JSON lines on stderr (once per process), the request-id hooks of this app and, with
    ``access_lines``, its access line per request."""
    root = logging.getLogger()
    if not any(h.get_name() == "idp-json" for h in root.handlers):
        root.addHandler(json_handler())
    root.setLevel(level)
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, DevelopmentServerFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(DevelopmentServerFilter())
    app.before_request(assign_request_id)
    if access_lines:
        app.after_request(write_access_line)  # after_request hooks run last-registered first
    app.after_request(send_request_id)
    app.teardown_request(forget_request)
    app.context_processor(lambda: {"request_id": request_id()})
