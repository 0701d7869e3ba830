"""OIDC Back-Channel Logout 1.0: the logout token (§2.4) and its delivery (§2.5).

Ending an OP session queues one ``LogoutNotification`` per client that took part in it
(idp/models/logout.py, same transaction). Here they are the logout queue of idp/delivery.py:
each due row is claimed, its token signed and POSTed outside any database transaction, then
marked sent or retried with backoff, so a receiver that is down loses nothing and never delays
the user. The worker process (``flask idp worker``, idp/worker.py) and ``flask idp logout
deliver`` run it. Imports idp.delivery(_admin), idp.models, idp.keys, idp.config and httpx.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import partial
from typing import Any
from typing import Unpack

import httpx

from idp import audit
from idp import delivery_admin
from idp.audit import Event
from idp.config import Settings
from idp.delivery import DeliveryError
from idp.delivery import DeliveryResult
from idp.delivery import RoundOptions
from idp.delivery import deliver_due
from idp.keys import Keyring
from idp.models.base import DbSession
from idp.models.logout import LogoutNotification
from idp.models.oauth import Client
from idp.oauth import context

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_TTL = 120  # seconds; §2.4 recommends "at most two minutes" for exp
TIMEOUT = 5.0  # seconds per POST; the receiver answers at once (§2.8)
BACKOFF = (10, 30, 60, 300, 900, 3600, 3 * 3600)  # wait before attempt 2, 3, …
MAX_ATTEMPTS = len(BACKOFF) + 1


def logout_token(
    item: LogoutNotification, client: Client, keyring: Keyring, settings: Settings
) -> str:
    """Sign the logout token for ``client`` (§2.4): typed ``logout+jwt``, with ``sub``, ``sid``,
    ``jti``, the back-channel event, a short ``exp``, and never a ``nonce``."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + TOKEN_TTL,
        "jti": item.jti,
        "sub": item.sub,
        "sid": item.sid,
        "events": {EVENT: {}},
    }
    alg = client.id_token_signed_response_alg or "RS256"  # §2.4: as the client's ID tokens
    return keyring.sign_jwt(claims, alg=alg, typ="logout+jwt")


def post_logout_token(uri: str, token: str) -> str | None:
    """POST ``logout_token`` as a form (§2.5); None on success, else why it failed.

    200 is success, and 204 too (§2.8 warns that frameworks send it for an empty 200).
    Redirects are not followed: the registered URI is the only one we talk to.
    """
    try:
        response = httpx.post(
            uri, data={"logout_token": token}, timeout=TIMEOUT, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if response.status_code in (200, 204):
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"[:500]


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failed ones: 10 s, 30 s, 1 min … 3 h."""
    return timedelta(seconds=BACKOFF[min(attempts, len(BACKOFF)) - 1])


def deliver_pending(session: DbSession, **options: Unpack[RoundOptions]) -> DeliveryResult:
    """POST the due logout tokens through idp.delivery: each marked sent at once, retried
    with backoff, given up after MAX_ATTEMPTS; never raises for a receiver's failure
    (database errors do escape)."""
    settings = context.settings()
    send = partial(_post_notification, session, context.keyring(), settings)
    lease = timedelta(seconds=settings.delivery_lease)
    return deliver_due(
        session,
        LogoutNotification,
        send,
        backoff,
        max_attempts=MAX_ATTEMPTS,
        lease=lease,
        **options,
    )


def _post_notification(
    session: DbSession, keyring: Keyring, settings: Settings, item: LogoutNotification
) -> None:
    """Sign and POST one logout token, with no transaction open while the receiver answers."""
    client = session.get(Client, item.client_id)
    uri = client.backchannel_logout_uri if client is not None else None
    token = logout_token(item, client, keyring, settings) if client and uri else ""
    session.rollback()
    if not uri:
        audit.event(Event.BACKCHANNEL_FAILED, client_id=item.client_id, reason="no_uri")
        raise DeliveryError("client has no backchannel_logout_uri")
    error = post_logout_token(uri, token)
    if error is not None:
        audit.event(Event.BACKCHANNEL_FAILED, client_id=item.client_id, reason="post_failed")
        raise DeliveryError(error)


def purge_finished(session: DbSession, older_than: timedelta) -> int:
    """Delete notifications sent or given up on before ``older_than`` ago; return how many."""
    count = delivery_admin.purge_finished(session, LogoutNotification, older_than)
    session.commit()
    return count
