"""Error pages: OAuth errors that must not be redirected (RFC 6749 §4.1.2.1), 404, 405, 500.

Endpoints marked ``PROTOCOL_API`` (idp/endpoint_kinds.py: token, userinfo, revocation,
introspection, discovery, JWKS) answer JSON; every other request gets a page.
"""

from __future__ import annotations

import logging

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import jsonify
from flask import make_response
from flask import render_template
from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from idp.endpoint_kinds import answers_in_json
from idp.extensions import limiter
from idp.views.rate_limits import wait_seconds
from idp.views.rate_limits import wait_words

bp = Blueprint("errors", __name__)
log = logging.getLogger(__name__)


def _explanations() -> dict[str, str]:
    return {
        "invalid_client": _("This application is not known to us."),
        "invalid_request": _("The link that brought you here is incomplete or no longer valid."),
        "unsupported_response_type": _("This application asked for something we do not offer."),
        "invalid_scope": _("This application asked for access we do not offer."),
        "unauthorized_client": _("This application may not sign in this way."),
    }


def oauth_error_page(error: object) -> Response:
    """A readable, localised page for an OAuth error that cannot go back to the client."""
    code = getattr(error, "error", None) or "invalid_request"
    text = _explanations().get(code, _explanations()["invalid_request"])
    body = render_template(
        "errors/oauth.html",
        error_code=code,
        explanation=text,
        description=getattr(error, "description", ""),
    )
    response = make_response(body, 400)
    response.headers["Cache-Control"] = "no-store"
    return response


def http_error(exc: HTTPException) -> WerkzeugResponse:
    """404, 405, 413… as a page for people, JSON for protocol endpoints. A 429 whose view gave
    its own page (the form again, idp/views/rate_limits.py) keeps it; otherwise the page says
    the real wait, from the breached limit's reset time."""
    code = exc.code or 500
    own = exc.get_response() if code == 429 and exc.response is not None else None
    if own is not None and not answers_in_json():
        return own
    if answers_in_json():
        error = "invalid_request" if code < 500 else "server_error"
        response = jsonify(error=error, error_description=exc.name)
    else:
        wait = _wait_left() if code == 429 else None
        body = render_template(
            "errors/http.html", status=code, wait=wait_words(wait) if wait else None
        )
        response = make_response(body, code)
        if wait:
            response.headers["Retry-After"] = str(wait)
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    return response


def _wait_left() -> int | None:
    """Seconds until the breached limit of this request resets, when the limiter knows it."""
    current = limiter.current_limit
    return wait_seconds(current) if current is not None and current.breached else None


def unexpected_error(exc: Exception) -> Response:
    """Log with a reference, show no stack trace."""
    log.exception("unexpected error on %s %s", request.method, request.path)
    if answers_in_json():
        response = jsonify(error="server_error")
    else:
        response = make_response(render_template("errors/http.html", status=500))
    response.status_code = 500
    response.headers["Cache-Control"] = "no-store"
    return response


def init_error_handlers(app: Flask) -> None:
    """Register the handlers on the app."""
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
