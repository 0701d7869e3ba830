"""The customer's own account page (issue #7 item 8): /account and its forms.

An OP session is enough to see the page; without one the browser goes through the login page
(a first-party interaction, idp/oauth/interaction.py) and comes back. Sensitive changes
(password, e-mail, another customer number, the data download, deleting the account) need a
login younger than ``account_reauth_max_age`` — the ``max_age`` idea of OIDC Core §3.1.2.1 —
otherwise the login page asks for the password again, the login filled in.
Parse → call a service → respond.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint
from flask import current_app
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp import audit
from idp import forms
from idp.accounts.personal_data import delete_account
from idp.accounts.personal_data import export_data
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.accounts.self_service import account_overview
from idp.accounts.self_service import change_password
from idp.accounts.self_service import confirm_email_change
from idp.accounts.self_service import link_customer
from idp.accounts.self_service import request_email_change
from idp.accounts.signed_in import sign_out_everywhere
from idp.accounts.signed_in import sign_out_one
from idp.accounts.signed_in import signed_in
from idp.audit import Event
from idp.config import Settings
from idp.extensions import db
from idp.extensions import limiter
from idp.models.base import utcnow
from idp.models.op_session import OpSession
from idp.oauth.interaction import interaction_url
from idp.oauth.interaction import save_first_party
from idp.oauth.sso import cookie_name
from idp.oauth.sso import note_use
from idp.views import browser_op_session
from idp.views import remember_interaction
from idp.views.code_guesses import guesses
from idp.views.code_guesses import wait_message
from idp.views.code_guesses import with_retry_after
from idp.views.messages import customer_data_mismatch
from idp.views.messages import field_message
from idp.views.messages import password_refusal_messages

bp = Blueprint("account", __name__)
DONE = ("password", "email_sent", "email_changed", "signed_out", "linked")


@bp.before_request
def language_asked() -> None:
    """A link from a client may carry ``ui_locales`` (OIDC Core §3.1.2.1), as /authorize."""
    g.ui_locales = (request.args.get("ui_locales") or "").split()[:8]


def _settings() -> Settings:
    value: Settings = current_app.config["IDP"]
    return value


def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _to_login(login_hint: str | None = None) -> Response:
    """The login page for the account page; back to /account once logged in."""
    language = str(get_locale() or _settings().default_language)
    uid = save_first_party("/account", _settings(), login_hint, language)
    db.session.commit()
    remember_interaction(uid)
    return redirect(interaction_url(uid), code=303)


def _fresh(op_session: OpSession) -> bool:
    """Logged in recently enough for a sensitive change (max_age-style)."""
    age = (utcnow() - op_session.auth_time).total_seconds()
    return age <= _settings().account_reauth_max_age


def signed_in_only(view: Callable[..., Response]) -> Callable[..., Response]:
    """The view gets the browser's live OP session; without one, the login page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        op_session = browser_op_session()
        if op_session is None:
            return _to_login()
        return view(op_session, *args, **kwargs)

    return wrapper


def recent_login_only(view: Callable[..., Response]) -> Callable[..., Response]:
    """As ``signed_in_only``, and the password again when the login is not recent."""

    @signed_in_only
    @wraps(view)
    def wrapper(op_session: OpSession, *args: Any, **kwargs: Any) -> Response:
        if not _fresh(op_session):
            return _to_login(op_session.account.login)
        return view(op_session, *args, **kwargs)

    return wrapper


def _account_page(op_session: OpSession, status: int = 200, **context: Any) -> Response:
    settings = _settings()
    context.setdefault("errors", {})
    context.setdefault("values", {})
    done = request.args.get("done")
    return _page(
        "account.html",
        status,
        overview=account_overview(db.session, op_session.account_id, settings),
        lines=signed_in(db.session, op_session.account_id, op_session.sid),
        fresh=_fresh(op_session),
        done=done if done in DONE else None,
        min_length=settings.password_min_length,
        **context,
    )


@bp.get("/account")
@signed_in_only
def show(op_session: OpSession) -> Response:
    """Login, e-mail, customers and their eligibility, signed-in browsers and apps."""
    note_use(op_session, request.headers.get("User-Agent"))
    db.session.commit()
    return _account_page(op_session)


@bp.get("/account/confirm")
@signed_in_only
def confirm(op_session: OpSession) -> Response:
    """ "Confirm with my password": the login page, the login filled in."""
    return _to_login(op_session.account.login)


def _done(what: str) -> Response:
    return redirect(url_for(".show", done=what) + f"#{what}", code=303)


@bp.post("/account/password")
@recent_login_only
def password(op_session: OpSession) -> Response:
    """A new password: the other sessions and every app sign in again; a mail says so."""
    typed = request.form.get("password", "")[: forms.MAX_FIELD]
    mismatch, confirm_error = forms.check_new_password(typed, request.form.get("confirm"))
    errors = {"password": field_message(mismatch), "confirm": field_message(confirm_error)}
    if not any(errors.values()):
        try:
            change_password(db.session, op_session.account_id, op_session.sid, typed, _settings())
            audit.event(Event.PASSWORD_CHANGED, account_id=op_session.account_id)
            return _done("password")
        except Refused as refused:
            words = (op_session.account.login, op_session.account.email)
            messages = password_refusal_messages(refused.password_reasons, typed, words)
            errors["password"] = " ".join(messages)
    return _account_page(op_session, 400, errors=errors, open_section="password")


@bp.post("/account/email")
@recent_login_only
def email(op_session: OpSession) -> Response:
    """A new address: a confirmation link to it, a notice to the current one."""
    checked = forms.check_email(request.form.get("email"))
    error = field_message(checked.error)
    if error is None:
        try:
            request_email_change(db.session, op_session.account_id, checked.value, _settings())
            return _done("email_sent")
        except Refused:
            error = _("This is already the address of your account.")
    return _account_page(op_session, 400, errors={"email": error}, values={"email": checked.value})


@bp.get("/account/email/<token>")
def email_link(token: str) -> Response:
    """The link of the confirmation mail shows a button (a mail scanner's GET changes
    nothing)."""
    return _page("account_email_confirm.html", token=token)


@bp.post("/account/email/<token>")
def confirm_email(token: str) -> Response:
    """The address changes now."""
    try:
        address = confirm_email_change(db.session, token, _settings())
    except Refused:
        return _page("account_email_confirm.html", 410, token=None)
    return _page("account_email_confirm.html", token=None, address=address)


@bp.post("/account/customers")
@recent_login_only
def customers(op_session: OpSession) -> Response:
    """Link another customer number with its activation code."""
    number = forms.check_customer_number(request.form.get("customer_number"))
    code = forms.check_activation_code(request.form.get("activation_code"))
    values = {"customer_number": number.value, "activation_code": code.value}
    errors = {
        "customer_number": field_message(number.error),
        "activation_code": field_message(code.error),
    }
    if any(errors.values()):
        return _account_page(op_session, 400, errors=errors, values=values)
    counters = guesses()  # the registration page's counters: one budget per number
    wait = counters.wait_left(number.value)
    if wait:
        errors["link"] = wait_message(wait)
        return with_retry_after(_account_page(op_session, 429, errors=errors, values=values), wait)
    try:
        link_customer(db.session, op_session.account_id, number.value, code.value, _settings())
    except Refused as refused:
        if refused.reason is Refusal.ALREADY_LINKED:
            counters.right(number.value)
        else:
            counters.wrong(number.value)
        errors["link"] = _link_message(refused.reason)
        return _account_page(op_session, 400, errors=errors, values=values)
    counters.right(number.value)
    return _done("linked")


def _link_message(reason: Refusal) -> str:
    if reason is Refusal.ALREADY_LINKED:
        return _("This customer number is already linked to your account.")
    return customer_data_mismatch()


@bp.post("/account/sign-out")
@signed_in_only
def sign_out(op_session: OpSession) -> Response:
    """Sign one browser or one app out."""
    kind = request.form.get("kind", "")[:16]
    key = request.form.get("key", "")[:64]
    sign_out_one(db.session, op_session.account_id, kind, key)
    if key == op_session.sid:
        return _signed_out_page()
    return _done("signed_out")


@bp.post("/account/sign-out-everywhere")
@signed_in_only
def sign_out_all(op_session: OpSession) -> Response:
    """Every browser and every app, this one included (back-channel logout, revocation)."""
    sign_out_everywhere(db.session, op_session.account_id)
    return _signed_out_page(everywhere=True)


def _signed_out_page(everywhere: bool = False) -> Response:
    response = _page("account_signed_out.html", everywhere=everywhere)
    response.delete_cookie(cookie_name(_settings()), path="/")
    return response


@bp.post("/account/data")
@limiter.limit("10/hour", methods=["POST"])
@recent_login_only
def data(op_session: OpSession) -> Response:
    """GDPR art. 15 and 20: everything kept about the account, as a JSON file."""
    body = json.dumps(
        export_data(db.session, op_session.account_id, _settings()), indent=2, ensure_ascii=False
    )
    response = make_response(body, 200)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="my-customer-space.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/account/delete")
@recent_login_only
def delete(op_session: OpSession) -> Response:
    """GDPR art. 17: erase the account once the customer ticked the confirmation."""
    if request.form.get("confirm") != "yes":
        errors = {"delete": _("Tick the box to confirm that you want to delete your account.")}
        return _account_page(op_session, 400, errors=errors, open_section="delete")
    account_id = op_session.account_id
    address = delete_account(db.session, account_id, _settings())
    audit.event(Event.ACCOUNT_DELETED, account_id=account_id)
    response = _page("account_deleted.html", address=address)
    response.delete_cookie(cookie_name(_settings()), path="/")
    return response
