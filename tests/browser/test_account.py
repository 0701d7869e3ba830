"""The account page (issue #7 item 8) in a real browser, phone-sized: reached through the login
page, in four languages (screenshots), axe-core with no serious violation, and the changes a
customer makes there — password, sign out everywhere, delete — as a customer makes them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import screen
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_PASSWORD

HEADINGS = {"fr": "Mon compte", "nl": "Mijn account", "en": "My account", "de": "Mein Konto"}
NEW_PASSWORD = "Kookplaat-Zomerregen-42"


def open_account(page: Any, issuer: str, lang: str = "fr") -> None:
    """/account → the login page (naming the account page) → back to /account."""
    page.goto(f"{issuer}/account?ui_locales={lang}")
    page.wait_for_url("**/interaction/**")
    assert page.locator("html").get_attribute("lang") == lang
    page.locator("#login").fill(DEMO_ACTIVE)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("button[type=submit]:not(.link)").click()
    page.wait_for_url(f"{issuer}/account")
    assert page.locator("h1").inner_text() == HEADINGS[lang]


def test_the_account_page_in_four_languages(live_issuer, phone, screenshots):
    page = phone("fr-BE")
    open_account(page, live_issuer, "fr")
    main = page.locator("main").inner_text()
    assert DEMO_ACTIVE in main and "2000000018" in main and "Smart App : contrat actif" in main
    assert "ce navigateur" in main
    screen(page, screenshots, "50-account-fr")
    for lang in ("nl", "en", "de"):
        page.locator(f".languages a[lang={lang}]").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == HEADINGS[lang]
        screen(page, screenshots, f"50-account-{lang}")


def test_changing_the_password_in_english(live_issuer, phone, screenshots):
    page = phone("en-GB")
    open_account(page, live_issuer, "en")
    page.locator("#password").fill("aaaaaaaaaaaaaa")
    page.locator("#confirm").fill("aaaaaaaaaaaaaa")
    page.locator("form[action='/account/password'] button[type=submit]").click()
    page.wait_for_load_state()
    assert "repeats characters" in page.locator("#password-error").inner_text()
    screen(page, screenshots, "51-account-password-refused-en")
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("#confirm").fill(NEW_PASSWORD)
    page.locator("form[action='/account/password'] button[type=submit]").click()
    page.wait_for_url("**/account?done=password*")
    assert "Your password was changed" in page.get_by_role("status").inner_text()


@pytest.mark.settings(account_reauth_max_age=0)
def test_sensitive_changes_ask_for_the_password_again(live_issuer, phone, screenshots):
    page = phone("fr-BE")
    open_account(page, live_issuer, "fr")
    assert page.locator("form[action='/account/password']").count() == 0
    screen(page, screenshots, "52-account-confirm-password-fr")
    page.locator("a[href='/account/confirm']").first.click()
    page.wait_for_url("**/interaction/**")
    assert page.locator("#login").input_value() == DEMO_ACTIVE  # the login filled in
    assert page.evaluate("document.activeElement.id") == "password"  # first empty field


def test_sign_out_everywhere_in_french(live_issuer, phone, screenshots):
    page = phone("fr-BE")
    open_account(page, live_issuer, "fr")
    page.locator("form[action='/account/sign-out-everywhere'] button").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Vous êtes déconnecté partout."
    screen(page, screenshots, "53-account-signed-out-everywhere-fr")
    page.goto(f"{live_issuer}/account")
    page.wait_for_url("**/interaction/**")  # this browser too


@pytest.mark.parametrize("lang", ["fr", "nl"])
def test_deleting_the_account(live_issuer, phone, screenshots, lang):
    page = phone(f"{lang}-BE")
    open_account(page, live_issuer, lang)
    page.locator("form[action='/account/delete'] button").click()  # box not ticked
    page.wait_for_load_state()
    assert page.locator("form[action='/account/delete'] [role=alert]").count() == 1
    page.locator("input[type=checkbox][name=confirm]").check()
    page.locator("form[action='/account/delete'] button").click()
    page.wait_for_load_state()
    assert {"fr": "Votre compte est supprimé", "nl": "Je account is verwijderd"}[lang] == (
        page.locator("h1").inner_text()
    )
    screen(page, screenshots, f"54-account-deleted-{lang}")
