"""Registration, the last steps (product §3.6–§3.7): login and password, then "your account is
created" and "back to the app".

The password step is keyed by the link token *and* bound to the browser that proved the
customer number and activation code: a signed session entry names the request and the moment
of its verification, for ``STEP_TTL`` seconds. Knowing the link alone is not enough.

Imports idp.accounts.account_creation, idp.forms, idp.oauth.interaction and idp.views helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp import audit
from idp import forms
from idp.accounts.account_creation import complete_registration
from idp.accounts.account_creation import completed_registration
from idp.accounts.account_creation import done_token
from idp.accounts.account_creation import open_password_step
from idp.accounts.account_creation import password_refusals
from idp.accounts.login import find_account_by_login
from idp.accounts.passwords import MAX_LENGTH
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.accounts.registration import open_link
from idp.audit import Event
from idp.extensions import db
from idp.models.base import utcnow
from idp.models.registration import RegistrationRequest
from idp.oauth.interaction import after_registration_url
from idp.oauth.interaction import load_pending
from idp.oauth.interaction import login_finished
from idp.oauth.interaction import resume_url
from idp.views.cookies import cookie_notice_required
from idp.views.messages import field_message
from idp.views.messages import password_refusal_messages
from idp.views.messages import password_unusable_message
from idp.views.registration.pages import EMAIL_KEY
from idp.views.registration.pages import ORIGIN_KEY
from idp.views.registration.pages import STEP_KEY
from idp.views.registration.pages import STEP_TTL
from idp.views.registration.pages import already_activated
from idp.views.registration.pages import bp
from idp.views.registration.pages import language
from idp.views.registration.pages import page
from idp.views.registration.pages import settings


def _verified_here(token: str) -> RegistrationRequest | None:
    """The request, when this browser proved its customer data less than STEP_TTL ago."""
    try:
        row = open_password_step(db.session, token, settings())
    except Refused:
        return None
    verified = int(row.verified_at.timestamp()) if row.verified_at else None
    if verified is None or session.get(STEP_KEY) != [row.id, verified]:
        return None
    if utcnow().timestamp() - verified > STEP_TTL:
        return None
    return row


def _back_to_customer_data(token: str) -> Response:
    """Not verified in this browser: the customer-data page, while the link allows it (a dead
    link raises, and gets the dead-link page)."""
    open_link(db.session, token, settings())
    return redirect(url_for(".customer_data", token=token), code=303)


def _password_page(
    token: str, row: RegistrationRequest, status: int = 200, **context: Any
) -> Response:
    context.setdefault("login", row.email)
    context.setdefault("errors", {})
    context.setdefault("reasons", [])
    return page(
        "choose_password.html",
        status,
        token=token,
        min_length=settings().password_min_length,
        max_length=MAX_LENGTH,
        **context,
    )


def _verified_only(
    view: Callable[[str, RegistrationRequest], Response],
) -> Callable[[str], Response]:
    """The step's views run only for the browser that proved the customer data; any other
    goes back to the customer-data page (or the dead-link page)."""

    @wraps(view)
    def guarded(token: str) -> Response:
        row = _verified_here(token)
        return _back_to_customer_data(token) if row is None else view(token, row)

    return guarded


@bp.get("/register/<token>/password")
@cookie_notice_required
@_verified_only
def password(token: str, row: RegistrationRequest) -> Response:
    """product §3.6: the login (pre-filled with the e-mail), the password and its confirmation."""
    return _password_page(token, row)


@bp.post("/register/<token>/password")
@cookie_notice_required
@_verified_only
def submit_password(token: str, row: RegistrationRequest) -> Response:
    """Create the account (one transaction) and show the confirmation."""
    login = forms.check_login(request.form.get("login"))
    typed = request.form.get("password", "")
    password_error, confirm_error = forms.check_new_password(typed, request.form.get("confirm"))
    errors = {
        "login": field_message(login.error),
        "password": field_message(password_error),
        "confirm": field_message(confirm_error),
    }
    if any(errors.values()):
        # Say everything at once: a mistyped confirmation does not hide a refused password.
        refused = (
            []
            if password_error
            else password_refusals(db.session, row, login.value, typed, settings())
        )
        reasons = password_refusal_messages(refused, typed, (login.value, row.email))
        return _password_page(token, row, 400, login=login.value, errors=errors, reasons=reasons)
    try:
        created = complete_registration(
            db.session,
            token,
            login=login.value,
            password=typed,
            language=language(),
            settings=settings(),
        )
    except Refused as refused:
        return _refused_page(token, row, refused, login.value, typed)
    audit.event(Event.ACCOUNT_CREATED, client_id=row.client_id, email=row.email)
    session.pop(STEP_KEY, None)
    session.pop(EMAIL_KEY, None)
    _log_in_for_the_client(created.login)
    return redirect(url_for(".done", t=done_token(settings(), created.request_id)), code=303)


def _log_in_for_the_client(login: str) -> None:
    """``prompt=create`` from this browser: the new account is the login of that authorization
    request, answered when the customer taps "back to the app" (Initiating User Registration
    via OpenID Connect 1.0 §4.1: the account created, the requested tokens to the client)."""
    uid = session.get(ORIGIN_KEY)
    account = find_account_by_login(db.session, login) if uid else None
    if uid and account is not None and login_finished(uid, account, ["pwd"]):
        db.session.commit()
    else:
        session.pop(ORIGIN_KEY, None)


def _refused_page(
    token: str, row: RegistrationRequest, refused: Refused, login: str, typed: str
) -> Response:
    if refused.reason is Refusal.DEAD_LINK:
        raise refused
    if refused.reason is Refusal.ALREADY_ACTIVATED:
        return already_activated(row)
    if refused.reason is Refusal.LOGIN_TAKEN:
        errors = {"login": _("This login is already taken. Choose another one.")}
        return _password_page(token, row, 400, login=login, errors=errors)
    reasons = password_refusal_messages(refused.password_reasons, typed, (login, row.email)) or [
        password_unusable_message()
    ]
    return _password_page(token, row, 400, login=login, reasons=reasons)


@bp.get("/register/done")
@cookie_notice_required
def done() -> Response:
    """product §3.7: "your account is created" and "back to the app"."""
    try:
        completed = completed_registration(db.session, request.args.get("t", ""), settings())
    except Refused:
        abort(404)
    uid = session.pop(ORIGIN_KEY, None)
    pending = load_pending(uid) if uid else None
    if pending is not None and pending.client_id == completed.client_id:
        target = resume_url(pending.uid)  # the authorization response, logged in
    else:
        target = after_registration_url(
            completed.client_id, completed.return_params, completed.login
        )
    return page("confirmation.html", login=completed.login, return_url=target)
