"""Activation-code HMAC keys on disk: generated once, rotated (the old one retired but still
verifying), pruned only when unused, written atomically with mode 0600."""

from __future__ import annotations

import stat

import pytest

from idp.activation_keys import ActivationKeyError
from idp.activation_keys import directory_of
from idp.activation_keys import generate_missing
from idp.activation_keys import load_activation_keys
from idp.activation_keys import prune
from idp.activation_keys import retired_kids
from idp.activation_keys import rotate


def test_generate_makes_one_current_key_once(tmp_path):
    made = generate_missing(tmp_path)
    assert len(made) == 1 and generate_missing(tmp_path) == []
    ring = load_activation_keys(tmp_path)
    assert ring.current_kid == made[0] and len(ring.secrets[made[0]]) == 32
    files = list(directory_of(tmp_path).iterdir())
    assert [f.name for f in files] == [f"{made[0]}.json"]  # no temporary file left behind
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600


def test_rotate_retires_the_current_key_and_keeps_it(tmp_path):
    (old,) = generate_missing(tmp_path)
    (new,) = rotate(tmp_path)
    ring = load_activation_keys(tmp_path)
    assert ring.current_kid == new != old and set(ring.secrets) == {old, new}
    assert retired_kids(tmp_path) == [old]


def test_prune_keeps_retired_keys_still_in_use(tmp_path):
    (old,) = generate_missing(tmp_path)
    rotate(tmp_path)
    assert prune(tmp_path, in_use={old}) == [] and old in load_activation_keys(tmp_path).secrets
    assert prune(tmp_path, in_use=set()) == [old]
    assert old not in load_activation_keys(tmp_path).secrets


def test_no_key_is_an_empty_ring_that_refuses_to_hash(tmp_path):
    ring = load_activation_keys(tmp_path)
    assert ring.secrets == {} and ring.current_kid is None
    with pytest.raises(ActivationKeyError, match="keys generate"):
        ring.current()


def test_an_unreadable_key_file_is_named(tmp_path):
    generate_missing(tmp_path)
    (directory_of(tmp_path) / "broken.json").write_text("{not json")
    with pytest.raises(ActivationKeyError, match="broken.json"):
        load_activation_keys(tmp_path)


def test_import_without_a_key_says_how_to_make_one(app, runner, tmp_path):
    settings = app.config["IDP"]
    for path in directory_of(settings.path(settings.keys_dir)).iterdir():
        path.unlink()
    csv_file = tmp_path / "c.csv"
    csv_file.write_text(
        "customer_number,activation_code,holder_name,language,contract_id,energy,"
        "contract_status,start_date,end_date\n"
        "2100000001,1234567890,A,fr,EL-1,electricity,active,2024-01-01,\n"
    )
    result = runner.invoke(args=["idp", "customers", "import", str(csv_file)])
    assert result.exit_code == 1 and "run 'flask --app wsgi idp keys generate'" in result.output
