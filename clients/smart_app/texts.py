"""The Smart App's words: its languages, the terms version and where its translations live.

The strings themselves are English message ids in the screens' templates and here, extracted
with ``babel.cfg`` into the same gettext catalogues as the provider's pages (French, Dutch,
English, German) and read from those files with Flask-Babel: the app shares the catalogue
files, never the provider's code. Imports Flask-Babel only."""

from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

LANGUAGES = ("fr", "nl", "en", "de")
DEFAULT_LANGUAGE = "fr"
# Bump when the terms change: every user is asked to accept them again (product §6).
TERMS_VERSION = "2026-01"
# The compiled catalogues (``make setup`` / ``pybabel compile`` write the .mo files).
CATALOGUES = Path(__file__).resolve().parents[2] / "idp" / "translations"

# The eligibility claim's reasons (product §4) in the customer's words: what happened and
# what the customer can do. An unknown or missing reason gets the last one.
REASONS: dict[str, LazyString] = {
    "no_active_contract": _l(
        "We found no energy contract of yours that is running today. The app needs an "
        "active electricity or gas contract with us."
    ),
    "no_customer_linked": _l(
        "Your account is not linked to a customer number yet. The app needs the customer "
        "number of a contract with us."
    ),
    "account_disabled": _l(
        "Your account has been disabled. Our team can tell you why and help you."
    ),
}
UNKNOWN_REASON = _l("We could not check your contract just now.")

# The welcome screen's one-off messages (``SmartApp.notice``).
NOTICES: dict[str, LazyString] = {
    "login_failed": _l("The login did not complete. Please try again."),
    "session_ended": _l("Your session has ended. Please log in again."),
    "offline": _l("The service cannot be reached right now. Try again later."),
    "logged_out": _l("You are logged out."),
}


def reason_text(reason: str | None) -> LazyString:
    """The eligibility ``reason`` in words, in the language of the current screen."""
    return REASONS.get(reason or "", UNKNOWN_REASON)
