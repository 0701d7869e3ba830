"""Steps shared by the DPoP, PAR and code-binding tests (RFC 9449, RFC 9126)."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_login
from tests.oidc import authorize_with_session

TOKEN_URL = f"{ISSUER}/token"
PAR_URL = f"{ISSUER}/par"
PREFIX = "urn:ietf:params:oauth:request_uri:"


def smart_app_code(test_client, request: AuthorizationRequest) -> str:
    """A code for ``request``: a login the first time, SSO afterwards."""
    response = test_client.get(request.url())
    if "/interaction/" in response.headers["Location"]:
        return authorize_with_login(test_client, request)["code"]
    return authorize_with_session(test_client, request)["code"]


def push(test_client, auth: AuthorizationRequest, headers=None, changes=None):
    """POST the request's parameters to /par (a public client names itself)."""
    data = {**auth.params(), **(changes or {})}
    data = {k: v for k, v in data.items() if v is not None}
    return test_client.post("/par", data=data, headers=headers or {})


def pushed_uri(test_client, request: AuthorizationRequest, headers=None, **changes) -> str:
    response = push(test_client, request, headers, changes)
    assert response.status_code == 201, response.text
    body = response.get_json()
    assert body["request_uri"].startswith(PREFIX) and body["expires_in"] == 60
    assert response.headers["Cache-Control"] == "no-store"
    return body["request_uri"]


def authorize_url(client_id: str, request_uri: str, **extra: str) -> str:
    return "/authorize?" + urlencode({"client_id": client_id, "request_uri": request_uri, **extra})
