"""The outbox: a mail is a row written in the same transaction as the change that causes it;
delivery happens afterwards, with retries, so a failing mail server loses nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from idp.models.outbox import OutboxMail

TEMPLATES = (
    "activation",                   # {link, view_online_link}
    "account_exists",               # {login, login_link, reset_link}
    "customer_already_activated",   # {login, login_link, reset_link}  (to the account owner)
    "welcome",                      # {login, login_link}
    "reset_password",               # {link}
    "password_changed",             # {login, reset_link}
    "forgot_login",                 # {login, login_link}
)


def enqueue(
    session: Session, *, to: str, template: str, language: str, context: dict[str, Any]
) -> OutboxMail:
    """Add a mail to the caller's transaction (the caller commits; nothing is sent now).

    Links in ``context`` must be absolute URLs built from the configured issuer, never from
    the request's Host header.
    """
    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}")
    mail = OutboxMail(to_address=to, template=template, language=language, context=context)
    session.add(mail)
    return mail
