"""Issue "The two relying parties" in a real browser, phone-sized (product §6): the provider, the
Smart App's screens and the customer space each served on a loopback port of their own, one
browser context (one cookie jar) going through all three — first start of the app (terms,
welcome, login), SSO into the customer space, logout there reaching the customer space over the
back-channel and ending the provider's session; and the ineligible customer's error screen.

The customer space is served on a free port, not its registered 5001: the provider loads
clients/registrations.toml with that one port rewritten (as tests/clients/test_loopback.py
does). The provider's logout worker is off in tests (presets.BASE): the test runs one delivery
round itself. Only 127.0.0.1 is contacted; every wait is bounded (10 s, 15 s for navigations).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from clients.customer_space.app import create_app as create_customer_space
from clients.smart_app.app import SmartApp
from clients.smart_app.screens import create_screens
from clients.smart_app.storage import LocalState
from tests.browser.conftest import assert_accessible
from tests.browser.conftest import screen
from tests.browser.steps import JOURNEYS
from tests.browser.steps import outbox_link
from tests.clients.conftest import CUSTOMER_SPACE_URL
from tests.loopback import LOOPBACK
from tests.loopback import PROXY_VARIABLES
from tests.loopback import listening
from tests.loopback import serve_in_thread
from tests.loopback import stop
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_INACTIVE
from tests.oidc import DEMO_PASSWORD

HTTP_TIMEOUT = 5.0
LOGIN_HEADING = "Connectez-vous pour continuer."  # the provider's login page, in French
HOME_HEADING = "Bonjour Amélie Dubois !"  # clients/smart_app/texts.py, fr
CUSTOMER_SPACE_HOME = "Bonjour Amélie Dubois"  # clients/customer_space/templates/home.html


# ---- the three servers ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests (under Authlib, in both clients) never goes through a proxy."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", LOOPBACK)
    monkeypatch.setenv("no_proxy", LOOPBACK)


@pytest.fixture
def customer_space_socket() -> Iterator[socket.socket]:
    """The customer space's socket (bound first: the provider's registrations name it)."""
    with listening() as sock:
        yield sock


@pytest.fixture
def customer_space_url(customer_space_socket: socket.socket) -> str:
    return f"http://{LOOPBACK}:{customer_space_socket.getsockname()[1]}"


@pytest.fixture
def overrides(listening_socket: socket.socket, customer_space_url: str, tmp_path: Path) -> dict:
    """The issuer is the provider's loopback URL; the registrations are the real ones with the
    customer space's port rewritten."""
    registrations = Path(__file__).resolve().parents[2] / "clients" / "registrations.toml"
    text = registrations.read_text()
    assert CUSTOMER_SPACE_URL in text
    clients_file = tmp_path / "registrations.toml"
    clients_file.write_text(text.replace(CUSTOMER_SPACE_URL, customer_space_url))
    return {
        "issuer": f"http://{LOOPBACK}:{listening_socket.getsockname()[1]}",
        "clients_file": str(clients_file),
    }


@pytest.fixture
def smart_app_state(tmp_path: Path) -> Path:
    """The Smart App's local state file (a fresh install)."""
    return tmp_path / "smart-app" / "state.json"


@pytest.fixture
def smart_app_url(live_issuer: str, smart_app_state: Path) -> Iterator[str]:
    """The Smart App's screens as ``python -m clients.smart_app --port 0`` serves them."""
    smart_app = SmartApp(live_issuer, LocalState(smart_app_state))
    screens = create_screens(smart_app, f"http://{LOOPBACK}:0")
    server = make_server(LOOPBACK, 0, screens, threaded=False)
    base_url = f"http://{LOOPBACK}:{server.server_port}"
    screens.config["BASE_URL"] = base_url
    thread = serve_in_thread(server, "smart-app-screens")
    try:
        yield base_url
    finally:
        stop(server, thread)


@pytest.fixture
def customer_space(
    live_issuer: str, customer_space_socket: socket.socket, customer_space_url: str
) -> Iterator[Any]:
    """The customer space as ``python -m clients.customer_space`` runs it (threaded: the
    back-channel POST may arrive while a browser request is served)."""
    app = create_customer_space({"OIDC_ISSUER": live_issuer, "BASE_URL": customer_space_url})
    server = make_server(
        LOOPBACK,
        customer_space_socket.getsockname()[1],
        app,
        threaded=True,
        fd=customer_space_socket.fileno(),
    )
    thread = serve_in_thread(server, "customer-space")
    try:
        yield app
    finally:
        stop(server, thread)


# ---- helpers ---------------------------------------------------------------------------------


def submit_app_form(page: Any, button: str) -> None:
    """Click a submit ``button`` of a Smart App screen; the app accepts the post (303). Its
    Origin check must accept what a real browser sends with the app's Referrer-Policy (see
    test_the_terms_form_posts_from_a_real_browser)."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator(button).click()
    assert answer.value.status == 303, (answer.value.url, answer.value.status)


def open_app(page: Any, app_url: str, lang: str) -> None:
    """The app's first screen, in ``lang`` (switched from French when another)."""
    page.goto(f"{app_url}/")
    if lang != "fr":
        submit_app_form(page, f"form.languages button[value={lang}]")
        page.wait_for_url(f"{app_url}/")


def accept_terms(page: Any, app_url: str) -> None:
    """Tick and accept the app's terms; the app shows its welcome screen."""
    page.locator("input[type=checkbox][name=accept]").check()
    submit_app_form(page, "form button.primary")
    page.wait_for_url(f"{app_url}/")


def heading(page: Any) -> str:
    return page.locator("h1").inner_text().strip()


def navigations(page: Any) -> list[str]:
    """Every top-level document URL the page requests from now on (redirect hops included)."""
    seen: list[str] = []
    page.on(
        "request",
        lambda request: (
            seen.append(request.url)
            if request.is_navigation_request() and request.frame == page.main_frame
            else None
        ),
    )
    return seen


def check(page: Any, screenshots: Path, name: str | None) -> None:
    """axe-core on this screen, and its screenshot when it has a ``name``."""
    if name:
        screen(page, screenshots, name)
    else:
        assert_accessible(page, page.url)


def first_start(page: Any, app_url: str, screenshots: Path, names: tuple | None) -> None:
    """Terms (must be ticked, then accepted) → welcome → "log in" → the provider's login page.
    ``names``: of the terms' and the welcome screen's screenshots (None: axe-core only)."""
    terms_name, welcome_name = names or (None, None)
    page.goto(f"{app_url}/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert heading(page).startswith("Conditions d'utilisation")
    check(page, screenshots, terms_name)
    accept = page.locator("input[type=checkbox][name=accept]")
    assert not accept.is_checked()
    accept.check()
    submit_app_form(page, "form button.primary")
    page.wait_for_url(f"{app_url}/")
    assert page.locator('a[href="/login"]').count() == 1  # the welcome screen's two buttons
    assert page.locator('a[href="/register"]').count() == 1
    check(page, screenshots, welcome_name)
    page.locator('a[href="/login"]').click()
    page.wait_for_url("**/interaction/**")


def log_in(page: Any, login: str, password: str = DEMO_PASSWORD) -> None:
    """On the provider's login page."""
    assert heading(page) == LOGIN_HEADING
    assert page.locator("html").get_attribute("lang") == "fr"  # the app's ui_locales
    page.locator("#login").fill(login)
    page.locator("#password").fill(password)
    page.locator("button[type=submit]:not(.link)").click()


def local_sessions(customer_space: Any) -> dict:
    return dict(customer_space.extensions["customer_space.sessions"]._sessions)


def deliver_back_channel(app: Any) -> Any:
    """One delivery round of the provider's queued logout tokens, run here because no worker
    process runs in tests; synchronous, each POST bounded by the provider's timeout."""
    from idp.extensions import db
    from idp.oauth.backchannel import deliver_pending

    with app.app_context():
        return deliver_pending(db.session)


# ---- the journeys ----------------------------------------------------------------------------


def test_smart_app_then_sso_into_the_customer_space_then_logout_everywhere(
    app,
    live_issuer,
    smart_app_url,
    smart_app_state,
    customer_space,
    customer_space_url,
    phone,
    screenshots,
):
    page = phone("fr-BE")  # ONE context: the provider's, the app's and the site's cookies

    # The Smart App's first start: terms → welcome → log in at the provider → home.
    first_start(page, smart_app_url, screenshots, ("30-smartapp-terms", "31-smartapp-welcome"))
    screen(page, screenshots, "32-smartapp-provider-login")
    log_in(page, DEMO_ACTIVE)
    page.wait_for_url(f"{smart_app_url}/")
    assert heading(page) == HOME_HEADING
    screen(page, screenshots, "33-smartapp-home")
    assert json.loads(smart_app_state.read_text())["refresh_token"]

    # The customer space, same browser: logged in with no password (SSO).
    page.goto(f"{customer_space_url}/")
    screen(page, screenshots, "34-customer-space-welcome")
    visited = navigations(page)
    page.locator('a[href="/login"]').click()
    page.wait_for_url(f"{customer_space_url}/")
    assert heading(page) == CUSTOMER_SPACE_HOME
    assert any(url.startswith(f"{live_issuer}/authorize?") for url in visited), visited
    assert not [url for url in visited if "/interaction/" in url], "the provider asked again"
    assert "éligible" in page.locator("main").inner_text()
    screen(page, screenshots, "35-customer-space-home")
    (session_before,) = local_sessions(customer_space).values()

    # Logout there: the customer space, then the provider's end_session_endpoint, then back.
    visited = navigations(page)
    page.locator("form[action='/logout'] button[type=submit]").click()
    page.wait_for_url(f"{customer_space_url}/?state=**")
    assert any(url.startswith(f"{live_issuer}/logout?") for url in visited), visited
    assert page.get_by_role("status").inner_text().strip() == "Vous êtes déconnecté."
    assert "La Smart App de votre téléphone reste connectée." in page.locator("main").inner_text()
    assert page.locator('a[href="/login"]').count() == 1
    screen(page, screenshots, "36-customer-space-logged-out")
    assert not [c for c in page.context.cookies(live_issuer) if c["name"] == "idp_session"]

    # The back-channel reaches the customer space: the logout token for that sid is accepted.
    report = deliver_back_channel(app)
    assert (report.sent, report.retrying, report.given_up) == (1, 0, 0), report
    seen_logout_tokens = customer_space.extensions["customer_space.logout_jti"]._items
    assert len(seen_logout_tokens) == 1  # validated (signature, iss, aud, sid …) and recorded
    assert session_before.sid and local_sessions(customer_space) == {}
    page.goto(f"{customer_space_url}/")
    assert page.locator('a[href="/login"]').count() == 1
    assert CUSTOMER_SPACE_HOME not in page.locator("main").inner_text()

    # Issue #7 item 3: the web logout leaves the Smart App signed in (its offline grant), as
    # the customer space's page said; a restart of the app refreshes and shows home.
    page.goto(f"{smart_app_url}/")
    assert heading(page) == HOME_HEADING
    assert json.loads(smart_app_state.read_text())["refresh_token"]

    # The Smart App's next authorization: the provider's session is gone, a password again.
    page.goto(f"{smart_app_url}/login")
    page.wait_for_url("**/interaction/**")
    assert page.locator("#password").is_visible()
    screen(page, screenshots, "37-smartapp-provider-login-again")
    log_in(page, DEMO_ACTIVE)
    page.wait_for_url(f"{smart_app_url}/")
    assert heading(page) == HOME_HEADING


INELIGIBLE = {
    "fr": ("Vous ne pouvez pas utiliser l'app", "Nous ne trouvons aucun contrat", "Discuter"),
    "nl": ("Je kunt de app niet gebruiken", "We vinden geen energiecontract", "Chat met ons"),
    "en": ("You cannot use the app", "We found no energy contract", "Chat with us"),
    "de": ("Sie können die App nicht nutzen", "Wir finden keinen Energievertrag", "Mit uns"),
}


def test_the_ineligible_customer_gets_the_chat_screen(
    app, live_issuer, smart_app_url, smart_app_state, phone, screenshots
):
    """product §4/§6 and issue #7 item 2: not eligible → a screen that says why in words (four
    languages), a chat button carrying the reason, and nothing kept on the device."""
    page = phone("fr-BE")
    first_start(page, smart_app_url, screenshots, None)  # photographed by the test above
    check(page, screenshots, None)  # the provider's login page
    log_in(page, DEMO_INACTIVE)
    page.wait_for_url(f"{smart_app_url}/")
    assert not json.loads(smart_app_state.read_text()).get("refresh_token")
    for lang, (title, words, button) in INELIGIBLE.items():
        submit_app_form(page, f"form.languages button[value={lang}]")
        page.wait_for_url(f"{smart_app_url}/")
        assert page.locator("html").get_attribute("lang") == lang
        assert heading(page) == title
        main = page.locator("main").inner_text()
        assert words in main and "no_active_contract" not in main
        assert page.get_by_role("alert").count() == 0  # not an error: a situation to explain
        assert page.locator("a.button.primary").inner_text().startswith(button)
        screen(page, screenshots, f"40-smartapp-ineligible-{lang}")

    page.locator("a.button.primary").click()  # the chat, with the reason
    page.wait_for_url(f"{smart_app_url}/chat?reason=no_active_contract&topic=eligibility")
    assert "Wir finden keinen Energievertrag" in page.locator(".bubble").inner_text()  # de
    screen(page, screenshots, "41-smartapp-chat")
    page.go_back()
    submit_app_form(page, "form[action='/dismiss'] button")  # "Back": the welcome screen
    page.wait_for_url(f"{smart_app_url}/")
    assert page.locator('a[href="/login"]').count() == 1


def test_the_terms_form_posts_from_a_real_browser(live_issuer, smart_app_url, phone):
    """product §6: the first start asks for the terms; ticking and accepting them in the browser
    leads to the welcome screen. (The app once sent Referrer-Policy: no-referrer, so Chromium
    posted its forms with Origin: null and the app's Origin check refused them: 403.)"""
    page = phone("fr-BE")
    page.goto(f"{smart_app_url}/")
    page.locator("input[type=checkbox][name=accept]").check()
    with page.expect_response(f"{smart_app_url}/terms") as answer:
        page.locator("form button.primary").click()
    page.wait_for_load_state()
    # Referrer-Policy: same-origin on the app's screens: Chromium sends the real Origin.
    assert answer.value.request.header_value("origin") == smart_app_url
    assert answer.value.status == 303, f"POST /terms answered {answer.value.status}"
    page.wait_for_url(f"{smart_app_url}/")
    assert page.locator('a[href="/login"]').count() == 1  # the welcome screen


# ---- issue #7: create an account, the way back, the terms' own message ------------------------


@pytest.mark.parametrize("lang", ["fr", "nl"])
def test_create_an_account_from_the_app_returns_to_the_app_logged_in(
    app, live_issuer, smart_app_url, phone, screenshots, lang
):
    """Item 1: "Create an account" sends prompt=create; the registration pages open directly
    (no login page) and their last button gives the app its authorization response."""
    journey = JOURNEYS[lang]
    page = phone(journey["browser"])
    open_app(page, smart_app_url, lang)
    accept_terms(page, smart_app_url)
    visited = navigations(page)
    page.locator('a[href="/register"]').click()
    page.wait_for_url("**/cookies?next=**")  # the registration's cookie notice, not the login
    assert not [u for u in visited if "/interaction/" in u and "login=" in u]
    assert page.locator("html").get_attribute("lang") == lang
    page.locator("button[name=choice][value=accepted]").click()
    page.wait_for_url(f"{live_issuer}/register?uid=**")
    assert page.locator("form.way-back button").count() == 1  # a way back to the app
    screen(page, screenshots, f"16-create-from-app-{lang}")
    page.locator("#email").fill(journey["email"])
    page.locator("button[type=submit].primary").click()
    page.wait_for_url(f"{live_issuer}/register/sent")
    page.goto(outbox_link(app, "activation", journey["email"]))
    page.locator("#customer_number").fill(journey["number"])
    page.locator("#activation_code").fill(journey["code"])
    page.locator("button[type=submit]:not(.link)").click()
    page.wait_for_url("**/password")
    page.locator("#password").fill(journey["password"])
    page.locator("#confirm").fill(journey["password"])
    page.locator("button[type=submit].primary").click()
    page.wait_for_url(f"{live_issuer}/register/done?t=**")
    page.locator("main a.button.primary").click()  # "back to the app": the code, no password
    page.wait_for_url(f"{smart_app_url}/")
    assert heading(page).startswith({"fr": "Bonjour", "nl": "Hallo"}[lang])


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_going_back_from_the_login_page_shows_the_welcome_screen(
    live_issuer, smart_app_url, phone, screenshots, lang
):
    """Item 6: the login page's way back; the app gets access_denied and shows its welcome."""
    page = phone({"fr": "fr-BE", "en": "en-GB"}[lang])
    open_app(page, smart_app_url, lang)
    accept_terms(page, smart_app_url)
    page.locator('a[href="/login"]').click()
    page.wait_for_url("**/interaction/**")
    asking = page.locator(".asking").inner_text()
    assert "Smart App" in asking  # item 7: the application that asks is named
    back = page.locator("form.way-back button")
    assert "Smart App" in back.inner_text()
    screen(page, screenshots, f"03-login-way-back-{lang}")
    callbacks = navigations(page)
    back.click()
    page.wait_for_url(f"{smart_app_url}/")
    callback = next(u for u in callbacks if "/callback?" in u)
    assert "error=access_denied" in callback and "state=" in callback and "iss=" in callback
    assert heading(page) == {"fr": "Bienvenue", "en": "Welcome"}[lang]
    assert page.locator(".notice").count() == 0


@pytest.mark.parametrize(
    ("lang", "message"),
    [("fr", "Cochez la case pour continuer."), ("en", "Tick the box to continue.")],
)
def test_the_terms_checkbox_error_is_the_apps_own(smart_app_url, phone, screenshots, lang, message):
    """Item 7: no browser bubble ("Please tick this box"): the app's own words, announced."""
    page = phone("fr-BE")
    open_app(page, smart_app_url, lang)
    with page.expect_response(lambda r: r.url.endswith("/terms")) as answer:
        page.locator("form button.primary").click()
    assert answer.value.status == 400
    page.wait_for_load_state()
    assert page.get_by_role("alert").inner_text().strip() == message
    screen(page, screenshots, f"30-smartapp-terms-error-{lang}")
