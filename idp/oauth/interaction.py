"""THE seam between protocol and pages (node-oidc-provider's interactionDetails/Finished).

``/authorize`` saves the pending request and sends the browser to the interaction URL (the
``interaction_url`` setting, node-oidc-provider's ``interactions.url``); a page calls
``login_finished`` and redirects to ``resume_url``. The grant code never knows how the user got
there, and pages never read ``Interaction`` rows nor build protocol URLs: ``load_pending``
tells them what they need, ``after_registration_url`` and ``start_login_url`` where to go.

Imports idp.models, idp.config and authlib's URL helper; the views import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from flask import current_app
from flask import url_for
from sqlalchemy import update

from idp.config import Settings
from idp.extensions import db
from idp.models.account import Account
from idp.models.base import random_token
from idp.models.base import rowcount
from idp.models.base import utcnow
from idp.models.interaction import Interaction
from idp.models.oauth import Client

# Parameters of the original authorization request not replayed after a registration.
NOT_REPLAYED = ("login_hint", "id_token_hint")


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
    params: list[list[str]]  # the authorization request, opaque to pages (kept by registrations)

    @property
    def wants_registration(self) -> bool:
        """``prompt=create``: the client asked for the account creation pages first
        (Initiating User Registration via OpenID Connect 1.0 §4.1)."""
        prompt = next((value for name, value in self.params if name == "prompt"), "")
        return self.client_id is not None and "create" in prompt.split()


def save_pending(client_id: str, pairs: list[tuple[str, str]], settings: Settings) -> str:
    """Store an authorization request that needs the user; return its uid (caller commits)."""
    return _save(client_id, pairs, settings)


def _save(client_id: str | None, pairs: list[tuple[str, str]], settings: Settings) -> str:
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
    return _save(None, pairs, settings)


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
        params=[list(pair) for pair in item.params_pairs()],
    )


def _settings() -> Settings:
    value: Settings = current_app.config["IDP"]
    return value


def interaction_url(uid: str) -> str:
    """Where the browser goes to log in for this request (the ``interaction_url`` setting)."""
    return _settings().interaction_url.replace("{uid}", uid)


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
    return item if _consume(uid) else None


def abandon(uid: str) -> Interaction | None:
    """Consume an open interaction the customer turned back from (conditional UPDATE, once);
    None when it is unknown, expired or already over."""
    item = _open(uid)
    if item is None:
        return None
    return item if _consume(uid) else None


def _consume(uid: str) -> bool:
    """Mark the interaction used, exactly once across requests and hosts."""
    claimed = db.session.execute(
        update(Interaction)
        .where(Interaction.uid == uid, Interaction.consumed_at.is_(None))
        .values(consumed_at=utcnow())
    )
    return rowcount(claimed) == 1


def initiate_login_url(client: Client, issuer: str, login_hint: str | None) -> str | None:
    """OIDC Core §4 "Initiating Login from a Third Party": the client's initiate_login_uri with
    ``iss`` and ``login_hint``; None when the client registered none."""
    if not client.initiate_login_uri:
        return None
    params = {"iss": issuer, **({"login_hint": login_hint} if login_hint else {})}
    return add_params_to_uri(client.initiate_login_uri, params)


def default_client() -> Client | None:
    """The client people go to when no application sent them (``default_client_id``)."""
    return db.session.get(Client, _settings().default_client_id)


def start_login_url(client_id: str | None, login_hint: str | None) -> str | None:
    """Where a login started from a link goes (OIDC Core §4): the client's, else the default
    client's initiate_login_uri; None when neither registered one."""
    client = db.session.get(Client, client_id) if client_id else None
    client = client or default_client()
    return initiate_login_url(client, _settings().issuer, login_hint) if client else None


def after_registration_url(
    client_id: str | None, params: list[list[str]] | None, login: str | None
) -> str:
    """Where the customer goes after registering (product §3.7): the originating client's
    initiate_login_uri with ``iss`` and ``login_hint`` (OIDC Core §4); a client without one gets
    its original authorization request again, with the new login as hint; no client: the
    default client's, else ``/start-login``."""
    client = db.session.get(Client, client_id) if client_id else None
    if client is not None:
        target = initiate_login_url(client, _settings().issuer, login)
        if target:
            return target
        if params:
            pairs = [(str(k), str(v)) for k, v in params if k not in NOT_REPLAYED]
            pairs += [("login_hint", login)] if login else []
            return url_for("oauth.authorize") + "?" + urlencode(pairs)
    return start_login_url(None, login) or url_for("login.start_login")
