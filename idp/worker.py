"""One daemon thread per process that runs a delivery batch every ``interval`` seconds (the
mail outbox, back-channel logout notifications), or at once when woken.

The thread starts with the process's first request, not in ``create_app``: CLI commands never
run one, and a server that forks after loading the app (gunicorn ``--preload``) gets one in each
worker process, not in the master where the thread would not survive the fork. A failing batch
(a database outage) is logged and retried; it never ends the thread. Imports flask only.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable

from flask import Flask

log = logging.getLogger(__name__)


class BackgroundWorker:
    """Runs ``batch()`` in a loop until stopped; ``batch`` returns how many items it handled."""

    def __init__(self, name: str, interval: float, batch: Callable[[], int], size: int) -> None:
        self.name, self.interval, self.batch, self.size = name, interval, batch, size
        self._lock = threading.Lock()
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    @property
    def running(self) -> bool:
        """True while this process's thread is alive."""
        return self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()

    def ensure_started(self) -> None:
        """Start the thread unless this process already runs it (idempotent, thread-safe)."""
        if self.running or self._stop.is_set():
            return
        with self._lock:
            if self.running or self._stop.is_set():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Run a batch now (something was just queued)."""
        self.ensure_started()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to end and wait for the batch in progress, if any."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)

    def run_once(self) -> int:
        """One batch; the number of items it handled."""
        return self.batch()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                handled = self.run_once()
            except Exception:  # noqa: BLE001 - a database outage must not end the worker
                log.exception("%s run failed; retrying in %s s", self.name, self.interval)
                handled = 0
            if handled < self.size:  # a full batch means more may be waiting: go on at once
                self._wake.wait(self.interval)


def install_worker(
    app: Flask, key: str, name: str, interval: float, batch: Callable[[], int], size: int
) -> BackgroundWorker | None:
    """When ``interval`` > 0, keep a worker in ``app.extensions[key]`` that starts with the
    process's first request and stops at exit."""
    if interval <= 0:
        return None
    worker = BackgroundWorker(name, interval, batch, size)
    app.extensions[key] = worker
    app.before_request(worker.ensure_started)
    atexit.register(worker.stop)
    return worker
