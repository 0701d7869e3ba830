"""Registration pages (SPEC §3.3–§3.7): e-mail → "check your mailbox" → customer data (from
the link) → login and password → "your account is created" → back to the app.

The password step is keyed by the same link token *and* bound to the browser that proved
the customer number and activation code: a signed session entry names the request and the
moment of its verification, for ``STEP_TTL`` seconds. Knowing the link alone is not enough.

Every page wears the cookie-notice gate. Parse → call a service → respond; nothing else.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from limits import parse_many
from werkzeug.wrappers import Response

from idp import forms
from idp.accounts.passwords import MAX_LENGTH
from idp.accounts.passwords import Reason
from idp.accounts.registration import Step
from idp.accounts.registration import StepResult
from idp.accounts.registration import complete_registration
from idp.accounts.registration import completed_registration
from idp.accounts.registration import done_token
from idp.accounts.registration import open_link
from idp.accounts.registration import open_password_step
from idp.accounts.registration import password_refusals
from idp.accounts.registration import start_registration
from idp.accounts.registration import submit_customer_data
from idp.config import Settings
from idp.extensions import db
from idp.extensions import limiter
from idp.mail.links import reset_link
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.oauth import Client
from idp.models.op_session import Interaction
from idp.models.registration import RegistrationRequest
from idp.oauth.interaction import default_client
from idp.oauth.interaction import initiate_login_url
from idp.oauth.interaction import load_pending
from idp.views.cookies import cookie_notice_required

bp = Blueprint("registration", __name__)
STEP_KEY = "registration_step"
STEP_TTL = 1800  # seconds between proving the customer data and choosing the password
EMAIL_KEY = "registration_email"
# Parameters of the original authorization request not carried back to /authorize.
NOT_REPLAYED = ("login_hint", "id_token_hint")


def _settings() -> Settings:
    value: Settings = current_app.config["IDP"]
    return value


def _registration_limit() -> str:
    return _settings().registration_rate_limit


def _activation_limit() -> str:
    return _settings().activation_rate_limit


def _activation_global_limit() -> str:
    return _settings().activation_global_rate_limit


def may_mail(address: str, scope: str = "registration-mail") -> bool:
    """The per-address throttle of registration mails (``registration_rate_limit``). Counted
    in the limiter's shared store without touching the response: a throttled address gets
    the same page, only no mail, so throttling reveals nothing. The store sees a hash of the
    address, never the address."""
    key = token_hash(address.strip().casefold())
    items = parse_many(_registration_limit())
    return all([limiter.limiter.hit(item, scope, key) for item in items])


def _may_alert_owner(address: str) -> bool:
    """Owner alerts count apart: strangers typing a customer number must not use up the
    owner's own registration mails."""
    return may_mail(address, "owner-alert")


def _language() -> str:
    return str(get_locale() or _settings().default_language)[:2]


def _page(template: str, status: int = 200, **context: Any) -> Response:
    return make_response(render_template(template, **context), status)


def _messages() -> dict[str, str]:
    return {
        forms.REQUIRED: _("Please fill in this field."),
        forms.EMAIL_INVALID: _("Enter an e-mail address such as name@example.be."),
        forms.CUSTOMER_NUMBER_FORMAT: _("The customer number has 10 digits and starts with 2."),
        forms.ACTIVATION_CODE_FORMAT: _("The activation code has 10 digits."),
        forms.LOGIN_INVALID: _(
            "Use 3 to 254 characters: letters without accents, digits and . _ - @ + '"
        ),
        forms.PASSWORD_MISMATCH: _("The two passwords are not the same."),
        forms.PASSWORD_TOO_LONG: _(
            "This password is too long: use at most %(max)d characters.", max=MAX_LENGTH
        ),
    }


def _message(key: str | None) -> str | None:
    return _messages()[key] if key else None


def _reason_messages() -> dict[Reason, str]:
    return {
        Reason.TOO_SHORT: _(
            "Use at least %(min)d characters. A few unrelated words make a long "
            "password that is easy to remember.",
            min=_settings().password_min_length,
        ),
        Reason.TOO_LONG: _(
            "This password is too long: use at most %(max)d characters.", max=MAX_LENGTH
        ),
        Reason.COMMON: _(
            "This password is one of the most used or leaked ones: attackers try those first."
        ),
        Reason.REPETITIVE: _(
            "This password repeats characters or follows a sequence (like "
            "aaaa or 1234): it is too easy to guess."
        ),
        Reason.CONTAINS_CONTEXT: _(
            "Do not use your login, your e-mail address or your customer number in your password."
        ),
        Reason.CONTAINS_SERVICE_NAME: _(
            "Do not use the name of our company or of this service in your password."
        ),
    }


# ---- where "back to the app" and "log in" go ---------------------------------------------


def return_url(client_id: str | None, params: list[list[str]] | None, login: str | None) -> str:
    """SPEC §3.7: the originating client's initiate_login_uri with iss and login_hint (OIDC
    Core §4); a client without one gets its original authorization request again, with the
    new login as hint; no client: the customer space."""
    settings = _settings()
    client = db.session.get(Client, client_id) if client_id else None
    if client is not None:
        target = initiate_login_url(client, settings.issuer, login)
        if target:
            return target
        if params:
            pairs = [(str(k), str(v)) for k, v in params if k not in NOT_REPLAYED]
            pairs += [("login_hint", login)] if login else []
            return url_for("oauth.authorize") + "?" + urlencode(pairs)
    fallback = default_client()
    target = initiate_login_url(fallback, settings.issuer, login) if fallback else None
    return target or url_for("login.start_login")


def _origin(uid: str) -> tuple[str | None, list[list[str]] | None]:
    """The client and the authorization request a registration starts from, if still pending."""
    pending = load_pending(uid) if uid else None
    if pending is None:
        return None, None
    g.ui_locales = pending.ui_locales
    interaction = db.session.get(Interaction, uid)
    params = [list(pair) for pair in interaction.params_pairs()] if interaction else None
    return pending.client_id, params


def _link_terms() -> dict[str, int]:
    settings = _settings()
    return {
        "max_uses": settings.registration_link_max_uses,
        "days": max(1, round(settings.registration_link_ttl / 86400)),
    }


def _dead_link() -> Response:
    """One page for every dead link: expired, used up, already used, forged."""
    return _page("dead_link.html", 410, **_link_terms())


def _already(request_row: RegistrationRequest | None) -> Response:
    """SPEC §3.5: this customer already has an account — log in or reset the password."""
    client_id = request_row.client_id if request_row else None
    params = request_row.return_params if request_row else None
    return _page(
        "activate.html",
        409,
        already=True,
        login_url=return_url(client_id, params, None),
        reset_url=reset_link(_settings()),
    )


# ---- e-mail step ---------------------------------------------------------------------------


@bp.get("/register")
@cookie_notice_required
def start() -> Response:
    """The e-mail field; ``uid`` is the pending authorization this registration comes from."""
    uid = request.args.get("uid", "")[:64]
    client_id, _params = _origin(uid)
    return _page("register_email.html", uid=uid if client_id else "", email="", error=None)


def _accepted(response: Response) -> bool:
    return response.status_code == 303


@bp.post("/register")
@limiter.limit(_registration_limit, methods=["POST"], deduct_when=_accepted)
@cookie_notice_required
def submit_email() -> Response:
    """Always the same answer: a redirect to "check your mailbox". The per-IP limit counts
    accepted addresses (mails), not typing mistakes."""
    uid = request.form.get("uid", "")[:64]
    client_id, params = _origin(uid)
    email = forms.check_email(request.form.get("email"))
    if email.error:
        return _page(
            "register_email.html",
            400,
            uid=uid if client_id else "",
            email=email.value,
            error=_message(email.error),
        )
    if may_mail(email.value):
        start_registration(
            db.session,
            email.value,
            language=_language(),
            settings=_settings(),
            client_id=client_id,
            return_params=params,
        )
    session[EMAIL_KEY] = email.value
    return redirect(url_for(".sent"), code=303)


@bp.get("/register/sent")
@cookie_notice_required
def sent() -> Response:
    """SPEC §3.3: check your mailbox (whatever the address was)."""
    return _page("register_sent.html", email=session.get(EMAIL_KEY, ""), **_link_terms())


# ---- customer-data step --------------------------------------------------------------------


def _activate_page(
    token: str, row: RegistrationRequest, status: int = 200, **context: Any
) -> Response:
    context.setdefault("values", {})
    context.setdefault("errors", {})
    context.setdefault("error", None)
    return _page(
        "activate.html",
        status,
        token=token,
        email=row.email,
        already=False,
        login_url=return_url(row.client_id, row.return_params, None),
        **context,
    )


@bp.get("/register/<token>")
@cookie_notice_required
def customer_data(token: str) -> Response:
    """SPEC §3.5, opened from the mail. Shows the form; counts nothing (GET and HEAD)."""
    row = open_link(db.session, token, _settings())
    if row is None:
        return _dead_link()
    return _activate_page(token, row)


@bp.post("/register/<token>")
@limiter.limit(_activation_limit, methods=["POST"])
@limiter.limit(_activation_global_limit, key_func=lambda: "global", methods=["POST"])
@cookie_notice_required
def submit_customer_data_page(token: str) -> Response:
    """One use of the link when both fields are well-formed; a wrong number or code gets one
    generic message."""
    settings = _settings()
    row = open_link(db.session, token, settings)
    if row is None:
        return _dead_link()
    number = forms.check_customer_number(request.form.get("customer_number"))
    code = forms.check_activation_code(request.form.get("activation_code"))
    values = {"customer_number": number.value, "activation_code": code.value}
    if number.error or code.error:
        errors = {
            "customer_number": _message(number.error),
            "activation_code": _message(code.error),
        }
        return _activate_page(token, row, 400, values=values, errors=errors)
    result = submit_customer_data(
        db.session, token, number.value, code.value, settings, may_mail=_may_alert_owner
    )
    return _after_customer_data(token, result, values)


def _after_customer_data(token: str, result: StepResult, values: dict[str, str]) -> Response:
    row = db.session.get(RegistrationRequest, result.request_id) if result.request_id else None
    if result.step is Step.VERIFIED:
        session[STEP_KEY] = [result.request_id, result.verified_at]
        return redirect(url_for(".password", token=token), code=303)
    if result.step is Step.ALREADY_ACTIVATED:
        return _already(row)
    if (
        row is None
        or result.step is Step.DEAD_LINK
        or (result.step is Step.WRONG and result.uses_left <= 0)
    ):
        return _dead_link()
    if result.step is Step.LOCKED:
        message = _(
            "Too many wrong activation codes were entered for this customer number: its "
            "code is blocked. Contact us to receive a new one."
        )
    else:
        message = _(
            "This customer number and activation code do not match. Check them on "
            "your latest invoice."
        )
    return _activate_page(token, row, 400, values=values, error=message, uses_left=result.uses_left)


# ---- login and password step ---------------------------------------------------------------


def _verified_here(token: str) -> RegistrationRequest | None:
    """The request, when this browser proved its customer data less than STEP_TTL ago."""
    row = open_password_step(db.session, token, _settings())
    if row is None or row.verified_at is None:
        return None
    verified = int(row.verified_at.timestamp())
    if session.get(STEP_KEY) != [row.id, verified]:
        return None
    if utcnow().timestamp() - verified > STEP_TTL:
        return None
    return row


def _not_verified_here(token: str) -> Response:
    if open_link(db.session, token, _settings()) is not None:
        return redirect(url_for(".customer_data", token=token), code=303)
    return _dead_link()


def _password_page(
    token: str, row: RegistrationRequest, status: int = 200, **context: Any
) -> Response:
    context.setdefault("login", row.email)
    context.setdefault("errors", {})
    context.setdefault("reasons", [])
    return _page(
        "choose_password.html",
        status,
        token=token,
        min_length=_settings().password_min_length,
        max_length=MAX_LENGTH,
        **context,
    )


@bp.get("/register/<token>/password")
@cookie_notice_required
def password(token: str) -> Response:
    """SPEC §3.6: the login (pre-filled with the e-mail), the password and its confirmation."""
    row = _verified_here(token)
    if row is None:
        return _not_verified_here(token)
    return _password_page(token, row)


@bp.post("/register/<token>/password")
@cookie_notice_required
def submit_password(token: str) -> Response:
    """Create the account (one transaction) and show the confirmation."""
    row = _verified_here(token)
    if row is None:
        return _not_verified_here(token)
    login = forms.check_login(request.form.get("login"))
    typed = request.form.get("password", "")
    password_error, confirm_error = forms.check_new_password(typed, request.form.get("confirm"))
    errors = {
        "login": _message(login.error),
        "password": _message(password_error),
        "confirm": _message(confirm_error),
    }
    if any(errors.values()):
        # Say everything at once: a mistyped confirmation does not hide a refused password.
        refused = (
            []
            if password_error
            else password_refusals(db.session, row, login.value, typed, _settings())
        )
        texts = _reason_messages()
        return _password_page(
            token, row, 400, login=login.value, errors=errors, reasons=[texts[r] for r in refused]
        )
    result = complete_registration(
        db.session,
        token,
        login=login.value,
        password=typed,
        language=_language(),
        settings=_settings(),
    )
    return _after_password(token, row, result, login.value)


def _after_password(
    token: str, row: RegistrationRequest, result: StepResult, login: str
) -> Response:
    if result.step is Step.CREATED and result.request_id is not None:
        session.pop(STEP_KEY, None)
        session.pop(EMAIL_KEY, None)
        return redirect(url_for(".done", t=done_token(_settings(), result.request_id)), code=303)
    if result.step is Step.DEAD_LINK:
        return _dead_link()
    if result.step is Step.ALREADY_ACTIVATED:
        return _already(db.session.get(RegistrationRequest, result.request_id))
    if result.step is Step.LOGIN_TAKEN:
        errors = {"login": _("This login is already taken. Choose another one.")}
        return _password_page(token, row, 400, login=login, errors=errors)
    texts = _reason_messages()
    reasons = [texts[r] for r in result.reasons] or [
        _("This password cannot be used. Choose another one.")
    ]
    return _password_page(token, row, 400, login=login, reasons=reasons)


# ---- confirmation --------------------------------------------------------------------------


@bp.get("/register/done")
@cookie_notice_required
def done() -> Response:
    """SPEC §3.7: "your account is created" and "back to the app"."""
    completed = completed_registration(db.session, request.args.get("t", ""), _settings())
    if completed is None:
        abort(404)
    target = return_url(completed.client_id, completed.return_params, completed.login)
    return _page("confirmation.html", login=completed.login, return_url=target)
