"""Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a browser
that logged in to an account carries a signed cookie naming that login, and is then exempt
from the per-login delays strangers cause (issue #8 finding 6). A device has its own budget
of wrong passwords (``login_rate_limit``); past it, the cookie is worth nothing until the
window ends, so a stolen cookie guesses no faster than the owner types.

The cookie holds, for the last few logins, a hash of the login and a random device id,
signed (itsdangerous, salt ``login-device``) and dated: it proves nothing about the person,
only that this browser once knew the password. Imports flask, limits and idp.throttle.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask import request
from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer
from werkzeug.wrappers import Response

from idp.config import Settings
from idp.models.account import normalise_login
from idp.models.base import random_token
from idp.oauth.sso import host_cookie_name
from idp.ratelimit import has_room
from idp.ratelimit import spend
from idp.throttle import subject_key

SALT = "login-device"
SCOPE = "login-device"
MAX_ENTRIES = 5  # logins remembered per browser (a shared family tablet)
MAX_COOKIE = 2048


def _settings() -> Settings:
    value: Settings = current_app.config["IDP"]
    return value


def cookie_name() -> str:
    """``__Host-`` prefixed over HTTPS (Secure, Path=/, no Domain: RFC 6265bis §4.1.3.2)."""
    return host_cookie_name("idp_device", _settings())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_settings().secret_key, salt=SALT)


def _entries() -> list[list[str]]:
    raw = request.cookies.get(cookie_name(), "")
    if not raw or len(raw) > MAX_COOKIE:
        return []
    try:
        value = _serializer().loads(raw, max_age=_settings().login_device_ttl)
    except BadData:
        return []
    if not isinstance(value, list):
        return []
    return [
        e
        for e in value
        if isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e)
    ]


@dataclass(frozen=True)
class Device:
    """A browser this login was used from before (its device id keys its own budget)."""

    device_id: str

    def within_budget(self) -> bool:
        """True while this device has wrong passwords left."""
        return has_room(_settings().login_rate_limit, SCOPE, self.device_id)

    def count_failure(self) -> None:
        """One wrong password from this device."""
        spend(_settings().login_rate_limit, SCOPE, self.device_id)


def known_device(login: str) -> Device | None:
    """The device, when this browser's cookie names ``login`` and still has budget left."""
    wanted = subject_key(normalise_login(login))
    for digest, device_id in _entries():
        if digest == wanted:
            device = Device(device_id)
            return device if device.within_budget() else None
    return None


def remember_device(response: Response, login: str) -> None:
    """After a successful login: (re)issue the cookie with this login first."""
    digest = subject_key(normalise_login(login))
    entries = _entries()
    device_id = next((d for h, d in entries if h == digest), None) or random_token(16)
    kept = [[digest, device_id]] + [e for e in entries if e[0] != digest]
    settings = _settings()
    response.set_cookie(
        cookie_name(),
        _serializer().dumps(kept[:MAX_ENTRIES]),
        max_age=settings.login_device_ttl,
        path="/",
        secure=settings.uses_https,
        httponly=True,
        samesite="Strict",
    )
