"""Steps of the forgot-login / forgot-password journeys, shared by the flow tests: ask for a
mail, read the outbox, open a reset link and choose a password."""

from __future__ import annotations

from typing import Any

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from idp.extensions import db
from idp.models.account import Account
from idp.models.outbox import OutboxMail
from idp.models.registration import PasswordReset
from tests.conftest import csrf_token
from tests.oidc import DEMO_ACTIVE
from tests.oidc import ISSUER
from tests.presets import SECRET_KEY


def mails(app: Any, template: str | None = None) -> list[OutboxMail]:
    """The outbox rows, oldest first (optionally of one template)."""
    with app.app_context():
        query = select(OutboxMail).order_by(OutboxMail.id)
        if template:
            query = query.where(OutboxMail.template == template)
        rows = db.session.scalars(query).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def ask(
    test_client: Any, kind: str, email: str, uid: str | None = None, address: str = "127.0.0.1"
) -> Any:
    """Fill in the forgot-``kind`` form (``password`` or ``login``) and submit it."""
    query = f"?uid={uid}" if uid else ""
    page = test_client.get(f"/forgot/{kind}{query}", environ_base={"REMOTE_ADDR": address})
    assert page.status_code == 200, page.text
    return test_client.post(
        f"/forgot/{kind}{query}",
        environ_base={"REMOTE_ADDR": address},
        data={"csrf_token": csrf_token(page.text), "email": email},
    )


def latest_reset_path(app: Any) -> str:
    """The path of the newest reset link in the outbox (the link is absolute, from the issuer)."""
    link = mails(app, "reset_password")[-1].context["link"]
    assert link.startswith(f"{ISSUER}/reset/"), link
    return link[len(ISSUER) :]


def request_reset(app: Any, test_client: Any, email: str = DEMO_ACTIVE) -> str:
    """Ask for a reset link; return its path."""
    response = ask(test_client, "password", email)
    assert response.status_code == 303, response.text
    return latest_reset_path(app)


def submit_password(test_client: Any, path: str, password: str, confirm: str | None = None) -> Any:
    """Open the reset link and post a new password (confirmed with the same one by default)."""
    page = test_client.get(path)
    assert page.status_code == 200, page.text
    return test_client.post(
        path,
        data={
            "csrf_token": csrf_token(page.text),
            "password": password,
            "password_confirm": password if confirm is None else confirm,
        },
    )


def assert_dead(response: Any) -> None:
    """The one page for every dead link, offering a new one."""
    assert response.status_code == 410, (response.status_code, response.text[:300])
    assert "This link no longer works" in response.text
    assert 'href="/forgot/password"' in response.text


def password_hash_of(app: Any, login: str = DEMO_ACTIVE) -> str:
    with app.app_context():
        return db.session.scalar(select(Account.password_hash).where(Account.login == login))


def resets(app: Any) -> list[PasswordReset]:
    with app.app_context():
        rows = db.session.scalars(select(PasswordReset).order_by(PasswordReset.id)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def secret_of(path: str) -> str:
    """The random secret inside a reset token (what a forger would want to re-sign)."""
    token = path.rsplit("/", 1)[1]
    return URLSafeTimedSerializer(SECRET_KEY, salt="password-reset").loads(token)
