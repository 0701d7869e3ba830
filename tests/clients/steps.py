"""Steps through the reference clients shared by the client tests: logging in to the customer space
and to the Smart App, accepting the app's terms, reading its local state."""

from __future__ import annotations

import json
import os
import stat
from typing import Any

import httpx

from clients.smart_app.texts import TERMS_VERSION
from tests.clients.conftest import CUSTOMER_SPACE_URL
from tests.clients.conftest import SMART_APP_URL
from tests.clients.conftest import follow
from tests.clients.conftest import through_provider
from tests.oidc import DEMO_ACTIVE


def log_in_to_customer_space(
    browser: httpx.Client, issuer: str, login: str | None = DEMO_ACTIVE, path: str = "/login"
) -> httpx.Response:
    """/login → the provider (password unless ``login`` is None) → /callback → the page."""
    started = browser.get(f"{CUSTOMER_SPACE_URL}{path}")
    assert started.status_code == 302, started.text
    callback = through_provider(browser, started.headers["Location"], issuer, login)
    assert callback.startswith(f"{CUSTOMER_SPACE_URL}/callback?"), callback
    return follow(browser, browser.get(callback), CUSTOMER_SPACE_URL)


def accept_terms(browser: httpx.Client, version: str = TERMS_VERSION) -> httpx.Response:
    """Tick the box and accept; the screen that follows."""
    response = browser.post(f"{SMART_APP_URL}/terms", data={"version": version, "accept": "yes"})
    return follow(browser, response, SMART_APP_URL)


def log_in_to_smart_app(
    browser: httpx.Client, issuer: str, login: str = DEMO_ACTIVE, start: str = "/login"
) -> httpx.Response:
    """Tap a welcome button, log in at the provider, come back; the screen that follows."""
    started = browser.get(f"{SMART_APP_URL}{start}")
    assert started.status_code == 303, started.text
    callback = through_provider(browser, started.headers["Location"], issuer, login)
    assert callback.startswith(f"{SMART_APP_URL}/callback?"), callback
    return follow(browser, browser.get(callback), SMART_APP_URL)


def stored(state_path: Any) -> dict[str, Any]:
    """The app's local state file, checked to be private."""
    assert stat.S_IMODE(os.stat(state_path).st_mode) == 0o600
    return json.loads(state_path.read_text())
