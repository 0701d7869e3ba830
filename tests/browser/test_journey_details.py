"""Issue #7 in a real browser, phone-sized, French and another language (screenshots of the
changed screens): the password strength (item 4: live feedback, the page without the script,
the login kept after an error), the used-up activation link (item 5) and the rate-limit page
(item 6) in all four languages, and the phone details of item 7 (the login fields, the language
switch keeping what was typed, the development mail viewer on a phone). axe-core: no serious
or critical violation on any of them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import PHONE
from tests.browser.conftest import screen
from tests.browser.steps import JOURNEYS
from tests.browser.steps import outbox_link
from tests.flow.registration_steps import GENEROUS
from tests.oidc import DEMO_ACTIVE
from tests.oidc import AuthorizationRequest

DEAD = {
    "fr": "Ce numéro de client et ce code d'activation ne correspondent pas",
    "nl": "Dit klantnummer en deze activeringscode horen niet bij elkaar",
    "en": "This customer number and activation code do not match",
    "de": "Diese Kundennummer und dieser Aktivierungscode passen nicht zusammen",
}
TOO_MANY = {
    "fr": "Trop de tentatives",
    "nl": "Te veel pogingen",
    "en": "Too many attempts",
    "de": "Zu viele Versuche",
}


@pytest.fixture
def overrides(listening_socket):
    """The issuer is the loopback URL served; registration mails not throttled, the
    customer-data step throttled at 3 an hour (the rate-limit screens)."""
    return {
        "issuer": f"http://127.0.0.1:{listening_socket.getsockname()[1]}",
        **GENEROUS,
        "activation_rate_limit": "3/hour",
    }


def customer_data_page(app: Any, page: Any, issuer: str, lang: str, email: str) -> str:
    """Cookie notice, e-mail step, the activation link opened: its URL."""
    page.goto(f"{issuer}/register?lang={lang}")
    if "/cookies" in page.url:  # the notice, once per browser
        page.locator("button[name=choice][value=accepted]").click()
        page.wait_for_url(f"{issuer}/register**")
    page.locator("#email").fill(email)
    page.locator("button[type=submit]:not(.link)").click()
    page.wait_for_url(f"{issuer}/register/sent")
    link = outbox_link(app, "activation", email)
    page.goto(link)
    return link


def wrong_code(page: Any) -> None:
    page.locator("#customer_number").fill("2999999999")
    page.locator("#activation_code").fill("1111111111")
    page.locator("button[type=submit]:not(.link)").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("lang", ["fr", "nl", "en", "de"])
def test_used_up_link_and_rate_limit_pages(app, live_issuer, phone, screenshots, lang):
    """Item 5: the third wrong code says so, with the button to a new link. Item 6: the next
    submission (over 3 an hour) keeps what was typed and says the real wait."""
    page = phone(f"{lang}-BE")
    customer_data_page(app, page, live_issuer, lang, f"dead.{lang}@example.be")
    for _ in range(3):
        wrong_code(page)
    assert page.locator("html").get_attribute("lang") == lang
    assert DEAD[lang] in page.get_by_role("alert").inner_text()
    new_link = page.locator("main a.button.primary")
    assert urlsplit(new_link.get_attribute("href")).path == "/register"
    screen(page, screenshots, f"17-register-dead-link-{lang}")

    # A second link, and the customer-data step is over its limit (3 an hour from this IP).
    customer_data_page(app, page, live_issuer, lang, f"limit.{lang}@example.be")
    page.locator("#customer_number").fill("2000000034")
    page.locator("#activation_code").fill("4815162342")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("button[type=submit]:not(.link)").click()
    assert answer.value.status == 429
    page.wait_for_load_state()
    assert TOO_MANY[lang] in page.get_by_role("alert").inner_text()
    assert page.locator("#customer_number").input_value() == "2000000034"  # kept
    screen(page, screenshots, f"18-rate-limit-{lang}")


def password_page(app: Any, page: Any, issuer: str, lang: str) -> None:
    journey = JOURNEYS[lang]
    customer_data_page(app, page, issuer, lang, journey["email"])
    page.locator("#customer_number").fill(journey["number"])
    page.locator("#activation_code").fill(journey["code"])
    page.locator("button[type=submit]:not(.link)").click()
    page.wait_for_url("**/password")


@pytest.mark.parametrize(("lang", "weak_words"), [("fr", "moyen"), ("nl", "matig")])
def test_live_password_feedback(app, live_issuer, phone, screenshots, lang, weak_words):
    """Item 4: the estimate as the customer types, in their language; a keyboard walk is
    refused on submit with the estimator's advice, and the login stays filled in."""
    page = phone(f"{lang}-BE")
    password_page(app, page, live_issuer, lang)
    page.locator("#login").fill("mon.login" if lang == "fr" else "mijn.login")
    page.locator("#password").press_sequentially("azertyuiopqs", delay=20)
    strength = page.locator("#password-strength")
    strength.wait_for(state="visible")
    page.locator("#password-strength strong").wait_for()
    assert weak_words in strength.inner_text()
    assert "strength-weak" in strength.get_attribute("class")
    screen(page, screenshots, f"13-register-password-strength-{lang}")
    page.locator("#confirm").fill("azertyuiopqs")
    page.locator("button[type=submit]:not(.link)").click()
    page.wait_for_load_state()
    assert page.locator("#login").input_value() == ("mon.login" if lang == "fr" else "mijn.login")
    error = page.locator("#password-error").inner_text()
    assert {"fr": "trop facile à deviner", "nl": "te makkelijk te raden"}[lang] in error
    screen(page, screenshots, f"13-register-password-refused-{lang}")
    page.locator("#password").fill(JOURNEYS[lang]["password"])
    page.locator("#password").press("End")
    page.locator("#password").type(" ")
    page.locator("#password-strength.strength-ok").wait_for()  # a passphrase: strong


def test_the_password_page_works_without_the_script(app, live_issuer, chromium, screenshots):
    """Item 4: with JavaScript off, no live feedback but the same verdict on submit."""
    context = chromium.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB", java_script_enabled=False
    )
    try:
        page = context.new_page()
        password_page(app, page, live_issuer, "en")
        page.locator("#login").fill("oliver.s")
        page.locator("#password").fill("zaq12wsxcde3")
        page.locator("#confirm").fill("zaq12wsxcde3")
        page.locator("button[type=submit]:not(.link)").click()
        page.wait_for_load_state()
        assert page.locator("#login").input_value() == "oliver.s"
        assert "too easy to guess" in page.locator("#password-error").inner_text()
        assert page.locator("#password-strength").is_hidden()
    finally:
        context.close()


@pytest.mark.parametrize(("lang", "switch_to"), [("fr", "nl"), ("en", "de")])
def test_login_page_details_on_a_phone(live_issuer, phone, screenshots, lang, switch_to):
    """Item 7: no capitals or corrections in the login, autofocus on the first empty field,
    and the language switch keeps what was typed (never the password)."""
    page = phone(f"{lang}-BE")
    request = AuthorizationRequest.customer_space(extra={"ui_locales": lang})
    page.goto(live_issuer + request.url())
    login = page.locator("#login")
    assert login.get_attribute("autocapitalize") == "none"
    assert login.get_attribute("spellcheck") == "false"
    assert page.evaluate("document.activeElement.id") == "login"
    assert "Espace Client" in page.locator(".asking").inner_text()
    login.fill(DEMO_ACTIVE)
    page.locator("#password").fill("secret typed")
    page.locator(f".languages a[lang={switch_to}]").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == switch_to
    assert page.locator("#login").input_value() == DEMO_ACTIVE
    assert page.locator("#password").input_value() == ""
    assert page.evaluate("document.activeElement.id") == "password"
    screen(page, screenshots, f"01-login-switched-{switch_to}")


def test_the_dev_mail_viewer_fits_a_phone(app, live_issuer, phone, screenshots):
    """Item 7: no sideways scrolling, the mail's links a tap away."""
    from idp.extensions import db
    from idp.mail.outbox import deliver_pending
    from idp.mail.transports import transport_for

    page = phone("fr-BE")
    customer_data_page(app, page, live_issuer, "fr", "viewer@example.be")
    with app.app_context():
        settings = app.config["IDP"]
        deliver_pending(db.session, transport_for(settings), settings)
    page.goto(f"{live_issuer}/_dev/mail")
    page.locator("main ol a").first.click()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator(".mail-links a").count() >= 1
    screen(page, screenshots, "19-dev-mail-fr")
