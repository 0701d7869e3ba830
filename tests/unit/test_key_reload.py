"""A key rotation reaches every process without a restart: the keyring is reloaded when the key
files change, at most every IDP_KEYS_RELOAD_INTERVAL seconds, and a half-rotated directory
keeps the keyring that works."""

from __future__ import annotations

import json
import time

import pytest

from idp import key_reload
from idp.key_reload import current_keyring
from idp.key_reload import install
from idp.keys import CURRENT
from idp.keys import generate_missing
from idp.keys import read_keys
from idp.keys import rotate


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.now = time.monotonic()  # apps created before the fixture read the real clock

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Replace the watcher's monotonic clock."""
    fake = Clock()
    monkeypatch.setattr(key_reload, "monotonic", fake)
    return fake


def signing_kid(extensions) -> str:
    """The kid that signs RS256 now."""
    return current_keyring(extensions).signing_key("RS256").kid


def current_kid_on_disk(directory) -> str:
    """The RS256 key the directory says is current."""
    return next(k.kid for k in read_keys(directory) if k.alg == "RS256" and k.status == CURRENT)


def test_a_rotation_is_picked_up_after_the_interval(tmp_path, clock):
    generate_missing(tmp_path)
    extensions: dict = {}
    install(extensions, tmp_path, interval=10)
    before = signing_kid(extensions)
    rotate(tmp_path)
    assert signing_kid(extensions) == before  # not due yet: no file system access at all
    clock.now += 11
    after = signing_kid(extensions)
    assert after != before and after == current_kid_on_disk(tmp_path)
    assert before in {k["kid"] for k in current_keyring(extensions).jwks["keys"]}  # retired


def test_unchanged_files_keep_the_same_keyring_object(tmp_path, clock):
    generate_missing(tmp_path)
    extensions: dict = {}
    install(extensions, tmp_path, interval=10)
    first = current_keyring(extensions)
    clock.now += 11
    assert current_keyring(extensions) is first  # the prepared JWKS bytes stay valid


def test_a_half_rotated_directory_keeps_the_working_keyring(tmp_path, clock):
    generate_missing(tmp_path)
    extensions: dict = {}
    install(extensions, tmp_path, interval=10)
    before = signing_kid(extensions)
    current = next(k for k in read_keys(tmp_path) if k.alg == "RS256" and k.status == CURRENT)
    data = json.loads(current.path.read_text())
    current.path.write_text(json.dumps({**data, "status": "retired"}))  # first step of rotate
    clock.now += 11
    assert signing_kid(extensions) == before
    rotate_rest = next(k for k in read_keys(tmp_path) if k.alg == "RS256" and k.status == "next")
    rest = json.loads(rotate_rest.path.read_text())
    rotate_rest.path.write_text(json.dumps({**rest, "status": CURRENT}))  # second step
    clock.now += 11
    assert signing_kid(extensions) == rotate_rest.kid


def test_interval_zero_never_reloads(tmp_path, clock):
    generate_missing(tmp_path)
    extensions: dict = {}
    install(extensions, tmp_path, interval=0)
    before = signing_kid(extensions)
    rotate(tmp_path)
    clock.now += 3600
    assert signing_kid(extensions) == before


def test_the_app_publishes_and_signs_with_rotated_keys(app, runner, test_client, clock):
    jwks_before = {k["kid"] for k in test_client.get("/jwks.json").get_json()["keys"]}
    assert runner.invoke(args=["idp", "keys", "rotate"]).exit_code == 0
    clock.now += app.config["IDP"].keys_reload_interval + 1
    jwks_after = {k["kid"] for k in test_client.get("/jwks.json").get_json()["keys"]}
    assert jwks_before < jwks_after  # the new next key is published, the old ones still are
    settings = app.config["IDP"]
    assert signing_kid(app.extensions) == current_kid_on_disk(settings.path(settings.keys_dir))
