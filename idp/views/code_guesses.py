"""The activation-code counters (idp.throttle.CodeGuesses) for the pages that check a code:
the registration's customer-data step and the account page's "link a customer number".

Imports flask, flask_babel, idp.ratelimit (the limiter's store) and idp.throttle.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import ngettext
from werkzeug.wrappers import Response

from idp.ratelimit import counter_store
from idp.throttle import CodeGuesses
from idp.throttle import code_guesses


def guesses() -> CodeGuesses:
    """The counters, in the rate-limit store (Redis in production: shared by every worker)."""
    return code_guesses(counter_store(), current_app.config["IDP"])


def wait_message(seconds: int) -> str:
    """What a person reads while the code cannot be checked."""
    if seconds < 120:
        return ngettext(
            "Too many attempts. Wait %(num)d second before trying again.",
            "Too many attempts. Wait %(num)d seconds before trying again.",
            seconds,
        )
    return ngettext(
        "Too many attempts. Wait %(num)d minute before trying again.",
        "Too many attempts. Wait %(num)d minutes before trying again.",
        -(-seconds // 60),
    )


def with_retry_after(response: Response, seconds: int) -> Response:
    """RFC 6585 §4 / RFC 9110 §10.2.3: say when to come back."""
    response.headers["Retry-After"] = str(seconds)
    return response
