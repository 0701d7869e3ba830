"""Settings and keys of the running app, read at call time (no module-level caches)."""

from __future__ import annotations

from flask import current_app

from idp.config import Settings
from idp.key_reload import current_keyring
from idp.keys import Keyring


def settings() -> Settings:
    """The Settings the current app was created with."""
    value: Settings = current_app.config["IDP"]
    return value


def keyring() -> Keyring:
    """The signing keys of the current app (reloaded when the key files change)."""
    return current_keyring(current_app.extensions)
