"""What the request being served is called and where it comes from, for log lines and audit
records written far from the view (services, grants). Set by idp.logs; imports nothing.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    """The request id and the client address (after trusted-proxy handling)."""

    request_id: str
    ip: str | None


_current: ContextVar[RequestInfo | None] = ContextVar("idp_request", default=None)


def current_request() -> RequestInfo | None:
    """The request being served by this thread, or None (CLI, background worker)."""
    return _current.get()


def enter_request(info: RequestInfo | None) -> None:
    """Called at the start (info) and the end (None) of every request."""
    _current.set(info)


def request_id() -> str:
    """The current request id, or ``-`` outside a request."""
    info = _current.get()
    return info.request_id if info else "-"
