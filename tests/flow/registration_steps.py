"""Steps of the registration journey for the flow tests: accept the cookie notice, ask for a
link, read the outbox, submit the customer data and the password, run requests in parallel."""

from __future__ import annotations

import html
import re
import threading
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from idp.extensions import db
from idp.models.account import Account
from idp.models.customer import Customer
from idp.models.outbox import OutboxMail
from idp.models.registration import RegistrationRequest
from tests.conftest import csrf_token

GENEROUS = {
    "registration_rate_limit": "1000/hour",
    "activation_rate_limit": "1000/hour",
    "activation_global_rate_limit": "1000/hour",
}
NEW_CUSTOMER = "2000000034"  # demo: Sophie Lambert, electricity and gas active
NEW_CODE = "4815162342"
OTHER_CUSTOMER = "2000000042"  # demo: Jan Peeters, active
OTHER_CODE = "2718281828"
ACTIVATED_CUSTOMER = "2000000018"  # demo.actif@example.be's customer
STRONG_PASSWORD = "Kangourou sur la plage 77"


def english(test_client: Any) -> Any:
    """Make this browser ask for English pages: the assertions quote the English messages,
    which stay the message ids whatever the catalogues say."""
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


def accept_cookies(test_client: Any) -> None:
    """Accept the cookie notice in this (English-reading) browser."""
    english(test_client)
    page = test_client.get("/cookies")
    response = test_client.post(
        "/cookies",
        data={"csrf_token": csrf_token(page.text), "choice": "accepted", "next": "/register"},
    )
    assert response.status_code == 303, response.text


def ask_for_link(test_client: Any, email: str, uid: str | None = None, **kwargs: Any) -> Any:
    """Fill in the e-mail step (the cookie notice already accepted); return the POST answer."""
    page = test_client.get("/register" + (f"?uid={uid}" if uid else ""), **kwargs)
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_token(page.text), "email": email}
    if uid:
        data["uid"] = uid
    return test_client.post("/register", data=data, **kwargs)


def mails(app: Any, template: str | None = None, to: str | None = None) -> list[OutboxMail]:
    """Outbox rows, oldest first, optionally of one template and one recipient."""
    with app.app_context():
        query = select(OutboxMail).order_by(OutboxMail.id)
        if template:
            query = query.where(OutboxMail.template == template)
        if to:
            query = query.where(OutboxMail.to_address == to)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
        return rows


def path_of(url: str) -> str:
    """The path and query of an absolute link (the test client talks to the app directly)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def activation_link(app: Any, email: str) -> str:
    """The path of the latest activation link mailed to ``email``."""
    sent = mails(app, "activation", email)
    assert sent, f"no activation mail to {email}"
    return path_of(sent[-1].context["link"])


def new_link(app: Any, test_client: Any, email: str, uid: str | None = None) -> str:
    """Ask for a link and return its path."""
    response = ask_for_link(test_client, email, uid)
    assert response.status_code == 303, response.text
    return activation_link(app, email)


def submit_customer(test_client: Any, link: str, number: str, code: str, **kwargs: Any) -> Any:
    """POST the customer-data page behind ``link`` (a fresh CSRF token from its GET)."""
    page = test_client.get(link, **kwargs)
    token = csrf_token(page.text) if page.status_code == 200 else _any_csrf(test_client)
    return test_client.post(
        link,
        data={"csrf_token": token, "customer_number": number, "activation_code": code},
        **kwargs,
    )


def _any_csrf(test_client: Any) -> str:
    return csrf_token(test_client.get("/cookies").text)


def verify(test_client: Any, link: str, number: str = NEW_CUSTOMER, code: str = NEW_CODE) -> str:
    """Pass the customer-data step; return the password page's path."""
    response = submit_customer(test_client, link, number, code)
    assert response.status_code == 303, response.text
    return response.headers["Location"]


def choose_password(
    test_client: Any,
    link: str,
    login: str,
    password: str = STRONG_PASSWORD,
    confirm: str | None = None,
) -> Any:
    """POST the login and password page of ``link``."""
    page = test_client.get(link + "/password")
    token = csrf_token(page.text) if page.status_code == 200 else _any_csrf(test_client)
    return test_client.post(
        link + "/password",
        data={
            "csrf_token": token,
            "login": login,
            "password": password,
            "confirm": password if confirm is None else confirm,
        },
    )


def register(
    app: Any,
    test_client: Any,
    email: str,
    login: str | None = None,
    uid: str | None = None,
    number: str = NEW_CUSTOMER,
    code: str = NEW_CODE,
    password: str = STRONG_PASSWORD,
) -> Any:
    """The whole registration in one browser; return the answer of the password step."""
    link = new_link(app, test_client, email, uid)
    verify(test_client, link, number, code)
    return choose_password(test_client, link, login or email, password)


def back_to_app_href(page_html: str) -> str:
    """The "Back to the app" button's target on the confirmation page."""
    match = re.search(r'<a class="button primary" href="([^"]+)"', page_html)
    assert match, page_html
    return html.unescape(match.group(1))


def alert_texts(page_html: str) -> list[str]:
    """Texts of every element announced with role="alert"."""
    found = re.findall(r'role="alert">(.*?)</(?:p|div|ul)>', page_html, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>|\s+", " ", text)).strip() for text in found]


def link_row(app: Any, link: str) -> RegistrationRequest | None:
    """The registration request of a link (looked up the way the service does)."""
    from idp.accounts.refusals import Refused
    from idp.accounts.registration import find_link

    with app.app_context():
        try:
            row = find_link(db.session, link.rsplit("/", 1)[-1], app.config["IDP"])
        except Refused:
            return None
        db.session.expunge(row)
        return row


def uses_of(app: Any, email: str) -> list[int]:
    """The uses counted on each registration request of an address."""
    with app.app_context():
        return list(
            db.session.scalars(
                select(RegistrationRequest.uses)
                .where(RegistrationRequest.email == email)
                .order_by(RegistrationRequest.id)
            )
        )


def customer(app: Any, number: str) -> Customer:
    """A customer row, detached."""
    with app.app_context():
        row = db.session.scalar(select(Customer).where(Customer.number == number))
        db.session.expunge(row)
        return row


def account_count(app: Any) -> int:
    """How many accounts exist."""
    with app.app_context():
        return len(db.session.scalars(select(Account.id)).all())


def in_parallel(prepared: list[Any]) -> list[Any]:
    """Run each zero-argument call in its own thread, released together by a barrier; return
    the results (or exceptions) in order. Prepare clients and CSRF tokens before calling."""
    barrier = threading.Barrier(len(prepared))
    results: list[Any] = [None] * len(prepared)

    def work(index: int, call: Any) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported to the test, not lost in the thread
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(prepared)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a parallel request hung"
    return results
