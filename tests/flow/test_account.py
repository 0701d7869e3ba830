"""The customer's own account page (issue #7 item 8): an OP session is enough, sensitive changes
ask for the password again (max_age-style), and every change does what the page promises —
sessions, tokens, back-channel logout, mails, GDPR access and erasure."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models.account import Account
from idp.models.customer import Customer
from idp.models.logout import LogoutNotification
from idp.models.op_session import OpSession
from tests.conftest import csrf_token
from tests.flow.account_steps import log_in_to_account
from tests.flow.registration_steps import mails
from tests.flow.registration_steps import path_of
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_PASSWORD
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_login
from tests.oidc import login_and_get_tokens
from tests.oidc import refresh

NEW_PASSWORD = "Kookplaat-Zomerregen-42"


def post(test_client: Any, path: str, page: Any, **data: str) -> Any:
    """Submit an account-page form with the page's CSRF token."""
    return test_client.post(path, data={"csrf_token": csrf_token(page.text), **data})


def account(app: Any, login: str = DEMO_ACTIVE) -> Account | None:
    with app.app_context():
        row = db.session.scalar(select(Account).where(Account.login == login))
        if row is not None:
            db.session.expunge(row)
        return row


def live_sessions(app: Any) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(OpSession.sid).where(OpSession.ended_at.is_(None))))


def queued_logouts(app: Any) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(select(LogoutNotification.client_id, LogoutNotification.sid))
        return [tuple(r) for r in rows]


@pytest.fixture
def other_browser(app: Any) -> Any:
    """Another browser of the same customer, logged in to the customer space (an OP session
    with a back-channel client)."""
    browser = app.test_client()
    authorize_with_login(browser, AuthorizationRequest.customer_space())
    return browser


@pytest.fixture
def smart_app_tokens(app: Any) -> dict[str, Any]:
    """The Smart App's offline grant (refresh token), from its own browser."""
    return login_and_get_tokens(app.test_client())


# ---- seeing the page ---------------------------------------------------------------------


def test_without_a_session_the_page_asks_to_log_in_and_comes_back(test_client):
    page = log_in_to_account(test_client)
    assert "<h1>Mon compte</h1>" in page.text
    assert DEMO_ACTIVE in page.text and "2000000018" in page.text
    assert "Amélie Dubois" in page.text and "Smart App : contrat actif" in page.text


def test_the_page_lists_this_browser_and_the_apps(test_client, smart_app_tokens, other_browser):
    page = log_in_to_account(test_client)
    # The Smart App's system browser, the other browser and this one.
    assert page.text.count('name="kind" value="browser"') == 3
    assert page.text.count('name="kind" value="app"') == 1
    assert "ce navigateur" in page.text  # the current one is marked
    assert "Smart App" in page.text and "Espace Client" in page.text


def test_a_session_elsewhere_is_enough_no_password(test_client):
    authorize_with_login(test_client, AuthorizationRequest.customer_space())
    assert test_client.get("/account").status_code == 200  # the OP session, no login page


@pytest.mark.parametrize("lang", ["nl", "en", "de"])
def test_the_page_speaks_the_language(test_client, lang):
    log_in_to_account(test_client)
    page = test_client.get(f"/account?lang={lang}")
    assert f'<html lang="{lang}">' in page.text
    heading = {"nl": "Mijn account", "en": "My account", "de": "Mein Konto"}[lang]
    assert f"<h1>{heading}</h1>" in page.text


# ---- the password again for sensitive changes ----------------------------------------------


@pytest.mark.settings(account_reauth_max_age=0)
def test_sensitive_changes_ask_for_the_password_again(test_client, app):
    page = log_in_to_account(test_client)
    assert 'action="/account/password"' not in page.text  # forms hidden behind a confirmation
    assert "/account/confirm" in page.text
    response = post(test_client, "/account/password", page, password=NEW_PASSWORD)
    assert response.status_code == 303 and "/interaction/" in response.headers["Location"]
    login_page = test_client.get(response.headers["Location"])
    assert f'value="{DEMO_ACTIVE}"' in login_page.text  # the login filled in
    stored = account(app)
    assert stored is not None and "Kookplaat" not in stored.password_hash
    with app.app_context():
        from idp.accounts.passwords import verify_password

        assert verify_password(stored.password_hash, DEMO_PASSWORD, app.config["IDP"])


@pytest.mark.parametrize(
    "path", ["/account/email", "/account/customers", "/account/data", "/account/delete"]
)
@pytest.mark.settings(account_reauth_max_age=0)
def test_every_sensitive_form_needs_a_recent_login(test_client, path):
    page = log_in_to_account(test_client)
    response = post(test_client, path, page, email="x@example.be", confirm="yes")
    assert response.status_code == 303 and "/interaction/" in response.headers["Location"]


def test_forms_need_the_csrf_token(test_client, app):
    log_in_to_account(test_client)
    response = test_client.post("/account/sign-out-everywhere")
    assert response.status_code == 400
    assert live_sessions(app)


# ---- password ----------------------------------------------------------------------------


def test_changing_the_password_ends_the_other_sessions_and_the_apps(
    test_client, app, other_browser, smart_app_tokens
):
    page = log_in_to_account(test_client)
    response = post(
        test_client, "/account/password", page, password=NEW_PASSWORD, confirm=NEW_PASSWORD
    )
    assert response.status_code == 303 and "done=password" in response.headers["Location"]
    assert test_client.get("/account").status_code == 200  # this browser stays
    assert len(live_sessions(app)) == 1
    assert [client for client, _sid in queued_logouts(app)] == ["customer-space"]
    refused = refresh(app.test_client(), smart_app_tokens["refresh_token"])
    assert refused.status_code == 400
    assert mails(app, "password_changed", DEMO_ACTIVE)


def test_a_weak_password_is_refused_with_the_reason(test_client, app):
    page = log_in_to_account(test_client)
    response = post(
        test_client, "/account/password", page, password="aaaaaaaaaaaaaa", confirm="aaaaaaaaaaaaaa"
    )
    assert response.status_code == 400
    assert "répète des caractères" in response.text
    assert not mails(app, "password_changed")


# ---- e-mail --------------------------------------------------------------------------------


def test_changing_the_email_needs_the_link_sent_to_the_new_address(test_client, app):
    page = log_in_to_account(test_client)
    response = post(test_client, "/account/email", page, email="amelie.new@example.be")
    assert response.status_code == 303
    (confirm,) = mails(app, "email_change_confirm", "amelie.new@example.be")
    (notice,) = mails(app, "email_change_notice", DEMO_ACTIVE)
    assert notice.context["new_email"] == "amelie.new@example.be"
    link = path_of(confirm.context["link"])
    shown = test_client.get(link)  # a mail scanner's GET changes nothing
    assert shown.status_code == 200 and account(app).email == DEMO_ACTIVE
    done = test_client.post(link, data={"csrf_token": csrf_token(shown.text)})
    assert done.status_code == 200 and "amelie.new@example.be" in done.text
    changed = account(app)
    assert changed.email == "amelie.new@example.be" and changed.login == DEMO_ACTIVE
    again = test_client.post(link, data={"csrf_token": csrf_token(shown.text)})
    assert again.status_code == 410  # the link named the old address: used up


def test_a_forged_email_link_is_dead(test_client, app):
    shown = test_client.get("/account/email/forged")
    response = test_client.post(
        "/account/email/forged", data={"csrf_token": csrf_token(shown.text)}
    )
    assert response.status_code == 410 and account(app).email == DEMO_ACTIVE


# ---- signed-in browsers and apps -----------------------------------------------------------


def test_signing_out_another_browser(test_client, app, other_browser):
    page = log_in_to_account(test_client)
    with app.app_context():
        other_sid = db.session.scalar(select(OpSession.sid).order_by(OpSession.created_at).limit(1))
    response = post(test_client, "/account/sign-out", page, kind="browser", key=other_sid)
    assert response.status_code == 303
    assert other_sid not in live_sessions(app) and len(live_sessions(app)) == 1
    assert queued_logouts(app) == [("customer-space", other_sid)]


def test_signing_out_an_app(test_client, app, smart_app_tokens):
    page = log_in_to_account(test_client)
    with app.app_context():
        from idp.models.oauth import Token

        family = db.session.scalar(select(Token.family_id).limit(1))
    post(test_client, "/account/sign-out", page, kind="app", key=family)
    assert refresh(app.test_client(), smart_app_tokens["refresh_token"]).status_code == 400
    assert test_client.get("/account").status_code == 200


def test_signing_out_a_line_of_another_account_does_nothing(test_client, app):
    stranger = app.test_client()
    authorize_with_login(
        stranger, AuthorizationRequest.customer_space(), login="demo.inactif@example.be"
    )
    page = log_in_to_account(test_client)
    with app.app_context():
        theirs = db.session.scalar(
            select(OpSession.sid).join(Account).where(Account.login == "demo.inactif@example.be")
        )
    post(test_client, "/account/sign-out", page, kind="browser", key=theirs)
    assert theirs in live_sessions(app)


def test_sign_out_everywhere(test_client, app, other_browser, smart_app_tokens):
    page = log_in_to_account(test_client)
    response = post(test_client, "/account/sign-out-everywhere", page)
    assert response.status_code == 200 and "partout" in response.text
    assert live_sessions(app) == []
    assert [client for client, _sid in queued_logouts(app)] == ["customer-space"]
    assert refresh(app.test_client(), smart_app_tokens["refresh_token"]).status_code == 400
    assert test_client.get("/account").status_code == 303  # logged out here too


# ---- another customer number ---------------------------------------------------------------


def test_linking_another_customer_number(test_client, app):
    page = log_in_to_account(test_client)
    wrong = post(
        test_client,
        "/account/customers",
        page,
        customer_number="2000000034",
        activation_code="0000000000",
    )
    assert wrong.status_code == 400 and "ne correspondent pas" in wrong.text
    with app.app_context():
        assert (
            db.session.scalar(
                select(Customer.failed_activations).where(Customer.number == "2000000034")
            )
            == 1
        )
    right = post(
        test_client,
        "/account/customers",
        page,
        customer_number="2000 0000 34",
        activation_code="4815162342",
    )
    assert right.status_code == 303
    shown = test_client.get("/account")
    assert "2000000034" in shown.text and "Sophie Lambert" in shown.text


def test_a_customer_of_another_account_gets_the_same_answer(test_client):
    page = log_in_to_account(test_client)
    response = post(
        test_client,
        "/account/customers",
        page,
        customer_number="2000000026",
        activation_code="1234567890",
    )
    assert response.status_code == 400 and "ne correspondent pas" in response.text


# ---- GDPR ----------------------------------------------------------------------------------


def test_download_my_data(test_client, smart_app_tokens):
    page = log_in_to_account(test_client)
    response = post(test_client, "/account/data", page)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.data)
    assert data["account"]["login"] == DEMO_ACTIVE
    assert data["customers"][0]["number"] == "2000000018"
    assert {line["kind"] for line in data["signed_in"]} == {"browser", "app"}


def test_delete_needs_the_box_ticked(test_client, app):
    page = log_in_to_account(test_client)
    response = post(test_client, "/account/delete", page)
    assert response.status_code == 400 and account(app) is not None


def test_deleting_the_account(test_client, app, other_browser, smart_app_tokens):
    page = log_in_to_account(test_client)
    response = post(test_client, "/account/delete", page, confirm="yes")
    assert response.status_code == 200
    assert account(app) is None
    with app.app_context():
        customer = db.session.scalar(select(Customer).where(Customer.number == "2000000018"))
        assert customer is not None and customer.activated_at is None  # kept for billing
        assert db.session.scalar(select(OpSession.sid)) is None
    assert [client for client, _sid in queued_logouts(app)] == ["customer-space"]
    assert mails(app, "account_deleted", DEMO_ACTIVE)
    assert refresh(app.test_client(), smart_app_tokens["refresh_token"]).status_code == 400
    assert test_client.get("/account").status_code == 303
