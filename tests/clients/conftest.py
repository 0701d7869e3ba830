"""Fixtures of the reference-client tests: the Smart App and the customer space against the
provider in-process (httpx.WSGITransport for httpx, a WSGI adapter for requests) and a browser
(an httpx client with one cookie jar) that reaches the provider and both clients.

The clients are built exactly as their entry points build them; only their transport differs:
in-process, nothing listens on a socket; ``test_loopback.py`` serves the provider for real."""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import Client as WerkzeugClient

from clients.customer_space.app import create_app as create_customer_space
from clients.smart_app.app import SmartApp
from clients.smart_app.screens import create_screens
from clients.smart_app.storage import LocalState
from tests.conftest import csrf_token
from tests.oidc import DEMO_PASSWORD

SMART_APP_URL = "http://127.0.0.1:5002"  # the app's default loopback port (nothing binds it)
CUSTOMER_SPACE_URL = "http://127.0.0.1:5001"  # as registered (nothing binds it either)
HTTP_TIMEOUT = 5.0


class WSGIAdapter(BaseAdapter):
    """A requests transport that hands each request to a WSGI app (requests' counterpart of
    httpx.WSGITransport); it records what it sent, for the tests to look at."""

    def __init__(self, app: Any):
        super().__init__()
        self.client = WerkzeugClient(app, use_cookies=False)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        answer = self.client.open(
            request.url, method=request.method, headers=headers, data=request.body or b""
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.status.split(" ", 1)[-1]
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = answer.get_data()
        response.url = request.url or ""
        response.request = request
        response.encoding = answer.mimetype_params.get("charset", "utf-8")
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def issuer(app: Any) -> str:
    """The provider's issuer (``http://localhost`` in-process)."""
    return str(app.config["IDP"].issuer)


@pytest.fixture
def state_path(tmp_path: Any) -> Any:
    """Where the Smart App keeps its local state in this test."""
    return tmp_path / "smart-app" / "state.json"


@pytest.fixture
def token_responses() -> list[dict[str, Any]]:
    """Every /token answer the Smart App received (to check revocation afterwards)."""
    return []


class RecordingAdapter(WSGIAdapter):
    """The WSGI adapter that also keeps every /token answer (to check revocation after)."""

    def __init__(self, app: Any, token_responses: list[dict[str, Any]]):
        super().__init__(app)
        self.token_responses = token_responses

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = super().send(request, **kwargs)
        if urlsplit(request.url or "").path == "/token":
            self.token_responses.append(response.json())
        return response


@pytest.fixture
def app_adapter(app: Any, token_responses: list[dict[str, Any]]) -> RecordingAdapter:
    """The Smart App's requests transport (under Authlib's OAuth2Session): the provider
    in-process."""
    return RecordingAdapter(app, token_responses)


@pytest.fixture
def make_smart_app(
    issuer: str, state_path: Any, app_adapter: RecordingAdapter
) -> Callable[..., SmartApp]:
    """A Smart App (a new start of the app each call) on the test's local state file."""

    def make(**kwargs: Any) -> SmartApp:
        kwargs.setdefault("adapter", app_adapter)
        return SmartApp(issuer, LocalState(state_path), **kwargs)

    return make


@pytest.fixture
def smart_app_instance(make_smart_app: Callable[..., SmartApp]) -> SmartApp:
    """The Smart App as started from a fresh install."""
    return make_smart_app()


@pytest.fixture
def provider_adapter(app: Any) -> WSGIAdapter:
    """The customer space's requests transport to the in-process provider."""
    return WSGIAdapter(app)


@pytest.fixture
def customer_space_app(issuer: str, provider_adapter: WSGIAdapter) -> Any:
    """The customer space, its calls to the provider in-process."""
    return create_customer_space(
        {
            "OIDC_ISSUER": issuer,
            "OIDC_HTTP_ADAPTER": provider_adapter,
            "SECRET_KEY": "test-customer-space-key",
            "TESTING": True,
        }
    )


@pytest.fixture
def browser(
    app: Any, issuer: str, smart_app_instance: SmartApp, customer_space_app: Any
) -> Iterator[httpx.Client]:
    """One user agent, one cookie jar: the provider, the Smart App's screens and the customer
    space, each in-process. It never follows redirects by itself."""
    screens = create_screens(smart_app_instance, SMART_APP_URL)
    mounts = {
        issuer: httpx.WSGITransport(app=app),
        SMART_APP_URL: httpx.WSGITransport(app=screens),
        CUSTOMER_SPACE_URL: httpx.WSGITransport(app=customer_space_app),
    }
    with httpx.Client(
        mounts=mounts, timeout=HTTP_TIMEOUT, follow_redirects=False, trust_env=False
    ) as client:
        yield client


def same_origin(url: str, other: str) -> bool:
    """Scheme, host and port equal."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def through_provider(
    browser: httpx.Client,
    url: str,
    issuer: str,
    login: str | None = None,
    password: str = DEMO_PASSWORD,
) -> str:
    """Follow ``url`` while it stays on the provider, logging in as ``login`` when the login
    page shows (it must not when ``login`` is None: SSO); return the first URL elsewhere."""
    for _ in range(10):
        if not same_origin(url, issuer):
            return url
        response = browser.get(url)
        if response.status_code == 200 and 'name="password"' in response.text:
            assert login is not None, "the provider asked for a password (no SSO)"
            response = browser.post(
                url,
                data={
                    "csrf_token": csrf_token(response.text),
                    "login": login,
                    "password": password,
                },
            )
            login = None  # once
        assert response.status_code in (302, 303), (response.status_code, response.text[:300])
        url = str(httpx.URL(url).join(response.headers["Location"]))
    raise AssertionError("too many redirects at the provider")


def follow(browser: httpx.Client, response: httpx.Response, within: str) -> httpx.Response:
    """Follow redirects while they stay on ``within`` (one client's origin)."""
    for _ in range(10):
        if response.status_code not in (302, 303):
            return response
        target = str(response.url.join(response.headers["Location"]))
        if not same_origin(target, within):
            return response
        response = browser.get(target)
    raise AssertionError("too many redirects")


def heading(html: str) -> str:
    """The first <h1> of a page, unescaped enough to compare."""
    match = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert match, html[:500]
    return match.group(1).replace("&#39;", "'").strip()
