"""What a page says when a rate limit stops a form (issue #7 item 6): the real wait, read
from the limit's reset time in the limiter's store, and the same form again with what was
typed (Flask-Limiter's ``on_breach`` hands the view's own page back instead of a bare 429).

Imports Flask-Limiter's request-limit type only; the views pass their page renderer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Response as FlaskResponse
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import RequestLimit
from werkzeug.wrappers import Response


def wait_seconds(limit: RequestLimit) -> int:
    """Seconds until the breached window lets one more request through (at least 1)."""
    return max(1, int(limit.reset_at - time.time()))


def wait_words(seconds: int) -> str:
    """ "42 seconds", "17 minutes", "2 hours", in the page's language (rounded up)."""
    if seconds < 120:
        return ngettext("%(num)d second", "%(num)d seconds", seconds)
    if seconds < 2 * 3600:
        return ngettext("%(num)d minute", "%(num)d minutes", -(-seconds // 60))
    return ngettext("%(num)d hour", "%(num)d hours", -(-seconds // 3600))


def too_many_message(seconds: int) -> str:
    """The sentence over the form."""
    return _(
        "Too many attempts. For your security, wait %(wait)s before trying again: what you "
        "typed is kept below.",
        wait=wait_words(seconds),
    )


def form_again(
    render: Callable[[str], Response | None],
) -> Callable[[RequestLimit], FlaskResponse | None]:
    """An ``on_breach`` callback: ``render(message)`` gives the view's form with what was typed
    (None: the generic page); answered 429 with Retry-After (RFC 6585 §4)."""

    def on_breach(limit: RequestLimit) -> FlaskResponse | None:
        seconds = wait_seconds(limit)
        response = render(too_many_message(seconds))
        if not isinstance(response, FlaskResponse):  # Flask-Limiter keeps only these
            return None
        response.status_code = 429
        response.headers["Retry-After"] = str(seconds)
        response.headers["Cache-Control"] = "no-store"
        return response

    return on_breach
