"""``idp purge``: every kind of dead row goes, live ones stay (a live refresh token still
refreshes afterwards), in batches each committed on its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from idp.extensions import db
from idp.models.account import Account
from idp.models.base import random_token
from idp.models.base import utcnow
from idp.models.interaction import Interaction
from idp.models.logout import LogoutNotification
from idp.models.oauth import AuthorizationCode
from idp.models.oauth import Token
from idp.models.op_session import OpSession
from idp.models.outbox import OutboxMail
from idp.models.registration import PasswordReset
from idp.models.registration import RegistrationRequest
from idp.purge import purge
from tests.oidc import DEMO_ACTIVE
from tests.oidc import AuthorizationRequest
from tests.oidc import login_and_get_tokens
from tests.oidc import refresh

DEAD = timedelta(hours=-2)  # expired longer ago than the one-hour grace
FRESHLY_DEAD = timedelta(minutes=-10)  # expired, but within the grace
ALIVE = timedelta(hours=2)


def rows_for(account_id: int, offset: timedelta) -> list:
    """One row of every purged kind, ending ``offset`` from now."""
    now = utcnow()
    end, sid = now + offset, random_token(16)
    return [
        AuthorizationCode(
            code_hash=random_token(),
            client_id="smart-app",
            account_id=account_id,
            redirect_uri="http://127.0.0.1/cb",
            scope="openid",
            auth_time=now,
            expires_at=end,
        ),
        token(account_id, access=end, refresh=end),
        token(account_id, access=end, refresh=None),
        OpSession(
            sid=sid,
            cookie_hash=random_token(),
            account_id=account_id,
            auth_time=now,
            expires_at=end,
        ),
        Interaction(uid=random_token(16), client_id="smart-app", params=[], expires_at=end),
        RegistrationRequest(
            email="x@example.be", secret_hash=random_token(), language="fr", expires_at=end
        ),
        PasswordReset(account_id=account_id, secret_hash=random_token(), expires_at=end),
    ]


def token(account_id: int, *, access, refresh) -> Token:
    """A token row with these expiry times."""
    now = utcnow()
    return Token(
        access_token_hash=random_token(),
        refresh_token_hash=random_token() if refresh else None,
        client_id="smart-app",
        account_id=account_id,
        scope="openid",
        family_id=random_token(16),
        auth_time=now,
        access_expires_at=access,
        refresh_expires_at=refresh,
    )


def sent(offset: timedelta) -> list:
    """A sent mail and a sent logout notification, sent ``offset`` from now."""
    at = utcnow() + offset
    return [
        OutboxMail(to_address="x@example.be", template="activation", language="fr", sent_at=at),
        LogoutNotification(client_id="customer-space", sid="s", sub="u", sent_at=at),
    ]


def total(model) -> int:
    """Rows of a model."""
    return db.session.scalar(select(func.count()).select_from(model))


MODELS = (
    AuthorizationCode,
    Token,
    OpSession,
    Interaction,
    RegistrationRequest,
    PasswordReset,
    OutboxMail,
    LogoutNotification,
)


@pytest.fixture
def populated(app):
    """Three dead rows of every kind, one alive, one within the grace; return the live counts."""
    with app.app_context():
        account = db.session.scalar(select(Account.id).where(Account.login == DEMO_ACTIVE))
        for _ in range(3):
            db.session.add_all(rows_for(account, DEAD) + sent(timedelta(days=-40)))
        db.session.add_all(rows_for(account, ALIVE) + sent(timedelta(days=-1)))
        db.session.add_all(rows_for(account, FRESHLY_DEAD))
        # A rotated-away access token whose refresh token is still alive stays.
        db.session.add(token(account, access=utcnow() + DEAD, refresh=utcnow() + ALIVE))
        db.session.add(OutboxMail(to_address="y@example.be", template="t", language="fr"))
        db.session.commit()
        return {model: total(model) for model in MODELS}


def test_purge_removes_dead_rows_of_every_kind_and_keeps_the_rest(app, populated):
    with app.app_context():
        counts = purge(db.session, batch_size=2)
        assert counts == {
            "authorization codes": 3,
            "tokens": 3,
            "tokens without refresh": 3,
            "OP sessions": 3,
            "interactions": 3,
            "registration links": 3,
            "password resets": 3,
            "sent mails": 3,
            "sent logout notifications": 3,
        }
        after = {model: total(model) for model in MODELS}
    expected = {model: n - 3 for model, n in populated.items()}
    expected[Token] = populated[Token] - 6
    assert after == expected
    with app.app_context():
        assert purge(db.session) == dict.fromkeys(counts, 0)


def test_purge_commits_every_batch(app, populated):
    commits = []

    def count(conn):
        commits.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", count)
    try:
        with app.app_context():
            counts = purge(db.session, batch_size=2)
    finally:
        event.remove(engine, "commit", count)
    # 3 rows with batches of 2: two batches per kind (2 + 1), each its own transaction.
    assert sum(counts.values()) == 27 and len(commits) == 2 * len(counts)


def test_purge_command_reports_each_kind(app, runner, populated):
    result = runner.invoke(args=["idp", "purge", "--batch-size", "5", "--keep-days", "0"])
    assert result.exit_code == 0, result.output
    assert "3 authorization codes" in result.output and "4 sent mails" in result.output


def test_a_live_refresh_token_still_refreshes_after_purge(app, test_client, runner, populated):
    tokens = login_and_get_tokens(test_client, AuthorizationRequest(scope="openid offline_access"))
    assert runner.invoke(args=["idp", "purge"]).exit_code == 0
    refreshed = refresh(test_client, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
