"""The kept client key sets (idp.oauth.remote_keys) when the key host fails."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet

from idp.oauth import remote_keys
from idp.oauth.remote_keys import KeysUnavailable
from idp.oauth.remote_keys import RemoteKeySets

URI = "https://client.example/jwks.json"


class Host:
    """A key host that answers with ``keys`` or fails when ``down``."""

    def __init__(self) -> None:
        self.keys = KeySet([ECKey.generate_key("P-256", parameters={"kid": "a"})])
        self.down = False
        self.fetches = 0

    def get(self, uri: str) -> KeySet:
        self.fetches += 1
        if self.down:
            raise KeysUnavailable(uri)
        return self.keys


@pytest.fixture
def host():
    return Host()


@pytest.fixture
def now():
    return [0.0]


@pytest.fixture
def cache(host, now):
    return RemoteKeySets(get=host.get, clock=lambda: now[0])


def test_a_failed_fetch_for_an_unknown_kid_keeps_the_fresh_set(cache, host, now):
    kept = cache.keys(URI)
    host.down = True
    now[0] += remote_keys.MIN_REFETCH
    assert cache.keys(URI, "unknown") is kept
    assert host.fetches == 2


def test_a_failed_fetch_with_nothing_fresh_refuses(cache, host, now):
    cache.keys(URI)
    host.down = True
    now[0] += remote_keys.MAX_AGE
    with pytest.raises(KeysUnavailable):
        cache.keys(URI)
    with pytest.raises(KeysUnavailable):
        cache.keys(URI)
    assert host.fetches == 3


def test_a_host_that_never_answered_refuses_each_time(cache, host):
    host.down = True
    for _ in range(2):
        with pytest.raises(KeysUnavailable):
            cache.keys(URI)
    assert host.fetches == 2


def test_sets_are_kept_by_uri(cache, host):
    cache.keys(URI)
    cache.keys(URI + "?other")
    cache.keys(URI)
    assert host.fetches == 2
