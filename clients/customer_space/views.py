"""The customer space's pages and endpoints: / (who is logged in, their eligibility, a link
to the provider's account page), /login (also the initiate_login_uri, OIDC Core §4),
/register (``prompt=create``), /callback, /logout (RP-initiated) and /backchannel-logout
(Back-Channel Logout 1.0). Parse → call → respond."""

from __future__ import annotations

from typing import Any

import requests
from authlib.integrations.flask_client import FlaskOAuth2App
from authlib.integrations.flask_client import OAuthError
from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask_babel import gettext as _
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from clients.customer_space.backchannel import LogoutTokenError
from clients.customer_space.backchannel import validate_logout_token
from clients.customer_space.i18n import current_language
from clients.customer_space.i18n import renew_session
from clients.customer_space.sessions import LocalSession
from clients.customer_space.sessions import SessionStore

bp = Blueprint("customer_space", __name__)
SESSION_KEY = "local_session"
MAX_HINT = 254
JTI_MEMORY = 3600  # seconds a logout token id is remembered (replays are refused)


def _idp() -> FlaskOAuth2App:
    return current_app.extensions["authlib.integrations.flask_client"].idp


def _store() -> SessionStore:
    return current_app.extensions["customer_space.sessions"]


def _current() -> LocalSession | None:
    return _store().get(session.get(SESSION_KEY))


def _error(message: str, status: int = 400) -> tuple[str, int]:
    return render_template("error.html", message=message), status


def _unreachable() -> tuple[str, int]:
    return _error(_("The login service cannot be reached. Try again in a moment."), 502)


@bp.get("/")
def home() -> str:
    """Who is logged in, and whether the Smart App will let them in (product §4)."""
    logged_out = False
    if request.args.get("state"):  # back from the provider's logout (post_logout_redirect_uri)
        try:
            _idp().validate_logout_response()
            logged_out = True
        except OAuthError:
            pass
    local = _current()
    return render_template(
        "home.html",
        local=local,
        claims=local.claims if local else None,
        logged_out=logged_out,
        account_url=f"{current_app.config['OIDC_ISSUER']}/account?ui_locales={current_language()}",
    )


@bp.get("/login")
def login() -> Response | tuple[str, int]:
    """Start a login; as initiate_login_uri, ``iss`` must be our provider and ``login_hint``
    is passed on (OIDC Core §4)."""
    iss = request.args.get("iss")
    if iss is not None and iss != current_app.config["OIDC_ISSUER"]:
        return _error(_("This login request does not come from our identity provider."))
    hint = request.args.get("login_hint", "")[:MAX_HINT] or None
    return _authorize(login_hint=hint)


@bp.get("/register")
def register() -> Response | tuple[str, int]:
    """ "Create an account": OIDC Prompt Create 1.0 §4 (``prompt=create``) when the provider
    advertises it in ``prompt_values_supported``, else the login page (it links there)."""
    try:
        supported = _idp().load_server_metadata().get("prompt_values_supported", [])
    except requests.RequestException:
        return _unreachable()
    return _authorize(prompt="create" if "create" in supported else None)


def _authorize(**extra: str | None) -> Response | tuple[str, int]:
    """The authorization request (PKCE S256, state, nonce) in the visitor's language."""
    params = {k: v for k, v in extra.items() if v}
    try:
        return _idp().authorize_redirect(
            f"{current_app.config['BASE_URL']}/callback", ui_locales=current_language(), **params
        )
    except requests.RequestException:
        return _unreachable()


@bp.get("/callback")
def callback() -> Response | tuple[str, int]:
    """Redeem the code (client_secret_basic + PKCE); Authlib validates the ID token (JWKS
    signature, iss, aud, exp, iat, nonce, at_hash). Then a fresh local session."""
    if request.args.get("error") == "access_denied" and _issuer_matches(request.args.get("iss")):
        # RFC 6749 §4.1.2.1: they turned back at the provider; the welcome page again.
        return redirect("/", code=303)
    try:
        if not _issuer_matches(request.args.get("iss")):
            return _error(_("The answer does not come from our identity provider."))
        token = _idp().authorize_access_token()
    except OAuthError as exc:
        return _error(_("The login did not complete (%(error)s).", error=exc.error))
    except JoseError as exc:
        return _error(
            _("The login did not complete (ID token refused: %(error)s).", error=exc.error)
        )
    except requests.RequestException:
        return _unreachable()
    claims: dict[str, Any] | None = token.get("userinfo")
    if not claims:
        return _error(_("The login did not complete (no ID token)."))
    _store().end(session.get(SESSION_KEY))
    renew_session()  # a new id for a new login (no session fixation)
    session[SESSION_KEY] = _store().create(dict(claims), token["id_token"]).id
    return redirect("/", code=303)


def _issuer_matches(iss: str | None) -> bool:
    """RFC 9207 §2.4: compare ``iss``; it is required once the provider advertises it."""
    if iss is None:
        metadata = _idp().load_server_metadata()
        return not metadata.get("authorization_response_iss_parameter_supported")
    return iss == current_app.config["OIDC_ISSUER"]


@bp.post("/logout")
def logout() -> Response | tuple[str, int]:
    """End the local session, then the provider's (OIDC RP-Initiated Logout 1.0 §2)."""
    local = _current()
    if local is None:
        return redirect("/", code=303)
    if request.form.get("csrf_token") != local.csrf_token:
        return _error(_("The form has expired. Please try again."))
    _store().end(local.id)
    renew_session()
    try:
        end_session = _idp().load_server_metadata().get("end_session_endpoint")
    except requests.RequestException:
        end_session = None  # logged out here; the provider's session outlives it
    if not end_session:
        return redirect("/", code=303)
    return _idp().logout_redirect(
        post_logout_redirect_uri=f"{current_app.config['BASE_URL']}/",
        id_token_hint=local.id_token,
        client_id=current_app.config["OIDC_CLIENT_ID"],
        ui_locales=current_language(),
    )


@bp.post("/backchannel-logout")
def backchannel_logout() -> Response | tuple[Response, int]:
    """Back-Channel Logout 1.0 §2.5–2.8: validate, end the matching sessions, answer 200."""
    try:
        claims = validate_logout_token(
            request.form.get("logout_token", ""),
            current_app.config["LOGOUT_JWKS_SOURCE"] or _provider_jwks,
            issuer=current_app.config["OIDC_ISSUER"],
            client_id=current_app.config["OIDC_CLIENT_ID"],
        )
        _refuse_replay(claims.get("jti"))
    except LogoutTokenError as exc:
        return _no_store(jsonify(error="invalid_request", error_description=str(exc))), 400
    except requests.RequestException:
        body = jsonify(error="temporarily_unavailable", error_description="JWKS unreachable")
        return _no_store(body), 400
    _store().end_matching(claims.get("sid"), claims.get("sub"))
    return _no_store(current_app.response_class(status=200))


def _provider_jwks(force: bool) -> dict[str, Any]:
    return _idp().fetch_jwk_set(force=force)


def _refuse_replay(jti: Any) -> None:
    """§2.6 (optional step): a logout token id seen recently is a replay."""
    if not isinstance(jti, str):
        return
    seen = current_app.extensions["customer_space.logout_jti"]
    if seen.get(jti):
        raise LogoutTokenError("logout token replayed")
    seen.set(jti, True, JTI_MEMORY)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
