"""Locale choice: the visitor's switch (?lang=), then ``ui_locales`` (OIDC Core §3.1.2.1) — kept
in the browser session for the pages of the same journey — then the remembered switch, then
Accept-Language, then the default. fr, nl, en, de."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask import session
from flask_babel import get_locale

LANGUAGES = ("fr", "nl", "en", "de")
COOKIE = "lang"
JOURNEY_KEY = "ui_locale"


def _base(tag: str) -> str:
    return tag.split("-", 1)[0].lower()


def select_locale() -> str:
    """The language of this response."""
    switched = request.args.get(COOKIE)
    if switched in LANGUAGES:
        session[JOURNEY_KEY] = switched
        return switched
    for tag in g.get("ui_locales", []):
        if _base(tag) in LANGUAGES:
            # The pages that follow (registration, recovery) no longer carry the request:
            # the browser session remembers the language the application asked for.
            session[JOURNEY_KEY] = _base(tag)
            return _base(tag)
    journey = session.get(JOURNEY_KEY)
    if journey in LANGUAGES:
        return str(journey)
    remembered = request.cookies.get(COOKIE)
    if remembered in LANGUAGES:
        return remembered
    best = request.accept_languages.best_match(LANGUAGES)
    return best or current_app.config["IDP"].default_language


def remember_switch(response: Response) -> Response:
    """Keep a language the visitor chose with the switch for the next pages."""
    switched = request.args.get(COOKIE)
    if switched in LANGUAGES:
        response.set_cookie(
            COOKIE,
            switched,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=current_app.config["IDP"].uses_https,
            httponly=True,
        )
    return response


def language_switch_url(code: str) -> str:
    """This same page (same query) in another language: the switch keeps the request."""
    args = request.args.to_dict(flat=False)
    args[COOKIE] = [code]
    return request.path + "?" + urlencode(args, doseq=True)


def init_i18n(app: Flask) -> None:
    """Remember language switches; give templates ``current_locale``."""
    app.after_request(remember_switch)
    app.jinja_env.globals["language_switch_url"] = language_switch_url
    app.context_processor(lambda: {"current_locale": str(get_locale() or "fr")})
