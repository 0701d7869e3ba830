"""Forgot login or password (SPEC §3.8): the choice page, the two mail forms, the "check your
mailbox" page, the reset form and its outcome pages.

Parse input → call idp.accounts.recovery → respond. Mails are throttled per client IP (429) and
per address (same answer, no mail), both with ``registration_rate_limit`` read at call time.
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
from limits import parse_many
from werkzeug.wrappers import Response

from idp.accounts.passwords import MAX_LENGTH
from idp.accounts.passwords import Reason
from idp.accounts.recovery import PasswordRefused
from idp.accounts.recovery import ResetLinkDead
from idp.accounts.recovery import normalise_email
from idp.accounts.recovery import open_reset_link
from idp.accounts.recovery import refused_reasons
from idp.accounts.recovery import request_login_reminder
from idp.accounts.recovery import request_password_reset
from idp.accounts.recovery import reset_password
from idp.config import Settings
from idp.extensions import db
from idp.extensions import limiter
from idp.mail.links import login_link
from idp.models.account import normalise_login
from idp.models.base import token_hash
from idp.oauth.interaction import PendingLogin
from idp.oauth.interaction import load_pending
from idp.throttle import login_delays

bp = Blueprint("recovery", __name__)
MAX_FIELD = 1024
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


def _mail_limit() -> str:
    return str(_settings().registration_rate_limit)


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


def _address_allows_mail(email: str) -> bool:
    """Count one mail for this address; False when its budget is spent (then send nothing).

    The key is a hash: the rate-limit store (Redis in production) never holds addresses.
    """
    if not limiter.enabled:
        return True
    key = ("recovery-mail-address", token_hash(normalise_email(email))[:32])
    items = parse_many(_mail_limit())
    if not all(limiter.limiter.test(item, *key) for item in items):
        return False
    return all([limiter.limiter.hit(item, *key) for item in items])


def _email_error(email: str) -> str | None:
    if not email:
        return _("Enter your e-mail address.")
    if len(email) > 254 or "@" not in email.strip("@") or any(c.isspace() for c in email):
        return _("Enter an e-mail address such as name@example.be.")
    return None


def _mail_form(kind: str, send: Callable[..., int]) -> Response:
    """Shared by both forms: validate, send (unless throttled), same answer whatever happened."""
    pending = _pending(request.values.get("uid"))
    email = request.form.get("email", "")[:MAX_FIELD].strip()
    error = _email_error(email)
    if error is not None:
        return _page(f"forgot_{kind}.html", 400, pending=pending, email=email, error=error)
    if _address_allows_mail(email):
        send(db.session, email, _settings())
        db.session.commit()
    session[UID_KEY] = pending.uid if pending else None
    session[ADDRESS_KEY] = email
    return redirect(url_for(".sent", kind=kind, uid=pending.uid if pending else None), code=303)


def _sent_counts(response: Response) -> bool:
    """Only a form that was accepted (and so may have sent mail) uses the IP's budget."""
    return response.status_code == 303


@bp.get("/forgot")
def forgot() -> Response:
    """Forgot your login or your password? Choose."""
    return _page("forgot.html", pending=_pending(request.args.get("uid")))


@bp.get("/forgot/password")
def forgot_password() -> Response:
    """The address to send a reset link to."""
    return _page(
        "forgot_password.html", pending=_pending(request.args.get("uid")), email="", error=None
    )


@bp.post("/forgot/password")
@limiter.shared_limit(_mail_limit, scope="recovery-mail", deduct_when=_sent_counts)
def send_reset() -> Response:
    """Send a reset link if the address belongs to an active account; the same answer anyway."""
    return _mail_form("password", request_password_reset)


@bp.get("/forgot/login")
def forgot_login() -> Response:
    """The address to send the login to."""
    return _page(
        "forgot_login.html", pending=_pending(request.args.get("uid")), email="", error=None
    )


@bp.post("/forgot/login")
@limiter.shared_limit(_mail_limit, scope="recovery-mail", deduct_when=_sent_counts)
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


def _dead_link() -> Response:
    return _page("reset_dead_link.html", 410)


def _reason_messages(reasons: list[Reason]) -> list[str]:
    """Each refusal in plain words (an unknown reason still gets an explanation)."""
    # Keyed by value: the policy may gain reasons before this table learns them. The same
    # msgids as the registration pages (idp/views/registration.py): one translation each.
    texts = {
        "too_short": _(
            "Use at least %(min)d characters. A few unrelated words make a long "
            "password that is easy to remember.",
            min=_settings().password_min_length,
        ),
        "too_long": _("This password is too long: use at most %(max)d characters.", max=MAX_LENGTH),
        "common": _(
            "This password is one of the most used or leaked ones: attackers try those first."
        ),
        "repetitive": _(
            "This password repeats characters or follows a sequence (like "
            "aaaa or 1234): it is too easy to guess."
        ),
        "contains_context": _(
            "Do not use your login, your e-mail address or your customer number in your password."
        ),
        "contains_service_name": _(
            "Do not use the name of our company or of this service in your password."
        ),
    }
    fallback = _("This password cannot be used. Choose another one.")
    return list(dict.fromkeys(texts.get(r.value, fallback) for r in reasons))


@bp.get("/reset/<token>")
def reset_form(token: str) -> Response:
    """The new-password form; opening the link (a mail scanner too) consumes nothing."""
    try:
        link = open_reset_link(db.session, token, _settings())
    except ResetLinkDead:
        return _dead_link()
    return _page(
        "reset_password.html", token=token, login=link.login, errors=[], confirm_error=None
    )


@bp.post("/reset/<token>")
def reset_submit(token: str) -> Response:
    """Set the new password (once per link), then say so."""
    settings = _settings()
    try:
        link = open_reset_link(db.session, token, settings)
    except ResetLinkDead:
        return _dead_link()
    password = request.form.get("password", "")[:MAX_FIELD]
    confirm = request.form.get("password_confirm", "")[:MAX_FIELD]
    errors = (
        [_("Enter a new password.")]
        if not password
        else _reason_messages(refused_reasons(link, password, settings))
    )
    confirm_error = None
    if password and confirm != password:
        confirm_error = _("The two passwords are not the same.")
    if errors or confirm_error:
        return _page(
            "reset_password.html",
            400,
            token=token,
            login=link.login,
            errors=errors,
            confirm_error=confirm_error,
        )
    try:
        changed = reset_password(db.session, token, password, settings)
    except ResetLinkDead:
        db.session.rollback()
        return _dead_link()
    except PasswordRefused as refused:  # the policy changed in between; say why anyway
        db.session.rollback()
        return _page(
            "reset_password.html",
            400,
            token=token,
            login=link.login,
            errors=_reason_messages(refused.reasons),
            confirm_error=None,
        )
    db.session.commit()
    # Proving the mailbox ends the waits strangers' wrong passwords caused (issue #8 finding 6).
    login_delays(limiter.limiter.storage, settings).forget(normalise_login(changed.login))
    session[LOGIN_KEY] = changed.login
    return redirect(url_for(".done"), code=303)


@bp.get("/reset/done")
def done() -> Response:
    """Your password is changed: back to the login that was waiting, else to /start-login."""
    pending = _pending(session.get(UID_KEY))
    login = session.get(LOGIN_KEY)
    if pending is not None:
        target = url_for("login.show", uid=pending.uid)
    else:
        target = login_link(_settings(), login)
    return _page("reset_done.html", target=target, login=login)
