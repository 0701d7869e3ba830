"""The customer space's pages and endpoints: / (who is logged in, their eligibility),
/login (also the initiate_login_uri, OIDC Core §4), /callback, /logout (RP-initiated) and
/backchannel-logout (Back-Channel Logout 1.0). Parse → call → respond."""

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
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from clients.customer_space.backchannel import LogoutTokenError
from clients.customer_space.backchannel import validate_logout_token
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


@bp.get("/")
def home() -> str:
    """Who is logged in, and whether the Smart App will let them in (SPEC §4)."""
    logged_out = False
    if request.args.get("state"):  # back from the provider's logout (post_logout_redirect_uri)
        try:
            _idp().validate_logout_response()
            logged_out = True
        except OAuthError:
            pass
    local = _current()
    return render_template(
        "home.html", local=local, claims=local.claims if local else None, logged_out=logged_out
    )


@bp.get("/login")
def login() -> Response | tuple[str, int]:
    """Start a login; as initiate_login_uri, ``iss`` must be our provider and ``login_hint``
    is passed on (OIDC Core §4)."""
    iss = request.args.get("iss")
    if iss is not None and iss != current_app.config["OIDC_ISSUER"]:
        return _error("Cette demande de connexion ne vient pas de notre fournisseur d'identité.")
    hint = request.args.get("login_hint", "")[:MAX_HINT] or None
    try:
        return _idp().authorize_redirect(
            f"{current_app.config['BASE_URL']}/callback", login_hint=hint
        )
    except requests.RequestException:
        return _error("Le service de connexion est injoignable.", 502)


@bp.get("/callback")
def callback() -> Response | tuple[str, int]:
    """Redeem the code (client_secret_basic + PKCE); Authlib validates the ID token (JWKS
    signature, iss, aud, exp, iat, nonce, at_hash). Then a fresh local session."""
    try:
        if not _issuer_matches(request.args.get("iss")):
            return _error("La réponse ne vient pas de notre fournisseur d'identité.")
        token = _idp().authorize_access_token()
    except OAuthError as exc:
        return _error(f"La connexion n'a pas abouti ({exc.error}).")
    except JoseError as exc:
        return _error(f"La connexion n'a pas abouti (jeton d'identité refusé : {exc.error}).")
    except requests.RequestException:
        return _error("Le service de connexion est injoignable.", 502)
    claims: dict[str, Any] | None = token.get("userinfo")
    if not claims:
        return _error("La connexion n'a pas abouti (pas de jeton d'identité).")
    _store().end(session.get(SESSION_KEY))
    session.clear()  # a new id for a new login (no session fixation)
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
        return _error("Le formulaire a expiré. Veuillez réessayer.")
    _store().end(local.id)
    session.clear()
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
