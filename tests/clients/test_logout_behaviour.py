"""Issue #7 item 3, as the README says it: a web logout leaves the Smart App signed in (its
offline grant outlives the OP session, OIDC Core §11, as a phone app does with the big consumer
providers); the Smart App's own logout and "sign out everywhere" on the account page end it."""

from __future__ import annotations

import httpx
import pytest

from tests.clients.conftest import CUSTOMER_SPACE_URL
from tests.clients.conftest import SMART_APP_URL
from tests.clients.conftest import follow
from tests.clients.conftest import heading
from tests.clients.conftest import through_provider
from tests.clients.steps import accept_terms
from tests.clients.steps import log_in_to_customer_space
from tests.clients.steps import log_in_to_smart_app
from tests.clients.steps import stored
from tests.conftest import csrf_token
from tests.oidc import DEMO_ACTIVE


def logout_of_customer_space(browser: httpx.Client, issuer: str, page: httpx.Response) -> None:
    """The customer space's logout button, through the provider's end_session_endpoint."""
    response = browser.post(
        f"{CUSTOMER_SPACE_URL}/logout", data={"csrf_token": csrf_token(page.text)}
    )
    back = through_provider(browser, response.headers["Location"], issuer)
    landed = browser.get(back)
    assert "Vous êtes déconnecté." in landed.text
    assert "La Smart App de votre téléphone reste connectée." in landed.text


def test_a_web_logout_leaves_the_smart_app_signed_in(browser, issuer, state_path, make_smart_app):
    accept_terms(browser)
    log_in_to_smart_app(browser, issuer, DEMO_ACTIVE)
    page = log_in_to_customer_space(browser, issuer, login=None)  # SSO
    logout_of_customer_space(browser, issuer, page)

    restarted = make_smart_app()  # the app opened again later: its refresh token still works
    restarted.start()
    assert restarted.screen() == "home"
    assert stored(state_path)["refresh_token"]


def test_sign_out_everywhere_signs_the_smart_app_out(browser, issuer, state_path, make_smart_app):
    accept_terms(browser)
    log_in_to_smart_app(browser, issuer, DEMO_ACTIVE)
    account = browser.get(f"{issuer}/account")  # the OP session of the app's login is enough
    assert account.status_code == 200, account.text
    done = browser.post(
        f"{issuer}/account/sign-out-everywhere", data={"csrf_token": csrf_token(account.text)}
    )
    assert done.status_code == 200

    restarted = make_smart_app()
    restarted.start()
    assert restarted.screen() == "welcome" and restarted.notice == "session_ended"
    assert "refresh_token" not in stored(state_path)


def test_the_smart_app_logout_also_ends_the_web_session(browser, issuer):
    accept_terms(browser)
    log_in_to_smart_app(browser, issuer, DEMO_ACTIVE)
    log_in_to_customer_space(browser, issuer, login=None)
    response = browser.post(f"{SMART_APP_URL}/logout")
    back = through_provider(browser, response.headers["Location"], issuer)
    page = follow(browser, browser.get(back), SMART_APP_URL)
    assert heading(page.text) == "Bienvenue"
    # The OP session is over: the customer space's next login asks for the password. (Its
    # local session ends when the back-channel logout token arrives: tests/flow/test_backchannel.)
    started = browser.get(f"{CUSTOMER_SPACE_URL}/login")
    with pytest.raises(AssertionError, match="asked for a password"):
        through_provider(browser, started.headers["Location"], issuer, login=None)
