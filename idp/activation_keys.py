"""Secret HMAC keys for activation codes: files in ``keys/activation/``, never in the database.

Each file ``keys/activation/<kid>.json`` holds ``{"status", "created_at", "secret"}`` (32 random
bytes, base64url). Status ``current`` hashes new codes; ``retired`` keys still verify the hashes
made with them until the next customer import re-keys those rows. ``idp keys generate`` makes a
current key when there is none, ``idp keys rotate`` retires it and makes a new one, and
``idp keys prune`` deletes a retired key once no stored hash names it. The files sit beside the
signing keys, so every host that mounts ``keys/`` has them. Imports the standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

SUBDIRECTORY = "activation"
CURRENT, RETIRED = "current", "retired"
SECRET_BYTES = 32


class ActivationKeyError(RuntimeError):
    """The activation-key directory holds an unreadable file or no current key."""


@dataclass(frozen=True)
class ActivationKeyring:
    """Every activation-code key by kid, and which one hashes new codes."""

    secrets: dict[str, bytes]
    current_kid: str | None

    def current(self) -> tuple[str, bytes]:
        """The kid and secret that hash new codes."""
        if self.current_kid is None:
            raise ActivationKeyError(
                "no current activation-code key: run 'flask --app wsgi idp keys generate'"
            )
        return self.current_kid, self.secrets[self.current_kid]


def directory_of(keys_dir: Path) -> Path:
    """Where the activation-code keys of a keys directory live."""
    return keys_dir / SUBDIRECTORY


def load_activation_keys(keys_dir: Path) -> ActivationKeyring:
    """Read every key file (an empty ring when there is none yet)."""
    found: dict[str, bytes] = {}
    current: list[tuple[str, str]] = []
    directory = directory_of(keys_dir)
    for path in sorted(directory.glob("*.json")) if directory.exists() else []:
        try:
            data = json.loads(path.read_text())
            secret = base64.urlsafe_b64decode(data["secret"] + "==")
            status, created_at = data["status"], data["created_at"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ActivationKeyError(f"unreadable activation key {path.name}: {exc}") from None
        found[path.stem] = secret
        if status == CURRENT:
            current.append((created_at, path.stem))
    # Mid-rotation two files may say current for an instant: the newer one wins.
    return ActivationKeyring(found, max(current)[1] if current else None)


def generate_missing(keys_dir: Path) -> list[str]:
    """Make a current key when there is none; return the new kids."""
    if load_activation_keys(keys_dir).current_kid is not None:
        return []
    return [_write_new(keys_dir)]


def rotate(keys_dir: Path) -> list[str]:
    """Write a new current key, then retire the previous ones; return the new kid."""
    old = _files_with_status(keys_dir, CURRENT)
    kid = _write_new(keys_dir)
    for path, data in old:
        _write(path, {**data, "status": RETIRED})
    return [kid]


def prune(keys_dir: Path, in_use: set[str]) -> list[str]:
    """Delete retired keys that no stored hash names (``in_use``); return their kids."""
    gone = []
    for path, _data in _files_with_status(keys_dir, RETIRED):
        if path.stem not in in_use:
            path.unlink()
            gone.append(path.stem)
    return gone


def retired_kids(keys_dir: Path) -> list[str]:
    """The kids of the retired keys."""
    return [path.stem for path, _data in _files_with_status(keys_dir, RETIRED)]


def _files_with_status(keys_dir: Path, status: str) -> list[tuple[Path, dict[str, str]]]:
    directory = directory_of(keys_dir)
    found = []
    for path in sorted(directory.glob("*.json")) if directory.exists() else []:
        data = json.loads(path.read_text())
        if data.get("status") == status:
            found.append((path, data))
    return found


def _write_new(keys_dir: Path) -> str:
    kid = "a" + secrets.token_hex(6)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")
    created_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    directory = directory_of(keys_dir)
    directory.mkdir(parents=True, exist_ok=True)
    _write(
        directory / f"{kid}.json", {"status": CURRENT, "created_at": created_at, "secret": secret}
    )
    return kid


def _write(path: Path, data: dict[str, str]) -> None:
    """Write a key file atomically (readers on other hosts never see half a file), mode 0600."""
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(temporary, path)
