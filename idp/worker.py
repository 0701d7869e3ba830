"""The delivery worker process, ``flask --app wsgi idp worker``: delivers the mail outbox and the
back-channel logout notifications (idp/delivery.py) on its own, whether or not the provider
serves any request. ``make run`` starts one beside the provider; production runs one or more
(docs/operations.md).

Each queue has its own loop (a slow mail server never delays logout notifications): a round,
then a pause of IDP_WORKER_INTERVAL seconds unless the round was full. Several workers may run
at once, on one host or several: each row is claimed by one conditional UPDATE. SIGTERM or
SIGINT stops the worker after the message in hand is sent and recorded; a second SIGINT stops
it at once (that message is then sent again after its lease). A failing round (a database
outage) is logged and retried; it never ends the process.
Imports flask, click, idp.extensions, idp.delivery, idp.mail and idp.oauth.backchannel.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

import click
from flask import Flask
from flask import current_app

from idp.delivery import BATCH
from idp.delivery import DeliveryResult
from idp.delivery_admin import Backlog
from idp.delivery_admin import backlog
from idp.extensions import db
from idp.mail import outbox
from idp.mail.transports import transport_for
from idp.models.base import DbSession
from idp.models.logout import LogoutNotification
from idp.models.outbox import OutboxMail
from idp.oauth import backchannel

log = logging.getLogger(__name__)

QUEUES = ("mail", "logout")
FORGET_EVERY = 3600.0  # seconds between clean-ups of expired "view online" contexts


class Stop:
    """Set by a signal handler or another thread; read between two messages.

    A plain attribute, not a threading.Event: a signal handler that took the Event's lock
    while the interrupted main thread held it would deadlock.
    """

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        """Ask every loop to stop after its current message."""
        self._set = True

    def is_set(self) -> bool:
        """True once a stop was asked for."""
        return self._set

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early on a stop; True when stopping."""
        deadline = time.monotonic() + seconds
        while not self._set and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))
        return self._set


class Worker:
    """Runs the delivery rounds of ``queues`` for ``app`` until ``stop`` is set."""

    def __init__(self, app: Flask, queues: tuple[str, ...] = QUEUES) -> None:
        self.app, self.queues, self.stop = app, queues, Stop()
        self._forgotten_at: float | None = None
        self._rounds: dict[str, Callable[[], DeliveryResult]] = {
            "mail": self._mail_round,
            "logout": self._logout_round,
        }

    def run_round(self, queue: str) -> DeliveryResult:
        """One round of ``queue`` in a fresh app context."""
        with self.app.app_context():
            try:
                return self._rounds[queue]()
            finally:
                db.session.remove()

    def run_once(self) -> dict[str, DeliveryResult]:
        """One round of each queue, one after the other."""
        return {queue: self.run_round(queue) for queue in self.queues}

    def run(self) -> None:
        """Loop over every queue, each in its own thread, until stopped."""
        settings = self.app.config["IDP"]
        log.info(
            "delivery worker started: queues %s, every %s s, lease %s s",
            ", ".join(self.queues),
            settings.worker_interval,
            settings.delivery_lease,
        )
        threads = [
            threading.Thread(target=self._loop, args=(q,), name=f"{q} delivery", daemon=True)
            for q in self.queues
        ]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(0.2)  # short joins: the main thread must run signal handlers
        log.info("delivery worker stopped")

    def _loop(self, queue: str) -> None:
        interval = self.app.config["IDP"].worker_interval
        while not self.stop.is_set():
            try:
                handled = self.run_round(queue).handled
            except Exception:  # noqa: BLE001 - a database outage must not end the worker
                log.exception("%s delivery round failed; retrying in %s s", queue, interval)
                handled = 0
            if handled < BATCH:  # a full round means more may be waiting: go on at once
                self.stop.wait(interval)

    def _mail_round(self) -> DeliveryResult:
        settings = current_app.config["IDP"]
        transport = transport_for(settings)
        result = outbox.deliver_pending(db.session, transport, settings, stop=self.stop)
        if self._forgotten_at is None or time.monotonic() - self._forgotten_at > FORGET_EVERY:
            outbox.forget_old_contexts(db.session, settings)
            self._forgotten_at = time.monotonic()
        return result

    def _logout_round(self) -> DeliveryResult:
        return backchannel.deliver_pending(db.session, stop=self.stop)


def stop_on_signals(flag: Stop) -> None:
    """SIGTERM and SIGINT set ``flag``: stop after the message in hand. A second SIGINT
    (Ctrl-C again) exits at once; more SIGTERMs change nothing (``make run``'s Ctrl-C sends
    SIGINT then SIGTERM; supervisors send SIGKILL when they stop waiting)."""
    interrupts: list[int] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGINT:
            interrupts.append(signum)
            if len(interrupts) > 1:
                log.warning("SIGINT again: stopping now")
                raise SystemExit(128 + signum)
        if not flag.is_set():
            log.info("%s: stopping after the message in hand", signal.Signals(signum).name)
            flag.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def backlogs(session: DbSession) -> dict[str, Backlog]:
    """Each queue's backlog (waiting, due, given up, oldest due), for metrics and readiness."""
    return {"mail": backlog(session, OutboxMail), "logout": backlog(session, LogoutNotification)}


@click.command("worker")
@click.option("--once", is_flag=True, help="One round of each queue, then exit.")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(QUEUES),
    help="Deliver only this queue (repeatable; default: all).",
)
def worker_command(once: bool, queues: tuple[str, ...]) -> None:
    """Deliver mail and back-channel logout tokens until SIGTERM or SIGINT."""
    worker = Worker(current_app._get_current_object(), queues or QUEUES)  # type: ignore[attr-defined]
    if once:
        for queue, result in worker.run_once().items():
            click.echo(
                f"{queue}: sent {result.sent}, retrying {result.retrying}, "
                f"given up {result.given_up}"
            )
        return
    stop_on_signals(worker.stop)
    worker.run()
