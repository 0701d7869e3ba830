"""The login page (product §3.1), the provider's interaction for a pending authorization."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from idp import audit
from idp.accounts.login import authenticate
from idp.accounts.login import find_account_by_login
from idp.accounts.refusals import Refused
from idp.audit import Event
from idp.extensions import db
from idp.extensions import limiter
from idp.models.account import normalise_login
from idp.oauth.authorize import abort_authorization
from idp.oauth.authorize import foreign_interaction
from idp.oauth.interaction import PendingLogin
from idp.oauth.interaction import load_pending
from idp.oauth.interaction import login_finished
from idp.oauth.interaction import resume_url
from idp.oauth.interaction import start_login_url
from idp.ratelimit import counter_store
from idp.throttle import GrowingDelay
from idp.throttle import login_delays
from idp.views.device_cookie import known_device
from idp.views.device_cookie import remember_device
from idp.views.errors import oauth_error_page
from idp.views.rate_limits import form_again

bp = Blueprint("login", __name__)
MAX_FIELD = 1024


def _login_limit() -> str:
    return str(current_app.config["IDP"].login_rate_limit)


def _page(pending: PendingLogin, login: str, error: str | None, status: int = 200) -> Response:
    body = render_template("login.html", pending=pending, login=login, error=error)
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    return response


def _pending_or_none(uid: str) -> PendingLogin | None:
    pending = load_pending(uid)
    if pending is not None:
        g.ui_locales = pending.ui_locales
    return pending


@bp.get("/interaction/<uid>")
def show(uid: str) -> Response:
    """The login form, pre-filled with ``login_hint`` (OIDC Core §3.1.2.1); for
    ``prompt=create`` the registration pages instead (``?login=1``: the login page after all,
    from "I already have an account")."""
    pending = _pending_or_none(uid)
    if pending is None:
        return oauth_error_page(foreign_interaction().error)
    if pending.wants_registration and not request.args.get("login"):
        return redirect(url_for("registration.start", uid=uid), code=303)
    return _page(pending, pending.login_hint or "", None)


@bp.post("/interaction/<uid>/abort")
def abort(uid: str) -> Response:
    """ "Back to the application": the client hears ``access_denied`` (RFC 6749 §4.1.2.1)."""
    outcome = abort_authorization(uid)
    db.session.commit()
    if outcome.response is None:
        return oauth_error_page(outcome.error)
    outcome.response.headers["Cache-Control"] = "no-store"
    return outcome.response


def _login_form_again(message: str) -> Response | None:
    """The login page again, the login kept, with the wait (the per-IP limit)."""
    uid = str((request.view_args or {}).get("uid", ""))
    pending = _pending_or_none(uid)
    if pending is None:
        return None
    return _page(pending, request.form.get("login", "")[:MAX_FIELD], message, 429)


@bp.post("/interaction/<uid>")
@limiter.limit(_login_limit, methods=["POST"], on_breach=form_again(_login_form_again))
def submit(uid: str) -> Response:
    """Check the credentials; one generic message whatever was wrong.

    Per login, wrong passwords from browsers that never logged in to it earn growing waits;
    a browser with a device cookie for this login is exempt (its own budget applies), so a
    stranger cannot lock the owner out (issue #8 finding 6, OWASP ASVS 5.0 V6.3.1).
    """
    pending = _pending_or_none(uid)
    if pending is None:
        return oauth_error_page(foreign_interaction().error)
    login = request.form.get("login", "")[:MAX_FIELD]
    password = request.form.get("password", "")[:MAX_FIELD]
    if not login.strip() or not password:
        return _page(pending, login, _("Enter your login and your password."), 400)
    device = known_device(login)
    delays = _delays()
    wait = 0 if device else delays.wait_left(normalise_login(login))
    if wait:
        audit.event(Event.LOGIN_THROTTLED, client_id=pending.client_id)
        return _wait_page(pending, login, wait)
    try:
        account = authenticate(db.session, login, password, current_app.config["IDP"])
    except Refused:
        if device:
            device.count_failure()
        else:
            delays.fail(normalise_login(login))
        named = find_account_by_login(db.session, login)
        audit.event(
            Event.LOGIN_FAILED,
            account_id=named.id if named else None,
            client_id=pending.client_id,
        )
        return _page(pending, login, _("This login or password is not correct."), 401)
    if not device:
        delays.forget(normalise_login(login))
    login_finished(uid, account, ["pwd"])
    db.session.commit()
    audit.event(Event.LOGIN_SUCCEEDED, account_id=account.id, client_id=pending.client_id)
    response = redirect(resume_url(uid), code=303)
    remember_device(response, login)
    return response


def _delays() -> GrowingDelay:
    return login_delays(counter_store(), current_app.config["IDP"])


def _wait_page(pending: PendingLogin, login: str, seconds: int) -> Response:
    """429 with Retry-After (RFC 6585 §4): the wait left, and the way out (forgot password)."""
    if seconds < 120:
        text = ngettext(
            "Too many wrong passwords for this login. Wait %(num)d second before trying "
            "again, or reset your password.",
            "Too many wrong passwords for this login. Wait %(num)d seconds before trying "
            "again, or reset your password.",
            seconds,
        )
    else:
        minutes = -(-seconds // 60)
        text = ngettext(
            "Too many wrong passwords for this login. Wait %(num)d minute before trying "
            "again, or reset your password.",
            "Too many wrong passwords for this login. Wait %(num)d minutes before trying "
            "again, or reset your password.",
            minutes,
        )
    response = _page(pending, login, text, 429)
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.get("/start-login")
def start_login() -> Response:
    """Links in mails land here: hand over to a client's initiate_login_uri (OIDC Core §4)."""
    hint = request.args.get("login_hint", "")[:254] or None
    target = start_login_url(request.args.get("client_id", "")[:64] or None, hint)
    if target is None:
        return oauth_error_page(foreign_interaction().error)
    return redirect(target)
