"""OIDC Back-Channel Logout 1.0: the logout token (§2.4) and its delivery (§2.5).

Ending an OP session queues one ``LogoutNotification`` per client that took part in it
(idp/models/logout.py, same transaction). Here each due row is claimed, its token signed and
POSTed outside any database transaction, then marked sent or rescheduled with backoff, so a
receiver that is down loses nothing and never delays the user. A worker thread per process
(started on the first request, woken after a logout) and ``flask idp logout deliver`` run it.
Imports idp.models, idp.keys, idp.config, joserfc and httpx.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

import httpx
from flask import Flask
from flask import current_app
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from idp.config import Settings
from idp.extensions import db
from idp.keys import Keyring
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.logout import LogoutNotification
from idp.models.oauth import Client
from idp.oauth import context
from idp.worker import BackgroundWorker
from idp.worker import install_worker

log = logging.getLogger(__name__)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_TTL = 120  # seconds; §2.4 recommends "at most two minutes" for exp
TIMEOUT = 5.0  # seconds per POST; the receiver answers at once (§2.8)
BACKOFF = (10, 30, 60, 300, 900, 3600, 3 * 3600)  # wait before attempt 2, 3, …
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = 60  # a claimed row is left alone by other workers this long (> TIMEOUT)
WORKER_KEY = "idp_logout_worker"
BATCH = 50


def logout_token(
    item: LogoutNotification, client: Client, keyring: Keyring, settings: Settings
) -> str:
    """Sign the logout token for ``client`` (§2.4): typed ``logout+jwt``, with ``sub``, ``sid``,
    ``jti``, the back-channel event, a short ``exp``, and never a ``nonce``."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + TOKEN_TTL,
        "jti": item.jti,
        "sub": item.sub,
        "sid": item.sid,
        "events": {EVENT: {}},
    }
    alg = client.id_token_signed_response_alg or "RS256"  # §2.4: as the client's ID tokens
    return keyring.sign_jwt(claims, alg=alg, typ="logout+jwt")


def post_logout_token(uri: str, token: str) -> str | None:
    """POST ``logout_token`` as a form (§2.5); None on success, else why it failed.

    200 is success, and 204 too (§2.8 warns that frameworks send it for an empty 200).
    Redirects are not followed: the registered URI is the only one we talk to.
    """
    try:
        response = httpx.post(
            uri, data={"logout_token": token}, timeout=TIMEOUT, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if response.status_code in (200, 204):
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"[:500]


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery round did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


def deliver_pending(limit: int = BATCH, now: datetime | None = None) -> DeliveryReport:
    """Deliver the notifications that are due at ``now``; commits its own small transactions
    and never raises for a receiver's failure."""
    now = now or utcnow()
    ids = list(
        db.session.scalars(
            select(LogoutNotification.id)
            .where(
                LogoutNotification.sent_at.is_(None),
                LogoutNotification.failed_at.is_(None),
                LogoutNotification.next_try_at <= now,
            )
            .order_by(LogoutNotification.next_try_at, LogoutNotification.id)
            .limit(limit)
        )
    )
    db.session.rollback()
    outcomes: list[str | None] = [_deliver_one(item_id, now) for item_id in ids]
    return DeliveryReport(
        sent=outcomes.count("sent"),
        retrying=outcomes.count("retrying"),
        failed=outcomes.count("failed"),
    )


def _claim(item_id: int, now: datetime) -> bool:
    """Take the row for this worker (one conditional UPDATE: several hosts may run workers)."""
    result = db.session.execute(
        update(LogoutNotification)
        .where(
            LogoutNotification.id == item_id,
            LogoutNotification.sent_at.is_(None),
            LogoutNotification.failed_at.is_(None),
            LogoutNotification.next_try_at <= now,
        )
        .values(
            next_try_at=now + timedelta(seconds=LEASE), attempts=LogoutNotification.attempts + 1
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(rowcount(result) == 1)


def _deliver_one(item_id: int, now: datetime) -> str | None:
    """Claim, sign, POST (no transaction open meanwhile), record; return the outcome."""
    if not _claim(item_id, now):
        return None
    item = db.session.get(LogoutNotification, item_id)
    client = db.session.get(Client, item.client_id) if item is not None else None
    if item is None or client is None:
        db.session.rollback()
        return None
    attempts, uri = item.attempts, client.backchannel_logout_uri
    token = logout_token(item, client, context.keyring(), context.settings()) if uri else ""
    db.session.rollback()
    error = post_logout_token(uri, token) if uri else "client has no backchannel_logout_uri"
    return _record(item_id, attempts, error, now)


def _record(item_id: int, attempts: int, error: str | None, now: datetime) -> str:
    """Mark the row sent, or schedule the next try, or give up after MAX_ATTEMPTS."""
    values: dict[str, Any] = {"last_error": error}
    if error is None:
        values["sent_at"], outcome = utcnow(), "sent"
    elif attempts >= MAX_ATTEMPTS:
        values["failed_at"], outcome = utcnow(), "failed"
    else:
        values["next_try_at"] = now + timedelta(seconds=BACKOFF[attempts - 1])
        outcome = "retrying"
    db.session.execute(
        update(LogoutNotification)
        .where(LogoutNotification.id == item_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if error is not None:
        log.warning("back-channel logout %s (attempt %d): %s", outcome, attempts, error)
    return outcome


def purge_finished(older_than: timedelta) -> int:
    """Delete notifications sent or given up on before ``older_than`` ago; return how many."""
    cutoff = utcnow() - older_than
    result = db.session.execute(
        delete(LogoutNotification).where(
            or_(LogoutNotification.sent_at < cutoff, LogoutNotification.failed_at < cutoff)
        )
    )
    db.session.commit()
    return int(rowcount(result))


def _logout_batch(app: Flask) -> Callable[[], int]:
    """One delivery round in a fresh app context; the number of notifications handled."""

    def batch() -> int:
        with app.app_context():
            try:
                report = deliver_pending(limit=BATCH)
            finally:
                db.session.remove()
        return report.sent + report.retrying + report.failed

    return batch


def init_logout_worker(app: Flask) -> BackgroundWorker | None:
    """When IDP_LOGOUT_WORKER_INTERVAL > 0, start the worker with the process's first request
    (idp/worker.py); logouts wake it."""
    return install_worker(
        app,
        WORKER_KEY,
        "back-channel logout delivery",
        app.config["IDP"].logout_worker_interval,
        _logout_batch(app),
        BATCH,
    )


def wake_logout_worker() -> None:
    """Ask this process's worker, if any, to deliver now (call after the commit)."""
    worker: BackgroundWorker | None = current_app.extensions.get(WORKER_KEY)
    if worker is not None:
        worker.wake()
