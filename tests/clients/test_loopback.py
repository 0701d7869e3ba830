"""Both reference clients against the provider served on a real loopback socket (the way
tests/interop/test_pyoidc.py serves it: the issuer is that URL), with their real HTTP stacks:
requests under Authlib for both (the Smart App's screens and headless login listen on
loopback ports of their own, RFC 8252 §7.3), the customer space served on a
loopback port too — a free one, not its registered 5001 (that may be taken on this machine), so
the provider here loads clients/registrations.toml with that one port rewritten.

Bounds: every HTTP call and every subprocess has a timeout; only 127.0.0.1 is contacted."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.serving import make_server

from clients.customer_space.app import create_app as create_customer_space
from clients.smart_app.app import SmartApp
from clients.smart_app.screens import create_screens
from clients.smart_app.storage import LocalState
from clients.smart_app.texts import TERMS_VERSION
from tests.clients.conftest import CUSTOMER_SPACE_URL
from tests.clients.conftest import follow
from tests.clients.conftest import heading
from tests.clients.conftest import through_provider
from tests.loopback import HTTP_TIMEOUT
from tests.loopback import LOOPBACK
from tests.loopback import PROXY_VARIABLES
from tests.loopback import listening
from tests.loopback import serve_in_thread
from tests.loopback import stop
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_INACTIVE

pytestmark = pytest.mark.interop

PROCESS_TIMEOUT = 30.0
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def listening_socket() -> Iterator[socket.socket]:
    """The provider's socket (bound before the app exists: the issuer names its port)."""
    with listening() as sock:
        yield sock


@pytest.fixture
def customer_space_socket() -> Iterator[socket.socket]:
    """The customer space's socket."""
    with listening() as sock:
        yield sock


@pytest.fixture
def customer_space_url(customer_space_socket: socket.socket) -> str:
    """Where the customer space is served in these tests."""
    return f"http://{LOOPBACK}:{customer_space_socket.getsockname()[1]}"


@pytest.fixture
def overrides(
    listening_socket: socket.socket, customer_space_url: str, tmp_path: Path
) -> dict[str, str]:
    """conftest's ``app`` reads this: the issuer is the URL the socket will be served on, and
    the registrations are the real ones with the customer space's port rewritten."""
    registrations = (REPO / "clients" / "registrations.toml").read_text()
    assert CUSTOMER_SPACE_URL in registrations
    clients_file = tmp_path / "registrations.toml"
    clients_file.write_text(registrations.replace(CUSTOMER_SPACE_URL, customer_space_url))
    return {
        "issuer": f"http://{LOOPBACK}:{listening_socket.getsockname()[1]}",
        "clients_file": str(clients_file),
    }


@pytest.fixture
def live_issuer(
    app: Any, listening_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Serve the provider on the listening socket; yield the issuer URL."""
    for name in PROXY_VARIABLES:  # httpx and requests must never go through a proxy here
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", LOOPBACK)
    monkeypatch.setenv("no_proxy", LOOPBACK)
    port = listening_socket.getsockname()[1]
    server = make_server(LOOPBACK, port, app, threaded=True, fd=listening_socket.fileno())
    thread = serve_in_thread(server, "idp-loopback")
    try:
        yield app.config["IDP"].issuer
    finally:
        stop(server, thread)


@pytest.fixture
def smart_app_live(live_issuer: str, tmp_path: Path) -> Iterator[tuple[SmartApp, str]]:
    """The Smart App as ``python -m clients.smart_app serve --port 0`` runs it: its screens on
    a loopback port of their own, its calls to the provider over real HTTP."""
    smart_app = SmartApp(live_issuer, LocalState(tmp_path / "state.json"))
    screens = create_screens(smart_app, f"http://{LOOPBACK}:0")
    server = make_server(LOOPBACK, 0, screens, threaded=False)
    base_url = f"http://{LOOPBACK}:{server.server_port}"
    screens.config["BASE_URL"] = base_url
    thread = serve_in_thread(server, "smart-app-loopback")
    try:
        yield smart_app, base_url
    finally:
        stop(server, thread)


@pytest.fixture
def customer_space_live(
    live_issuer: str, customer_space_socket: socket.socket, customer_space_url: str
) -> Iterator[Any]:
    """The customer space as ``python -m clients.customer_space`` runs it (threaded: the
    provider's back-channel POST may come while a browser request waits)."""
    customer_space = create_customer_space(
        {"OIDC_ISSUER": live_issuer, "BASE_URL": customer_space_url}
    )
    server = make_server(
        LOOPBACK,
        customer_space_socket.getsockname()[1],
        customer_space,
        threaded=True,
        fd=customer_space_socket.fileno(),
    )
    thread = serve_in_thread(server, "customer-space-loopback")
    try:
        yield customer_space
    finally:
        stop(server, thread)


@pytest.fixture
def browser(live_issuer: str) -> Iterator[httpx.Client]:
    """The user agent: one cookie jar, real sockets, never follows redirects by itself."""
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False, trust_env=False) as client:
        yield client


def app_login(browser: httpx.Client, app_url: str, issuer: str, login: str) -> httpx.Response:
    """Terms, then "log in" with a password; the screen that follows."""
    browser.post(f"{app_url}/terms", data={"version": TERMS_VERSION, "accept": "yes"})
    started = browser.get(f"{app_url}/login")
    callback = through_provider(browser, started.headers["Location"], issuer, login)
    assert callback.startswith(f"{app_url}/callback?")  # the app's own loopback port
    return follow(browser, browser.get(callback), app_url)


def customer_space_login(
    browser: httpx.Client, url: str, issuer: str, login: str | None = None
) -> httpx.Response:
    """/login → the provider (no password when ``login`` is None) → the page."""
    started = browser.get(f"{url}/login")
    callback = through_provider(browser, started.headers["Location"], issuer, login)
    assert callback.startswith(f"{url}/callback?"), callback
    return follow(browser, browser.get(callback), url)


def test_smart_app_login_sso_and_refresh_over_loopback(
    live_issuer, smart_app_live, customer_space_live, customer_space_url, browser, tmp_path
):
    smart_app, app_url = smart_app_live
    terms = browser.get(f"{app_url}/")
    assert heading(terms.text).startswith("Conditions d'utilisation")
    home = app_login(browser, app_url, live_issuer, DEMO_ACTIVE)
    assert heading(home.text) == "Bonjour Amélie Dubois !"
    token = json.loads((tmp_path / "state.json").read_text())["refresh_token"]

    # SSO: the customer space, same browser, no password.
    page = customer_space_login(browser, customer_space_url, live_issuer)
    assert heading(page.text) == "Bonjour Amélie Dubois" and "éligible" in page.text

    # Refresh on start over real HTTP; logout revokes.
    restarted = SmartApp(live_issuer, LocalState(tmp_path / "state.json"))
    restarted.start()
    assert restarted.screen() == "home"
    rotated = json.loads((tmp_path / "state.json").read_text())["refresh_token"]
    assert rotated != token
    restarted.logout(f"{app_url}/logged-out")
    refused = httpx.post(
        f"{live_issuer}/token",
        trust_env=False,
        timeout=HTTP_TIMEOUT,
        data={"grant_type": "refresh_token", "refresh_token": rotated, "client_id": "smart-app"},
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_logout_in_the_app_logs_the_customer_space_out(
    app, live_issuer, smart_app_live, customer_space_live, customer_space_url, browser
):
    """product §6: logout from either ends the OP session and tells the other (back-channel)."""
    from idp.extensions import db
    from idp.oauth.backchannel import deliver_pending

    _, app_url = smart_app_live
    app_login(browser, app_url, live_issuer, DEMO_ACTIVE)
    customer_space_login(browser, customer_space_url, live_issuer)
    local_sessions = customer_space_live.extensions["customer_space.sessions"]
    assert len(local_sessions._sessions) == 1

    logout = browser.post(f"{app_url}/logout")
    back = through_provider(browser, logout.headers["Location"], live_issuer)
    assert back.startswith(f"{app_url}/logged-out?state=")
    assert "Vous êtes déconnecté." in follow(browser, browser.get(back), app_url).text

    with app.app_context():  # no worker process runs in tests: one round
        report = deliver_pending(db.session)
    assert report.sent == 1 and report.retrying == report.given_up == 0
    assert local_sessions._sessions == {}
    page = browser.get(f"{customer_space_url}/")
    assert "Se connecter" in page.text and "Bonjour" not in page.text


def test_customer_space_back_channel_uses_the_provider_jwks_over_http(
    live_issuer, customer_space_live, customer_space_url
):
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-published"}, private=True)
    token = jwt.encode(
        {"alg": "RS256", "kid": "not-published", "typ": "logout+jwt"},
        {
            "iss": live_issuer,
            "aud": "customer-space",
            "iat": int(time.time()),
            "sid": "s",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        },
        stranger,
    )
    response = httpx.post(
        f"{customer_space_url}/backchannel-logout",
        trust_env=False,
        timeout=HTTP_TIMEOUT,
        data={"logout_token": token},
    )
    assert response.status_code == 400 and "signature" in response.json()["error_description"]


# ---- the command line -------------------------------------------------------------------


class RunningModule:
    """``python -u -m <args>`` from the repository root, no proxies. A reader thread collects
    its output lines (select() cannot see what Python already buffered); leaving the ``with``
    block stops the process and joins that thread before the pipe is closed."""

    def __init__(self, *args: str):
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", *args],
            cwd=REPO,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._pump, name="module-output", daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def read_until(self, marker: str) -> str:
        """The first output line containing ``marker`` (bounded wait)."""
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=PROCESS_TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no {marker!r} in time; got {seen}") from None
            seen.append(line)
            if marker in line:
                return line

    def finish(self) -> str:
        """Wait for the process to end by itself; the output not read yet."""
        self.process.wait(timeout=PROCESS_TIMEOUT)
        self.reader.join(timeout=PROCESS_TIMEOUT)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get_nowait())
        return "".join(rest)

    def __enter__(self) -> RunningModule:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=PROCESS_TIMEOUT)
        self.reader.join(timeout=PROCESS_TIMEOUT)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.mark.parametrize(
    ("login", "code", "says"),
    [
        (DEMO_ACTIVE, 0, "Eligible"),
        (DEMO_INACTIVE, 2, "contact us through the in-app chat"),
    ],
)
def test_headless_login_command(live_issuer, tmp_path, login, code, says):
    state = tmp_path / "state.json"
    with RunningModule(
        "clients.smart_app", "login", "--no-browser", "--issuer", live_issuer, "--state", str(state)
    ) as module:
        url = module.read_until("/authorize?").strip()
        with httpx.Client(timeout=HTTP_TIMEOUT, trust_env=False) as user_agent:
            callback = through_provider(user_agent, url, live_issuer, login)
            assert callback.startswith(f"http://{LOOPBACK}:") and "/callback?" in callback
            answer = user_agent.get(callback)
            assert answer.status_code == 200 and "return to the app" in answer.text
        output = module.finish()
    assert module.process.returncode == code, output
    assert says in output
    saved = json.loads(state.read_text())
    assert ("refresh_token" in saved) is (code == 0)
    assert oct(state.stat().st_mode & 0o777) == "0o600"


def test_serve_command_shows_the_terms(live_issuer, tmp_path):
    with RunningModule(
        "clients.smart_app",
        "--port",
        "0",
        "--no-browser",
        "--issuer",
        live_issuer,
        "--state",
        str(tmp_path / "state.json"),
    ) as module:
        line = module.read_until("Smart App: ")
        url = line.split("Smart App: ")[1].split()[0]
        page = httpx.get(url, timeout=HTTP_TIMEOUT, trust_env=False)
        assert page.status_code == 200
        assert heading(page.text).startswith("Conditions d'utilisation")
