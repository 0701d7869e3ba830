"""The cookie notice (product §3.2): the registration pages cannot be used until it is accepted;
the choice is remembered in a cookie and can be changed on /cookies (linked in the footer of
the registration pages). Every cookie of these pages is strictly necessary, so the notice
informs and records acceptance; it offers nothing to opt into.

``cookie_notice_required`` is the gate the registration views wear.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from typing import TypeVar

from flask import Blueprint
from flask import current_app
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

bp = Blueprint("cookies", __name__)
COOKIE = "cookie_notice"
ACCEPTED = "accepted"
DECLINED = "declined"
# The CNIL recommends asking again after six months.
MAX_AGE = 183 * 24 * 3600
# Only pages of the registration journey may be returned to (never another site).
RETURN_PREFIX = "/register"
F = TypeVar("F", bound=Callable[..., Any])


def consent_given() -> bool:
    """True when this browser accepted the notice."""
    return request.cookies.get(COOKIE) == ACCEPTED


def safe_next(value: str | None) -> str:
    """A registration path of ours to go back to; anything else becomes the e-mail step."""
    value = (value or "")[:2048]
    if value.startswith(RETURN_PREFIX) and "\\" not in value and not value.startswith("//"):
        return value
    return url_for("registration.start")


def this_page() -> str:
    """The current path with its query (what the notice returns to)."""
    query = request.query_string.decode("ascii", "replace")
    return request.path + (f"?{query}" if query and request.method == "GET" else "")


def cookie_notice_required(view: F) -> F:
    """Send a visitor who has not accepted the notice to it, and back here afterwards."""

    @wraps(view)
    def gated(*args: Any, **kwargs: Any) -> Any:
        if consent_given():
            return view(*args, **kwargs)
        return redirect(url_for("cookies.notice", next=this_page()), code=303)

    return gated  # type: ignore[return-value]


def _choice() -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value in (ACCEPTED, DECLINED) else None


@bp.get("/cookies")
def notice() -> Response:
    """What the cookies are, the current choice, and the buttons to change it."""
    body = render_template(
        "cookie_notice.html", choice=_choice(), next=safe_next(request.args.get("next"))
    )
    return make_response(body)


@bp.post("/cookies")
def choose() -> Response:
    """Record the choice; after an acceptance, go back to the page that asked for it."""
    choice = ACCEPTED if request.form.get("choice") == ACCEPTED else DECLINED
    target = safe_next(request.form.get("next"))
    if choice == ACCEPTED:
        response = redirect(target, code=303)
    else:
        response = redirect(url_for("cookies.notice", next=target), code=303)
    response.set_cookie(
        COOKIE,
        choice,
        max_age=MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["IDP"].uses_https,
    )
    return response
