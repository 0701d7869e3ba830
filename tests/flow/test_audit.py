"""The audit trail (issue 8, "controls a trusted provider has"): one structured record per
security event with time, event, account, client, IP and request id — and never a password,
code, token or full e-mail address."""

from __future__ import annotations

import json
import logging

import pytest

from idp.audit import mask_email
from idp.extensions import db
from idp.logs import json_handler
from idp.models.account import Account
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_PASSWORD
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_login
from tests.oidc import authorize_with_session
from tests.oidc import exchange_code
from tests.oidc import refresh
from tests.oidc import submit_login


@pytest.fixture
def audit_lines(caplog):
    """The audit records of the test, each as the JSON line the log handler writes."""
    caplog.set_level(logging.INFO, logger="idp.audit")

    def lines() -> list[dict]:
        handler = json_handler()
        return [json.loads(handler.format(r)) for r in caplog.records if r.name == "idp.audit"]

    return lines


def _account_id(app, login: str) -> int:
    with app.app_context():
        return db.session.query(Account).filter_by(login=login).one().id


def test_login_failure_refresh_reuse_and_code_replay_are_recorded_without_secrets(
    app, test_client, audit_lines
):
    account_id = _account_id(app, DEMO_ACTIVE)
    request = AuthorizationRequest()
    login_page = test_client.get(request.url()).headers["Location"]
    wrong = "Wrong-password-42!"
    assert submit_login(test_client, login_page, DEMO_ACTIVE, wrong).status_code == 401
    callback = authorize_with_login(test_client, request)
    first = exchange_code(test_client, request, callback["code"])
    assert first.status_code == 200
    tokens = first.get_json()
    second = refresh(test_client, tokens["refresh_token"])
    assert second.status_code == 200
    assert refresh(test_client, tokens["refresh_token"]).status_code == 400  # reuse
    again = AuthorizationRequest()
    sso = authorize_with_session(test_client, again)
    assert exchange_code(test_client, again, sso["code"]).status_code == 200
    assert exchange_code(test_client, again, sso["code"]).status_code == 400  # replay

    records = audit_lines()
    events = [r["event"] for r in records]
    assert events == ["login_failed", "login_succeeded", "refresh_reuse", "code_replay"]
    for record in records:
        assert record["account_id"] == account_id
        assert record["client_id"] == "smart-app"
        assert record["ip"] == "127.0.0.1"
        assert len(record["request_id"]) == 32
        assert record["time"] and record["event_time"]
        assert record["logger"] == "idp.audit"
    request_ids = {r["request_id"] for r in records}
    assert len(request_ids) == 4, "each event names its own request"

    written = json.dumps(records)
    secrets = [
        wrong,
        DEMO_PASSWORD,
        DEMO_ACTIVE,
        callback["code"],
        sso["code"],
        tokens["access_token"],
        tokens["refresh_token"],
        second.get_json()["refresh_token"],
        request.code_verifier,
    ]
    for secret in secrets:
        assert secret not in written


def test_a_failed_login_for_an_unknown_login_names_no_account(test_client, audit_lines):
    request = AuthorizationRequest()
    login_page = test_client.get(request.url()).headers["Location"]
    typed = "nobody-here@example.be"
    assert submit_login(test_client, login_page, typed, "whatever-1234").status_code == 401
    (record,) = audit_lines()
    assert record["event"] == "login_failed" and record["account_id"] is None
    assert typed not in json.dumps(record)


def test_a_throttled_login_is_recorded(test_client, audit_lines):
    """Any 429 of the limiter on the login form is a ``login_throttled`` event."""
    from idp.extensions import limiter

    test_client.application.config["IDP"] = _with(test_client.application, "1/minute")
    limiter.reset()
    request = AuthorizationRequest()
    login_page = test_client.get(request.url()).headers["Location"]
    codes = [submit_login(test_client, login_page, DEMO_ACTIVE, "wrong-1234").status_code]
    codes.append(submit_login(test_client, login_page, DEMO_ACTIVE, "wrong-1234").status_code)
    assert codes == [401, 429]
    assert [r["event"] for r in audit_lines()] == ["login_failed", "login_throttled"]


def _with(app, login_rate_limit: str):
    import dataclasses

    return dataclasses.replace(app.config["IDP"], login_rate_limit=login_rate_limit)


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("amelie.dubois@example.be", "a***@example.be"),
        ("x@example.be", "x***@example.be"),
        ("not-an-address", "***"),
        ("@example.be", "***"),
    ],
)
def test_mask_email(address, masked):
    assert mask_email(address) == masked
