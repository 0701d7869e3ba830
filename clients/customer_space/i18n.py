"""The customer space's language: the visitor's switch (``?lang=``, remembered in the session
cookie, kept across login and logout), then Accept-Language, then French. The texts come
from the catalogue files shared with the provider. Imports Flask and Flask-Babel."""

from __future__ import annotations

from pathlib import Path

from flask import request
from flask import session
from flask_babel import get_locale

LANGUAGES = ("fr", "nl", "en", "de")
DEFAULT_LANGUAGE = "fr"
SESSION_KEY = "lang"
# The catalogue files shared with the provider (compiled by ``make setup``).
CATALOGUES = Path(__file__).resolve().parents[2] / "idp" / "translations"


def select_language() -> str:
    """The language of this page."""
    chosen = request.args.get(SESSION_KEY)
    if chosen in LANGUAGES:
        session[SESSION_KEY] = chosen
        return chosen
    remembered = session.get(SESSION_KEY)
    if remembered in LANGUAGES:
        return str(remembered)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def current_language() -> str:
    """The language the page is rendered in (sent to the provider as ``ui_locales``)."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def renew_session() -> None:
    """A new cookie session for a new login or a logout (no fixation), same language."""
    language = session.get(SESSION_KEY)
    session.clear()
    if language in LANGUAGES:
        session[SESSION_KEY] = language
