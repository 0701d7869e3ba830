"""Logout pages: the end_session_endpoint (/logout, RP-Initiated Logout 1.0), the End-User's
confirmation, and the "you are logged out" page. Parse → idp.oauth.logout → respond."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from idp import audit
from idp.audit import Event
from idp.endpoint_kinds import EndpointKind
from idp.endpoint_kinds import endpoint_kind
from idp.extensions import db
from idp.oauth import context
from idp.oauth.logout import LogoutDecision
from idp.oauth.logout import decide_logout
from idp.oauth.logout import log_out
from idp.oauth.sso import cookie_name
from idp.views import browser_op_session
from idp.views import query_pairs

bp = Blueprint("logout", __name__)


def _decide(pairs: list[tuple[str, str]]) -> LogoutDecision:
    """Validate the request against this browser's session; pages speak its ``ui_locales``."""
    g.ui_locales = (dict(pairs).get("ui_locales") or "").split()[:8]
    return decide_logout(pairs, browser_op_session())


def _page(template: str, status: int = 200, **values: object) -> Response:
    response = current_app.make_response((render_template(template, **values), status))
    response.headers["Cache-Control"] = "no-store"
    return response


def _logged_out(decision: LogoutDecision) -> Response:
    """End the session, clear the cookie, then go to the client's URI or our page."""
    account_id = decision.target.account_id if decision.target is not None else None
    log_out(decision.target)
    db.session.commit()
    if account_id is not None:
        audit.event(Event.LOGOUT, account_id=account_id)
    locales = " ".join(g.get("ui_locales", []))
    target = decision.redirect_uri or url_for("logout.logged_out", ui_locales=locales or None)
    response = redirect(target, 303 if request.method == "POST" else 302)
    settings = context.settings()
    response.delete_cookie(
        cookie_name(settings), path="/", secure=settings.uses_https, httponly=True, samesite="Lax"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/logout", methods=["GET", "POST"])
@endpoint_kind(EndpointKind.PROTOCOL_PAGE)  # RP-Initiated Logout 1.0 §2: the RP may POST here
def end_session() -> Response:
    """RP-Initiated Logout 1.0 §2: log out at once, or ask the End-User first."""
    decision = _decide(query_pairs(request.values))
    if decision.confirm:
        db.session.rollback()
        return _page(
            "logout_confirm.html", params=decision.params, client_name=decision.client_name
        )
    return _logged_out(decision)


@bp.post("/logout/confirm")
def confirm() -> Response:
    """The End-User's "yes" (CSRF-protected form): the original request, validated again."""
    pairs = [(k, v) for k, v in request.form.items(multi=True) if k != "csrf_token"]
    return _logged_out(_decide(pairs))


@bp.get("/logged-out")
def logged_out() -> Response:
    """The page shown when no valid post-logout redirect was asked for."""
    g.ui_locales = (request.args.get("ui_locales") or "").split()[:8]
    return _page("logged_out.html")
