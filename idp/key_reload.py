"""How every provider process learns of a key rotation: the keyring is reloaded from the keys
directory when its files change (names, sizes, modification times), checked at most every
``IDP_KEYS_RELOAD_INTERVAL`` seconds on the first use after that interval.

``keys rotate`` run on one host (against the directory every host mounts) thus reaches all of
them within the interval, without a restart. A directory caught half-rotated (an algorithm
with no current key for an instant, a file being written) does not load: the process keeps
the keyring it has and tries again at the next check. Imports idp.keys only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import MutableMapping
from pathlib import Path
from time import monotonic
from typing import Any

from idp.keys import KeyError_
from idp.keys import Keyring
from idp.keys import load_keyring

KEYRING = "idp_keyring"
WATCHER = "idp_keyring_watcher"
log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(directory: Path) -> Fingerprint:
    """What changes when a key file is written, added or removed."""
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # removed while listing: the next check sees the directory as it is
        found.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(found)


class KeyringWatcher:
    """Reloads the keyring of ``directory`` when its files change (thread-safe)."""

    def __init__(self, directory: Path, interval: float, loaded: Fingerprint):
        self.directory = directory
        self.interval = interval
        self._seen = loaded
        self._due = monotonic() + interval
        self._lock = threading.Lock()

    def changed(self) -> Keyring | None:
        """A freshly loaded keyring when the files changed since the last load, else None."""
        if monotonic() < self._due or not self._lock.acquire(blocking=False):
            return None
        try:
            self._due = monotonic() + self.interval
            now = fingerprint(self.directory)
            if now == self._seen:
                return None
            try:
                keyring = load_keyring(self.directory)
            except KeyError_ as exc:
                log.warning("keys directory changed but does not load yet: %s", exc)
                return None
            self._seen = now
            log.info("signing keys reloaded from %s", self.directory)
            return keyring
        finally:
            self._lock.release()


def install(extensions: MutableMapping[str, Any], directory: Path, interval: int) -> None:
    """Load the keyring into an app's extensions and, unless ``interval`` is 0, watch it."""
    loaded = fingerprint(directory) if directory.exists() else ()
    extensions[KEYRING] = load_keyring(directory)
    if interval > 0:
        extensions[WATCHER] = KeyringWatcher(directory, interval, loaded)


def current_keyring(extensions: MutableMapping[str, Any]) -> Keyring:
    """The app's keyring, reloaded first when the watcher says the files changed."""
    watcher: KeyringWatcher | None = extensions.get(WATCHER)
    if watcher is not None:
        fresh = watcher.changed()
        if fresh is not None:
            extensions[KEYRING] = fresh
    keyring: Keyring = extensions[KEYRING]
    return keyring
