"""The background mail worker (idp/worker.py): delivers pending mail every
IDP_MAIL_WORKER_INTERVAL seconds (0 disables it; operators then run ``idp mail deliver``).
May import flask, idp.extensions, idp.worker and idp.mail.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask

from idp.extensions import db
from idp.mail.outbox import deliver_pending
from idp.mail.outbox import forget_old_contexts
from idp.mail.transports import transport_for
from idp.worker import BackgroundWorker
from idp.worker import install_worker

EXTENSION = "idp_mail_worker"
BATCH = 50
FORGET_EVERY = 3600.0  # seconds between clean-ups of expired "view online" contexts


def _mail_batch(app: Flask) -> Callable[[], int]:
    """A delivery run in a fresh app context, plus the hourly clean-up of expired contexts."""
    forgotten_at: list[float] = []

    def batch() -> int:
        with app.app_context():
            settings = app.config["IDP"]
            result = deliver_pending(db.session, transport_for(settings), settings, limit=BATCH)
            if not forgotten_at or time.monotonic() - forgotten_at[-1] > FORGET_EVERY:
                forget_old_contexts(db.session, settings)
                forgotten_at.append(time.monotonic())
            return result.sent + result.failed + result.deferred

    return batch


def init_mail_worker(app: Flask) -> BackgroundWorker | None:
    """When IDP_MAIL_WORKER_INTERVAL > 0, start the worker with the process's first request."""
    return install_worker(
        app,
        EXTENSION,
        "mail delivery",
        app.config["IDP"].mail_worker_interval,
        _mail_batch(app),
        BATCH,
    )
