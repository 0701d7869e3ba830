"""Response headers every page carries (CSP without inline script, framing refused, no
referrer, nosniff, HSTS over HTTPS) and no-store on everything that is not static."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import request

from idp.config import Settings
from idp.endpoint_kinds import EndpointKind
from idp.endpoint_kinds import request_kind
from idp.oauth.sso import LEGACY_COOKIES

# No form-action: browsers apply it to the redirects that follow a login POST, which end at
# the client's redirect URI (any scheme), so it would block the authorization response.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def hardening_headers(settings: Settings) -> list[tuple[str, str]]:
    """RFC 9700 §4.16 (clickjacking) and the usual hardening headers, the same on every answer."""
    headers = [
        ("Content-Security-Policy", CSP),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]
    if settings.uses_https:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def add_security_headers(response: Response) -> Response:
    """The hardening headers (a page's own CSP kept) and no-store unless cacheable."""
    settings = current_app.config["IDP"]
    for name, value in hardening_headers(settings):
        if name == "Content-Security-Policy":
            response.headers.setdefault(name, value)
        else:
            response.headers[name] = value
    if not request.path.startswith("/static/") and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if settings.uses_https:
        forget_legacy_cookies(response)
    return response


def forget_legacy_cookies(response: Response) -> None:
    """Delete the cookies named before the ``__Host-`` prefix. They are not read: accepting
    them would let a sibling host toss a session cookie in (login CSRF), the attack the prefix
    closes; a browser that had one logs in to the OP once more (its clients keep their own
    sessions and refresh tokens)."""
    for name in LEGACY_COOKIES:
        if name in request.cookies:
            response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="Lax")


def refuse_nul_bytes() -> None:
    """No identifier, code or form field ever contains U+0000; PostgreSQL text cannot hold it.
    Refuse such a request whole (400) before it reaches a query."""
    values = list(request.args.values()) + list((request.view_args or {}).values())
    if request.mimetype == "application/x-www-form-urlencoded":
        values += list(request.form.values())
    if any(isinstance(v, str) and "\x00" in v for v in values):
        abort(400)


def refuse_foreign_form_posts() -> None:
    """A form on our pages posts from our origin. Browsers send Origin on POST; refuse another
    origin (a second CSRF line behind the token). Protocol endpoints (idp/endpoint_kinds.py)
    are cross-origin by design."""
    if request.method != "POST" or request_kind() is not EndpointKind.PAGE:
        return
    origin = request.headers.get("Origin")
    issuer = urlsplit(current_app.config["IDP"].issuer)
    # Browsers send "Origin: null" for our own forms because of Referrer-Policy: no-referrer;
    # that case rests on the CSRF token alone.
    if origin not in (None, "null") and origin != f"{issuer.scheme}://{issuer.netloc}":
        abort(403)


def init_security(app: Flask) -> None:
    """Register the header hooks and the input guards."""
    app.before_request(refuse_nul_bytes)
    app.before_request(refuse_foreign_form_posts)
    app.after_request(add_security_headers)
