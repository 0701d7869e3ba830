"""Signing keys on disk: generate (current + next per algorithm, files 0600), rotate
(next → current → retired, a retired key stays published), prune, and loading errors."""

from __future__ import annotations

import json
import stat

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.keys import ALGORITHMS
from idp.keys import CURRENT
from idp.keys import NEXT
from idp.keys import RETIRED
from idp.keys import KeyError_
from idp.keys import generate_missing
from idp.keys import load_keyring
from idp.keys import prune
from idp.keys import read_keys
from idp.keys import rotate

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


def statuses(directory) -> dict[tuple[str, str], list[str]]:
    """(alg, status) → kids."""
    result: dict[tuple[str, str], list[str]] = {}
    for key in read_keys(directory):
        result.setdefault((key.alg, key.status), []).append(key.kid)
    return result


def test_generate_makes_a_current_and_a_next_key_per_algorithm(tmp_path):
    directory = tmp_path / "keys"
    made = generate_missing(directory)
    assert len(made) == 4 and len(set(made)) == 4
    found = statuses(directory)
    assert sorted(found) == sorted((alg, s) for alg in ALGORITHMS for s in (CURRENT, NEXT))
    assert all(len(kids) == 1 for kids in found.values())
    kty = {key.alg: key.key.key_type for key in read_keys(directory)}
    assert kty == {"RS256": "RSA", "ES256": "EC"}


def test_key_files_are_readable_by_the_owner_only(tmp_path):
    generate_missing(tmp_path)
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 4
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        data = json.loads(path.read_text())
        assert set(data) == {"status", "created_at", "jwk"}
        assert data["jwk"]["kid"] == path.stem


def test_generate_is_idempotent(tmp_path):
    generate_missing(tmp_path)
    before = {p.name: p.read_text() for p in tmp_path.glob("*.json")}
    assert generate_missing(tmp_path) == []
    assert {p.name: p.read_text() for p in tmp_path.glob("*.json")} == before


def test_generate_completes_a_partial_directory(tmp_path):
    generate_missing(tmp_path)
    next_rs = statuses(tmp_path)[("RS256", NEXT)][0]
    (tmp_path / f"{next_rs}.json").unlink()
    made = generate_missing(tmp_path)
    assert len(made) == 1
    assert statuses(tmp_path)[("RS256", NEXT)] == made


def test_rotate_moves_statuses_and_keeps_retired_keys_published(tmp_path):
    generate_missing(tmp_path)
    before = statuses(tmp_path)
    made = rotate(tmp_path)
    after = statuses(tmp_path)
    for alg in ALGORITHMS:
        assert after[(alg, RETIRED)] == before[(alg, CURRENT)]
        assert after[(alg, CURRENT)] == before[(alg, NEXT)]
        assert len(after[(alg, NEXT)]) == 1 and after[(alg, NEXT)][0] in made
    keyring = load_keyring(tmp_path)
    published = {jwk["kid"] for jwk in keyring.jwks["keys"]}
    assert published == {kid for kids in after.values() for kid in kids}
    for alg in ALGORITHMS:
        assert keyring.signing_key(alg).kid == before[(alg, NEXT)][0]
    for path in tmp_path.glob("*.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_jwks_holds_public_keys_only(tmp_path):
    generate_missing(tmp_path)
    rotate(tmp_path)
    for jwk in load_keyring(tmp_path).jwks["keys"]:
        assert not PRIVATE_MEMBERS & set(jwk), jwk["kid"]
        assert jwk["use"] == "sig" and jwk["alg"] in ALGORITHMS


def test_twice_rotated_keys_stay_published_until_pruned(tmp_path):
    generate_missing(tmp_path)
    first_current = statuses(tmp_path)[("RS256", CURRENT)][0]
    rotate(tmp_path)
    rotate(tmp_path)
    retired = statuses(tmp_path)[("RS256", RETIRED)]
    assert first_current in retired and len(retired) == 2
    assert first_current in {j["kid"] for j in load_keyring(tmp_path).jwks["keys"]}


def test_prune_removes_retired_keys_only(tmp_path):
    generate_missing(tmp_path)
    rotate(tmp_path)
    retired = {kid for (alg, s), kids in statuses(tmp_path).items() if s == RETIRED for kid in kids}
    assert len(retired) == 2
    assert set(prune(tmp_path)) == retired
    left = statuses(tmp_path)
    assert not any(s == RETIRED for (_, s) in left)
    assert len(list(tmp_path.glob("*.json"))) == 4
    assert not retired & {j["kid"] for j in load_keyring(tmp_path).jwks["keys"]}
    assert prune(tmp_path) == []


def test_rotate_without_next_key_refuses(tmp_path):
    generate_missing(tmp_path)
    for kid in statuses(tmp_path)[("ES256", NEXT)]:
        (tmp_path / f"{kid}.json").unlink()
    with pytest.raises(KeyError_, match="no 'next' key for ES256"):
        rotate(tmp_path)


@pytest.mark.parametrize("exists", [True, False], ids=["empty-directory", "no-directory"])
def test_load_keyring_without_keys_says_how_to_make_them(tmp_path, exists):
    directory = tmp_path / "keys"
    if exists:
        directory.mkdir()
    with pytest.raises(KeyError_) as info:
        load_keyring(directory)
    message = str(info.value)
    assert "RS256" in message and "ES256" in message
    assert str(directory) in message
    assert "idp keys generate" in message


def test_load_keyring_names_the_missing_algorithm(tmp_path):
    generate_missing(tmp_path)
    for kid in statuses(tmp_path)[("ES256", CURRENT)]:
        (tmp_path / f"{kid}.json").unlink()
    with pytest.raises(KeyError_, match="no current signing key for ES256 in"):
        load_keyring(tmp_path)


def test_unreadable_key_file_is_named(tmp_path):
    generate_missing(tmp_path)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(KeyError_, match="unreadable key file broken.json"):
        load_keyring(tmp_path)


def test_signing_key_for_unknown_algorithm(tmp_path):
    generate_missing(tmp_path)
    with pytest.raises(KeyError_, match="no current signing key for PS256"):
        load_keyring(tmp_path).signing_key("PS256")


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
@pytest.mark.parametrize("typ", ["JWT", "logout+jwt"])
def test_sign_jwt_names_key_and_type_and_verifies_with_the_jwks(tmp_path, alg, typ):
    """One signing preamble for ID and logout tokens: alg, kid (RFC 7515 §4.1.4) and typ
    (RFC 8725 §3.11) in the header; the published JWKS verifies it."""
    generate_missing(tmp_path)
    keyring = load_keyring(tmp_path)
    token = keyring.sign_jwt({"iss": "https://op.example", "sub": "s"}, alg=alg, typ=typ)
    decoded = jwt.decode(token, KeySet.import_key_set(keyring.jwks), algorithms=[alg])
    assert decoded.header == {"alg": alg, "kid": keyring.signing_key(alg).kid, "typ": typ}
    assert decoded.claims == {"iss": "https://op.example", "sub": "s"}
