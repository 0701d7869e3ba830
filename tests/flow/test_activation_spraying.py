"""Activation-code spraying across addresses (issue #8 finding 8).

The per-IP limit stops one address at its 21st guess, but a new address continues at once.
The counters that stop spraying follow what is guessed: wrong codes per customer number and
in total, each with growing waits (NIST SP 800-63B-4 §3.2.2, OWASP ASVS 5.0 V6.3.1), and a
warning alert when the total rises. Addresses are simulated with REMOTE_ADDR and, behind a
trusted proxy, with X-Forwarded-For.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.flow.registration_steps import NEW_CODE
from tests.flow.registration_steps import NEW_CUSTOMER
from tests.flow.registration_steps import OTHER_CODE
from tests.flow.registration_steps import OTHER_CUSTOMER
from tests.flow.registration_steps import accept_cookies
from tests.flow.registration_steps import customer
from tests.flow.registration_steps import new_link
from tests.flow.registration_steps import submit_customer

MANY_USES = {"registration_link_max_uses": 50, "registration_rate_limit": "1000/hour"}
UNKNOWN = "2999999990"
ALERT = "activation code spraying"


def metric(name: str) -> float:
    """A counter's value in this process (prometheus_client's default registry)."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name) or 0.0


@pytest.fixture
def browser(app) -> Any:
    """An English-reading browser past the cookie notice."""
    client = app.test_client()
    accept_cookies(client)
    return client


@pytest.fixture
def link(app, browser) -> str:
    """An activation link with room for many submissions."""
    return new_link(app, browser, "sprayer@example.be")


def from_address(browser: Any, link: str, number: str, code: str, address: str) -> Any:
    """One submission of the customer data from ``address`` (the client's REMOTE_ADDR)."""
    return submit_customer(browser, link, number, code, environ_base={"REMOTE_ADDR": address})


def behind_proxy(browser: Any, link: str, number: str, code: str, address: str) -> Any:
    """One submission through the trusted reverse proxy, which names the client's address."""
    return submit_customer(
        browser,
        link,
        number,
        code,
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
        headers={"X-Forwarded-For": address},
    )


@pytest.mark.settings(**MANY_USES, activation_number_rate_limit="2/hour")
@pytest.mark.parametrize("number", [OTHER_CUSTOMER, UNKNOWN], ids=["known", "unknown"])
def test_wrong_codes_for_one_number_from_new_addresses_make_that_number_wait(
    app, browser, link, number
):
    """Every guess from a new address: the number's own count still grows, and past it the
    number waits (even the right code), an unknown number exactly like a known one."""
    statuses = [
        from_address(browser, link, number, f"100000000{i}", f"203.0.113.{i + 1}").status_code
        for i in range(4)
    ]
    assert statuses == [400, 400, 400, 429], statuses
    waiting = from_address(browser, link, number, OTHER_CODE, "203.0.113.99")
    assert waiting.status_code == 429
    assert int(waiting.headers["Retry-After"]) >= 29
    assert "Too many attempts" in waiting.text and "30 seconds" in waiting.text
    if number == OTHER_CUSTOMER:
        assert customer(app, OTHER_CUSTOMER).failed_activations == 3  # the wait checked nothing
    # Another number does not wait.
    assert from_address(browser, link, NEW_CUSTOMER, NEW_CODE, "203.0.113.100").status_code == 303


@pytest.mark.settings(**MANY_USES, activation_number_rate_limit="2/hour")
def test_the_right_code_starts_the_numbers_count_over(app, browser, link):
    for i in range(2):
        from_address(browser, link, OTHER_CUSTOMER, f"100000000{i}", f"203.0.113.{i + 1}")
    assert from_address(browser, link, OTHER_CUSTOMER, OTHER_CODE, "203.0.113.9").status_code == 303
    again = app.test_client()
    accept_cookies(again)
    second = new_link(app, again, "second@example.be")
    statuses = [
        from_address(again, second, OTHER_CUSTOMER, f"200000000{i}", f"203.0.113.{i + 20}")
        for i in range(2)
    ]
    assert [s.status_code for s in statuses] == [400, 400]  # not 400 then 429


@pytest.mark.settings(**MANY_USES, activation_global_rate_limit="6/hour", trusted_proxies=1)
def test_spraying_numbers_from_many_addresses_brakes_everyone_and_alerts(
    app, browser, link, caplog
):
    """One wrong code each for many numbers, each from a new forwarded address: no number
    and no address reaches its own limit, but the total does. From half of it a warning
    alert is logged; past it every submission waits a little (not an hour-long lockout)."""
    caplog.set_level(logging.WARNING, logger="idp.throttle")
    alerts_before = metric("idp_activation_spraying_alerts_total")
    wrong_before = metric("idp_activation_wrong_codes_total")
    sprayed = [f"29{i:08d}" for i in range(6)] + [OTHER_CUSTOMER]
    statuses = [
        behind_proxy(browser, link, number, "1234567890", f"198.51.100.{i + 1}").status_code
        for i, number in enumerate(sprayed)
    ]
    assert statuses == [400] * 7, statuses
    alerts = [r for r in caplog.records if ALERT in r.getMessage()]
    assert [r.levelno for r in alerts] == [logging.WARNING, logging.WARNING]
    assert "3 wrong activation codes" in alerts[0].getMessage()
    assert "every submission now waits" in alerts[1].getMessage()
    assert metric("idp_activation_spraying_alerts_total") == alerts_before + 2
    assert metric("idp_activation_wrong_codes_total") == wrong_before + 7
    braked = behind_proxy(browser, link, NEW_CUSTOMER, NEW_CODE, "198.51.100.200")
    assert braked.status_code == 429
    assert "5 seconds" in braked.text
    assert customer(app, NEW_CUSTOMER).activated_at is None


@pytest.mark.settings(activation_rate_limit="3/hour", trusted_proxies=1, **MANY_USES)
def test_the_per_address_limit_reads_the_forwarded_address(app, browser, link):
    """Behind a trusted proxy the per-IP limit counts the client's address, not the
    proxy's: one client is stopped, the next one is not (the per-number and total
    counters above are what stop a sprayer who changes address)."""
    first = [
        behind_proxy(browser, link, f"29{i:08d}", "1234567890", "198.51.100.7").status_code
        for i in range(4)
    ]
    assert first == [400, 400, 400, 429]
    other = behind_proxy(browser, link, "2900000099", "1234567890", "198.51.100.8")
    assert other.status_code == 400
