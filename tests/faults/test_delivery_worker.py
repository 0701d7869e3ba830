"""The delivery worker process (``flask --app wsgi idp worker``) under faults, on loopback: an
SMTP server this test starts (aiosmtpd), worker processes it starts and signals, the test's own
database (SQLite file, and PostgreSQL with IDP_TEST_POSTGRES_URL). Issue #9 findings 4 and 5.

Every test prints one ``MEASURED`` line (run with ``-s`` to read them): errors seen, recovery
time, mails lost or duplicated.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from idp.config import REPO_ROOT
from idp.models.base import utcnow
from tests.mail import Inbox
from tests.mail import add_mail
from tests.mail import free_port
from tests.mail import row
from tests.mail import start_smtp

pytestmark = pytest.mark.slow

LEASE = 3  # IDP_DELIVERY_LEASE of the workers started here: a heartbeat every second
INTERVAL = 1  # IDP_WORKER_INTERVAL


class WorkerProcess:
    """One ``flask idp worker`` process on the test's database and SMTP port; its output
    goes to a log file in the test's directory."""

    def __init__(self, app, smtp_port: int, log: Path) -> None:
        settings = app.config["IDP"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        env.update(
            IDP_ENV="development",
            IDP_ISSUER=settings.issuer,
            IDP_SECRET_KEY=settings.secret_key,
            IDP_DATABASE_URL=settings.resolved_database_url(),
            IDP_KEYS_DIR=str(settings.path(settings.keys_dir)),
            IDP_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}?timeout=20",
            IDP_DELIVERY_LEASE=str(LEASE),
            IDP_WORKER_INTERVAL=str(INTERVAL),
        )
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "idp", "worker"],
                cwd=REPO_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def workers(app, tmp_path):
    """Start worker processes with ``workers(smtp_port)``; every one is killed afterwards."""
    started: list[WorkerProcess] = []

    def start(smtp_port: int) -> WorkerProcess:
        worker = WorkerProcess(app, smtp_port, tmp_path / f"worker{len(started) + 1}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.signal(signal.SIGCONT)  # a stopped process must run to die of SIGTERM
        worker.kill()


@pytest.fixture
def smtp_servers():
    """Start SMTP servers with ``smtp_servers(port, inbox)``; each is stopped afterwards."""
    controllers = []

    def start(port: int, inbox: Inbox | None = None) -> Inbox:
        controller, inbox = start_smtp(port, inbox)
        controllers.append(controller)
        return inbox

    yield start
    for controller in controllers:
        controller.stop()


def wait_for(condition, timeout: float, what: str, worker: WorkerProcess | None = None) -> float:
    """Poll until ``condition()``; the seconds it took. Fails with the worker's log otherwise."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            log = worker.output()[-3000:] if worker else ""
            pytest.fail(f"{what}: not within {timeout} s\n{log}")
        time.sleep(0.05)
    return time.monotonic() - started


def duplicates(inbox: Inbox) -> int:
    return sum(n - 1 for n in Counter(inbox.message_ids()).values())


def measured(fault: str, **numbers: object) -> None:
    print(f"MEASURED {fault}: " + ", ".join(f"{k}={v}" for k, v in numbers.items()))


def test_the_worker_process_delivers_a_due_mail_with_no_request_ever_made(
    app, workers, smtp_servers
):
    """Finding 4: a mail queued before the provider served anything is delivered."""
    port = free_port()
    inbox = smtp_servers(port)
    mail_id = add_mail(app)  # queued, and no HTTP request is ever made in this test
    worker = workers(port)
    took = wait_for(lambda: row(app, mail_id).sent_at is not None, 60, "delivered", worker)
    assert len(inbox.envelopes) == 1
    created = int(row(app, mail_id).created_at.timestamp())
    assert inbox.message_ids() == [f"<outbox.{mail_id}.{created}@localhost>"]
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    assert "delivery worker stopped" in worker.output()
    measured("worker-without-requests", delivered_after_start_s=round(took, 1), lost=0)


@pytest.mark.parametrize(
    "signals",
    [
        pytest.param((signal.SIGTERM,), id="sigterm"),
        pytest.param((signal.SIGINT, signal.SIGTERM), id="ctrl-c-under-make-run"),
    ],
)
def test_a_stop_signal_mid_batch_finishes_the_message_in_hand_and_leaves_no_claim(
    app, workers, smtp_servers, signals
):
    """SIGTERM from a supervisor, or Ctrl-C under ``make run`` (SIGINT, then the recipe's
    ``kill 0`` sends SIGTERM), while the first of six mails is being sent."""
    port = free_port()
    ids = [add_mail(app, to=f"klant{i}@example.be") for i in range(6)]
    holder: list[WorkerProcess] = []

    def interrupt(_envelope) -> None:
        for signum in signals:
            holder[0].signal(signum)
            time.sleep(0.1)

    inbox = Inbox(delay=1.0, on_data=interrupt)
    smtp_servers(port, inbox)
    holder.append(workers(port))
    worker = holder[0]
    assert worker.wait(60) == 0, worker.output()  # exits by itself after the signal
    output = worker.output()
    assert f"{signals[0].name}: stopping after the message in hand" in output
    assert "delivery worker stopped" in output
    rows = [row(app, i) for i in ids]
    sent = [r for r in rows if r.sent_at is not None]
    assert len(sent) == len(inbox.envelopes) == 1  # the mail in hand was recorded as sent
    assert all(r.claimed_by is None for r in rows)  # no claim left to expire
    assert all(r.attempts == 0 for r in rows if r.sent_at is None)

    inbox.on_data, inbox.delay = None, 0.0
    again = workers(port)
    wait_for(lambda: all(row(app, i).sent_at for i in ids), 60, "the rest delivered", again)
    assert sorted(inbox.message_ids()) == sorted(set(inbox.message_ids()))
    assert len(inbox.envelopes) == len(ids)
    measured(
        f"{'+'.join(s.name for s in signals)}-mid-batch",
        errors=0,
        lost=0,
        duplicated=duplicates(inbox),
    )


def test_two_worker_processes_deliver_each_mail_once(app, workers, smtp_servers):
    port = free_port()
    inbox = smtp_servers(port, Inbox(delay=0.02))
    ids = [add_mail(app, to=f"klant{i}@example.be") for i in range(40)]
    first, second = workers(port), workers(port)
    took = wait_for(lambda: all(row(app, i).sent_at for i in ids), 120, "all delivered", first)
    time.sleep(LEASE + INTERVAL + 1)  # a duplicate would come after a stolen lease
    assert len(inbox.envelopes) == 40 and duplicates(inbox) == 0
    assert all(row(app, i).attempts == 1 for i in ids)  # each claimed exactly once
    for worker in (first, second):
        worker.signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    measured("two-workers", mails=40, seconds=round(took, 1), lost=0, duplicated=0)


def test_smtp_server_down_then_up_loses_nothing(app, workers, smtp_servers):
    port = free_port()  # nothing listens there yet: the mail server is down
    ids = [add_mail(app, to=f"klant{i}@example.be") for i in range(3)]
    worker = workers(port)
    wait_for(lambda: all(row(app, i).attempts >= 1 for i in ids), 60, "first attempts", worker)
    wait_for(lambda: all(row(app, i).last_error for i in ids), 30, "failures recorded", worker)
    failed = [row(app, i) for i in ids]
    assert all(r.sent_at is None and r.given_up_at is None for r in failed)
    assert all("Connection refused" in r.last_error for r in failed)
    up_at = utcnow()
    inbox = smtp_servers(port)
    recovery = wait_for(lambda: all(row(app, i).sent_at for i in ids), 90, "delivered", worker)
    assert len(inbox.envelopes) == 3 and duplicates(inbox) == 0
    assert all(row(app, i).sent_at >= up_at for i in ids)
    errors = worker.output().count("attempt 1 failed, retrying")
    assert errors == 3
    measured(
        "smtp-down-then-up",
        errors=errors,
        recovery_s=round(recovery, 1),
        first_retry_after_s=30,
        lost=0,
        duplicated=0,
    )


def test_a_slow_smtp_server_does_not_lose_the_lease_to_another_worker(app, workers, smtp_servers):
    """The server takes 3 leases to accept; a second worker polls all along."""
    port = free_port()
    inbox = smtp_servers(port, Inbox(delay=3 * LEASE))
    mail_id = add_mail(app)
    first = workers(port)
    wait_for(lambda: row(app, mail_id).claimed_by is not None, 60, "claimed", first)
    first_lease_end = row(app, mail_id).claimed_until
    second = workers(port)
    took = wait_for(lambda: row(app, mail_id).sent_at is not None, 60, "delivered", first)
    time.sleep(LEASE + INTERVAL + 1)  # a stolen lease would bring a second copy
    assert len(inbox.envelopes) == 1 and row(app, mail_id).attempts == 1
    assert row(app, mail_id).sent_at > first_lease_end  # it outlived its first lease
    assert "lease lost" not in first.output() + second.output()
    measured("smtp-slow", accept_s=3 * LEASE, send_s=round(took, 1), lost=0, duplicated=0)


def test_a_worker_killed_between_acceptance_and_commit_resends_once_after_the_lease(
    app, workers, smtp_servers
):
    """Finding 5: the duplicate carries the same Message-ID and comes only after the lease."""
    port = free_port()
    holder: list[WorkerProcess] = []
    stopped = threading.Event()

    def freeze_sender(_envelope) -> None:
        if not stopped.is_set():  # the first copy: the server has it, the worker must not
            holder[0].signal(signal.SIGSTOP)  # get to record it
            stopped.set()

    inbox = smtp_servers(port, Inbox(on_data=freeze_sender))
    mail_id = add_mail(app)
    holder.append(workers(port))
    wait_for(stopped.is_set, 60, "the first copy accepted", holder[0])
    holder[0].kill()  # SIGKILL while it waits for the 250 it never reads
    killed_at = utcnow()
    held = row(app, mail_id)
    assert held.sent_at is None and held.claimed_by and held.attempts == 1
    lease_end = held.claimed_until
    assert lease_end <= killed_at + timedelta(seconds=LEASE + 1)  # the short lease
    second = workers(port)
    wait_for(lambda: len(inbox.envelopes) == 2, 60, "the second copy", second)
    wait_for(lambda: row(app, mail_id).sent_at is not None, 30, "recorded", second)
    time.sleep(LEASE + INTERVAL + 1)
    first_id, second_id = inbox.message_ids()  # exactly two copies, no third
    assert first_id == second_id
    assert inbox.arrived_at[1] >= lease_end  # only once the lease had expired
    assert row(app, mail_id).attempts == 2
    delay = (inbox.arrived_at[1] - killed_at).total_seconds()
    measured(
        "sigkill-after-acceptance",
        duplicated=1,
        same_message_id=first_id == second_id,
        duplicate_after_kill_s=round(delay, 1),
        lease_s=LEASE,
        lost=0,
    )
