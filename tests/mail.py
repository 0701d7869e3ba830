"""Mail test helpers: a real SMTP server on loopback (aiosmtpd) whose inbox records every
message and can be made slow or run a hook on each one (fault injection), and outbox rows
added and read as a service would."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import datetime
from email import message_from_bytes
from email import policy
from typing import Any

from aiosmtpd.controller import Controller

from idp.extensions import db
from idp.mail.links import login_link
from idp.mail.outbox import enqueue
from idp.models.base import utcnow
from idp.models.outbox import OutboxMail

TO = "klant@example.be"


def free_port() -> int:
    """A loopback port nobody listens on (the OS just handed it out)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """aiosmtpd handler: keeps every accepted envelope and when it arrived; refuses recipients
    starting with ``refused``. ``on_data(envelope)`` runs once a message is received and
    before the server answers 250; ``delay`` seconds pass before that answer (a slow server)."""

    def __init__(self, delay: float = 0.0, on_data: Callable[[Any], None] | None = None) -> None:
        self.envelopes: list = []
        self.arrived_at: list[datetime] = []
        self.delay, self.on_data = delay, on_data

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.arrived_at.append(utcnow())
        if self.on_data is not None:
            self.on_data(envelope)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def messages(self):
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages()]


def start_smtp(
    port: int, inbox: Inbox | None = None, **smtp_parameters
) -> tuple[Controller, Inbox]:
    """Serve ``inbox`` (a new one by default) on 127.0.0.1:``port``."""
    inbox = inbox or Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_parameters)
    controller.start()
    return controller, inbox


def add_mail(app, template: str = "forgot_login", to: str = TO, language: str = "nl") -> int:
    """Enqueue one mail and commit, as a service would; its outbox id."""
    settings = app.config["IDP"]
    contexts = {
        "forgot_login": {"login": "jan.peeters", "login_link": login_link(settings, "jan.peeters")},
        "activation": {"link": f"{settings.issuer}/register/tok3n"},
    }
    with app.app_context():
        mail = enqueue(
            db.session, to=to, template=template, language=language, context=contexts[template]
        )
        db.session.commit()
        return mail.id


def row(app, mail_id: int) -> OutboxMail:
    """The outbox row as the database has it now, detached."""
    with app.app_context():
        mail = db.session.get(OutboxMail, mail_id)
        db.session.expunge(mail)
        db.session.remove()
        return mail
