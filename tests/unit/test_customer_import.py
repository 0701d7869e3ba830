"""``customers import`` at scale: keyed hashes of activation codes (and their rotation and the
argon2id transition), batched set-based writes, an unchanged re-import that writes nothing,
delta and ``--full`` files, duplicates across batches, and all or nothing."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from idp.accounts import customers as customers_module
from idp.accounts.activation import verify_activation
from idp.accounts.activation_codes import SCHEME
from idp.accounts.activation_codes import code_matches
from idp.accounts.activation_codes import key_id
from idp.accounts.customers import import_customers
from idp.accounts.passwords import hash_password
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.activation_keys import load_activation_keys
from idp.extensions import db
from idp.models.account import Account
from idp.models.base import utcnow
from idp.models.customer import Contract
from idp.models.customer import Customer
from idp.seed import DEMO_CSV
from tests.sql import recorded

HEADER = DEMO_CSV.splitlines()[0]
WRITES = ("INSERT INTO customer", "UPDATE customer", "DELETE FROM customer")
CONTRACT_WRITES = ("INSERT INTO contract", "UPDATE contract", "DELETE FROM contract")


def number_of(i: int) -> str:
    """The i-th generated customer number (the demo data uses 20000000xx)."""
    return f"{2100000000 + i}"


def code_of(i: int, version: int = 0) -> str:
    """The activation code of generated customer i."""
    return f"{(7919 * i + 104729 * version) % 10**10:010d}"


def csv_lines(count: int, *, start: int = 0, version: int = 0, status: str = "active") -> str:
    """A billing file of ``count`` generated customers, two contracts each."""
    lines = [HEADER]
    for i in range(start, start + count):
        number, code = number_of(i), code_of(i, version)
        for energy, prefix in (("electricity", "EL"), ("gas", "GA")):
            lines.append(
                f"{number},{code},Holder {i},fr,{prefix}-{number},{energy},{status},2024-01-01,"
            )
    return "\n".join(lines) + "\n"


def run_import(app, text: str, **options):
    """Import a CSV text through the service and commit."""
    with app.app_context():
        result = import_customers(
            db.session, text.splitlines(keepends=True), app.config["IDP"], **options
        )
        db.session.commit()
        return result


def invoke(runner, tmp_path, text: str, *options: str):
    """``flask idp customers import <file> [options]``."""
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["idp", "customers", "import", str(path), *options])


def stored(app, number: str) -> Customer:
    """The customer row (detached)."""
    with app.app_context():
        customer = db.session.scalar(select(Customer).where(Customer.number == number))
        db.session.expunge(customer)
        return customer


def keyring(app):
    """The activation-code keys of the app."""
    settings = app.config["IDP"]
    return load_activation_keys(settings.path(settings.keys_dir))


def counts(app) -> tuple[int, int]:
    """(customers, contracts)."""
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Customer)),
            db.session.scalar(select(func.count()).select_from(Contract)),
        )


@contextmanager
def statements(app):
    """Every SQL statement the app's engine runs inside the block, on one line each."""
    with recorded(app) as seen:
        lines: list[str] = []
        yield lines
    lines.extend(" ".join(statement.split()) for statement, _parameters in seen)


def writes_to_data(seen: list[str]) -> list[str]:
    """The statements that wrote customers or contracts (not SQLite's lock-taking UPDATE that
    matches no row: idp.models.bulk.serialise)."""
    lock = ("WHERE 0 = 1", "WHERE false")
    return [s for s in seen if s.startswith(WRITES + CONTRACT_WRITES) and not s.endswith(lock)]


VERIFIED = "verified"


def check(app, number: str, code: str) -> str:
    """The customer-data step's verdict for a number and code (committed): ``VERIFIED`` or
    the refusal's reason."""
    with app.app_context():
        try:
            verify_activation(db.session, number, code, app.config["IDP"])
            verdict: str = VERIFIED
        except Refused as refused:
            verdict = refused.reason
        db.session.commit()
        return verdict


# ---- keyed hashes ----------------------------------------------------------------------------


def test_codes_are_stored_as_keyed_hashes_that_verify(app):
    run_import(app, csv_lines(3))
    customer = stored(app, number_of(1))
    scheme, kid, digest = customer.activation_code_hash.split("$")
    assert (scheme, kid) == (SCHEME, keyring(app).current_kid) and len(digest) == 64
    assert code_of(1) not in customer.activation_code_hash
    ring, settings = keyring(app), app.config["IDP"]
    hashed = customer.activation_code_hash
    assert code_matches(ring, hashed, number_of(1), code_of(1), settings)
    assert not code_matches(ring, hashed, number_of(1), code_of(2), settings)
    # The number is part of the message: the same code of another customer does not match.
    assert not code_matches(ring, hashed, number_of(2), code_of(1), settings)
    assert check(app, number_of(1), code_of(1)) is VERIFIED


def test_a_hash_under_an_unknown_key_never_matches(app):
    run_import(app, csv_lines(1))
    hashed = stored(app, number_of(0)).activation_code_hash
    forged = hashed.replace(key_id(hashed), "a000000000000")
    assert not code_matches(keyring(app), forged, number_of(0), code_of(0), app.config["IDP"])


def test_a_wrong_code_counts_against_the_customer(app):
    run_import(app, csv_lines(1))
    assert check(app, number_of(0), code_of(0, version=1)) is Refusal.WRONG_CUSTOMER_DATA
    assert stored(app, number_of(0)).failed_activations == 1


# ---- unchanged, changed, delta ---------------------------------------------------------------


def test_an_unchanged_reimport_writes_nothing(app):
    text = csv_lines(50)
    run_import(app, text)
    before, rows = stored(app, number_of(7)), counts(app)
    with statements(app) as seen:
        result = run_import(app, text)
    assert (result.customers_created, result.contracts_created, result.changed) == (0, 0, 0)
    assert writes_to_data(seen) == []
    assert stored(app, number_of(7)).updated_at == before.updated_at and counts(app) == rows


def test_batches_cost_a_few_statements_not_one_per_row(app, monkeypatch):
    monkeypatch.setattr(customers_module, "BATCH_SIZE", 100)
    with statements(app) as seen:
        result = run_import(app, csv_lines(250))  # 500 rows: five batches
    assert result.rows == 500 and result.customers_created == 250
    customer_inserts = [s for s in seen if s.startswith("INSERT INTO customer")]
    assert len(customer_inserts) <= 5  # PostgreSQL COPYs them (not a statement seen here)
    assert len(seen) < 80
    with app.app_context():
        assert len(db.session.identity_map) == 0  # no ORM object per row


def test_a_delta_file_changes_only_what_it_names(app):
    run_import(app, csv_lines(20))
    untouched = stored(app, number_of(3))
    delta = csv_lines(1, start=5).replace("Holder 5", "Holder Five")
    delta += "\n".join(csv_lines(1, start=6, status="ended").splitlines()[1:]) + "\n"
    with statements(app) as seen:
        result = run_import(app, delta)
    assert result.rows == 4 and result.changed == 3  # one customer, two contracts
    assert len(writes_to_data(seen)) == 2  # one UPDATE per table, executemany
    assert stored(app, number_of(5)).holder_name == "Holder Five"
    assert stored(app, number_of(3)).updated_at == untouched.updated_at
    assert counts(app)[0] >= 20


def test_a_new_code_replaces_the_old_and_unlocks(app):
    run_import(app, csv_lines(1))
    for _ in range(5):
        check(app, number_of(0), "0000000001")
    assert check(app, number_of(0), code_of(0)) is Refusal.LOCKED
    result = run_import(app, csv_lines(1, version=1))
    assert result.changed == 1
    customer = stored(app, number_of(0))
    assert customer.failed_activations == 0 and customer.activation_locked_at is None
    assert check(app, number_of(0), code_of(0)) is Refusal.WRONG_CUSTOMER_DATA
    assert check(app, number_of(0), code_of(0, version=1)) is VERIFIED


def test_the_same_code_again_does_not_unlock(app):
    run_import(app, csv_lines(1))
    for _ in range(5):
        check(app, number_of(0), "0000000001")
    run_import(app, csv_lines(1))
    assert check(app, number_of(0), code_of(0)) is Refusal.LOCKED


def test_a_code_for_an_activated_customer_is_ignored_with_a_note(app):
    line = "2000000018,1234567890,Amélie Dubois,fr,EL-2000000018-1,electricity,active,2024-01-01,"
    text = f"{HEADER}\n{line}\n"
    result = run_import(app, text)
    assert result.notes == ["line 2: customer already activated; code ignored"]
    assert stored(app, "2000000018").activation_code_hash is None


# ---- rotation and the argon2id transition ----------------------------------------------------


def test_after_rotation_old_hashes_verify_and_the_next_import_rekeys_them(app, runner):
    run_import(app, csv_lines(2))
    old_kid = keyring(app).current_kid
    check(app, number_of(0), "0000000001")  # one failure, to be kept across the re-key
    assert runner.invoke(args=["idp", "keys", "rotate"]).exit_code == 0
    assert keyring(app).current_kid != old_kid
    assert key_id(stored(app, number_of(1)).activation_code_hash) == old_kid
    assert check(app, number_of(1), code_of(1)) is VERIFIED
    kept = runner.invoke(args=["idp", "keys", "prune"])
    assert kept.exit_code == 0 and f"kept activation-code keys {old_kid}" in kept.output
    # The demo customers' codes were hashed with the old key too: billing sends them all.
    result = run_import(app, DEMO_CSV + "\n".join(csv_lines(2).splitlines()[1:]) + "\n")
    assert (result.codes_rekeyed, result.changed) == (2 + 5, 0)
    rekeyed = stored(app, number_of(0))
    assert key_id(rekeyed.activation_code_hash) == keyring(app).current_kid
    assert rekeyed.failed_activations == 1
    assert check(app, number_of(0), code_of(0)) is VERIFIED
    pruned = runner.invoke(args=["idp", "keys", "prune"])
    assert pruned.exit_code == 0 and old_kid in pruned.output and "kept" not in pruned.output
    assert old_kid not in keyring(app).secrets


def legacy(app, i: int, code: str, failures: int = 0) -> None:
    """Give generated customer i an argon2id hash, as imports made before keyed hashes."""
    with app.app_context():
        db.session.execute(
            update(Customer)
            .where(Customer.number == number_of(i))
            .values(
                activation_code_hash=hash_password(code, app.config["IDP"]),
                failed_activations=failures,
                activation_locked_at=utcnow() - timedelta(minutes=1) if failures >= 5 else None,
            )
        )
        db.session.commit()


def test_legacy_argon2_hashes_verify_until_the_import_rekeys_them(app):
    run_import(app, csv_lines(2))
    legacy(app, 0, code_of(0))
    assert check(app, number_of(0), code_of(0)) is VERIFIED
    assert check(app, number_of(0), code_of(1)) is Refusal.WRONG_CUSTOMER_DATA
    result = run_import(app, csv_lines(2))
    assert result.codes_rekeyed == 1 and result.changed == 0
    customer = stored(app, number_of(0))
    assert key_id(customer.activation_code_hash) == keyring(app).current_kid
    assert customer.failed_activations == 1  # the wrong guess above still counts


@pytest.mark.parametrize(
    ("billing_code_version", "locked_after"), [(0, True), (1, False)], ids=["same", "new"]
)
def test_a_locked_legacy_code_stays_locked_unless_billing_changed_it(
    app, billing_code_version, locked_after
):
    run_import(app, csv_lines(1))
    legacy(app, 0, code_of(0), failures=5)
    run_import(app, csv_lines(1, version=billing_code_version))
    customer = stored(app, number_of(0))
    assert key_id(customer.activation_code_hash) == keyring(app).current_kid
    assert (customer.activation_locked_at is not None) is locked_after
    verdict = check(app, number_of(0), code_of(0, billing_code_version))
    assert verdict is (Refusal.LOCKED if locked_after else VERIFIED)


# ---- all or nothing, duplicates across batches ------------------------------------------------


def test_a_faulty_line_after_many_batches_imports_nothing(app, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(customers_module, "BATCH_SIZE", 50)
    before = counts(app)
    text = csv_lines(200) + "2100009999,,Late Error,xx,EL-X,electricity,active,2024-01-01,\n"
    result = invoke(runner, tmp_path, text)
    assert result.exit_code == 1
    assert "line 402: language must be one of fr, nl, en, de" in result.output
    assert "1 error(s); nothing imported" in result.output
    assert counts(app) == before


def test_errors_are_listed_up_to_a_hundred_and_counted(app, runner, tmp_path):
    bad = [f"{number_of(i)},,Holder,fr,C-{i},water,active,2024-01-01," for i in range(150)]
    result = invoke(runner, tmp_path, HEADER + "\n" + "\n".join(bad) + "\n")
    assert result.exit_code == 1
    assert "line 101: energy must be one of electricity, gas" in result.output
    assert "line 102:" not in result.output and "… and 50 more" in result.output
    assert "150 error(s); nothing imported" in result.output


def test_a_customer_whose_lines_disagree_across_batches_is_refused(
    app, runner, tmp_path, monkeypatch
):
    monkeypatch.setattr(customers_module, "BATCH_SIZE", 10)
    before = counts(app)
    lines = csv_lines(20).splitlines()
    lines.append(lines[1].replace("EL-", "XX-").replace("Holder 0", "Someone Else"))
    result = invoke(runner, tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 1
    assert (
        f"line 42: customer {number_of(0)} has another holder_name, language or "
        "activation_code than on line 2"
    ) in result.output
    assert counts(app) == before


def test_a_contract_listed_twice_is_refused(app, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(customers_module, "BATCH_SIZE", 10)
    lines = csv_lines(20).splitlines()
    lines.append(lines[3])
    result = invoke(runner, tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 1
    assert f"line 42: contract EL-{number_of(1)} already on line 4" in result.output


def test_a_contract_of_another_customer_is_refused(app, runner, tmp_path):
    run_import(app, csv_lines(2))
    lines = csv_lines(1).splitlines()
    lines[1] = lines[1].replace(f"EL-{number_of(0)}", f"EL-{number_of(1)}")
    result = invoke(runner, tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 1
    assert f"line 2: contract EL-{number_of(1)} belongs to another customer" in result.output


# ---- --full ----------------------------------------------------------------------------------


def demo_rows_except(*numbers: str) -> list[str]:
    """The demo file's lines, without the customers named."""
    return [line for line in DEMO_CSV.splitlines() if line.split(",")[0] not in numbers]


def test_full_removes_absent_customers_and_contracts_but_keeps_account_holders(
    app, runner, tmp_path
):
    run_import(app, csv_lines(30))
    text = "\n".join(demo_rows_except("2000000042", "2000000026")) + "\n"
    text += "\n".join(csv_lines(29).splitlines()[1:]) + "\n"
    result = invoke(runner, tmp_path, text, "--full")
    assert result.exit_code == 0, result.output
    assert (
        "absent from the file: 4 contracts and 2 customers removed, "
        "1 customers kept (they have an account)"
    ) in result.output
    with app.app_context():
        numbers = set(db.session.scalars(select(Customer.number)))
        assert "2000000042" not in numbers and number_of(29) not in numbers
        kept = db.session.scalar(select(Customer).where(Customer.number == "2000000026"))
        assert kept.contracts == []  # Pieter keeps his account, billing has no contract left
        assert db.session.scalar(select(Account).where(Account.login == "demo.inactif@example.be"))


def test_full_refuses_to_remove_more_than_the_limit(app, runner, tmp_path):
    run_import(app, csv_lines(30))
    before = counts(app)
    result = invoke(runner, tmp_path, csv_lines(20), "--full")
    assert result.exit_code == 1
    assert "--full would remove 28 of 68 contracts and 15 of 37 customers" in result.output
    assert counts(app) == before
    allowed = invoke(runner, tmp_path, csv_lines(20), "--full", "--max-removed", "60")
    assert allowed.exit_code == 0, allowed.output
    assert counts(app) == (22, 40)  # 20 generated, two demo account holders without contracts


def test_without_full_absent_customers_stay(app):
    run_import(app, csv_lines(5))
    before = counts(app)
    run_import(app, csv_lines(1))
    assert counts(app) == before


def test_two_imports_at_once_both_succeed_one_after_the_other(app):
    errors: list[BaseException] = []
    results = []

    def one_import():
        try:
            results.append(run_import(app, csv_lines(300)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_import) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.customers_created for r in results) == [0, 300]  # the second waited


@pytest.mark.parametrize("version", [0, 1], ids=["its-own-code", "another-code"])
def test_an_activated_customers_kept_hash_is_rekeyed_only_for_its_own_code(app, runner, version):
    run_import(app, csv_lines(1))
    with app.app_context():  # activated, the used code's hash kept (proves the code later)
        db.session.execute(
            update(Customer).where(Customer.number == number_of(0)).values(activated_at=utcnow())
        )
        db.session.commit()
    before = stored(app, number_of(0)).activation_code_hash
    assert runner.invoke(args=["idp", "keys", "rotate"]).exit_code == 0
    result = run_import(app, csv_lines(1, version=version))
    after = stored(app, number_of(0)).activation_code_hash
    if version == 0:
        assert (result.codes_rekeyed, result.notes) == (1, [])
        assert key_id(after) == keyring(app).current_kid
        ring, settings = keyring(app), app.config["IDP"]
        assert code_matches(ring, after, number_of(0), code_of(0), settings)
    else:
        assert result.codes_rekeyed == 0 and after == before
        assert result.notes == ["line 2: customer already activated; code ignored"]
