"""Absolute links for mails, from the issuer (never from the request's Host header)."""

from __future__ import annotations

from urllib.parse import urlencode

from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer

from idp.config import Settings


def absolute(settings: Settings, path: str, **params: str) -> str:
    """``issuer + path`` with query parameters."""
    query = f"?{urlencode(params)}" if params else ""
    return f"{settings.issuer}{path}{query}"


def login_link(settings: Settings, login: str | None = None) -> str:
    """Where a mail's "log in" button goes: the provider's /start-login, which hands over to a
    client's initiate_login_uri (OIDC Core §4)."""
    return absolute(settings, "/start-login", **({"login_hint": login} if login else {}))


def reset_link(settings: Settings) -> str:
    """The "forgot password" page."""
    return absolute(settings, "/forgot/password")


ONLINE_SALT = "mail-online"


def _online_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=ONLINE_SALT)


def view_online_link(settings: Settings, mail_id: int) -> str:
    """The "view online" page of a sent mail: a signed, time-limited token of its outbox id."""
    return absolute(settings, f"/mail/{_online_serializer(settings).dumps(mail_id)}")


def online_mail_id(settings: Settings, token: str) -> int | None:
    """The outbox id a "view online" token names; None when forged or older than the
    registration link lifetime."""
    try:
        value = _online_serializer(settings).loads(token, max_age=settings.registration_link_ttl)
    except BadData:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
