"""Development mail viewer: /_dev/mail lists what the directory transport delivered, newest
first; /_dev/mail/<name> shows both parts (the HTML escaped) and /_dev/mail/<name>/html the
HTML part alone, sandboxed. Everything here is 404 unless IDP_ENV=development.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import render_template

from idp.extensions import db
from idp.mail.outbox import count_by_state
from idp.mail.transports import StoredMail
from idp.mail.transports import directory_transport
from idp.views.mail_online import mail_html_response

LINK = re.compile(r"https?://[^\s<>\"']+")
bp = Blueprint("dev_mail", __name__)
SHOWN = 200


@bp.before_request
def development_only() -> None:
    """The viewer does not exist outside development."""
    if not current_app.config["IDP"].is_development:
        abort(404)


def _stored(name: str) -> StoredMail:
    stored = directory_transport(current_app.config["IDP"]).read(name)
    if stored is None:
        abort(404)
    return stored


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return ""
    return str(part.get_content())


@bp.get("/_dev/mail")
def index() -> str:
    """Delivered mails, newest first, and how many are still waiting or given up on."""
    transport = directory_transport(current_app.config["IDP"])
    mails = [m for m in (transport.read(n) for n in transport.names()[:SHOWN]) if m]
    return render_template(
        "dev/mail_list.html",
        mails=mails,
        directory=transport.directory,
        counts=count_by_state(db.session),
    )


@bp.get("/_dev/mail/<name>")
def detail(name: str) -> str:
    """Headers, the text part, and the HTML part as source."""
    stored = _stored(name)
    text = _part(stored.message, "plain")
    return render_template(
        "dev/mail_detail.html",
        mail=stored,
        text=text,
        html=_part(stored.message, "html"),
        links=list(dict.fromkeys(LINK.findall(text))),  # a tap away on a phone
    )


@bp.get("/_dev/mail/<name>/html")
def html(name: str) -> Response:
    """The HTML part rendered, under the sandboxing mail CSP."""
    return mail_html_response(_part(_stored(name).message, "html"))
