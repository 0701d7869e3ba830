"""Signing keys: JWK files in ``keys/``, rotated without downtime, and the JWKS document.

Each file ``keys/<kid>.json`` holds ``{"status", "created_at", "jwk"}``. Status ``next`` is
published but does not sign yet; ``current`` signs; ``retired`` is still published so tokens it
signed keep verifying. ``rotate`` moves next→current→retired and makes a new ``next``, so a key
is always in the JWKS before it signs (OIDC Core §10.1.1). Imports joserfc and idp.config only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import Key
from joserfc.jwk import KeyParameters
from joserfc.jwk import RSAKey

ALGORITHMS = ("RS256", "ES256")
NEXT, CURRENT, RETIRED = "next", "current", "retired"


class KeyError_(RuntimeError):
    """The key directory is missing keys or holds an unreadable file."""


@dataclass(frozen=True)
class StoredKey:
    """One key file: its kid, algorithm, status, creation time and private key."""

    path: Path
    kid: str
    alg: str
    status: str
    created_at: str
    key: RSAKey | ECKey


@dataclass(frozen=True)
class Keyring:
    """The keys loaded at start: one signing key per algorithm and the public JWKS."""

    signing: dict[str, RSAKey | ECKey]
    jwks: dict[str, Any]

    def signing_key(self, alg: str) -> RSAKey | ECKey:
        """The current private key for ``alg`` (RS256 or ES256)."""
        try:
            return self.signing[alg]
        except KeyError:
            raise KeyError_(f"no current signing key for {alg}") from None

    def sign_jwt(self, claims: dict[str, Any], *, alg: str, typ: str) -> str:
        """A compact JWS of ``claims`` signed with the current key for ``alg``; the header
        names the key (``kid``, RFC 7515 §4.1.4) and the token's type (``typ``, RFC 8725
        §3.11: an ID token is ``JWT``, a logout token ``logout+jwt``)."""
        key = self.signing_key(alg)
        header = {"alg": alg, "kid": key.kid, "typ": typ}
        return jwt.encode(header, claims, key, algorithms=[alg])

    def verification_keys(self) -> list[Key]:
        """Every published public key (next, current, retired)."""
        return [_import(jwk) for jwk in self.jwks["keys"]]


def _generate(alg: str) -> RSAKey | ECKey:
    params: KeyParameters = {"use": "sig", "alg": alg}
    key: RSAKey | ECKey
    if alg == "RS256":
        key = RSAKey.generate_key(2048, parameters=params, private=True)
    else:
        key = ECKey.generate_key("P-256", parameters=params, private=True)
    key.ensure_kid()
    return key


def _import(jwk: dict[str, Any]) -> RSAKey | ECKey:
    return RSAKey.import_key(jwk) if jwk["kty"] == "RSA" else ECKey.import_key(jwk)


def _write(directory: Path, key: RSAKey | ECKey, status: str, created_at: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{key.kid}.json"
    data = {"status": status, "created_at": created_at, "jwk": key.as_dict(private=True)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)


def read_keys(directory: Path) -> list[StoredKey]:
    """Every key file in the directory, oldest first."""
    keys = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text())
            key = _import(data["jwk"])
            keys.append(
                StoredKey(
                    path,
                    key.kid or path.stem,
                    data["jwk"]["alg"],
                    data["status"],
                    data["created_at"],
                    key,
                )
            )
        except (OSError, ValueError, KeyError) as exc:
            raise KeyError_(f"unreadable key file {path.name}: {exc}") from None
    return sorted(keys, key=lambda k: k.created_at)


def generate_missing(directory: Path) -> list[str]:
    """Make a current and a next key for each algorithm that has none; return new kids."""
    existing = read_keys(directory) if directory.exists() else []
    made = []
    for alg in ALGORITHMS:
        statuses = {k.status for k in existing if k.alg == alg}
        for status in (CURRENT, NEXT):
            if status not in statuses:
                key = _generate(alg)
                _write(directory, key, status, _now())
                made.append(key.kid or "")
    return made


def rotate(directory: Path) -> list[str]:
    """next→current, current→retired, new next, for every algorithm; return the new kids."""
    keys = read_keys(directory)
    made = []
    for alg in ALGORITHMS:
        mine = [k for k in keys if k.alg == alg]
        if not any(k.status == NEXT for k in mine):
            raise KeyError_(f"no 'next' key for {alg}: run 'keys generate' first")
        for k in mine:
            if k.status == CURRENT:
                _write(directory, k.key, RETIRED, k.created_at)
            elif k.status == NEXT:
                _write(directory, k.key, CURRENT, k.created_at)
        key = _generate(alg)
        _write(directory, key, NEXT, _now())
        made.append(key.kid or "")
    return made


def prune(directory: Path) -> list[str]:
    """Delete retired keys (after every token they signed has expired); return their kids."""
    gone = []
    for k in read_keys(directory):
        if k.status == RETIRED:
            k.path.unlink()
            gone.append(k.kid)
    return gone


def load_keyring(directory: Path) -> Keyring:
    """Load the keys; every algorithm must have a current key."""
    keys = read_keys(directory) if directory.exists() else []
    signing = {k.alg: k.key for k in keys if k.status == CURRENT}
    missing = [alg for alg in ALGORITHMS if alg not in signing]
    if missing:
        raise KeyError_(
            f"no current signing key for {', '.join(missing)} in {directory}: "
            "run 'flask --app wsgi idp keys generate'"
        )
    public = [k.key.as_dict(private=False) for k in keys]
    for jwk in public:
        jwk.setdefault("use", "sig")
    return Keyring(signing=signing, jwks={"keys": public})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
