"""Blueprints: parse input → call a service → render or redirect; nothing else.

A view module may import idp.accounts (the services), idp.oauth (the interaction seam for the
pages; the protocol endpoints' modules for views/oauth.py and views/logout.py), idp.forms,
idp.i18n, idp.config, idp.extensions, idp.endpoint_kinds, idp.throttle and idp.mail.links; from
idp.models only row types and pure helpers (``utcnow``, ``normalise_login``…), never to query.
Of the other view modules only the shared helpers (this package, errors, cookies, messages,
mail_limits, device_cookie, rate_limits) and modules of its own package.
tests/unit/test_architecture.py holds this rule as an allow-list, with the few exceptions it
names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import cast

from flask import current_app
from flask import request
from flask import session
from werkzeug.datastructures import MultiDict

from idp.oauth.sso import cookie_name
from idp.oauth.sso import find_live_session

if TYPE_CHECKING:
    from idp.models.op_session import OpSession


PENDING_KEY = "pending_interactions"  # the interactions started in this browser
MAX_PENDING = 8


def remember_interaction(uid: str) -> None:
    """This browser started interaction ``uid``: only it may resume it."""
    pending = [u for u in session.get(PENDING_KEY, []) if u != uid]
    session[PENDING_KEY] = (pending + [uid])[-MAX_PENDING:]


def query_pairs(values: MultiDict[str, str]) -> list[tuple[str, str]]:
    """Every (name, value) pair in order, repeated names included (protocol checks need them)."""
    return cast("list[tuple[str, str]]", list(values.items(multi=True)))


def browser_op_session() -> OpSession | None:
    """The live OP session this browser's session cookie names, if any."""
    return find_live_session(request.cookies.get(cookie_name(current_app.config["IDP"])))
