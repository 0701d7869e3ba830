"""Scopes → claims (OIDC Core §5.4), the ``eligibility`` claim (product §4), and ID tokens."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from authlib.oidc.core import UserInfo
from authlib.oidc.core.util import create_half_hash

from idp.accounts.eligibility import compute_eligibility
from idp.config import Settings
from idp.keys import Keyring
from idp.models.account import Account
from idp.models.base import utcnow
from idp.models.oauth import Client
from idp.models.token_rows import AccountRow

SCOPES_SUPPORTED = ["openid", "profile", "email", "offline_access", "eligibility"]
CLAIMS_SUPPORTED = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "sid",
    "at_hash",
    "name",
    "locale",
    "preferred_username",
    "email",
    "email_verified",
    "eligibility",
]


def generate_user_info(account: Account | AccountRow, scope: str, settings: Settings) -> UserInfo:
    """The claims a token with this scope may see; eligibility is computed now."""
    scopes = set((scope or "").split())
    info = UserInfo(sub=account.sub)
    if "profile" in scopes:
        info["name"] = account.display_name
        info["preferred_username"] = account.login
        info["locale"] = account.language
    if "email" in scopes:
        info["email"] = account.email
        info["email_verified"] = account.email_verified
    if "eligibility" in scopes:
        info["eligibility"] = compute_eligibility(account, utcnow(), settings.timezone).as_claim()
    return info


def issue_id_token(
    *,
    client: Client,
    account: Account,
    scope: str,
    access_token: str | None,
    auth_time: datetime,
    amr: list[str],
    sid: str | None,
    nonce: str | None,
    keyring: Keyring,
    settings: Settings,
) -> str:
    """Sign an ID token (OIDC Core §2, §3.1.3.6) with the client's registered algorithm."""
    alg = client.id_token_signed_response_alg or "RS256"
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + settings.id_token_ttl,
        # auth_time is always sent: REQUIRED with max_age (§3.1.2.1) and harmless otherwise.
        "auth_time": int(auth_time.timestamp()),
    }
    if nonce:
        claims["nonce"] = nonce
    if amr:
        claims["amr"] = amr
    if sid:
        claims["sid"] = sid  # OIDC Back-Channel Logout 1.0 §2.1
    if access_token:
        at_hash = create_half_hash(access_token, alg)
        if at_hash is not None:
            claims["at_hash"] = at_hash.decode("ascii")  # OIDC Core §3.1.3.6
    claims.update(generate_user_info(account, scope, settings))
    return keyring.sign_jwt(claims, alg=alg, typ="JWT")
