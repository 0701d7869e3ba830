"""Registration, the e-mail step (product §3.3): the address form and "check your mailbox".

Imports idp.accounts.registration, idp.forms, idp.oauth.interaction and idp.views helpers.
"""

from __future__ import annotations

from flask import g
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from werkzeug.wrappers import Response

from idp import audit
from idp import forms
from idp.accounts.registration import start_registration
from idp.audit import Event
from idp.extensions import db
from idp.extensions import limiter
from idp.oauth.interaction import PendingLogin
from idp.oauth.interaction import load_pending
from idp.views.cookies import cookie_notice_required
from idp.views.mail_limits import allow_mail
from idp.views.mail_limits import mail_limit
from idp.views.messages import field_message
from idp.views.rate_limits import form_again
from idp.views.registration.pages import EMAIL_KEY
from idp.views.registration.pages import bp
from idp.views.registration.pages import language
from idp.views.registration.pages import link_terms
from idp.views.registration.pages import page
from idp.views.registration.pages import remember_origin
from idp.views.registration.pages import settings


def _origin(uid: str) -> PendingLogin | None:
    """The pending authorization a registration starts from, if still open (its ui_locales
    then choose the language)."""
    pending = load_pending(uid) if uid else None
    if pending is not None:
        g.ui_locales = pending.ui_locales
    return pending


@bp.get("/register")
@cookie_notice_required
def start() -> Response:
    """The e-mail field; ``uid`` is the pending authorization this registration comes from."""
    uid = request.args.get("uid", "")[:64]
    pending = _origin(uid)
    remember_origin(pending)
    return page(
        "register_email.html", uid=uid if pending else "", pending=pending, email="", error=None
    )


def _accepted(response: Response) -> bool:
    return response.status_code == 303


def _email_form_again(message: str) -> Response | None:
    """The e-mail step again, the address kept, with the wait."""
    uid = request.form.get("uid", "")[:64]
    pending = _origin(uid)
    return page(
        "register_email.html",
        429,
        uid=uid if pending else "",
        pending=pending,
        email=request.form.get("email", "")[:254],
        error=message,
    )


@bp.post("/register")
@limiter.limit(
    mail_limit, methods=["POST"], deduct_when=_accepted, on_breach=form_again(_email_form_again)
)
@cookie_notice_required
def submit_email() -> Response:
    """Always the same answer: a redirect to "check your mailbox". The per-IP limit counts
    accepted addresses (mails), not typing mistakes."""
    uid = request.form.get("uid", "")[:64]
    pending = _origin(uid)
    email = forms.check_email(request.form.get("email"))
    if email.error:
        return page(
            "register_email.html",
            400,
            uid=uid if pending else "",
            pending=pending,
            email=email.value,
            error=field_message(email.error),
        )
    if allow_mail(email.value, "registration-mail"):
        start_registration(
            db.session,
            email.value,
            language=language(),
            settings=settings(),
            client_id=pending.client_id if pending else None,
            return_params=pending.params if pending else None,
        )
        client_id = pending.client_id if pending else None
        audit.event(Event.REGISTRATION_STARTED, client_id=client_id, email=email.value)
    session[EMAIL_KEY] = email.value
    return redirect(url_for(".sent"), code=303)


@bp.get("/register/sent")
@cookie_notice_required
def sent() -> Response:
    """product §3.3: check your mailbox (whatever the address was)."""
    return page("register_sent.html", email=session.get(EMAIL_KEY, ""), **link_terms())
