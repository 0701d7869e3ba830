"""A fuzz pass over every endpoint of ``app.url_map`` (hypothesis): hostile path segments,
query and form parameters (huge, NUL, invalid UTF-8, injection strings, repeated names),
hostile headers, and raw bodies that are not UTF-8.

Whatever arrives, the answer is never a 5xx, never splits a header, and an HTML page never
carries a value back unescaped (OWASP ASVS 5.0 V1.2 output encoding, V1.3 sanitisation).
The list of endpoints is read from the application, so a new endpoint is fuzzed without
anyone adding it here.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import note
from hypothesis import settings
from hypothesis import strategies as st

from tests.conftest import csrf_token
from tests.flow.registration_steps import GENEROUS
from tests.flow.registration_steps import accept_cookies
from tests.flow.registration_steps import mails
from tests.flow.registration_steps import new_link
from tests.flow.registration_steps import path_of
from tests.oidc import DEMO_ACTIVE
from tests.oidc import AuthorizationRequest
from tests.property.conftest import budget
from tests.property.conftest import count
from tests.property.hostile import DEEP
from tests.property.hostile import HOSTILE
from tests.property.hostile import reflected_raw

SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# Every parameter name the provider reads somewhere, and a few it never does.
NAMES = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "request",
    "request_uri",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "token",
    "token_type_hint",
    "access_token",
    "post_logout_redirect_uri",
    "login",
    "password",
    "password_confirm",
    "confirm",
    "email",
    "customer_number",
    "activation_code",
    "uid",
    "choice",
    "next",
    "kind",
    "lang",
    "t",
    "csrf_token",
]
PARAM_NAMES = st.one_of(st.sampled_from(NAMES), st.text(max_size=20))
PAIRS = st.lists(st.tuples(PARAM_NAMES, HOSTILE), max_size=8)
HEADER_VALUE = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=300
)
AUTHORIZATION = st.one_of(
    st.none(),
    HEADER_VALUE,
    st.binary(max_size=80).map(lambda b: "Basic " + base64.b64encode(b).decode()),
    HEADER_VALUE.map(lambda v: "Bearer " + v),
)


ORIGIN = st.one_of(
    st.none(),
    st.sampled_from(["http://127.0.0.1:49152", "http://localhost", "null", "https://evil.example"]),
    HEADER_VALUE,
)


def routes(app: Any) -> list[tuple[str, Any]]:
    """(method, rule) for every endpoint the application serves; OPTIONS where a view answers
    it itself (CORS preflights), not Flask's automatic answer."""
    found = [
        (method, rule)
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - SKIPPED_METHODS)
    ] + [
        ("OPTIONS", rule)
        for rule in app.url_map.iter_rules()
        if "OPTIONS" in (rule.methods or set())
        and not getattr(rule, "provide_automatic_options", True)
    ]
    return sorted(found, key=lambda pair: (pair[1].rule, pair[0]))


@pytest.fixture
def genuine(app) -> dict[str, Any]:
    """A browser and genuine path values: an activation link and a reset link (so the fuzz
    also reaches the pages behind them); ``refresh`` adds a pending login and a CSRF token."""
    browser = app.test_client()
    accept_cookies(browser)
    registration = new_link(app, browser, "fuzz@example.be").rsplit("/", 1)[1]
    page = browser.get("/forgot/password")
    browser.post(
        "/forgot/password", data={"csrf_token": csrf_token(page.text), "email": DEMO_ACTIVE}
    )
    reset = path_of(mails(app, "reset_password")[-1].context["link"]).rsplit("/", 1)[1]
    return {
        "browser": browser,
        "values": {
            "token": [registration, reset],
            "name": ["index"],
            "filename": ["idp.css", "../../setup.cfg"],
        },
    }


def refresh(genuine: dict[str, Any]) -> None:
    """Before each endpoint: the cookie notice accepted again (a fuzzed /cookies may have
    refused it), a new pending login, a CSRF token of the browser's current session."""
    browser = genuine["browser"]
    accept_cookies(browser)
    location = browser.get(AuthorizationRequest().url()).headers["Location"]
    genuine["values"]["uid"] = [location.rsplit("/", 1)[1]]
    genuine["csrf"] = csrf_token(browser.get("/cookies").text)


def path_for(rule: Any, draw: Any, genuine_values: dict[str, list[str]]) -> tuple[str, list[str]]:
    """The rule's path with each argument genuine or hostile; and the hostile values used."""
    path, sent = rule.rule, []
    for name in sorted(rule.arguments):
        choices = genuine_values.get(name, [])
        value = draw(st.sampled_from(choices) if choices and draw(st.booleans()) else HOSTILE)
        sent.append(value)
        placeholder = next(p for p in (f"<{name}>", f"<path:{name}>") if p in path)
        path = path.replace(placeholder, quote(value, safe="") or "x")
    return path, sent


def request_for(method: str, rule: Any, draw: Any, genuine: dict[str, Any]) -> dict[str, Any]:
    """One hostile request for ``method`` ``rule``; its values under ``sent``."""
    path, sent = path_for(rule, draw, genuine["values"])
    query = draw(PAIRS)
    sent += [v for pair in query for v in pair]
    environ = {"REMOTE_ADDR": f"198.51.100.{draw(st.integers(1, 254))}"}
    if draw(st.booleans()):  # raw octets, not UTF-8 and not percent-encoded (PEP 3333 latin-1)
        environ["QUERY_STRING"] = draw(st.binary(max_size=60)).decode("latin-1")
        query = []
    headers = {"Accept-Language": draw(HEADER_VALUE)}
    origin = draw(ORIGIN)
    if origin is not None:
        headers["Origin"] = origin
    authorization = draw(AUTHORIZATION)
    if authorization is not None:
        headers["Authorization"] = authorization
    kwargs: dict[str, Any] = {
        "method": method,
        "path": path + ("?" + urlencode(query) if query else ""),
        "headers": headers,
        "environ_overrides": environ,
    }
    if method == "POST":
        kwargs.update(body_for(draw, genuine, sent))
    kwargs["sent"] = sent
    return kwargs


def body_for(draw: Any, genuine: dict[str, Any], sent: list[str]) -> dict[str, Any]:
    """A form (with the browser's genuine CSRF token half of the time), raw bytes, or JSON."""
    kind = draw(st.sampled_from(["form", "form", "bytes", "json"]))
    if kind == "bytes":
        return {
            "data": draw(st.binary(max_size=300)),
            "content_type": "application/x-www-form-urlencoded",
        }
    if kind == "json":
        return {"json": draw(st.dictionaries(PARAM_NAMES, HOSTILE, max_size=4))}
    pairs = draw(PAIRS)
    if draw(st.booleans()):  # every field any view reads, so the views' own checks run
        pairs += [(name, draw(DEEP)) for name in NAMES if name != "csrf_token"]
    sent += [v for pair in pairs for v in pair]
    if draw(st.integers(0, 3)):  # mostly with the genuine token: the view itself runs
        pairs.append(("csrf_token", genuine["csrf"]))
    return {"data": urlencode(pairs), "content_type": "application/x-www-form-urlencoded"}


def check_answer(response: Any, sent: list[str], request_origin: str | None) -> None:
    """No 5xx, no split header, no unescaped reflection in a page."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    for name, value in response.headers.items():
        assert "\r" not in value and "\n" not in value, (name, value)
    assert not any("injected" in c for c in response.headers.getlist("Set-Cookie"))
    allowed = response.headers.get("Access-Control-Allow-Origin")
    if allowed is not None:  # CORS: never a wildcard with credentials, else the caller's origin
        credentials = response.headers.get("Access-Control-Allow-Credentials") == "true"
        assert allowed != "*" or not credentials
        assert allowed == "*" or allowed == request_origin, (allowed, request_origin)
    location = response.headers.get("Location", "")
    assert not any(c in location for c in ' <>"\x00'), location
    if response.mimetype == "text/html":
        body = response.get_data(as_text=True)
        leaked = [v for v in sent if reflected_raw(body, v)]
        assert not leaked, leaked


def fuzzer(method: str, rule: Any, genuine: dict[str, Any]) -> Any:
    """The hypothesis test of one endpoint: its examples are hostile requests to it."""

    @settings(
        max_examples=budget(0.25),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def fuzz(data: Any) -> None:
        request = request_for(method, rule, data.draw, genuine)
        sent = request.pop("sent")
        note(f"{request['method']} {request['path'][:300]}")
        count("fuzz request")
        with genuine["browser"].open(**request) as response:  # closes static files' streams
            check_answer(response, sent, request["headers"].get("Origin"))

    return fuzz


@pytest.mark.settings(**GENEROUS)
def test_every_endpoint_survives_hostile_input(app, genuine):
    """Each (method, rule) of the URL map gets its own run of hostile requests."""
    served = routes(app)
    assert len(served) >= 30, served  # the URL map was read, not an empty list
    for method, rule in served:
        refresh(genuine)
        fuzzer(method, rule, genuine)()
