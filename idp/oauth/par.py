"""Pushed Authorization Requests (RFC 9126).

A client POSTs its authorization request parameters to ``/par``, authenticated as at the token
endpoint (§2), and gets a ``request_uri`` valid for ``PAR_TTL`` seconds; it then sends the
browser to ``/authorize?client_id=…&request_uri=…``, which uses the pushed parameters only
(§4) and spends the ``request_uri`` (one use). A DPoP proof sent with the push binds the code
to its key (RFC 9449 §10.1). A client registered with
``require_pushed_authorization_requests`` may use no other way (§6). Authlib 1.9.10 has no PAR
endpoint; the pushed request is validated by Authlib's own authorization-request checks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authlib.consts import default_json_headers
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.token_endpoint import TokenEndpoint
from authlib.oidc.core.errors import RequestNotSupportedError
from sqlalchemy import update

from idp.extensions import db
from idp.models.base import random_token
from idp.models.base import token_hash
from idp.models.base import utcnow
from idp.models.oauth import Client
from idp.models.pushed_request import PushedRequest
from idp.oauth import context
from idp.oauth.client_auth import CLIENT_AUTH_METHODS
from idp.oauth.dpop import InvalidDPoPProofError
from idp.oauth.dpop import check_proof
from idp.oauth.dpop import proof_header

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
PAR_TTL = 60  # seconds (RFC 9126 §2.2: "short"; the example uses 60)
# Client authentication parameters are not part of the authorization request.
AUTH_PARAMETERS = {"client_secret", "client_assertion", "client_assertion_type"}


class InvalidRequestURIError(OAuth2Error):
    """OIDC Core §3.1.2.6 / RFC 9126 §4: the request_uri is unknown, expired or used."""

    error = "invalid_request_uri"


class PushedAuthorization(TokenEndpoint):
    """RFC 9126 §2: the pushed authorization request endpoint."""

    ENDPOINT_NAME = "pushed_authorization_request"
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def create_endpoint_response(self, request: OAuth2Request) -> tuple[int, Any, list[Any]]:
        client: Client = self.authenticate_endpoint_client(request)
        pairs = [(k, v) for k, v in request.form.items(multi=True) if k not in AUTH_PARAMETERS]
        names = {k for k, _ in pairs}
        if "request_uri" in names:
            raise InvalidRequestError("'request_uri' cannot be pushed (RFC 9126 section 2.1).")
        if "request" in names:
            raise RequestNotSupportedError()
        if request.form.get("client_id", client.client_id) != client.client_id:
            raise InvalidRequestError("'client_id' is not the authenticated client.")
        if "client_id" not in names:
            pairs.insert(0, ("client_id", client.client_id))
        pairs = _bound_to_proof(request, pairs)
        self._validate_authorization_request(pairs)
        request_uri = REQUEST_URI_PREFIX + random_token(32)
        db.session.add(
            PushedRequest(
                request_uri_hash=token_hash(request_uri),
                client_id=client.client_id,
                params=[list(p) for p in pairs],
                expires_at=utcnow() + timedelta(seconds=PAR_TTL),
            )
        )
        body = {"request_uri": request_uri, "expires_in": PAR_TTL}
        return 201, body, [*default_json_headers, ("Cache-Control", "no-store")]

    def _validate_authorization_request(self, pairs: list[tuple[str, str]]) -> None:
        """§2.1: the pushed request is checked as /authorize would check it; every error is
        answered here (§2.3), never redirected."""
        from idp.oauth.server import StoredAuthorizationRequest

        stored = StoredAuthorizationRequest(pairs, uri=f"{context.settings().issuer}/authorize")
        stored.user = None
        try:
            # The request's own checks, not the End-User's (prompt=none is decided at /authorize).
            grant = self.server.get_authorization_grant(stored)
            grant.validate_no_multiple_request_parameter(stored)
            grant.validate_authorization_request()
        except OAuth2Error as error:
            error.redirect_uri = None
            raise


def _bound_to_proof(request: OAuth2Request, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """RFC 9449 §10.1: a DPoP proof sent to /par binds the code to its key, as ``dpop_jkt``
    does (both ways are supported); sent together, they must name the same key."""
    header = proof_header(request.headers)
    if header is None:
        return pairs
    proof = check_proof(header, method="POST", url=f"{context.settings().issuer}/par")
    pushed = [v for k, v in pairs if k == "dpop_jkt"]
    if not pushed:
        return [*pairs, ("dpop_jkt", proof.jkt)]
    if pushed != [proof.jkt]:
        raise InvalidDPoPProofError("'dpop_jkt' is not the thumbprint of the proof's key.")
    return pairs


def pushed_parameters(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The parameters /authorize acts on (RFC 9126 §4): the pushed ones when the request
    carries a ``request_uri`` (spent here: one use), else the request's own — unless the
    client must push (§6). Raises OAuth2Error for an error page (nothing is redirected)."""
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    client_ids, request_uris = values.get("client_id", []), values.get("request_uri", [])
    if not any(u.startswith(REQUEST_URI_PREFIX) for u in request_uris):
        # No pushed request; a request_uri by reference (OIDC Core §6.2) is refused later,
        # with a redirect to the client, by the authorization request checks.
        client = db.session.get(Client, client_ids[0]) if len(client_ids) == 1 else None
        if client is not None and client.require_pushed_authorization_requests:
            raise InvalidRequestError("This client must push its authorization requests.")
        return pairs
    if len(request_uris) != 1 or len(client_ids) != 1 or len(request_uris[0]) > 200:
        raise InvalidRequestError("One 'client_id' and one 'request_uri' are required.")
    claimed = db.session.execute(
        update(PushedRequest)
        .where(
            PushedRequest.request_uri_hash == token_hash(request_uris[0]),
            PushedRequest.client_id == client_ids[0],
            PushedRequest.used_at.is_(None),
            PushedRequest.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
        .returning(PushedRequest.params)
    )
    params = claimed.scalar_one_or_none()
    if params is None:
        raise InvalidRequestURIError("The request_uri is unknown, expired or already used.")
    return [(str(k), str(v)) for k, v in params]
