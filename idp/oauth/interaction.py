"""THE seam between protocol and pages (node-oidc-provider's interactionDetails/Finished).

``/authorize`` saves the pending request and sends the browser to the interaction URL; a page
(login today, registration later) calls ``login_finished`` and redirects to ``resume_url``. The
grant code never knows how the user got there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from authlib.common.urls import add_params_to_uri
from flask import url_for
from sqlalchemy import update

from idp.config import Settings
from idp.extensions import db
from idp.models.account import Account
from idp.models.base import random_token
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.oauth import Client
from idp.models.op_session import Interaction

DEFAULT_CLIENT_ID = "customer-space"


# The provider's own pages that may ask for a login (node-oidc-provider's "interaction" for
# the host's own account pages): where the browser returns once logged in.
FIRST_PARTY_PATHS = ("/account",)
RETURN_TO = "return_to"


@dataclass(frozen=True)
class PendingLogin:
    """What a login page needs to know about the request waiting for it. ``client_id`` is
    None when the provider's own account page asked (a first-party interaction)."""

    uid: str
    client_id: str | None
    client_name: str | None
    login_hint: str | None
    ui_locales: list[str]


def save_pending(client_id: str, pairs: list[tuple[str, str]], settings: Settings) -> str:
    """Store an authorization request that needs the user; return its uid (caller commits)."""
    uid = random_token(24)
    db.session.add(
        Interaction(
            uid=uid,
            client_id=client_id,
            params=[list(p) for p in pairs],
            expires_at=utcnow() + timedelta(seconds=settings.interaction_ttl),
        )
    )
    return uid


def save_first_party(
    return_to: str, settings: Settings, login_hint: str | None, ui_locales: str | None
) -> str:
    """A login asked by the provider's own page ``return_to`` (one of FIRST_PARTY_PATHS): no
    client, no authorization response; the browser goes back there (caller commits)."""
    if not is_first_party_path(return_to):
        raise ValueError(f"not a first-party page: {return_to!r}")
    pairs = [(RETURN_TO, return_to)]
    pairs += [("login_hint", login_hint)] if login_hint else []
    pairs += [("ui_locales", ui_locales)] if ui_locales else []
    uid = random_token(24)
    db.session.add(
        Interaction(
            uid=uid,
            client_id=None,
            params=[list(p) for p in pairs],
            expires_at=utcnow() + timedelta(seconds=settings.interaction_ttl),
        )
    )
    return uid


def is_first_party_path(path: str) -> bool:
    """One of the provider's own pages (a path, never another origin)."""
    return any(path == p or path.startswith(p + "/") for p in FIRST_PARTY_PATHS)


def first_party_return(item: Interaction) -> str | None:
    """Where a first-party interaction returns; None for a client's authorization request."""
    if item.client_id is not None:
        return None
    target = dict(item.params_pairs()).get(RETURN_TO, "")
    return target if is_first_party_path(target) else FIRST_PARTY_PATHS[0]


def _open(uid: str) -> Interaction | None:
    if not uid or len(uid) > 64:
        return None
    item = db.session.get(Interaction, uid)
    if item is None or item.consumed_at is not None or utcnow() >= item.expires_at:
        return None
    return item


def load_pending(uid: str) -> PendingLogin | None:
    """The pending request, or None when unknown, expired or already completed."""
    item = _open(uid)
    if item is None:
        return None
    params = dict(item.params_pairs())
    client = db.session.get(Client, item.client_id) if item.client_id else None
    return PendingLogin(
        uid=uid,
        client_id=item.client_id,
        client_name=client.name if client else item.client_id,
        login_hint=params.get("login_hint"),
        ui_locales=(params.get("ui_locales") or "").split(),
    )


def interaction_url(uid: str) -> str:
    """Where the browser goes to log in for this request."""
    return url_for("login.show", uid=uid)


def resume_url(uid: str) -> str:
    """Where the browser goes once the interaction is finished."""
    return url_for("oauth.resume", uid=uid)


def login_finished(uid: str, account: Account, amr: list[str]) -> bool:
    """Record who logged in and how; False when the interaction is no longer open."""
    item = _open(uid)
    if item is None:
        return False
    item.account_id, item.login_at, item.amr = account.id, utcnow(), amr
    return True


def take_finished(uid: str) -> Interaction | None:
    """Consume a finished interaction exactly once (conditional UPDATE); None otherwise."""
    item = _open(uid)
    if item is None or item.account_id is None:
        return None
    claimed = db.session.execute(
        update(Interaction)
        .where(Interaction.uid == uid, Interaction.consumed_at.is_(None))
        .values(consumed_at=utcnow())
    )
    return item if rowcount(claimed) == 1 else None


def initiate_login_url(client: Client, issuer: str, login_hint: str | None) -> str | None:
    """OIDC Core §4 "Initiating Login from a Third Party": the client's initiate_login_uri with
    ``iss`` and ``login_hint``; None when the client registered none."""
    if not client.initiate_login_uri:
        return None
    params = {"iss": issuer, **({"login_hint": login_hint} if login_hint else {})}
    return add_params_to_uri(client.initiate_login_uri, params)


def default_client() -> Client | None:
    """The web customer space: where people go when no application sent them."""
    return db.session.get(Client, DEFAULT_CLIENT_ID)
