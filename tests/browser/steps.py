"""What several browser tests share: the demo customers to register, one per language, and
the links the provider mailed (read from the outbox table: the mail worker is off in tests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from idp.extensions import db
from idp.models.outbox import OutboxMail

# One not-yet-activated demo customer per language (README, "Demo data").
JOURNEYS = {
    "fr": {
        "browser": "fr-BE",
        "email": "sophie.lambert@example.be",
        "number": "2000000034",
        "code": "4815162342",
        "password": "Kangourou sur la plage 77",
    },
    "nl": {
        "browser": "nl-BE",
        "email": "jan.peeters@example.be",
        "number": "2000000042",
        "code": "2718281828",
        "password": "Fietsen langs het kanaal 58",
    },
    "en": {
        "browser": "en-GB",
        "email": "oliver.smith@example.be",
        "number": "2000000067",
        "code": "1732050807",
        "password": "Marmalade under the bridge 31",
    },
    "de": {
        "browser": "de-BE",
        "email": "emma.schmitz@example.be",
        "number": "2000000059",
        "code": "1414213562",
        "password": "Schwalben über dem Rhein 64",
    },
}


def outbox_link(app: Any, template: str, to: str, key: str = "link") -> str:
    """The link of the newest ``template`` mail to ``to``, from the outbox table."""
    with app.app_context():
        mail = db.session.scalars(
            select(OutboxMail)
            .where(OutboxMail.template == template, OutboxMail.to_address == to)
            .order_by(OutboxMail.id.desc())
        ).first()
        assert mail is not None, f"no {template} mail to {to} in the outbox"
        return str(mail.context[key])
