"""Registration, the customer-data step (product §3.5), opened from the activation link: the
customer number and activation code; a use of the link when both are well-formed.

Imports idp.accounts.registration, idp.forms and idp.views helpers.
"""

from __future__ import annotations

from typing import Any

from flask import redirect
from flask import request
from flask import session
from flask import url_for
from werkzeug.wrappers import Response

from idp import audit
from idp import forms
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.accounts.registration import open_link
from idp.accounts.registration import submit_customer_data
from idp.audit import Event
from idp.extensions import db
from idp.extensions import limiter
from idp.models.registration import RegistrationRequest
from idp.views.code_guesses import guesses
from idp.views.code_guesses import wait_message
from idp.views.code_guesses import with_retry_after
from idp.views.cookies import cookie_notice_required
from idp.views.mail_limits import allow_mail
from idp.views.messages import customer_data_mismatch
from idp.views.messages import field_message
from idp.views.rate_limits import form_again
from idp.views.registration.pages import STEP_KEY
from idp.views.registration.pages import already_activated
from idp.views.registration.pages import bp
from idp.views.registration.pages import dead_link
from idp.views.registration.pages import login_url
from idp.views.registration.pages import page
from idp.views.registration.pages import settings


def _activation_limit() -> str:
    return settings().activation_rate_limit


def _may_alert_owner(address: str) -> bool:
    """Owner alerts count apart: strangers typing a customer number must not use up the
    owner's own registration mails."""
    return allow_mail(address, "owner-alert")


def _activate_page(
    token: str, row: RegistrationRequest, status: int = 200, **context: Any
) -> Response:
    context.setdefault("values", {})
    context.setdefault("errors", {})
    context.setdefault("error", None)
    return page(
        "activate.html",
        status,
        token=token,
        email=row.email,
        already=False,
        login_url=login_url(row),
        **context,
    )


@bp.get("/register/<token>")
@cookie_notice_required
def customer_data(token: str) -> Response:
    """product §3.5, opened from the mail. Shows the form; counts nothing (GET and HEAD)."""
    return _activate_page(token, open_link(db.session, token, settings()))


def _customer_form_again(message: str) -> Response | None:
    """The customer-data step again, what was typed kept, with the wait (nothing counted)."""
    token = str((request.view_args or {}).get("token", ""))
    try:
        row = open_link(db.session, token, settings())
    except Refused:
        return None
    values = {
        "customer_number": request.form.get("customer_number", "")[:64],
        "activation_code": request.form.get("activation_code", "")[:64],
    }
    return _activate_page(token, row, 429, values=values, error=message)


@bp.post("/register/<token>")
@limiter.limit(_activation_limit, methods=["POST"], on_breach=form_again(_customer_form_again))
@cookie_notice_required
def submit_customer_data_page(token: str) -> Response:
    """One use of the link when both fields are well-formed; a wrong number or code gets one
    generic message."""
    row = open_link(db.session, token, settings())
    number = forms.check_customer_number(request.form.get("customer_number"))
    code = forms.check_activation_code(request.form.get("activation_code"))
    values = {"customer_number": number.value, "activation_code": code.value}
    if number.error or code.error:
        errors = {
            "customer_number": field_message(number.error),
            "activation_code": field_message(code.error),
        }
        return _activate_page(token, row, 400, values=values, errors=errors)
    counters = guesses()
    wait = counters.wait_left(number.value)
    if wait:  # issue #8 finding 8: before the code is checked; the link's use is kept
        audit.event(Event.THROTTLED, client_id=row.client_id, reason="activation_code_wait")
        waiting = _activate_page(token, row, 429, values=values, error=wait_message(wait))
        return with_retry_after(waiting, wait)
    try:
        verified = submit_customer_data(
            db.session, token, number.value, code.value, settings(), may_mail=_may_alert_owner
        )
    except Refused as refused:
        if refused.reason in (Refusal.WRONG_CUSTOMER_DATA, Refusal.LOCKED):
            audit.event(Event.ACTIVATION_FAILED, client_id=row.client_id, reason=refused.reason)
            counters.wrong(number.value)
        elif refused.reason is Refusal.ALREADY_ACTIVATED:
            counters.right(number.value)
        return _refused_page(token, row, refused, values)
    counters.right(number.value)
    audit.event(Event.ACTIVATION_SUCCEEDED, client_id=row.client_id)
    session[STEP_KEY] = [verified.request_id, verified.verified_at]
    return redirect(url_for(".password", token=token), code=303)


def _refused_page(
    token: str, row: RegistrationRequest, refused: Refused, values: dict[str, str]
) -> Response:
    uses_left = refused.uses_left or 0
    if refused.reason is Refusal.ALREADY_ACTIVATED:
        return already_activated(row)
    if refused.reason is Refusal.DEAD_LINK:
        return dead_link()
    if uses_left <= 0:  # WRONG_CUSTOMER_DATA or LOCKED: the same dead end
        return dead_link(wrong_code=True)
    # WRONG_CUSTOMER_DATA and LOCKED: one answer (issue #8 finding 2).
    message = customer_data_mismatch()
    return _activate_page(token, row, 400, values=values, error=message, uses_left=uses_left)
