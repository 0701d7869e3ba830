"""The OpenID Provider metadata document (OIDC Discovery 1.0 §3, RFC 8414 §2, RFC 9207 §3,
RP-Initiated Logout 1.0 §2.1, Back-Channel Logout 1.0 §2.1)."""

from __future__ import annotations

from typing import Any

from idp.config import Settings
from idp.oauth.claims import CLAIMS_SUPPORTED
from idp.oauth.claims import SCOPES_SUPPORTED
from idp.oauth.client_auth import ASSERTION_ALGORITHMS
from idp.oauth.client_auth import CLIENT_AUTH_METHODS
from idp.oauth.client_auth import CONFIDENTIAL_METHODS
from idp.oauth.dpop import ALGORITHMS as DPOP_ALGORITHMS


def provider_metadata(settings: Settings) -> dict[str, Any]:
    """Every endpoint and capability, built from the issuer so that all hosts agree."""
    base = settings.issuer
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/jwks.json",
        "revocation_endpoint": f"{base}/revoke",
        "introspection_endpoint": f"{base}/introspect",
        "end_session_endpoint": f"{base}/logout",
        "pushed_authorization_request_endpoint": f"{base}/par",  # RFC 9126 §5
        "require_pushed_authorization_requests": False,  # per client (§6)
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "introspection_endpoint_auth_methods_supported": CONFIDENTIAL_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": DPOP_ALGORITHMS,  # RFC 9449 §5.1
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "ui_locales_supported": ["fr", "nl", "en", "de"],
        # "create": Initiating User Registration via OpenID Connect 1.0 §4.2.
        "prompt_values_supported": ["none", "login", "consent", "select_account", "create"],
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,  # logout tokens carry ``sid``
    }
