"""The login page in a real browser, phone-sized, in each language: accessible (axe-core), the
show/hide button works under our CSP, and a login reaches the client's redirect URI with a code."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import assert_accessible
from tests.browser.conftest import shot
from tests.oidc import CUSTOMER_SPACE_REDIRECT
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_PASSWORD
from tests.oidc import AuthorizationRequest

HEADINGS = {
    "fr": "Connectez-vous pour continuer.",
    "nl": "Meld je aan om verder te gaan.",
    "en": "Log in to continue.",
    "de": "Melden Sie sich an, um fortzufahren.",
}


def _intercept_callback(page) -> None:
    """Stand in for the client at its redirect URI (a tiny page), so no server is needed there.

    What arrived is read from ``page.url``: Chromium does not always route a redirect's target
    through this handler when something listens on the port (``make run``'s customer space)."""
    page.context.route(
        f"{CUSTOMER_SPACE_REDIRECT}**",
        lambda route: route.fulfill(status=200, content_type="text/plain", body="client callback"),
    )


@pytest.mark.parametrize("language", ["fr", "nl", "en", "de"])
def test_login_page_in_each_language(live_issuer, page, screenshots, language):
    """product §3.1 in fr/nl/en/de (ui_locales, OIDC Core §3.1.2.1); WCAG via axe-core."""
    request = AuthorizationRequest.customer_space(extra={"ui_locales": language})
    _intercept_callback(page)
    page.goto(live_issuer + request.url())
    assert page.locator("h1").inner_text() == HEADINGS[language]
    assert page.locator("html").get_attribute("lang") == language
    assert_accessible(page, f"login-{language}")
    shot(page, screenshots, f"01-login-{language}")

    password = page.locator("#password")
    password.fill(DEMO_PASSWORD)
    page.locator("[data-reveal=password]").click()
    assert password.get_attribute("type") == "text"
    page.locator("[data-reveal=password]").click()
    assert password.get_attribute("type") == "password"

    page.locator("#login").fill(DEMO_ACTIVE)
    page.locator("button[type=submit]:not(.link)").click()
    page.wait_for_url(f"{CUSTOMER_SPACE_REDIRECT}**")
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == [request.state]
    assert query["iss"] == [live_issuer]
    assert query["code"][0]


def test_wrong_password_message_is_announced(live_issuer, page, screenshots):
    """product §3.1: one generic message, announced to assistive technology (role=alert)."""
    page.goto(live_issuer + AuthorizationRequest.customer_space().url())
    page.locator("#login").fill(DEMO_ACTIVE)
    page.locator("#password").fill("not the password")
    page.locator("button[type=submit]:not(.link)").click()
    alert = page.locator("[role=alert]")
    assert alert.count() == 1 and alert.inner_text().strip()
    assert_accessible(page, "login-error")
    shot(page, screenshots, "02-login-error-fr")
