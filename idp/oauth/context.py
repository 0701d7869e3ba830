"""Settings and keys of the running app, read at call time (no module-level caches)."""

from __future__ import annotations

from flask import current_app

from idp.config import Settings
from idp.keys import Keyring


def settings() -> Settings:
    """The Settings the current app was created with."""
    value: Settings = current_app.config["IDP"]
    return value


def keyring() -> Keyring:
    """The signing keys loaded by the current app."""
    value: Keyring = current_app.extensions["idp_keyring"]
    return value
