"""Forgot login or password (product §3.8): the choice page, the two mail forms, the "check your
mailbox" page, the reset form and its outcome pages.

Parse input → call idp.accounts.recovery → respond. Mails are throttled per client IP (429) and
per address (same answer, no mail: idp.views.mail_limits), both with ``registration_rate_limit``.
Fields are checked and refusals worded as on the registration pages (idp.forms,
idp.views.messages).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint
from flask import current_app
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp import audit
from idp import forms
from idp.accounts.recovery import open_reset_link
from idp.accounts.recovery import refused_reasons
from idp.accounts.recovery import request_login_reminder
from idp.accounts.recovery import request_password_reset
from idp.accounts.recovery import reset_password
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.audit import Event
from idp.config import Settings
from idp.extensions import db
from idp.extensions import limiter
from idp.mail.links import login_link
from idp.models.account import normalise_login
from idp.oauth.interaction import PendingLogin
from idp.oauth.interaction import interaction_url
from idp.oauth.interaction import load_pending
from idp.ratelimit import counter_store
from idp.throttle import login_delays
from idp.views.mail_limits import allow_mail
from idp.views.mail_limits import mail_limit
from idp.views.messages import field_message
from idp.views.messages import password_refusal_messages

bp = Blueprint("recovery", __name__)
UID_KEY = "recovery_uid"  # the pending login the forgot flow started from (this browser)
LOGIN_KEY = "recovery_login"  # the login whose password was just changed
ADDRESS_KEY = "recovery_email"  # shown back on the "check your mailbox" page
KINDS = ("password", "login")


def _settings() -> Settings:
    return current_app.config["IDP"]


@bp.context_processor
def _policy_figures() -> dict[str, int]:
    """The numbers the pages quote: link lifetime and minimum password length."""
    settings = _settings()
    return {
        "reset_minutes": max(1, settings.password_reset_ttl // 60),
        "min_length": settings.password_min_length,
    }


def _pending(uid: str | None) -> PendingLogin | None:
    """The open login this page belongs to (its ui_locales then choose the language)."""
    pending = load_pending(uid[:64]) if uid else None
    if pending is not None:
        g.ui_locales = pending.ui_locales
    return pending


def _page(template: str, status: int = 200, **context: object) -> Response:
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _mail_form(kind: str, send: Callable[..., int]) -> Response:
    """Shared by both forms: validate, send (unless throttled), same answer whatever happened."""
    pending = _pending(request.values.get("uid"))
    email = forms.check_email(request.form.get("email"))
    if email.error:
        error = field_message(email.error, required=_("Enter your e-mail address."))
        return _page(f"forgot_{kind}.html", 400, pending=pending, email=email.value, error=error)
    if allow_mail(email.value, "recovery-mail-address"):
        send(db.session, email.value, _settings())
        if kind == "password":
            audit.event(Event.PASSWORD_RESET_REQUESTED, email=email.value)
    session[UID_KEY] = pending.uid if pending else None
    session[ADDRESS_KEY] = email.value
    return redirect(url_for(".sent", kind=kind, uid=pending.uid if pending else None), code=303)


def _sent_counts(response: Response) -> bool:
    """Only a form that was accepted (and so may have sent mail) uses the IP's budget."""
    return response.status_code == 303


def _address_page(template: str) -> Response:
    """A blank form asking for the address to send something to."""
    return _page(template, pending=_pending(request.args.get("uid")), email="", error=None)


@bp.get("/forgot")
def forgot() -> Response:
    """Forgot your login or your password? Choose."""
    return _page("forgot.html", pending=_pending(request.args.get("uid")))


@bp.get("/forgot/password")
def forgot_password() -> Response:
    """The address to send a reset link to."""
    return _address_page("forgot_password.html")


@bp.post("/forgot/password")
@limiter.shared_limit(mail_limit, scope="recovery-mail", deduct_when=_sent_counts)
def send_reset() -> Response:
    """Send a reset link if the address belongs to an active account; the same answer anyway."""
    return _mail_form("password", request_password_reset)


@bp.get("/forgot/login")
def forgot_login() -> Response:
    """The address to send the login to."""
    return _address_page("forgot_login.html")


@bp.post("/forgot/login")
@limiter.shared_limit(mail_limit, scope="recovery-mail", deduct_when=_sent_counts)
def send_login() -> Response:
    """Send the login if the address belongs to an active account; the same answer anyway."""
    return _mail_form("login", request_login_reminder)


@bp.get("/forgot/sent")
def sent() -> Response:
    """Check your mailbox (whether or not the address is known)."""
    kind = request.args.get("kind")
    return _page(
        "forgot_sent.html",
        kind=kind if kind in KINDS else "password",
        email=session.get(ADDRESS_KEY),
        pending=_pending(request.args.get("uid")),
    )


@bp.errorhandler(Refused)
def _refused(refused: Refused) -> Response:
    """A dead reset link, wherever it is found, gets one page."""
    if refused.reason is not Refusal.DEAD_LINK:
        raise refused
    return _page("reset_dead_link.html", 410)


@bp.get("/reset/<token>")
def reset_form(token: str) -> Response:
    """The new-password form; opening the link (a mail scanner too) consumes nothing."""
    link = open_reset_link(db.session, token, _settings())
    return _reset_page(token, link.login)


def _reset_page(
    token: str, login: str, errors: list[str] | None = None, confirm_error: str | None = None
) -> Response:
    return _page(
        "reset_password.html",
        400 if errors or confirm_error else 200,
        token=token,
        login=login,
        errors=errors or [],
        confirm_error=confirm_error,
    )


@bp.post("/reset/<token>")
def reset_submit(token: str) -> Response:
    """Set the new password (once per link), then say so."""
    settings = _settings()
    link = open_reset_link(db.session, token, settings)
    password = request.form.get("password", "")
    password_key, confirm_key = forms.check_new_password(
        password, request.form.get("password_confirm")
    )
    errors = (
        [field_message(password_key, required=_("Enter a new password.")) or ""]
        if password_key
        else password_refusal_messages(
            refused_reasons(link, password, settings), password, link.context
        )
    )
    if errors or confirm_key:
        return _reset_page(token, link.login, errors, field_message(confirm_key))
    try:
        changed = reset_password(db.session, token, password, settings)
    except Refused as refused:  # the policy changed in between: say why anyway
        if refused.reason is not Refusal.PASSWORD_REFUSED:
            raise
        reasons = password_refusal_messages(refused.password_reasons, password, link.context)
        return _reset_page(token, link.login, reasons)
    # Proving the mailbox ends the waits strangers' wrong passwords caused (issue #8 finding 6).
    audit.event(Event.PASSWORD_RESET, account_id=link.account_id)
    login_delays(counter_store(), settings).forget(normalise_login(changed.login))
    session[LOGIN_KEY] = changed.login
    return redirect(url_for(".done"), code=303)


@bp.get("/reset/done")
def done() -> Response:
    """Your password is changed: back to the login that was waiting, else to /start-login."""
    pending = _pending(session.get(UID_KEY))
    login = session.get(LOGIN_KEY)
    if pending is not None:
        target = interaction_url(pending.uid)
    else:
        target = login_link(_settings(), login)
    return _page("reset_done.html", target=target, login=login)
