"""The customer-data step tells strangers nothing (issue #8 finding 2, OWASP ASVS 5.0 V6.3.8).

An unknown number, a wrong code, an activated customer without the right code and a locked
code — with the wrong code or the right one — get the same page, and cost the same work: the
same statements and one keyed hash each. This is checked by counting, not by timing: the
same code path is the property (a timing ratio would only sample it).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event

from idp.accounts import activation_codes
from idp.extensions import db
from tests.flow.registration_steps import ACTIVATED_CUSTOMER
from tests.flow.registration_steps import NEW_CODE
from tests.flow.registration_steps import NEW_CUSTOMER
from tests.flow.registration_steps import OTHER_CODE
from tests.flow.registration_steps import OTHER_CUSTOMER
from tests.flow.registration_steps import accept_cookies
from tests.flow.registration_steps import customer
from tests.flow.registration_steps import new_link
from tests.flow.registration_steps import register
from tests.flow.registration_steps import submit_customer

ROOMY = {
    "registration_link_max_uses": 50,
    "registration_rate_limit": "1000/hour",
    "activation_rate_limit": "1000/hour",
    "activation_number_rate_limit": "1000/hour",
    "activation_global_rate_limit": "1000/hour",
}
WRONG = "1234567890"
CASES = {
    "unknown number": ("2999999990", WRONG),
    "wrong code": (NEW_CUSTOMER, WRONG),
    "activated, no code kept": (ACTIVATED_CUSTOMER, WRONG),
    "activated, wrong code": ("OWNED", WRONG),
    "locked, wrong code": (OTHER_CUSTOMER, WRONG),
    "locked, right code": (OTHER_CUSTOMER, OTHER_CODE),
}


@pytest.fixture
def prepared(app) -> dict[str, str]:
    """A customer activated through a registration (its code kept), and OTHER_CUSTOMER's code
    locked by five wrong guesses; returns the activated customer's number and code."""
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "192.0.2.200"
    accept_cookies(owner)
    assert (
        register(app, owner, "owner@example.be", number="2000000059", code="1414213562").status_code
        == 303
    )
    locker = app.test_client()
    accept_cookies(locker)
    link = new_link(app, locker, "locker@example.be")
    for n in range(5):
        submit_customer(locker, link, OTHER_CUSTOMER, f"100000000{n}")
    assert customer(app, OTHER_CUSTOMER).activation_locked_at is not None
    return {"OWNED": "2000000059"}


def answer(app: Any, number: str, code: str, work: Counter[str]) -> tuple[int, str]:
    """Submit once from a fresh link; the status and the page with what varies masked."""
    browser = app.test_client()
    accept_cookies(browser)
    link = new_link(app, browser, f"visitor-{number}-{code}@example.be")
    token = link.rsplit("/", 1)[1]
    page = browser.get(link)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    with counted(app, work):
        response = browser.post(
            link, data={"csrf_token": csrf, "customer_number": number, "activation_code": code}
        )
    # The CSRF token is signed with a timestamp: a page rendered a second later differs.
    body = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value="…"', response.text)
    for varying in (token, number, code):
        body = body.replace(varying, "…")
    return response.status_code, body


def differences(answers: dict[str, tuple[int, str]]) -> list[str]:
    """The lines where each page differs from the first one."""
    (first, (_, base)), *others = answers.items()
    return [
        f"{case} vs {first}: {line}"
        for case, (_, body) in others
        for line in difflib.unified_diff(base.splitlines(), body.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]


class counted:
    """Count the SQL statements and keyed hashes of one request."""

    def __init__(self, app: Any, work: Counter[str]):
        self.work = work
        with app.app_context():
            self.engine = db.engine

    def __enter__(self) -> None:
        self.original = activation_codes.code_digest

        def digest(*args: Any) -> str:
            self.work["keyed hashes"] += 1
            return self.original(*args)

        activation_codes.code_digest = digest  # type: ignore[assignment]
        event.listen(self.engine, "before_cursor_execute", self._statement)

    def _statement(self, *args: Any) -> None:
        statement = args[2].split()[0].upper()
        self.work[statement] += 1

    def __exit__(self, *exc: object) -> None:
        activation_codes.code_digest = self.original  # type: ignore[assignment]
        event.remove(self.engine, "before_cursor_execute", self._statement)


@pytest.mark.settings(**ROOMY)
def test_every_refusal_gets_the_same_page_and_costs_the_same_work(app, prepared):
    answers, work = {}, {}
    for case, (number, code) in CASES.items():
        work[case] = Counter()
        answers[case] = answer(app, prepared.get(number, number), code, work[case])
    statuses = {case: status for case, (status, _) in answers.items()}
    assert set(statuses.values()) == {400}, statuses
    pages = {body for _, body in answers.values()}
    assert len(pages) == 1, differences(answers)
    assert "After several wrong codes the code is blocked: contact us" in pages.pop()
    assert all(w["keyed hashes"] == 1 for w in work.values()), work
    assert len({tuple(sorted(w.items())) for w in work.values()}) == 1, work
    assert customer(app, OTHER_CUSTOMER).activated_at is None  # the lock held


@pytest.mark.settings(**ROOMY)
def test_only_the_right_code_hears_that_the_customer_has_an_account(app, prepared):
    """The one answer that differs, after a proof: 409 "log in or reset your password"."""
    status, body = answer(app, "2000000059", "1414213562", Counter())
    assert status == 409 and "This customer already has an account" in body
    assert NEW_CODE not in body and NEW_CUSTOMER not in body
