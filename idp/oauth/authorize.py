"""The authorization endpoint's decisions (OIDC Core §3.1.2): validate the request, decide
whether the OP session satisfies it (prompt, max_age, id_token_hint), then either answer the
client or hand over to an interaction, and resume after it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError
from authlib.oauth2.rfc6749 import InvalidRequestError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from werkzeug.datastructures import MultiDict
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from idp.config import Settings
from idp.extensions import db
from idp.keys import Keyring
from idp.models.account import Account
from idp.models.base import random_token
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.op_session import OpSession
from idp.oauth import context
from idp.oauth.interaction import abandon
from idp.oauth.interaction import first_party_return
from idp.oauth.interaction import save_pending
from idp.oauth.interaction import take_finished
from idp.oauth.par import pushed_parameters
from idp.oauth.server import StoredAuthorizationRequest
from idp.oauth.server import server
from idp.oauth.sso import NewSession
from idp.oauth.sso import end_session
from idp.oauth.sso import start_session


@dataclass
class Outcome:
    """One of: a response for the client, an error page, a login to run; maybe a new cookie."""

    response: Response | None = None
    error: OAuth2Error | None = None
    interaction_uid: str | None = None
    new_session: NewSession | None = None


@dataclass(frozen=True)
class HintedSubject:
    """What an ``id_token_hint`` says: nothing (no hint), a subject, or that it is not ours."""

    sub: str | None = None
    invalid: bool = False


def hinted_subject(hint: str | None, keyring: Keyring, settings: Settings) -> HintedSubject:
    """``sub`` of an ``id_token_hint`` we issued (expired ones accepted, OIDC Core §3.1.2.1);
    ``invalid`` when the hint is not a token of ours."""
    if not hint:
        return HintedSubject()
    try:
        token = jwt.decode(hint, KeySet(keyring.verification_keys()), algorithms=["RS256", "ES256"])
    except (JoseError, ValueError, TypeError):
        return HintedSubject(invalid=True)
    if token.claims.get("iss") != settings.issuer or not isinstance(token.claims.get("sub"), str):
        return HintedSubject(invalid=True)
    return HintedSubject(sub=token.claims["sub"])


def needs_fresh_login(
    data: MultiDict[str, str], op_session: OpSession, hinted: HintedSubject
) -> bool:
    """True when the session cannot answer: prompt=login, prompt=create (the customer asked
    for a new account: Initiating User Registration via OpenID Connect 1.0 §4.1), max_age
    exceeded, other user hinted."""
    if {"login", "create"} & set((data.get("prompt") or "").split()):
        return True
    max_age = data.get("max_age")
    if max_age is not None and max_age.isascii() and max_age.isdigit():
        # Compared as numbers: timedelta(seconds=...) overflows for a huge max_age (a 500).
        if (utcnow() - op_session.auth_time).total_seconds() > int(max_age):
            return True
    return hinted.sub is not None and hinted.sub != op_session.account.sub


def _request(pairs: list[tuple[str, str]], settings: Settings) -> StoredAuthorizationRequest:
    return StoredAuthorizationRequest(pairs, uri=f"{settings.issuer}/authorize")


def _failure(request: StoredAuthorizationRequest, error: OAuth2Error) -> Outcome:
    """Redirect the error when the redirect URI was validated, else render it.

    RFC 6749 §4.1.2.1.
    """
    if error.redirect_uri:
        return Outcome(response=server.handle_error_response(request, error))
    return Outcome(error=error)


def start_authorization(pairs: list[tuple[str, str]], op_session: OpSession | None) -> Outcome:
    """Answer an authorization request from the session, or ask for a login."""
    settings, keyring = context.settings(), context.keyring()
    try:
        pairs = pushed_parameters(pairs)  # RFC 9126 §4
    except OAuth2Error as error:
        return Outcome(error=error)
    request = _request(pairs, settings)
    data = MultiDict(pairs)
    hinted = hinted_subject(data.get("id_token_hint"), keyring, settings)
    account = op_session.account if op_session is not None else None
    if op_session is not None and needs_fresh_login(data, op_session, hinted):
        account = None
    try:
        grant = server.get_consent_grant(request=request, end_user=account)
        if hinted.invalid:
            raise InvalidRequestError(
                "Invalid 'id_token_hint'.",
                redirect_uri=grant.redirect_uri,
                state=data.get("state"),
            )
    except OAuth2Error as error:
        return _failure(request, error)
    if account is None:
        uid = save_pending(grant.client.client_id, pairs, settings)
        return Outcome(interaction_uid=uid)
    request.op_session = op_session
    return Outcome(response=server.create_authorization_response(request, account, grant))


def _session_after_login(
    current: OpSession | None, account: Account, amr: list[str], settings: Settings
) -> NewSession:
    """Same user: refresh auth_time and rotate the cookie secret. Other user: a new session."""
    if current is not None and current.account_id == account.id:
        cookie_value = random_token(32)
        current.cookie_hash, current.auth_time, current.amr = (
            token_hash(cookie_value),
            utcnow(),
            amr,
        )
        current.expires_at = utcnow() + timedelta(seconds=settings.session_ttl)
        return NewSession(current, cookie_value)
    if current is not None:
        end_session(current)
    return start_session(account, amr, settings)


def abort_authorization(uid: str) -> Outcome:
    """The customer turned back on the login or registration page: the client gets
    ``error=access_denied`` with its ``state`` (and ``iss``), RFC 6749 §4.1.2.1."""
    item = abandon(uid)
    if item is None or item.client_id is None:
        return foreign_interaction()
    request = _request(item.params_pairs(), context.settings())
    try:
        grant = server.get_consent_grant(request=request, end_user=None)
    except OAuth2Error as error:
        return _failure(request, error)
    denied = AccessDeniedError(
        "The end-user went back to the application.",
        state=MultiDict(item.params_pairs()).get("state"),
        redirect_uri=grant.redirect_uri,
    )
    return Outcome(response=server.handle_error_response(request, denied))


def foreign_interaction() -> Outcome:
    """The interaction was not started in this browser (or is gone): a page, no redirect."""
    return Outcome(error=InvalidRequestError("This login request has expired or was used."))


def resume_authorization(uid: str, op_session: OpSession | None) -> Outcome:
    """Finish the request after its interaction: start the session, then answer the client."""
    settings = context.settings()
    item = take_finished(uid)
    if item is None:
        return Outcome(error=InvalidRequestError("This login request has expired or was used."))
    account = db.session.get(Account, item.account_id)
    if account is None:
        return Outcome(error=InvalidRequestError("This login request has expired or was used."))
    new_session = _session_after_login(op_session, account, list(item.amr or []), settings)
    db.session.flush()
    first_party = first_party_return(item)
    if first_party is not None:  # the provider's own account page: no client to answer
        return Outcome(response=redirect(first_party, code=303), new_session=new_session)
    request = _request(item.params_pairs(), settings)
    try:
        grant = server.get_consent_grant(request=request, end_user=account)
    except OAuth2Error as error:
        outcome = _failure(request, error)
        outcome.new_session = new_session
        return outcome
    request.op_session = new_session.op_session
    response = server.create_authorization_response(request, account, grant)
    return Outcome(response=response, new_session=new_session)
