"""Discovery and JWKS answered from bytes prepared once, before Flask's dispatch.

Both documents are public, identical for every request and fetched by every relying party and
library, so they need none of the per-request machinery (cookie session, CSRF, rate limiter,
locale). The discovery bytes are built once per app (from Settings); the JWKS bytes once per
loaded ``Keyring`` (a key rotation reaches a worker as a new Keyring: idp/key_reload.py).
GET and HEAD are answered here; any other method goes on to the routes in views/oauth.py, which
serve the same prepared documents (and Flask answers 405 to what they do not allow).

Imports idp.config, idp.keys, idp.key_reload, idp.oauth.discovery and idp.security only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from idp.config import Settings
from idp.key_reload import current_keyring
from idp.keys import Keyring
from idp.oauth.discovery import provider_metadata
from idp.security import hardening_headers

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks.json"
MAX_AGE = 300


@dataclass(frozen=True)
class Document:
    """A prepared answer: the JSON bytes and every header sent with them."""

    body: bytes
    headers: list[tuple[str, str]]


def prepare(payload: dict[str, Any], settings: Settings) -> Document:
    """The bytes of ``payload`` with the headers of a public, cacheable JSON document
    (any origin may read it: OIDC Discovery 1.0 §4, RFC 7517 §5)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Access-Control-Allow-Origin", "*"),
        ("Cache-Control", f"public, max-age={MAX_AGE}"),
        *hardening_headers(settings),
    ]
    return Document(body, headers)


class PublishedDocuments:
    """The prepared discovery and JWKS documents of one app."""

    def __init__(self, app: Flask):
        self._app = app
        self._settings: Settings = app.config["IDP"]
        self.discovery = prepare(provider_metadata(self._settings), self._settings)
        self._jwks: tuple[Keyring, Document] | None = None

    def jwks(self) -> Document:
        """The JWKS document of the keyring the app holds now."""
        keyring = current_keyring(self._app.extensions)
        prepared = self._jwks
        if prepared is None or prepared[0] is not keyring:
            prepared = (keyring, prepare(keyring.jwks, self._settings))
            self._jwks = prepared
        return prepared[1]

    def for_path(self, path: str) -> Document | None:
        """The document published at ``path``, if any."""
        if path == DISCOVERY_PATH:
            return self.discovery
        if path == JWKS_PATH:
            return self.jwks()
        return None


def serve_documents(
    app: Flask, wsgi_app: Callable[..., Iterable[bytes]]
) -> Callable[..., Iterable[bytes]]:
    """Wrap ``wsgi_app``: GET and HEAD of the two documents never reach Flask."""
    documents = PublishedDocuments(app)
    app.extensions["idp_documents"] = documents

    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        document = documents.for_path(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD")
        if document is None or method not in ("GET", "HEAD"):
            return wsgi_app(environ, start_response)
        start_response("200 OK", list(document.headers))
        return [] if method == "HEAD" else [document.body]

    return answer
