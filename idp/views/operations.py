"""Operator endpoints: /healthz (the process answers), /readyz (it can serve), /metrics
(Prometheus, from allowed networks only), and the per-request counters behind them.

All three are cheap, never rate-limited and never cached. Imports idp.backlog, idp.metrics,
idp.extensions and idp.config.
"""

from __future__ import annotations

import logging
import time
from ipaddress import ip_address

from flask import Blueprint
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from flask_limiter import RateLimitExceeded
from sqlalchemy import text
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from idp import audit
from idp.backlog import backlog_counts
from idp.config import Settings
from idp.endpoint_kinds import EndpointKind
from idp.endpoint_kinds import endpoint_kind
from idp.extensions import db
from idp.extensions import limiter
from idp.metrics import CONTENT_TYPE
from idp.metrics import LATENCY
from idp.metrics import REQUESTS
from idp.metrics import exposition
from idp.views.errors import http_error

bp = Blueprint("operations", __name__)
log = logging.getLogger(__name__)


def _settings() -> Settings:
    value: Settings = current_app.config["IDP"]
    return value


@bp.before_app_request
def _start_clock() -> None:
    g.started = time.perf_counter()


@bp.after_app_request
def _count_request(response: Response) -> Response:
    """Requests and latency per endpoint (the route's name, never the raw path)."""
    endpoint = request.endpoint or "unmatched"
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    if "started" in g:
        LATENCY.labels(endpoint).observe(time.perf_counter() - g.started)
    return response


@bp.app_errorhandler(RateLimitExceeded)
def _throttled(exc: RateLimitExceeded) -> Response:
    """Every 429 is a security event (login attempts apart: the credential-stuffing signal)."""
    if request.endpoint == "login.submit":
        audit.event(audit.Event.LOGIN_THROTTLED)
    else:
        audit.event(audit.Event.THROTTLED, reason=request.endpoint or "unmatched")
    return http_error(exc)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@endpoint_kind(EndpointKind.PROTOCOL_API)
@limiter.exempt
def healthz() -> Response:
    """Liveness: the process answers. Touches nothing else."""
    return _no_store(jsonify(status="ok"))


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"; logged by the outage handler
        db.session.rollback()
        return False


def _redis_ok() -> bool | None:
    if not _settings().ratelimit_storage_url.startswith(("redis", "valkey")):
        return None
    return bool(limiter.storage.check())


def _backlogs_ok() -> bool:
    limit = _settings().ready_max_backlog
    counts = backlog_counts(db.session)
    return all(states["due"] <= limit for states in counts.values())


@bp.get("/readyz")
@endpoint_kind(EndpointKind.PROTOCOL_API)
@limiter.exempt
def readyz() -> Response:
    """Readiness: database reachable, signing keys loaded, queues keeping up, Redis reachable
    when configured. 200 when all hold, else 503; says which check failed, nothing more."""
    checks: dict[str, bool] = {"database": _database_ok()}
    checks["signing_keys"] = bool(current_app.extensions["idp_keyring"].signing)
    checks["backlog"] = checks["database"] and _backlogs_ok()
    redis_ok = _redis_ok()
    if redis_ok is not None:
        checks["redis"] = redis_ok
    ready = all(checks.values())
    body = {"status": "ready" if ready else "not ready"}
    body.update({name: "ok" if ok else "failing" for name, ok in checks.items()})
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    return _no_store(response)


def _may_read_metrics() -> bool:
    networks = _settings().metrics_allowed_networks()
    try:
        address = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def _backlog_or_nothing() -> dict[str, dict[str, int]]:
    """The queue gauges, or none while the database is down (the rest is still worth reading)."""
    try:
        return backlog_counts(db.session)
    except Exception:  # noqa: BLE001 - counted by idp_database_errors_total elsewhere
        return {}
    finally:
        db.session.rollback()


@bp.get("/metrics")
@endpoint_kind(EndpointKind.PROTOCOL_API)
@limiter.exempt
def metrics() -> Response:
    """Prometheus text exposition; 404 (as if absent) outside ``IDP_METRICS_NETWORKS``."""
    if not _may_read_metrics():
        raise NotFound()
    payload = exposition(_backlog_or_nothing)
    return _no_store(Response(payload, mimetype=None, content_type=CONTENT_TYPE))
