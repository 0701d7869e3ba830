"""Load client registrations from ``clients/registrations.toml`` into the database (upsert)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.config import CLIENT_SECRET_FILE_PREFIX
from idp.config import CLIENT_SECRET_PREFIX
from idp.config import Settings
from idp.config import client_env_name
from idp.config import development_client_secret
from idp.models.base import DbSession
from idp.models.base import token_hash
from idp.models.oauth import Client
from idp.oauth.client_auth import ASSERTION_ALGORITHMS
from idp.oauth.client_auth import CLIENT_AUTH_METHODS
from idp.oauth.client_auth import SECRET_METHODS

AUTH_METHODS = tuple(CLIENT_AUTH_METHODS)
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}
FIELDS = (
    "name",
    "application_type",
    "token_endpoint_auth_method",
    "redirect_uris",
    "grant_types",
    "response_types",
    "scope",
    "id_token_signed_response_alg",
    "initiate_login_uri",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "jwks",
    "jwks_uri",
    "token_endpoint_auth_signing_alg",
    "dpop_bound_access_tokens",
    "require_pushed_authorization_requests",
)
FLAGS = ("dpop_bound_access_tokens", "require_pushed_authorization_requests")


class RegistrationError(ValueError):
    """A registration is malformed; nothing was changed."""


def read_registrations(path: Path, settings: Settings) -> list[dict[str, Any]]:
    """Parse and check the file; ``[clients.<client_id>]`` tables."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegistrationError(f"{path}: {exc}") from None
    result = []
    for client_id, reg in data.get("clients", {}).items():
        reg = {"client_id": client_id, **reg}
        _check(reg, settings)
        result.append(reg)
    names = [client_env_name(reg["client_id"]) for reg in result]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise RegistrationError(f"client ids that share a variable name: {', '.join(clashes)}")
    return result


def _check(reg: dict[str, Any], settings: Settings) -> None:
    cid = reg["client_id"]
    if not CLIENT_ID.fullmatch(cid):
        raise RegistrationError(f"{cid!r}: a client id is letters, digits, '.', '_', '-'")
    method = reg.get("token_endpoint_auth_method")
    if method not in AUTH_METHODS:
        raise RegistrationError(f"{cid}: token_endpoint_auth_method must be one of {AUTH_METHODS}")
    if not reg.get("redirect_uris"):
        raise RegistrationError(f"{cid}: redirect_uris is required")
    if reg.get("id_token_signed_response_alg", "RS256") not in ("RS256", "ES256"):
        raise RegistrationError(f"{cid}: id_token_signed_response_alg must be RS256 or ES256")
    if "client_secret_env" in reg:
        raise RegistrationError(
            f"{cid}: client_secret_env is no longer read; the secret comes from "
            f"{CLIENT_SECRET_PREFIX}{client_env_name(cid)} (or "
            f"{CLIENT_SECRET_FILE_PREFIX}{client_env_name(cid)})"
        )
    for flag in FLAGS:
        if not isinstance(reg.get(flag, False), bool):
            raise RegistrationError(f"{cid}: {flag} is true or false")
    _check_keys(reg, settings)


def _check_keys(reg: dict[str, Any], settings: Settings) -> None:
    """private_key_jwt (RFC 7523 §2.2): public keys inline (``jwks``) or by ``jwks_uri``."""
    cid = reg["client_id"]
    alg = reg.get("token_endpoint_auth_signing_alg")
    if alg is not None and alg not in ASSERTION_ALGORITHMS:
        raise RegistrationError(f"{cid}: token_endpoint_auth_signing_alg: {ASSERTION_ALGORITHMS}")
    has_keys = ("jwks" in reg) + ("jwks_uri" in reg)
    if reg["token_endpoint_auth_method"] != "private_key_jwt":
        if has_keys:
            raise RegistrationError(f"{cid}: jwks and jwks_uri are for private_key_jwt")
        return
    if has_keys != 1:
        raise RegistrationError(f"{cid}: private_key_jwt needs exactly one of jwks, jwks_uri")
    if "jwks_uri" in reg:
        uri = reg["jwks_uri"]
        if not (
            uri.startswith("https://") or (settings.is_development and uri.startswith("http://"))
        ):
            raise RegistrationError(f"{cid}: jwks_uri must be https")
        return
    keys = reg["jwks"].get("keys") if isinstance(reg["jwks"], dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise RegistrationError(f"{cid}: jwks is not a JWK Set (RFC 7517 §5)")
    if any(PRIVATE_MEMBERS & set(key) or key.get("kty") == "oct" for key in keys):
        raise RegistrationError(f"{cid}: jwks holds private or symmetric key material")
    try:
        KeySet.import_key_set(reg["jwks"])
    except (ValueError, TypeError, KeyError, JoseError) as exc:
        raise RegistrationError(f"{cid}: jwks is not a JWK Set: {exc}") from None


def client_secret(reg: dict[str, Any], settings: Settings) -> str | None:
    """The secret of a client authenticating with one: ``IDP_CLIENT_SECRET__<ID>``, or the
    file ``IDP_CLIENT_SECRET_FILE__<ID>`` names; in development, unset, the development
    secret. Production refuses a missing one (and config.py a development one)."""
    cid = reg["client_id"]
    if reg["token_endpoint_auth_method"] not in SECRET_METHODS:
        return None
    name = client_env_name(cid)
    value = settings.client_secrets.get(name)
    path = settings.client_secret_files.get(name)
    if value is not None and path is not None:
        raise RegistrationError(
            f"{cid}: set {CLIENT_SECRET_PREFIX}{name} "
            f"or {CLIENT_SECRET_FILE_PREFIX}{name}, not both"
        )
    if path is not None:
        value = _read_secret_file(cid, settings.path(path))
    if value and not settings.is_development and value == development_client_secret(cid):
        raise RegistrationError(f"{cid}: production refuses the development client secret")
    if value:
        return value
    if settings.is_development:
        return development_client_secret(cid)
    raise RegistrationError(
        f"{cid}: no client secret: set {CLIENT_SECRET_PREFIX}{name} "
        f"or {CLIENT_SECRET_FILE_PREFIX}{name}"
    )


def _read_secret_file(cid: str, path: Path) -> str:
    """The secret in a file, without its final line break."""
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistrationError(f"{cid}: cannot read the client secret file: {exc}") from None
    if not value:
        raise RegistrationError(f"{cid}: the client secret file {path} is empty")
    return value


def sync_clients(session: DbSession, settings: Settings) -> list[str]:
    """Upsert every registration (caller commits); return the client ids."""
    regs = read_registrations(settings.path(settings.clients_file), settings)
    for reg in regs:
        client = session.get(Client, reg["client_id"]) or Client(client_id=reg["client_id"])
        values = {
            "application_type": "web",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "id_token_signed_response_alg": "RS256",
            "post_logout_redirect_uris": [],
            "initiate_login_uri": None,
            "backchannel_logout_uri": None,
            "jwks": None,
            "jwks_uri": None,
            "token_endpoint_auth_signing_alg": None,
            "dpop_bound_access_tokens": False,
            "require_pushed_authorization_requests": False,
        }
        values.update({k: reg[k] for k in FIELDS if k in reg})
        for key, value in values.items():
            setattr(client, key, value)
        secret = client_secret(reg, settings)
        client.client_secret_hash = token_hash(secret) if secret else None
        session.add(client)
    session.flush()
    return [reg["client_id"] for reg in regs]
