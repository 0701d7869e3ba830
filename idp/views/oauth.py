"""Protocol endpoints: /authorize, /token, /userinfo, /revoke, /introspect, discovery, JWKS."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Blueprint
from flask import current_app
from flask import g
from flask import redirect
from flask import request
from flask import session
from werkzeug.wrappers import Response

from idp.endpoint_kinds import EndpointKind
from idp.endpoint_kinds import endpoint_kind
from idp.extensions import db
from idp.metrics import TOKENS
from idp.oauth import context
from idp.oauth.authorize import Outcome
from idp.oauth.authorize import foreign_interaction
from idp.oauth.authorize import resume_authorization
from idp.oauth.authorize import start_authorization
from idp.oauth.cors import cors_headers
from idp.oauth.cors import preflight_headers
from idp.oauth.endpoints import presented_token_client
from idp.oauth.interaction import interaction_url
from idp.oauth.server import query_client
from idp.oauth.server import server
from idp.oauth.sso import cookie_name
from idp.oauth.sso import note_use
from idp.views import PENDING_KEY
from idp.views import browser_op_session
from idp.views import query_pairs
from idp.views import remember_interaction
from idp.views.errors import oauth_error_page

if TYPE_CHECKING:
    from idp.models.oauth import Client

bp = Blueprint("oauth", __name__)
GRANT_TYPES = ("authorization_code", "refresh_token")


def _respond(outcome: Outcome) -> Response:
    """Turn the protocol's decision into a response, cookie included; commit its changes."""
    response: Response
    if outcome.new_session is not None:
        note_use(outcome.new_session.op_session, request.headers.get("User-Agent"))
    if outcome.error is not None:
        db.session.commit()
        response = oauth_error_page(outcome.error)
    elif outcome.interaction_uid is not None:
        db.session.commit()
        remember_interaction(outcome.interaction_uid)
        response = redirect(interaction_url(outcome.interaction_uid))
    else:
        db.session.commit()
        assert outcome.response is not None  # Outcome holds exactly one of its three answers
        response = outcome.response
    if outcome.new_session is not None:
        _set_session_cookie(response, outcome.new_session.cookie_value)
    response.headers["Cache-Control"] = "no-store"
    return response


def _set_session_cookie(response: Response, value: str) -> None:
    settings = context.settings()
    response.set_cookie(
        cookie_name(settings),
        value,
        max_age=settings.session_cookie_max_age or None,
        path="/",
        secure=settings.uses_https,
        httponly=True,
        samesite="Lax",
    )


@bp.route("/authorize", methods=["GET", "POST"])
@endpoint_kind(EndpointKind.PROTOCOL_PAGE)
def authorize() -> Response:
    """OIDC Core §3.1.2.1: GET and POST (form-encoded) are both supported."""
    pairs = query_pairs(request.values)
    # product §3: an error page shown here speaks the ``ui_locales`` the client asked for.
    g.ui_locales = (request.values.get("ui_locales") or "").split()[:8]
    op_session = browser_op_session()
    if op_session is not None:
        note_use(op_session, request.headers.get("User-Agent"))
    return _respond(start_authorization(pairs, op_session))


@bp.route("/authorize/resume/<uid>")
def resume(uid: str) -> Response:
    """Come back from an interaction started in this same browser."""
    if uid not in session.get(PENDING_KEY, []):
        return _respond(foreign_interaction())
    session[PENDING_KEY] = [u for u in session.get(PENDING_KEY, []) if u != uid]
    op_session = browser_op_session()
    return _respond(resume_authorization(uid, op_session))


def _preflight(methods: list[str]) -> Response:
    """A CORS preflight (Fetch §3.2.3): allowed for the web origins of public clients."""
    response = Response(
        status=204, headers=preflight_headers(request.headers.get("Origin"), methods)
    )
    response.headers["Allow"] = ", ".join([*methods, "OPTIONS"])
    response.vary.add("Origin")
    return response


def _cors(find_client: Callable[[], Client | None]) -> list[tuple[str, str]]:
    """The CORS headers naming the requesting public client's origin, when the request came
    from it; the client is looked up only for a cross-origin request, and before the commit
    expires what the request loaded (no extra query)."""
    origin = request.headers.get("Origin")
    return cors_headers(origin, find_client()) if origin else []


def _with_cors(response: Response, headers: list[tuple[str, str]]) -> Response:
    response.headers.extend(headers)
    response.vary.add("Origin")
    return response


def _form_client() -> Client | None:
    """The client a public client's request names in its form (RFC 6749 §2.3: client_id)."""
    return query_client(request.form.get("client_id", ""))


@bp.route("/token", methods=["POST", "OPTIONS"], provide_automatic_options=False)
@endpoint_kind(EndpointKind.PROTOCOL_API)
def token() -> Response:
    """RFC 6749 §3.2; every answer JSON with Cache-Control: no-store (§5.1, §5.2)."""
    if request.method == "OPTIONS":
        return _preflight(["POST"])
    response = server.create_token_response()
    cors = _cors(_form_client)
    if response.status_code == 200:
        db.session.commit()
        grant_type = request.form.get("grant_type", "")
        TOKENS.labels(grant_type if grant_type in GRANT_TYPES else "other").inc()
    else:
        db.session.rollback()
    return _with_cors(response, cors)


@bp.route("/userinfo", methods=["GET", "POST", "OPTIONS"], provide_automatic_options=False)
@endpoint_kind(EndpointKind.PROTOCOL_API)
def userinfo() -> Response:
    """OIDC Core §5.3.1: GET and POST with a bearer access token."""
    if request.method == "OPTIONS":
        return _preflight(["GET", "POST"])
    response = server.create_endpoint_response("userinfo")
    response.headers["Cache-Control"] = "no-store"
    return _with_cors(response, _cors(presented_token_client))


@bp.route("/revoke", methods=["POST", "OPTIONS"], provide_automatic_options=False)
@endpoint_kind(EndpointKind.PROTOCOL_API)
def revoke() -> Response:
    """RFC 7009 §2."""
    if request.method == "OPTIONS":
        return _preflight(["POST"])
    response = server.create_endpoint_response("revocation")
    cors = _cors(_form_client)
    db.session.commit() if response.status_code == 200 else db.session.rollback()
    return _with_cors(response, cors)


@bp.route("/par", methods=["POST"])
@endpoint_kind(EndpointKind.PROTOCOL_API)
def pushed_authorization_request() -> Response:
    """RFC 9126 §2: 201 with a request_uri, or a JSON error (§2.3)."""
    response = server.create_endpoint_response("pushed_authorization_request")
    db.session.commit() if response.status_code == 201 else db.session.rollback()
    return response


@bp.route("/introspect", methods=["POST"])
@endpoint_kind(EndpointKind.PROTOCOL_API)
def introspect() -> Response:
    """RFC 7662 §2."""
    return server.create_endpoint_response("introspection")


@bp.route("/.well-known/openid-configuration")
@bp.route("/jwks.json")
@endpoint_kind(EndpointKind.PROTOCOL_API)
def published_document() -> Response:
    """OIDC Discovery 1.0 §4 and RFC 7517 §5 (next and retired keys included): the documents
    prepared by idp/documents.py, which answers GET and HEAD before Flask; Flask answers 405 to
    other methods here."""
    document = current_app.extensions["idp_documents"].for_path(request.path)
    return Response(document.body, headers=document.headers)
