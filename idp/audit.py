"""The audit trail: one structured record per security event, and its counter.

``event(Event.LOGIN_FAILED, account_id=..., client_id=...)`` writes one record on the
``idp.audit`` logger (a JSON line: time, event, account id, client, IP, request id) and counts
it in ``idp_security_events_total{event=...}``. The signature admits no free text: never a
password, code, token or full e-mail address (an address is masked). Any module may call it;
it imports idp.request_context and idp.metrics only (no flask).
"""

from __future__ import annotations

import getpass
import logging
from datetime import UTC
from datetime import datetime
from enum import StrEnum

from idp.metrics import SECURITY_EVENTS
from idp.request_context import current_request

log = logging.getLogger("idp.audit")


class Event(StrEnum):
    """Every security event the provider records (docs/operations.md lists what each means)."""

    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    THROTTLED = "throttled"
    REGISTRATION_STARTED = "registration_started"
    ACTIVATION_SUCCEEDED = "activation_succeeded"
    ACTIVATION_FAILED = "activation_failed"
    ACCOUNT_CREATED = "account_created"
    ACCOUNT_DELETED = "account_deleted"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    PASSWORD_RESET = "password_reset"
    REFRESH_REUSE = "refresh_reuse"
    CODE_REPLAY = "code_replay"
    LOGOUT = "logout"
    BACKCHANNEL_FAILED = "backchannel_failed"
    ADMIN_ACTION = "admin_action"


def mask_email(address: str) -> str:
    """``amelie.dubois@example.be`` → ``a***@example.be``: enough for support, not a leak."""
    local, _, domain = address.strip().rpartition("@")
    if not local:
        return "***"
    return f"{local[0]}***@{domain}"


def event(
    name: Event,
    *,
    account_id: int | None = None,
    client_id: str | None = None,
    email: str | None = None,
    reason: str | None = None,
    actor: str | None = None,
) -> None:
    """Record one security event. ``reason`` is a short code (``wrong_code``, ``locked``),
    ``actor`` the operator of an admin action."""
    info = current_request()
    fields: dict[str, object] = {
        "audit": True,
        "event": str(name),
        "event_time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "account_id": account_id,
        "client_id": client_id,
        "ip": info.ip if info else None,
        "request_id": info.request_id if info else None,
    }
    if email:
        fields["email"] = mask_email(email)
    if reason:
        fields["reason"] = reason
    if actor:
        fields["actor"] = actor
    SECURITY_EVENTS.labels(event=str(name)).inc()
    log.info("audit %s", name, extra=fields)


def operator() -> str:
    """The operating-system user running an operator command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def admin_action(action: str, account_id: int | None = None) -> None:
    """Record an operator command that changed something (``action`` names the command)."""
    event(Event.ADMIN_ACTION, account_id=account_id, reason=action, actor=operator())
