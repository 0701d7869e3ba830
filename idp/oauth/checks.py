"""Authorization request checks Authlib leaves to us (run once client and redirect URI are valid,
so every error here is redirected to the client with ``state`` and ``iss``)."""

from __future__ import annotations

import re

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import InvalidScopeError
from authlib.oidc.core.errors import RequestNotSupportedError
from authlib.oidc.core.errors import RequestURINotSupportedError

from idp.models.oauth import scope_tokens

SINGLE_VALUED = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "display",
    "claims_locales",
    "acr_values",
    "dpop_jkt",
)
# "create": Initiating User Registration via OpenID Connect 1.0 §4.1.
PROMPTS = {"none", "login", "consent", "select_account", "create"}
MAX_PARAM_LENGTH = 2048
# RFC 9449 §10: base64url (no padding) of a SHA-256 JWK thumbprint (RFC 7638): 43 characters.
JWK_THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")


def check_scope_syntax(scope: str | None) -> None:
    """RFC 6749 §3.3: scope tokens are separated by spaces; another white space character
    (a tab, a no-break space) makes the scope malformed: invalid_scope, not a second token."""
    if scope and scope_tokens(scope) != scope.split():
        raise InvalidScopeError("Scope values are separated by spaces only (RFC 6749 section 3.3).")


class AuthorizationRequestChecks:
    """Grant extension: parameter hygiene and the OIDC parameters Authlib does not check."""

    def __call__(self, grant) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.check)

    def check(self, grant, redirect_uri) -> None:
        payload = grant.request.payload
        for name in SINGLE_VALUED:
            # RFC 6749 §3.1: parameters MUST NOT be included more than once.
            if len(payload.datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"Multiple '{name}' in request.")
        data = payload.data
        if any(len(v) > MAX_PARAM_LENGTH for v in data.values()):
            raise InvalidRequestError("A parameter is too long.")
        if data.get("request"):
            raise RequestNotSupportedError()  # OIDC Core §6.1
        if data.get("request_uri"):
            raise RequestURINotSupportedError()  # OIDC Core §6.2
        if data.get("response_mode", "query") != "query":
            raise InvalidRequestError("Only response_mode=query is supported.")
        jkt = data.get("dpop_jkt")
        if jkt is not None and not JWK_THUMBPRINT.fullmatch(jkt):
            raise InvalidRequestError("dpop_jkt must be a JWK SHA-256 thumbprint (RFC 9449).")
        max_age = data.get("max_age")
        if max_age is not None and not (max_age.isascii() and max_age.isdigit()):
            raise InvalidRequestError("max_age must be a non-negative integer.")
        prompts = set((data.get("prompt") or "").split())
        if not prompts <= PROMPTS:
            raise InvalidRequestError("Unknown 'prompt' value.")
        check_scope_syntax(grant.request.scope)
        if "openid" not in scope_tokens(grant.request.scope or ""):
            raise InvalidScopeError("The 'openid' scope is required.")
