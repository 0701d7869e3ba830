"""JSON log lines, each carrying the id of the request it belongs to.

The request id comes from ``X-Request-Id`` only when a trusted reverse proxy sends it
(``IDP_TRUSTED_PROXIES`` > 0), else it is generated here; it goes back in the response header
and on the error pages, so support can find a customer's failed request in the logs. Services
read it (and the client address) through ``idp.request_context``, never through flask.request.
Imports flask, python-json-logger and idp.request_context only.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid

from flask import Flask
from flask import current_app
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


def assign_request_id() -> None:
    """Before anything else: name this request (the proxy's id when trusted)."""
    trusted = int(current_app.config["IDP"].trusted_proxies)
    enter_request(RequestInfo(_incoming_id(trusted), request.remote_addr))


def send_request_id(response: Response) -> Response:
    """Return the id to the caller (and to the proxy's access log)."""
    response.headers[HEADER] = request_id()
    return response


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


def init_logging(app: Flask, level: str) -> None:
    """JSON lines on stderr (once per process) and the request-id hooks of this app."""
    root = logging.getLogger()
    if not any(h.get_name() == "idp-json" for h in root.handlers):
        root.addHandler(json_handler())
    root.setLevel(level)
    app.before_request(assign_request_id)
    app.after_request(send_request_id)
    app.teardown_request(forget_request)
    app.context_processor(lambda: {"request_id": request_id()})
