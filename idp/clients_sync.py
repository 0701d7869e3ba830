"""Load client registrations from ``clients/registrations.toml`` into the database (upsert)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from idp.config import Settings
from idp.models.base import DbSession
from idp.models.base import token_hash
from idp.models.oauth import Client

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
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
)


class RegistrationError(ValueError):
    """A registration is malformed; nothing was changed."""


def read_registrations(path: Path) -> list[dict[str, Any]]:
    """Parse and check the file; ``[clients.<client_id>]`` tables."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegistrationError(f"{path}: {exc}") from None
    result = []
    for client_id, reg in data.get("clients", {}).items():
        reg = {"client_id": client_id, **reg}
        _check(reg)
        result.append(reg)
    return result


def _check(reg: dict[str, Any]) -> None:
    cid = reg["client_id"]
    if reg.get("token_endpoint_auth_method") not in AUTH_METHODS:
        raise RegistrationError(f"{cid}: token_endpoint_auth_method must be one of {AUTH_METHODS}")
    if not reg.get("redirect_uris"):
        raise RegistrationError(f"{cid}: redirect_uris is required")
    if reg.get("id_token_signed_response_alg", "RS256") not in ("RS256", "ES256"):
        raise RegistrationError(f"{cid}: id_token_signed_response_alg must be RS256 or ES256")
    public = reg["token_endpoint_auth_method"] == "none"
    if public != ("client_secret_env" not in reg):
        raise RegistrationError(f"{cid}: a confidential client names its client_secret_env")


def client_secret(reg: dict[str, Any], settings: Settings) -> str | None:
    """The secret a confidential client authenticates with, from the named setting."""
    env = reg.get("client_secret_env")
    if env is None:
        return None
    if env != "IDP_CUSTOMER_SPACE_SECRET":
        raise RegistrationError(f"{reg['client_id']}: unknown client_secret_env {env}")
    return settings.customer_space_secret


def sync_clients(session: DbSession, settings: Settings) -> list[str]:
    """Upsert every registration (caller commits); return the client ids."""
    regs = read_registrations(settings.path(settings.clients_file))
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
        }
        values.update({k: reg[k] for k in FIELDS if k in reg})
        for key, value in values.items():
            setattr(client, key, value)
        secret = client_secret(reg, settings)
        client.client_secret_hash = token_hash(secret) if secret else None
        session.add(client)
    session.flush()
    return [reg["client_id"] for reg in regs]
