"""CORS for browser-based public clients at /token, /userinfo and /revoke.

A browser application (oidc-client-ts, a single-page app) reads the answers of these endpoints
only if they name its origin. As node-oidc-provider's ``clientBasedCORS`` and Keycloak's "web
origins" do, the origins allowed are those of the requesting client's registered redirect URIs
(scheme, host and port, RFC 6454 §4), and only for a public client — a confidential client
talks to the token endpoint from its server. Never ``*``, never credentials (these endpoints
take no cookie). Discovery and the JWKS are public documents for any origin (idp/documents.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy import select

from idp.extensions import db
from idp.models.oauth import Client

DEFAULT_PORTS = {"http": 80, "https": 443}
ALLOWED_HEADERS = "Authorization, Content-Type, DPoP"
EXPOSED_HEADERS = "WWW-Authenticate, DPoP-Nonce"
PREFLIGHT_MAX_AGE = "600"


def origin_of(uri: str) -> str | None:
    """The ASCII serialisation of a URI's origin (RFC 6454 §6.2), as browsers send it in
    ``Origin``; None for a URI without a web origin (a private-use scheme)."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def web_origins(client: Client | None) -> set[str]:
    """The origins a browser may call from for this client: none unless it is public."""
    if client is None or not client.is_public:
        return set()
    return {o for o in map(origin_of, client.redirect_uris or []) if o is not None}


def any_public_client_allows(origin: str) -> bool:
    """True when some public client registered a redirect URI of this origin (a preflight
    carries no client_id or token, so it can only be checked against all of them)."""
    public = db.session.scalars(select(Client).where(Client.token_endpoint_auth_method == "none"))
    return any(origin in web_origins(client) for client in public)


def cors_headers(origin: str | None, client: Client | None) -> list[tuple[str, str]]:
    """The headers answering ``origin`` for ``client`` (empty when not allowed)."""
    if not origin or origin not in web_origins(client):
        return []
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
    ]


def preflight_headers(origin: str | None, methods: Iterable[str]) -> list[tuple[str, str]]:
    """The answer to a CORS preflight (Fetch §3.2.3) from ``origin`` (empty when no public
    client registered it)."""
    if not origin or not any_public_client_allows(origin):
        return []
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", ", ".join(methods)),
        ("Access-Control-Allow-Headers", ALLOWED_HEADERS),
        ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE),
    ]
