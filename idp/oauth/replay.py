"""Single-use identifiers (a client assertion's or a DPoP proof's ``jti``), remembered in the
rate-limit store (memory in development, Redis shared by every host in production) for as long
as the token carrying them could be accepted. Imports flask-limiter's store and idp.throttle."""

from __future__ import annotations

import logging

from idp.extensions import limiter
from idp.throttle import subject_key

log = logging.getLogger(__name__)


class ReplayStoreError(RuntimeError):
    """The store could not be asked: the caller refuses the token (fail closed)."""


def first_use(scope: str, value: str, ttl: int) -> bool:
    """True the first time ``value`` is seen in ``scope`` within ``ttl`` seconds (RFC 7523 §3
    ``jti``, RFC 9449 §11.1); the store's increment is atomic, so of parallel uses one wins."""
    key = f"idp-jti/{scope}/{subject_key(value)}"
    try:
        return bool(limiter.limiter.storage.incr(key, ttl) == 1)
    except Exception as exc:  # noqa: BLE001 - any store failure refuses the token
        log.warning("replay store unavailable: %s", type(exc).__name__)
        raise ReplayStoreError(str(exc)) from None
