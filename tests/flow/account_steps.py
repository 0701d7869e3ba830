"""Steps of the account-page tests: log in to /account through its login page."""

from __future__ import annotations

from typing import Any

from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_PASSWORD
from tests.oidc import submit_login


def log_in_to_account(test_client: Any, login: str = DEMO_ACTIVE) -> Any:
    """/account → the login page → back to /account; the account page."""
    start = test_client.get("/account")
    assert start.status_code == 303, start.text
    login_page = start.headers["Location"]
    assert "/interaction/" in login_page
    posted = submit_login(test_client, login_page, login, DEMO_PASSWORD)
    assert posted.status_code == 303, posted.text
    resumed = test_client.get(posted.headers["Location"])
    assert resumed.status_code == 303 and resumed.headers["Location"] == "/account"
    page = test_client.get("/account")
    assert page.status_code == 200, page.text
    return page
