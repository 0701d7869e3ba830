"""Issue "Registration, activation and account recovery" in a real browser, phone-sized, in
French, Dutch, English and German: from the login page of an authorization request to a working
login with the new password (product §3.1–§3.7), and the forgot-password journey (§3.8). axe-core
runs on every page (no serious or critical violation) and every screen is photographed.

The mails are not sent (the mail worker is off in tests): the links are read from the outbox
rows (``OutboxMail.context["link"]``). No client is served: the browser's requests to the
customer space (its ``initiate_login_uri`` and its redirect URI) are answered by Playwright.
Every wait is bounded by the contexts' 10 s default (15 s for navigations)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.extensions import db
from idp.models.outbox import OutboxMail
from tests.browser.conftest import screen
from tests.browser.steps import JOURNEYS
from tests.browser.steps import outbox_link
from tests.flow.registration_steps import GENEROUS
from tests.oidc import CUSTOMER_SPACE_REDIRECT
from tests.oidc import DEMO_ACTIVE
from tests.oidc import AuthorizationRequest
from tests.oidc import exchange_code

CUSTOMER_SPACE_INITIATE_LOGIN = "http://127.0.0.1:5001/login"  # clients/registrations.toml

# A few key strings only (the catalogues are the translators' business; ids and roles do the
# rest). English is the message id. German: asserted to be translated, not quoted.
LOGIN_HEADINGS = {
    "fr": "Connectez-vous pour continuer.",
    "nl": "Meld je aan om verder te gaan.",
    "en": "Log in to continue.",
    "de": "Melden Sie sich an, um fortzufahren.",
}
CREATED_HEADINGS = {
    "fr": "Votre compte est créé",
    "nl": "Je account is aangemaakt",
    "en": "Your account is created",
}
NEW_PASSWORD = "Windmolen aan de kust 2026"


@pytest.fixture
def overrides(listening_socket):
    """The issuer is the loopback URL served; the registration throttles out of the way."""
    return {"issuer": f"http://127.0.0.1:{listening_socket.getsockname()[1]}", **GENEROUS}


# ---- helpers -------------------------------------------------------------------------------


def answer_for_client(page: Any, prefix: str) -> None:
    """Stand in for the customer space at ``prefix`` (a tiny page), so no server is needed there.

    The tests read what arrived from ``page.url``, not from this handler: Chromium does not always
    route a redirect's target through it when something listens on the port (``make run``'s
    customer space on 5001), and the URL is the same either way."""
    page.context.route(
        f"{prefix}**",
        lambda route: route.fulfill(status=200, content_type="text/plain", body="customer space"),
    )


def single(url: str) -> dict[str, str]:
    """The query of ``url``; every parameter exactly once."""
    query = parse_qs(urlsplit(url).query)
    assert all(len(values) == 1 for values in query.values()), url
    return {name: values[0] for name, values in query.items()}


def assert_language(page: Any, language: str) -> None:
    """The page is rendered in ``language`` (its <html lang>)."""
    assert page.locator("html").get_attribute("lang") == language, page.url


def heading(page: Any) -> str:
    return page.locator("h1").inner_text().strip()


class Wording:
    """The few translated strings checked, collected and asserted at the end of a journey, so
    that an unfinished catalogue shows as such and does not stop the journey halfway."""

    def __init__(self, language: str):
        self.language = language
        self.wrong: list[str] = []

    def heading(self, page: Any, expected: str | None, untranslated: str | None = None) -> None:
        """The page's <h1> is ``expected`` (or, when None, anything but ``untranslated``)."""
        actual = heading(page)
        if (expected is not None and actual != expected) or actual == untranslated:
            self.wrong.append(
                f"{urlsplit(page.url).path}: h1 {actual!r}, expected "
                f"{expected or 'a translation of ' + repr(untranslated)}"
            )

    def check(self) -> None:
        assert not self.wrong, f"missing or wrong {self.language} translations: {self.wrong}"


def check_reveal(page: Any, field: str) -> None:
    """The show/hide button next to a password field toggles it (and says so, aria-pressed)."""
    box, button = page.locator(f"#{field}"), page.locator(f"[data-reveal={field}]")
    assert box.get_attribute("type") == "password"
    button.click()
    assert box.get_attribute("type") == "text"
    assert button.get_attribute("aria-pressed") == "true"
    button.click()
    assert box.get_attribute("type") == "password"
    assert button.get_attribute("aria-pressed") == "false"


def log_in_for_a_code(
    issuer: str,
    page: Any,
    request: AuthorizationRequest,
    login: str,
    password: str,
) -> dict[str, str]:
    """On the login page that shows: log in; the client's redirect URI gets the code (RFC 9207
    ``iss``, the request's ``state``)."""
    page.locator("#password").fill(password)
    page.locator("#login").fill(login)
    page.locator("button[type=submit]:not(.link)").click()
    page.wait_for_url(f"{CUSTOMER_SPACE_REDIRECT}?**")
    callback = single(page.url)
    assert callback["state"] == request.state and callback["iss"] == issuer, callback
    assert callback["code"] and "error" not in callback
    return callback


def id_token_claims(app: Any, request: AuthorizationRequest, code: str) -> dict[str, Any]:
    """Redeem the code as the customer space would; the ID token's claims (signature checked)."""
    client = app.test_client()
    response = exchange_code(client, request, code)
    assert response.status_code == 200, response.text
    keys = KeySet.import_key_set(client.get("/jwks.json").get_json())
    claims: dict[str, Any] = jwt.decode(
        response.get_json()["id_token"], keys, algorithms=["RS256", "ES256"]
    ).claims
    assert claims["nonce"] == request.nonce
    return claims


# ---- registration, in each language ----------------------------------------------------------


@pytest.mark.parametrize("language", list(JOURNEYS))
def test_registration_from_the_login_page_to_a_working_login(
    app, live_issuer, phone, screenshots, language
):
    """product §3.1 → §3.7 → a login with the new password, in a browser that speaks
    ``language`` and an authorization request with ``ui_locales=language``."""
    journey = JOURNEYS[language]
    wording = Wording(language)
    email, number, code = journey["email"], journey["number"], journey["code"]
    page = phone(journey["browser"])
    answer_for_client(page, CUSTOMER_SPACE_INITIATE_LOGIN)
    answer_for_client(page, CUSTOMER_SPACE_REDIRECT)

    # Login page → "No account yet? >"
    request = AuthorizationRequest.customer_space(extra={"ui_locales": language})
    page.goto(live_issuer + request.url())
    wording.heading(page, LOGIN_HEADINGS[language])
    assert_language(page, language)
    screen(page, screenshots, f"08-register-login-{language}")
    uid = urlsplit(page.url).path.rsplit("/", 1)[-1]
    page.locator(f'a[href="/register?uid={uid}"]').click()

    # Cookie notice (product §3.2): accept, back to the e-mail step of this registration.
    page.wait_for_url("**/cookies?next=**")
    assert_language(page, language)
    assert page.get_by_role("status").count() == 1  # "you have not chosen yet"
    screen(page, screenshots, f"09-register-cookies-{language}")
    page.locator("button[name=choice][value=accepted]").click()

    # E-mail (product §3.3) → "check your mailbox".
    page.wait_for_url(f"{live_issuer}/register?uid={uid}")
    assert_language(page, language)
    assert page.locator("input[type=hidden][name=uid]").input_value() == uid
    screen(page, screenshots, f"10-register-email-{language}")
    page.locator("#email").fill(email)
    page.locator("button[type=submit]:not(.link)").click()
    page.wait_for_url(f"{live_issuer}/register/sent")
    assert_language(page, language)
    assert email in page.locator("main").inner_text()
    screen(page, screenshots, f"11-register-sent-{language}")

    # The activation mail (product §3.4), in the page's language, its link opened in this browser.
    link = outbox_link(app, "activation", email)
    with app.app_context():
        mail = db.session.scalars(select(OutboxMail).where(OutboxMail.to_address == email)).one()
        assert mail.language == language
    assert link.startswith(f"{live_issuer}/register/")
    page.goto(link)

    # Customer data (product §3.5): the e-mail shown, the number typed with spaces.
    assert_language(page, language)
    assert page.locator("#email").input_value() == email
    assert page.locator("#email").get_attribute("readonly") is not None
    screen(page, screenshots, f"12-register-customer-data-{language}")
    page.locator("#customer_number").fill(f"{number[0]} {number[1:4]} {number[4:7]} {number[7:]}")
    page.locator("#activation_code").fill(f"{code[:4]} {code[4:8]} {code[8:]}")
    page.locator("button[type=submit]:not(.link)").click()

    # Login and password (product §3.6): the login pre-filled with the e-mail; show/hide works.
    page.wait_for_url(f"{link}/password")
    assert_language(page, language)
    assert page.locator("#login").input_value() == email
    page.locator("#password").fill(journey["password"])
    page.locator("#confirm").fill(journey["password"])
    check_reveal(page, "password")
    check_reveal(page, "confirm")
    screen(page, screenshots, f"13-register-password-{language}")
    page.locator("button[type=submit]:not(.link)").click()

    # Confirmation (product §3.7).
    page.wait_for_url(f"{live_issuer}/register/done?t=**")
    assert_language(page, language)
    wording.heading(
        page,
        CREATED_HEADINGS.get(language),
        untranslated=None if language == "en" else CREATED_HEADINGS["en"],
    )
    screen(page, screenshots, f"14-register-done-{language}")

    # "Back to the app": the customer space's initiate_login_uri with iss and login_hint.
    back = page.locator("main a.button.primary")
    assert back.count() == 1
    back.click()
    page.wait_for_url(f"{CUSTOMER_SPACE_INITIATE_LOGIN}?**")
    assert single(page.url) == {"iss": live_issuer, "login_hint": email}

    # What the customer space then does (OIDC Core §4): a new request with the hint.
    again = AuthorizationRequest.customer_space(extra={"ui_locales": language, "login_hint": email})
    page.goto(live_issuer + again.url())
    wording.heading(page, LOGIN_HEADINGS[language])
    assert page.locator("#login").input_value() == email
    screen(page, screenshots, f"15-register-login-again-{language}")
    callback = log_in_for_a_code(live_issuer, page, again, email, journey["password"])
    claims = id_token_claims(app, again, callback["code"])
    assert claims["email"] == email
    assert claims["eligibility"]["eligible"] is True and claims["eligibility"]["reason"] is None
    wording.check()


def test_the_journey_keeps_the_requested_language_in_a_browser_speaking_another(
    app, live_issuer, phone, tmp_path
):
    """product §3: ``ui_locales`` comes before Accept-Language. An app set to Dutch on a phone
    whose browser is in English: the whole registration should stay in Dutch (the mail is)."""
    page = phone("en-US")
    page.goto(live_issuer + AuthorizationRequest.customer_space(extra={"ui_locales": "nl"}).url())
    seen = {"login": page.locator("html").get_attribute("lang")}
    page.locator('a[href^="/register?uid="]').click()
    page.wait_for_url("**/cookies?next=**")
    seen["cookies"] = page.locator("html").get_attribute("lang")
    page.locator("button[name=choice][value=accepted]").click()
    page.wait_for_url("**/register?uid=**")
    seen["email"] = page.locator("html").get_attribute("lang")
    page.locator("#email").fill("jan.peeters@example.be")
    page.locator("button[type=submit]:not(.link)").click()
    page.wait_for_url("**/register/sent")
    seen["sent"] = page.locator("html").get_attribute("lang")
    page.goto(outbox_link(app, "activation", "jan.peeters@example.be"))
    seen["customer data"] = page.locator("html").get_attribute("lang")
    assert seen == dict.fromkeys(seen, "nl")


# ---- forgot password (product §3.8), in one language --------------------------------------------


def test_forgot_password_from_the_login_page_to_a_working_login(
    app, live_issuer, phone, screenshots
):
    """Login page → "forgot?" → "my password" → e-mail → the reset link → a new password →
    back to the same login → logged in with it."""
    language = "nl"
    wording = Wording(language)
    page = phone("nl-BE")
    answer_for_client(page, CUSTOMER_SPACE_REDIRECT)
    request = AuthorizationRequest.customer_space(extra={"ui_locales": language})
    page.goto(live_issuer + request.url())
    login_page = page.url
    uid = urlsplit(login_page).path.rsplit("/", 1)[-1]
    wording.heading(page, LOGIN_HEADINGS[language])
    page.locator(f'a[href="/forgot?uid={uid}"]').click()

    page.wait_for_url(f"{live_issuer}/forgot?uid={uid}")
    assert_language(page, language)
    screen(page, screenshots, f"20-forgot-choice-{language}")
    page.locator(f'a[href="/forgot/password?uid={uid}"]').click()

    page.wait_for_url(f"{live_issuer}/forgot/password?uid={uid}")
    assert_language(page, language)
    screen(page, screenshots, f"21-forgot-password-{language}")
    page.locator("#email").fill(DEMO_ACTIVE)
    page.locator("button[type=submit]:not(.link)").click()

    page.wait_for_url(f"{live_issuer}/forgot/sent?kind=password&uid={uid}")
    assert_language(page, language)
    assert DEMO_ACTIVE in page.locator("main").inner_text()
    screen(page, screenshots, f"22-forgot-sent-{language}")

    link = outbox_link(app, "reset_password", DEMO_ACTIVE)
    assert link.startswith(f"{live_issuer}/reset/")
    page.goto(link)
    assert_language(page, language)
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("#password_confirm").fill(NEW_PASSWORD)
    check_reveal(page, "password")
    check_reveal(page, "password_confirm")
    screen(page, screenshots, f"23-reset-password-{language}")
    page.locator("button[type=submit]:not(.link)").click()

    page.wait_for_url(f"{live_issuer}/reset/done")
    assert_language(page, language)
    screen(page, screenshots, f"24-reset-done-{language}")
    page.locator(f'main a[href="/interaction/{uid}"]').click()  # back to the waiting login

    page.wait_for_url(login_page)
    wording.heading(page, LOGIN_HEADINGS[language])
    screen(page, screenshots, f"25-reset-login-again-{language}")
    callback = log_in_for_a_code(live_issuer, page, request, DEMO_ACTIVE, NEW_PASSWORD)
    assert id_token_claims(app, request, callback["code"])["email"] == DEMO_ACTIVE
    wording.check()
