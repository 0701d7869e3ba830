"""What the registration steps share: the blueprint, the settings they read, the page
helpers and the answers several steps give (a dead link, "already activated").

Imports idp.accounts, idp.oauth.interaction and idp.mail.links.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import current_app
from flask import make_response
from flask import render_template
from flask import session
from flask_babel import get_locale
from werkzeug.wrappers import Response

from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.config import Settings
from idp.mail.links import reset_link
from idp.models.registration import RegistrationRequest
from idp.oauth.interaction import PendingLogin
from idp.oauth.interaction import after_registration_url

bp = Blueprint("registration", __name__)
STEP_KEY = "registration_step"
STEP_TTL = 1800  # seconds between proving the customer data and choosing the password
EMAIL_KEY = "registration_email"
ORIGIN_KEY = "registration_origin"  # the prompt=create interaction this browser registers for


def settings() -> Settings:
    """The provider's settings, read at call time."""
    value: Settings = current_app.config["IDP"]
    return value


def language() -> str:
    """The page's language: the one mails and the new account get."""
    return str(get_locale() or settings().default_language)[:2]


def page(template: str, status: int = 200, **context: Any) -> Response:
    """A rendered page with its status."""
    return make_response(render_template(template, **context), status)


def link_terms() -> dict[str, int]:
    """What the pages say about the link: how many submissions and days it allows."""
    current = settings()
    return {
        "max_uses": current.registration_link_max_uses,
        "days": max(1, round(current.registration_link_ttl / 86400)),
    }


def dead_link(wrong_code: bool = False) -> Response:
    """One page for every dead link: expired, used up, already used, forged. ``wrong_code``:
    the submission that used the link up had a wrong number or code — the page says so
    (issue #7 item 5), in the one mismatch wording every wrong pair gets."""
    return page("dead_link.html", 410, wrong_code=wrong_code, **link_terms())


@bp.errorhandler(Refused)
def _refused(refused: Refused) -> Response:
    """A dead link, wherever a step finds it, gets the dead-link page."""
    if refused.reason is not Refusal.DEAD_LINK:
        raise refused
    return dead_link()


def remember_origin(pending: PendingLogin | None) -> None:
    """A registration asked with ``prompt=create`` ends with the authorization response to
    its client — in this browser, the one that sent the request (session entry)."""
    if pending is not None and pending.wants_registration:
        session[ORIGIN_KEY] = pending.uid
    else:
        session.pop(ORIGIN_KEY, None)


def login_url(row: RegistrationRequest) -> str:
    """The "log in" button of a registration (back to where it started)."""
    return after_registration_url(row.client_id, row.return_params, None)


def already_activated(row: RegistrationRequest) -> Response:
    """product §3.5: this customer already has an account — log in or reset the password."""
    return page(
        "activate.html",
        409,
        already=True,
        login_url=login_url(row),
        reset_url=reset_link(settings()),
    )
