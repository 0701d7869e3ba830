"""Absolute links for mails, from the issuer (never from the request's Host header)."""

from __future__ import annotations

from urllib.parse import urlencode

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
