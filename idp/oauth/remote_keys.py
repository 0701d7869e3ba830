"""Client key sets fetched from a registered ``jwks_uri``, kept for a while in this process.

Fetching at every authentication costs a round trip per token request and hands a slow or
hostile ``jwks_uri`` a worker thread each time. A client rotates by publishing the new key at its
``jwks_uri`` before signing with it (OIDC Core §10.1.1), so the set is kept for ``MAX_AGE`` and
fetched again earlier only when an assertion names a ``kid`` the kept set lacks — at most once
per ``MIN_REFETCH`` per URI, so that assertions with made-up ``kid`` values cannot turn this
server into a client of the key host on every request (node-oidc-provider's rule).

One cache per app (``app.extensions``), read at call time like ``idp.oauth.context``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from flask import current_app
from joserfc.jwk import KeySet

MAX_AGE = 300.0  # seconds a fetched set is used without asking again
MIN_REFETCH = 60.0  # seconds between two fetches of one URI for an unknown kid
TIMEOUT = 5.0


class KeysUnavailable(Exception):
    """The ``jwks_uri`` gave no usable key set."""


def fetch(uri: str) -> KeySet:
    """GET the set (no redirects, bounded time); any failure is ``KeysUnavailable``."""
    try:
        response = httpx.get(uri, timeout=TIMEOUT, follow_redirects=False)
        response.raise_for_status()
        return KeySet.import_key_set(response.json())
    except Exception as exc:  # noqa: BLE001 - whatever the host answers, the client is refused
        raise KeysUnavailable(uri) from exc


@dataclass
class _Kept:
    keys: KeySet
    fetched_at: float


def names_kid(keys: KeySet, kid: str) -> bool:
    """True when a key of ``keys`` carries ``kid``."""
    return any(key.kid == kid for key in keys)


class RemoteKeySets:
    """The kept sets, by URI."""

    def __init__(
        self,
        get: Callable[[str], KeySet] = fetch,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._get = get
        self._clock = clock
        self._kept: dict[str, _Kept] = {}

    def keys(self, uri: str, kid: str | None = None) -> KeySet:
        """The set published at ``uri``; fetched when none is kept, when the kept one is older
        than ``MAX_AGE``, or when it lacks ``kid`` and was fetched ``MIN_REFETCH`` ago or more.

        A failed fetch for an unknown ``kid`` keeps the set it had (the assertion then fails
        its signature check); a failed fetch with nothing fresh kept raises ``KeysUnavailable``.
        """
        now = self._clock()
        kept = self._kept.get(uri)
        fresh = kept is not None and now - kept.fetched_at < MAX_AGE
        if kept is not None and fresh:
            if kid is None or names_kid(kept.keys, kid) or now - kept.fetched_at < MIN_REFETCH:
                return kept.keys
        try:
            keys = self._get(uri)
        except KeysUnavailable:
            if kept is not None and fresh:
                return kept.keys
            self._kept.pop(uri, None)
            raise
        self._kept[uri] = _Kept(keys, now)
        return keys


def remote_key_sets() -> RemoteKeySets:
    """The current app's cache (made on first use)."""
    cache = current_app.extensions.get("idp.remote_keys")
    if cache is None:
        cache = current_app.extensions.setdefault("idp.remote_keys", RemoteKeySets())
    return cache
