"""Serving on loopback in tests: a listening socket on a free 127.0.0.1 port, a werkzeug server in
a thread and its stop, and the proxy variables a test must clear so nothing leaves the machine."""

from __future__ import annotations

import socket
import threading
from typing import Any

LOOPBACK = "127.0.0.1"


HTTP_TIMEOUT = 5.0


PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def listening() -> socket.socket:
    """A TCP socket already listening on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    sock.listen(16)
    return sock


def serve_in_thread(server: Any, name: str) -> threading.Thread:
    """Run a werkzeug server until shut down."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop(server: Any, thread: threading.Thread) -> None:
    """Shut a server down and check its thread ended."""
    server.shutdown()
    thread.join(timeout=HTTP_TIMEOUT)
    server.server_close()
    assert not thread.is_alive(), "a loopback server did not stop"
