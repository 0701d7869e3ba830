"""Operator commands for support work (issue 9): show an account without secrets, disable and
enable it (its sessions and tokens end, clients are told through back-channel logout), delete
it, unlock a customer's activation code — each recorded in the audit trail."""

from __future__ import annotations

import logging

from sqlalchemy import select

from idp.extensions import db
from idp.models.account import Account
from idp.models.customer import Customer
from idp.models.logout import LogoutNotification
from idp.models.oauth import Token
from idp.models.outbox import OutboxMail
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_PASSWORD
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_session
from tests.oidc import login_and_get_tokens
from tests.oidc import redeem
from tests.oidc import refresh
from tests.oidc import submit_login
from tests.oidc import userinfo

DEMO_CUSTOMER = "2000000018"


def _cli(runner, *args: str, **kwargs):
    result = runner.invoke(args=["idp", *args], **kwargs)
    return result


def test_show_by_login_email_or_customer_number_prints_no_secret(app, runner):
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.login == DEMO_ACTIVE))
        password_hash, sub = account.password_hash, account.sub
    for query in (DEMO_ACTIVE, DEMO_ACTIVE.upper(), DEMO_CUSTOMER, "2000.000.018"):
        result = _cli(runner, "accounts", "show", query)
        assert result.exit_code == 0, result.output
        assert sub in result.output and "Amélie Dubois" in result.output
        assert "status          active" in result.output
        assert password_hash not in result.output and "argon2" not in result.output
    missing = _cli(runner, "accounts", "show", "nobody@example.be")
    assert missing.exit_code != 0 and "no account" in missing.output


def test_disable_ends_sessions_tokens_and_tells_clients_then_enable(app, test_client, runner):
    tokens = login_and_get_tokens(test_client)
    assert userinfo(test_client, tokens["access_token"]).status_code == 200
    web = AuthorizationRequest.customer_space()
    redeem(test_client, web, authorize_with_session(test_client, web))  # SSO: same session

    result = _cli(runner, "accounts", "disable", DEMO_ACTIVE)
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output
    assert userinfo(test_client, tokens["access_token"]).status_code == 401
    assert refresh(test_client, tokens["refresh_token"]).status_code == 400
    with app.app_context():
        notified = db.session.scalars(select(LogoutNotification.client_id)).all()
        live = db.session.scalars(select(Token).where(Token.revoked_at.is_(None))).all()
    assert notified == ["customer-space"], "the web client is told (back-channel logout)"
    assert live == []
    page = test_client.get(AuthorizationRequest().url())
    assert page.status_code == 302, "the SSO session is gone: back to the login page"
    login_page = page.headers["Location"]
    assert "/interaction/" in login_page
    assert submit_login(test_client, login_page, DEMO_ACTIVE, DEMO_PASSWORD).status_code == 401

    assert _cli(runner, "accounts", "enable", DEMO_ACTIVE).exit_code == 0
    assert submit_login(test_client, login_page, DEMO_ACTIVE, DEMO_PASSWORD).status_code == 303


def test_delete_removes_the_account_and_keeps_the_customer(app, test_client, runner):
    tokens = login_and_get_tokens(test_client)
    refused = _cli(runner, "accounts", "delete", DEMO_ACTIVE, input="n\n")
    assert refused.exit_code != 0
    result = _cli(runner, "accounts", "delete", DEMO_CUSTOMER, "--yes")
    assert result.exit_code == 0, result.output
    assert userinfo(test_client, tokens["access_token"]).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(Account).where(Account.login == DEMO_ACTIVE)) is None
        customer = db.session.scalar(select(Customer).where(Customer.number == DEMO_CUSTOMER))
        assert customer is not None and customer.activated_at is None
        assert db.session.scalars(select(Token)).all() == []
        last = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc())).first()
        assert last.template == "account_deleted" and last.to_address == DEMO_ACTIVE


def test_unlock_gives_the_activation_code_its_attempts_back(app, runner):
    number = "2000000034"
    with app.app_context():
        customer = db.session.scalar(select(Customer).where(Customer.number == number))
        customer.failed_activations = 5
        customer.activation_locked_at = customer.created_at
        db.session.commit()
    result = _cli(runner, "customers", "unlock", "2000 000 034")
    assert result.exit_code == 0, result.output
    with app.app_context():
        customer = db.session.scalar(select(Customer).where(Customer.number == number))
        assert customer.failed_activations == 0 and customer.activation_locked_at is None
    assert _cli(runner, "customers", "unlock", "2999999999").exit_code != 0


def test_admin_actions_are_audited_with_the_operator(app, runner, caplog):
    caplog.set_level(logging.INFO, logger="idp.audit")
    assert _cli(runner, "accounts", "disable", DEMO_ACTIVE).exit_code == 0
    (record,) = [r for r in caplog.records if r.name == "idp.audit"]
    assert record.event == "admin_action" and record.reason == "accounts disable"
    assert record.actor and record.account_id is not None and record.ip is None
