"""Back-Channel Logout 1.0: when an OP session ends, the customer space (a real HTTP receiver on
loopback standing in for it) gets one signed logout token; a receiver that is down is retried
later and never delays the user."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from idp.accounts.signout import end_account_sessions
from idp.extensions import db
from idp.models.account import Account
from idp.models.account import normalise_login
from idp.models.base import utcnow
from idp.models.logout import LogoutNotification
from idp.models.oauth import Client
from idp.models.op_session import OpSession
from idp.oauth.backchannel import MAX_ATTEMPTS
from idp.oauth.backchannel import deliver_pending
from idp.oauth.sso import end_session
from idp.worker import Worker
from tests.conftest import csrf_token
from tests.loopback import LOOPBACK
from tests.loopback import PROXY_VARIABLES
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_INACTIVE
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_session
from tests.oidc import exchange_code
from tests.oidc import login_and_get_tokens
from tests.oidc import validate_id_token

EVENT = "http://schemas.openid.net/event/backchannel-logout"


class Receiver:
    """The customer space's /backchannel-logout on a loopback port: records every request.

    The port is bound at once but only listens after ``start()``: until then a connection is
    refused, as when the customer space is down.
    """

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}/backchannel-logout"
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "content_type": request.mimetype,
                "form": request.form.to_dict(),
            }
        )
        response = Response("", status=self.status, headers={"Cache-Control": "no-store"})
        return response(environ, start_response)

    def start(self) -> None:
        """Start answering on the port."""
        self.sock.listen(16)
        self._server = make_server(LOOPBACK, self.port, self, threaded=True, fd=self.sock.fileno())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop the server and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._server.server_close()
        self.sock.close()

    def tokens(self) -> list[str]:
        """The logout tokens received so far."""
        return [r["form"]["logout_token"] for r in self.requests]


@pytest.fixture
def receiver(app, monkeypatch) -> Iterator[Receiver]:
    """A receiver registered as the customer space's backchannel_logout_uri (not started)."""
    for name in PROXY_VARIABLES:  # the POST must reach loopback directly
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", LOOPBACK)
    monkeypatch.setenv("no_proxy", LOOPBACK)
    item = Receiver()
    with app.app_context():
        db.session.get(Client, "customer-space").backchannel_logout_uri = item.url
        db.session.commit()
    try:
        yield item
    finally:
        item.close()


def login_through_both(test_client) -> dict[str, dict]:
    """Smart App with the password, then the customer space by SSO; both ID tokens' claims."""
    app_tokens = login_and_get_tokens(test_client)
    request = AuthorizationRequest.customer_space()
    callback = authorize_with_session(test_client, request)
    answer = exchange_code(test_client, request, callback["code"]).get_json()
    claims = validate_id_token(test_client, answer["id_token"], "customer-space", request.nonce)
    assert claims["sid"] == app_tokens["claims"]["sid"]
    return {"smart-app": app_tokens, "customer-space": {**answer, "claims": claims}}


def logout_from_the_app(test_client, app_tokens: dict) -> Any:
    """The Smart App's RP-initiated logout with its ID token."""
    response = test_client.get(
        "/logout?"
        + urlencode(
            {
                "id_token_hint": app_tokens["id_token"],
                "post_logout_redirect_uri": "be.customerspace.smartapp:/logged-out",
            }
        )
    )
    assert response.status_code == 302, response.text
    return response


def queued(app) -> list[LogoutNotification]:
    """Every notification row, detached."""
    with app.app_context():
        rows = db.session.scalars(select(LogoutNotification).order_by(LogoutNotification.id)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def deliver(app, now=None):
    """One delivery round, as the worker or ``idp logout deliver`` runs it."""
    with app.app_context():
        try:
            return deliver_pending(db.session, now=now)
        finally:
            db.session.remove()


def assert_valid_logout_token(test_client, token: str, sid: str, sub: str) -> dict:
    """Back-Channel Logout 1.0 §2.4 and §2.6, validated against the published JWKS."""
    jwks = KeySet.import_key_set(test_client.get("/jwks.json").get_json())
    decoded = jwt.decode(token, jwks, algorithms=["RS256", "ES256"])
    assert decoded.header["typ"] == "logout+jwt"
    assert decoded.header["alg"] == "RS256" and decoded.header["kid"]
    claims = decoded.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "customer-space"
    assert claims["sid"] == sid
    assert claims["sub"] == sub
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    now = time.time()
    assert now - 60 <= claims["iat"] <= now + 5
    assert claims["iat"] < claims["exp"] <= claims["iat"] + 120
    assert claims["exp"] > now
    return claims


def test_logout_from_the_app_notifies_the_customer_space(app, test_client, receiver, runner):
    receiver.start()
    tokens = login_through_both(test_client)
    claims = tokens["customer-space"]["claims"]
    logout_from_the_app(test_client, tokens["smart-app"])
    assert receiver.requests == [], "delivered inside the user's request"

    result = runner.invoke(args=["idp", "logout", "deliver"])
    assert result.exit_code == 0, result.output
    assert "sent 1, retrying 0, given up 0" in result.output

    assert len(receiver.requests) == 1  # the Smart App registered no back-channel URI
    posted = receiver.requests[0]
    assert posted["method"] == "POST" and posted["path"] == "/backchannel-logout"
    assert posted["content_type"] == "application/x-www-form-urlencoded"
    assert set(posted["form"]) == {"logout_token"}
    assert_valid_logout_token(
        test_client, posted["form"]["logout_token"], claims["sid"], claims["sub"]
    )
    deliver(app)
    assert len(receiver.requests) == 1, "delivered twice"
    assert queued(app)[0].sent_at is not None
    purged = runner.invoke(args=["idp", "logout", "purge", "--days", "0"])
    assert purged.exit_code == 0 and "purged 1" in purged.output, purged.output
    assert queued(app) == []


def test_a_client_that_took_no_part_is_not_told(app, test_client, receiver):
    receiver.start()
    tokens = login_and_get_tokens(test_client)  # the Smart App only
    logout_from_the_app(test_client, tokens)
    assert queued(app) == []
    deliver(app)
    assert receiver.requests == []


def test_receiver_down_is_retried_later_and_the_user_is_not_delayed(app, test_client, receiver):
    tokens = login_through_both(test_client)
    claims = tokens["customer-space"]["claims"]
    started = time.monotonic()
    logout_from_the_app(test_client, tokens["smart-app"])
    assert time.monotonic() - started < 2
    [row] = queued(app)
    assert row.attempts == 0 and row.sent_at is None

    first = deliver(app)
    assert (first.sent, first.retrying) == (0, 1)
    [row] = queued(app)
    assert row.attempts == 1 and row.sent_at is None and row.last_error
    assert row.next_try_at > utcnow()

    receiver.start()
    early = deliver(app)  # not due yet: backoff
    assert (early.sent, early.retrying) == (0, 0) and receiver.requests == []

    later = deliver(app, now=row.next_try_at + timedelta(seconds=1))
    assert later.sent == 1
    [token] = receiver.tokens()
    logout_claims = assert_valid_logout_token(test_client, token, claims["sid"], claims["sub"])
    [row] = queued(app)
    assert row.sent_at is not None and row.attempts == 2
    assert logout_claims["jti"] == row.jti


def test_an_error_status_is_retried_and_given_up_after_the_last_attempt(app, test_client, receiver):
    receiver.status = 500
    receiver.start()
    login_through_both(test_client)
    test_client.post("/logout/confirm", data={})  # refused (no CSRF token): nothing queued
    assert queued(app) == []
    page = test_client.get("/logout")
    test_client.post("/logout/confirm", data={"csrf_token": csrf_token(page.text)})
    now = utcnow()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = deliver(app, now=now)
        [row] = queued(app)
        assert row.attempts == attempt
        now = row.next_try_at + timedelta(seconds=1)
    assert result.given_up == 1 and row.given_up_at is not None and "500" in row.last_error
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert deliver(app, now=now + timedelta(days=1)).given_up == 0


def test_password_reset_notifies_too(app, test_client, receiver):
    receiver.start()
    tokens = login_through_both(test_client)
    claims = tokens["customer-space"]["claims"]
    with app.app_context():
        account_id = db.session.scalar(
            select(Account.id).where(Account.login == normalise_login(DEMO_ACTIVE))
        )
        ended = end_account_sessions(db.session, account_id)
        db.session.commit()
    assert ended == [claims["sid"]]
    deliver(app)
    [token] = receiver.tokens()
    assert_valid_logout_token(test_client, token, claims["sid"], claims["sub"])
    # Ending again finds no live session: nothing more is queued.
    with app.app_context():
        assert end_account_sessions(db.session, account_id) == []
        db.session.commit()
    assert len(queued(app)) == 1


def test_login_as_someone_else_in_the_same_browser_notifies_for_the_old_session(
    app, test_client, receiver
):
    """A new login over a session of another user ends the old one (SSO must not mix users)."""
    receiver.start()
    tokens = login_through_both(test_client)
    login_and_get_tokens(
        test_client, AuthorizationRequest(extra={"prompt": "login"}), login=DEMO_INACTIVE
    )
    deliver(app)
    [token] = receiver.tokens()
    claims = tokens["customer-space"]["claims"]
    assert_valid_logout_token(test_client, token, claims["sid"], claims["sub"])


@pytest.mark.settings(worker_interval=1)
def test_the_worker_delivers_after_the_logout_with_no_request_to_wake_it(
    app, test_client, receiver
):
    """The worker process's loop (idp/worker.py), here in a thread: logout tokens reach the
    receiver within its interval, no provider request involved."""
    receiver.start()
    tokens = login_through_both(test_client)
    logout_from_the_app(test_client, tokens["smart-app"])
    worker = Worker(app, ("logout",))
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(receiver.requests) == 1
    finally:
        worker.stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert queued(app)[0].sent_at is not None


def test_a_session_ended_twice_is_notified_once(app, test_client, receiver):
    """A double click, or a logout racing a password reset: one notification."""
    tokens = login_through_both(test_client)
    sid = tokens["customer-space"]["claims"]["sid"]
    for _ in range(2):
        with app.app_context():
            end_session(db.session.get(OpSession, sid))
            db.session.commit()
    assert len(queued(app)) == 1
