"""Issue #7 item 6: no page leaves the customer stuck. The error page, the logged-out page and
the logout confirmation each offer a way onward; "No, stay logged in" goes back to the
application that asked (its initiate_login_uri, OIDC Core §4) and logs nobody out."""

from __future__ import annotations

import html
import re

from tests.oidc import AuthorizationRequest
from tests.oidc import login_and_get_tokens


def hrefs(page_html: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page_html)]


def test_the_error_page_leads_to_the_customer_space(test_client):
    page = test_client.get(AuthorizationRequest(client_id="nobody").url())
    assert page.status_code == 400
    assert "/start-login" in hrefs(page.text) and "/account" in hrefs(page.text)
    onward = test_client.get("/start-login")
    assert onward.status_code == 302
    assert onward.headers["Location"].startswith("http://127.0.0.1:5001/login?iss=")


def test_the_logged_out_page_offers_to_log_in_again(test_client):
    page = test_client.get("/logged-out")
    assert page.status_code == 200 and "/start-login" in hrefs(page.text)


def test_the_logout_confirmation_can_be_declined(app, test_client):
    tokens = login_and_get_tokens(test_client, AuthorizationRequest.customer_space())
    page = test_client.get("/logout?client_id=customer-space")
    assert page.status_code == 200 and 'action="/logout/confirm"' in page.text
    stay = "/start-login?client_id=customer-space"
    assert stay in hrefs(page.text)
    back = test_client.get(stay)
    assert back.headers["Location"].startswith("http://127.0.0.1:5001/login?iss=")
    # Declining ended nothing: the session still answers the client without a password.
    again = test_client.get(AuthorizationRequest.customer_space().url())
    assert again.headers["Location"].startswith("http://127.0.0.1:5001/callback?")
    assert tokens["claims"]["sid"]


def test_without_a_client_declining_goes_to_the_account_page(test_client):
    login_and_get_tokens(test_client, AuthorizationRequest.customer_space())
    page = test_client.get("/logout")
    assert "/account" in hrefs(page.text)
