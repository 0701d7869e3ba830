"""What kind of endpoint answers a request: marked on its view, never guessed from its URL.

- ``PAGE`` (the default): a page for people. Errors are pages; a form posts from our own
  origin only, with its CSRF token.
- ``PROTOCOL_PAGE``: a protocol endpoint a client sends the browser to (``/authorize``,
  ``/logout``). Errors are pages (the browser shows them), and a client's own page may POST a
  form to it from its origin (OIDC Core §3.1.2.1, RP-Initiated Logout 1.0 §2): no CSRF token,
  no origin check.
- ``PROTOCOL_API``: a protocol endpoint clients call themselves (token, userinfo, revocation,
  introspection, discovery, JWKS). Errors are JSON (RFC 6749 §5.2), cross-origin by design: no
  CSRF token, no origin check, and no need of the cookie session or the page locale.

Mark a view with ``@endpoint_kind(EndpointKind.PROTOCOL_API)``; read the current request's
with ``request_kind()`` or ``answers_in_json()`` (error handlers, hooks). A path that matches no
route is a ``PAGE``; a known path with a method it does not allow (405) has its route's kind.
Imports idp.extensions (csrf) only.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any
from typing import TypeVar

from flask import current_app
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed

from idp.extensions import csrf

ATTRIBUTE = "idp_endpoint_kind"
View = TypeVar("View", bound=Callable[..., Any])


class EndpointKind(StrEnum):
    """Who an endpoint answers: people on our pages, a browser sent by a client, or a client."""

    PAGE = "page"
    PROTOCOL_PAGE = "protocol_page"
    PROTOCOL_API = "protocol_api"


def endpoint_kind(kind: EndpointKind) -> Callable[[View], View]:
    """Mark a view function; protocol endpoints are also exempt from the CSRF token."""

    def mark(view: View) -> View:
        setattr(view, ATTRIBUTE, kind)
        if kind is not EndpointKind.PAGE:
            csrf.exempt(view)
        return view

    return mark


def request_kind() -> EndpointKind:
    """The kind of the endpoint the current request is for (``PAGE`` when none matches)."""
    endpoint = request.endpoint or _endpoint_of_other_method()
    view = current_app.view_functions.get(endpoint) if endpoint else None
    kind = getattr(view, ATTRIBUTE, EndpointKind.PAGE)
    return kind if isinstance(kind, EndpointKind) else EndpointKind.PAGE


def answers_in_json() -> bool:
    """True when errors of the current request are answered in JSON, not as a page."""
    return request_kind() is EndpointKind.PROTOCOL_API


def _endpoint_of_other_method() -> str | None:
    """For a 405, the endpoint the path names under a method it allows."""
    failure = request.routing_exception
    if not isinstance(failure, MethodNotAllowed):
        return None
    adapter = current_app.create_url_adapter(request)
    for method in failure.valid_methods or []:
        try:
            endpoint, _arguments = adapter.match(method=method) if adapter else (None, None)
        except HTTPException:
            continue
        return str(endpoint) if endpoint else None
    return None
