"""The background mail worker: one daemon thread per process that delivers pending mail every
IDP_MAIL_WORKER_INTERVAL seconds (0 disables it; operators then run ``idp mail deliver``).

The thread starts with the process's first request, not in ``create_app``: CLI commands
(``flask db upgrade``, ``idp mail deliver``) then never run a worker, and a server that forks
after loading the app (gunicorn ``--preload``) gets one in each worker process, not in the
master where the thread would not survive the fork. May import flask, idp.extensions and idp.mail.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from flask import Flask

from idp.extensions import db
from idp.mail.outbox import deliver_pending
from idp.mail.outbox import forget_old_contexts
from idp.mail.transports import transport_for

log = logging.getLogger(__name__)
EXTENSION = "idp_mail_worker"
BATCH = 50
FORGET_EVERY = 3600.0  # seconds between clean-ups of expired "view online" contexts


class MailWorker:
    """Delivers pending mail in a loop until stopped; a failing run is logged and retried."""

    def __init__(self, app: Flask, interval: float) -> None:
        self.app = app
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._forgotten_at: float | None = None

    @property
    def running(self) -> bool:
        """True while this process's thread is alive."""
        return (self._thread is not None and self._thread.is_alive()
                and self._pid == os.getpid())

    def ensure_started(self) -> None:
        """Start the thread unless this process already runs it (idempotent, thread-safe)."""
        if self.running or self._stop.is_set():
            return
        with self._lock:
            if self.running or self._stop.is_set():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._loop, name="idp-mail-worker",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to end and wait for the mail being sent, if any."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)

    def run_once(self) -> int:
        """One delivery run in a fresh app context (its session is removed at the end); the
        number of mails it handled."""
        with self.app.app_context():
            settings = self.app.config["IDP"]
            result = deliver_pending(db.session, transport_for(settings), settings, limit=BATCH)
            if self._forgotten_at is None or time.monotonic() - self._forgotten_at > FORGET_EVERY:
                forget_old_contexts(db.session, settings)
                self._forgotten_at = time.monotonic()
            return result.sent + result.failed + result.deferred

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self.run_once()
            except Exception:  # noqa: BLE001 - a database outage must not end the worker
                log.exception("mail delivery run failed; retrying in %s s", self.interval)
                handled = 0
            if handled < BATCH:  # a full batch means more may be waiting: go on at once
                self._stop.wait(self.interval)


def init_mail_worker(app: Flask) -> MailWorker | None:
    """When IDP_MAIL_WORKER_INTERVAL > 0, start the worker with the process's first request."""
    interval = app.config["IDP"].mail_worker_interval
    if interval <= 0:
        return None
    worker = MailWorker(app, interval)
    app.extensions[EXTENSION] = worker
    app.before_request(worker.ensure_started)
    atexit.register(worker.stop)
    return worker
