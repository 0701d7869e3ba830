"""Throwaway servers for fault injection: a redis-server and a PostgreSQL cluster of the test's
own, on free loopback ports, frozen, stopped, restarted or cut by the test, and always ended
(a frozen Redis is thawed by a timer whatever happens). Never the shared 5432 / 6379 services.

Without the binaries the tests skip with the reason, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql")


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def missing(what: str) -> None:
    """Skip with the reason, or fail in CI where every fault test must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"needs {what}")


def wait_until(check, seconds: float, what: str) -> None:
    """Poll ``check`` until it holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds} s")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class RedisServer:
    """One redis-server process of the test's own."""

    executable: str
    port: int
    directory: Path
    process: subprocess.Popen | None = None
    thaw_timer: threading.Timer | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Its URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (again, on the same port) and wait until it accepts connections."""
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _answers(self.port), 10, "redis-server start")

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL) and wait until the port is closed."""
        if self.process is None:
            return
        self.thaw()
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def freeze(self, at_most: float) -> None:
        """SIGSTOP: connections stay open, nothing answers. A timer thaws it after ``at_most``
        seconds whatever the test does, so a hung test cannot leave it frozen."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.thaw_timer = threading.Timer(at_most, self.thaw)
        self.thaw_timer.daemon = True
        self.thaw_timer.start()

    def thaw(self) -> None:
        """SIGCONT (harmless when not frozen)."""
        if self.thaw_timer is not None:
            self.thaw_timer.cancel()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    """A redis-server on a free port, ended after the test."""
    executable = shutil.which("redis-server")
    if executable is None:
        missing("redis-server (apt-get install redis-server)")
    server = RedisServer(executable, free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _pg_bin() -> Path | None:
    versions = sorted(PG_BIN.glob("*/bin/initdb")) if PG_BIN.exists() else []
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


@dataclass
class PostgresCluster:
    """A PostgreSQL cluster of the test's own (initdb + pg_ctl), run as ``user``."""

    bin: Path
    directory: Path
    port: int
    user: str | None  # run as this OS user (root may not run PostgreSQL), or as ourselves

    @property
    def url(self) -> str:
        """SQLAlchemy URL of its ``postgres`` database (trust authentication, loopback only)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> None:
        """initdb with trust authentication for the superuser ``postgres``."""
        self._run(
            "initdb",
            "-D",
            str(self.directory / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        )

    def start(self) -> None:
        """Start on its port (no Unix socket outside its directory) and wait until it answers."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.directory / "data"),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop (``fast`` ends the sessions; ``immediate`` is a crash)."""
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")


@pytest.fixture
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A fresh PostgreSQL cluster on a free port, stopped and removed after the test."""
    binaries = _pg_bin()
    if binaries is None:
        missing("PostgreSQL server binaries (initdb, pg_ctl)")
    # Under /tmp itself: pytest's own temporary tree is private to root, PostgreSQL's user
    # could not reach it.
    directory = Path(tempfile.mkdtemp(prefix="idp-fault-pg-"))
    user = None
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            missing("runuser (to run PostgreSQL as a non-root user)")
        user = "postgres"
        shutil.chown(directory, user)
    cluster = PostgresCluster(binaries, directory, free_port(), user)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped by the test
        shutil.rmtree(directory, ignore_errors=True)
