"""The mail budgets the pages share (per address, per IP), read from Settings at call time.

``allow_mail`` is the one per-address mail budget (registration, recovery, owner alerts): a
throttled address gets the same page, only no mail, so throttling reveals nothing. Imports
idp.extensions and idp.ratelimit (the limiter's store, safe when Redis fails) and
idp.models.account (how addresses compare).
"""

from __future__ import annotations

from flask import current_app

from idp.extensions import limiter
from idp.models.account import normalise_email
from idp.models.base import token_hash
from idp.ratelimit import has_room
from idp.ratelimit import spend


def mail_limit() -> str:
    """Mails allowed per address and per client IP (``registration_rate_limit``)."""
    return str(current_app.config["IDP"].registration_rate_limit)


def allow_mail(address: str, scope: str) -> bool:
    """Count one mail to ``address`` in ``scope``; False when any of its limits is spent
    (then nothing is counted and nothing should be sent). The limiter's shared store sees a
    hash of the address, never the address."""
    if not limiter.enabled:
        return True
    key = token_hash(normalise_email(address))
    if not has_room(mail_limit(), scope, key):
        return False
    return spend(mail_limit(), scope, key)
