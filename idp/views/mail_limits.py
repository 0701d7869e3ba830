"""The mail budgets the pages share (per address, per IP), read from Settings at call time.

``allow_mail`` is the one per-address mail budget (registration, recovery, owner alerts): a
throttled address gets the same page, only no mail, so throttling reveals nothing. Imports
idp.extensions (the limiter) and idp.models.account (how addresses compare).
"""

from __future__ import annotations

from flask import current_app
from limits import parse_many

from idp.extensions import limiter
from idp.models.account import normalise_email
from idp.models.base import token_hash


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
    items = parse_many(mail_limit())
    if not all(limiter.limiter.test(item, scope, key) for item in items):
        return False
    return all([limiter.limiter.hit(item, scope, key) for item in items])
