"""Issue #7 item 6: a rate limit no longer says "a few minutes" and loses what was typed. The
form comes back with what was typed, the real wait (from the limit's reset time) and a
Retry-After header (RFC 6585 §4); a limited page without a form says the real wait too."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import csrf_token
from tests.flow.account_steps import log_in_to_account
from tests.flow.registration_steps import accept_cookies
from tests.flow.registration_steps import ask_for_link
from tests.flow.registration_steps import new_link
from tests.flow.registration_steps import submit_customer
from tests.flow.registration_steps import uses_of
from tests.oidc import DEMO_ACTIVE
from tests.oidc import AuthorizationRequest
from tests.oidc import submit_login

WAIT = re.compile(r"wait (\d+) minutes before trying again")


def minutes_said(response: Any) -> int:
    match = WAIT.search(response.text)
    assert match, response.text[:2000]
    return int(match.group(1))


@pytest.mark.settings(registration_rate_limit="2/hour;20/day")
def test_the_email_step_keeps_the_address_and_says_the_wait(test_client):
    accept_cookies(test_client)
    for n in range(2):
        assert ask_for_link(test_client, f"someone{n}@example.be").status_code == 303
    stopped = ask_for_link(test_client, "sophie.lambert@example.be")
    assert stopped.status_code == 429
    assert 'value="sophie.lambert@example.be"' in stopped.text  # kept
    assert 55 <= minutes_said(stopped) <= 60  # the hour's window, not "a few minutes"
    assert 3000 < int(stopped.headers["Retry-After"]) <= 3600


@pytest.mark.settings(activation_rate_limit="1/hour", registration_rate_limit="100/hour")
def test_the_customer_data_step_keeps_what_was_typed_and_counts_nothing(app, test_client):
    accept_cookies(test_client)
    link = new_link(app, test_client, "sophie.lambert@example.be")
    assert submit_customer(test_client, link, "2999999999", "1111111111").status_code == 400
    stopped = submit_customer(test_client, link, "2000000034", "4815162342")
    assert stopped.status_code == 429
    assert 'value="2000000034"' in stopped.text and 'value="4815162342"' in stopped.text
    assert 55 <= minutes_said(stopped) <= 60
    assert uses_of(app, "sophie.lambert@example.be") == [1]  # the limit used nothing up


@pytest.mark.settings(login_rate_limit="2/hour")
def test_the_login_page_keeps_the_login_and_says_the_wait(test_client):
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login_page = test_client.get(AuthorizationRequest().url()).headers["Location"]
    for _ in range(2):
        assert (
            submit_login(test_client, login_page, DEMO_ACTIVE, "wrong password").status_code == 401
        )
    stopped = submit_login(test_client, login_page, DEMO_ACTIVE, "wrong password")
    assert stopped.status_code == 429
    assert f'value="{DEMO_ACTIVE}"' in stopped.text
    assert 55 <= minutes_said(stopped) <= 60
    assert int(stopped.headers["Retry-After"]) > 3000


def test_a_limited_page_without_a_form_says_the_real_wait(test_client):
    page = log_in_to_account(test_client)
    for _ in range(10):
        assert (
            test_client.post(
                "/account/data", data={"csrf_token": csrf_token(page.text)}
            ).status_code
            == 200
        )
    stopped = test_client.post("/account/data", data={"csrf_token": csrf_token(page.text)})
    assert stopped.status_code == 429 and "Retry-After" in stopped.headers
    assert "attendez" in stopped.text and "minutes" in stopped.text
    assert "quelques minutes" not in stopped.text
