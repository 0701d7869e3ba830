"""The "view online" page of an activation mail (product §3.4): /mail/<signed outbox id>.

The token is signed (salt ``mail-online``) and lives as long as the registration link; the
page renders the mail's HTML part again from the outbox row, under a CSP of its own that
allows the mail's inline styles and nothing else (no script, no request anywhere).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app

from idp.extensions import db
from idp.mail.links import online_mail_id
from idp.mail.outbox import VIEW_ONLINE
from idp.mail.outbox import render_context
from idp.mail.render import render
from idp.models.base import utcnow
from idp.models.outbox import OutboxMail

bp = Blueprint("mail_online", __name__)

# A mail's HTML: inline styles only; sandboxed (opaque origin, no script, no form).
MAIL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'; sandbox allow-popups "
    "allow-popups-to-escape-sandbox"
)


def mail_html_response(html: str) -> Response:
    """A mail's HTML part as a page of its own, with the mail CSP; never cached or indexed."""
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = MAIL_CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _online_mail(token: str) -> OutboxMail | None:
    settings = current_app.config["IDP"]
    mail_id = online_mail_id(settings, token)
    mail = db.session.get(OutboxMail, mail_id) if mail_id is not None else None
    if mail is None or mail.template not in VIEW_ONLINE or mail.sent_at is None:
        return None
    expired = mail.created_at + timedelta(seconds=settings.registration_link_ttl) <= utcnow()
    return None if expired or mail.context is None else mail


@bp.get("/mail/<token>")
def show(token: str) -> Response:
    """The mail as it was sent, without its own "view online" line; 404 once expired."""
    mail = _online_mail(token)
    if mail is None:
        abort(404)
    settings = current_app.config["IDP"]
    _subject, _text, html = render(
        mail.template, mail.language, render_context(mail, settings, online=True), settings
    )
    return mail_html_response(html)
