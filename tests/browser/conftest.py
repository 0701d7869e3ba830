"""Browser layer: the provider served on a real loopback socket, Debian's Chromium driven by
Playwright (``executable_path=/usr/bin/chromium``, no browser download), axe-core injected into
every page checked, and a screenshot of each screen.

Without Chromium, Playwright or axe-core these tests skip — unless IDP_TEST_REQUIRE_BROWSER is set
(CI sets it), then they fail. Screenshots go to IDP_TEST_SCREENSHOTS_DIR (``make screenshots`` uses
docs/screens) or to the test's tmp dir.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
REQUIRED = bool(os.environ.get("IDP_TEST_REQUIRE_BROWSER"))
# Read once and taken out of the environment: the provider refuses unknown IDP_* variables at
# start (idp/config.py exempts only IDP_TEST_*), so create_app() would fail with it set.
SCREENSHOTS_DIR = os.environ.get("IDP_TEST_SCREENSHOTS_DIR")


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not installed (apt-get install chromium)"
    if not AXE.exists():
        return "axe-core not installed (npm ci)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright not installed"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark browser tests; skip them (or fail, in CI) when the browser stack is missing."""
    reason = _missing()
    for item in items:
        if "tests/browser" not in str(item.path):
            continue
        item.add_marker(pytest.mark.browser)
        if reason and not REQUIRED:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One Chromium for the session."""
    reason = _missing()
    if reason:
        pytest.fail(f"browser tests required but {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def listening_socket() -> Iterator[socket.socket]:
    """A socket listening on a free loopback port (the issuer must be known before the app)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock
    sock.close()


@pytest.fixture
def overrides(listening_socket: socket.socket) -> dict[str, Any]:
    """The app fixture reads this: issuer = the loopback URL we serve on."""
    return {"issuer": f"http://127.0.0.1:{listening_socket.getsockname()[1]}"}


@pytest.fixture
def live_issuer(app: Any, listening_socket: socket.socket) -> Iterator[str]:
    """The provider served on loopback in a thread; its issuer URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, fd=listening_socket.fileno())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app.config["IDP"].issuer
    server.shutdown()
    thread.join(10)


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context (its own cookies) and page."""
    context = chromium.new_context(
        viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    """``phone(locale)``: a new phone-sized context (own cookies) whose browser speaks
    ``locale`` (Accept-Language, navigator.language), and its page; all closed afterwards."""
    contexts: list[Any] = []

    def open_page(locale: str = "en-US") -> Any:
        context = chromium.new_context(
            viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale=locale
        )
        context.set_default_timeout(10_000)
        context.set_default_navigation_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where this test's screenshots go."""
    configured = SCREENSHOTS_DIR
    directory = (ROOT / configured) if configured else tmp_path / "screens"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def check_accessibility(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page; return serious and critical violations."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => JSON.stringify(await axe.run(document))")
    violations = json.loads(result)["violations"]
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def assert_accessible(page: Any, name: str) -> None:
    """No serious or critical axe-core violation on this screen."""
    bad = check_accessibility(page)
    assert not bad, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in bad
    )


def shot(page: Any, directory: Path, name: str) -> Path:
    """Save a full-page screenshot of the current screen."""
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def screen(page: Any, directory: Path, name: str) -> Path:
    """One screen of a journey: its screenshot first (kept even when the check fails), then
    axe-core (no serious or critical violation)."""
    path = shot(page, directory, name)
    assert_accessible(page, name)
    return path


__all__ = ["assert_accessible", "screen", "shot", "shutil"]
