"""argon2id hashing (OWASP parameters by default), NFKC normalisation, no truncation, rehash on
login when the parameters change (NIST SP 800-63B §3.1.1.2)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from idp.accounts.login import authenticate
from idp.accounts.passwords import check_password_policy
from idp.accounts.passwords import hash_password
from idp.accounts.passwords import needs_rehash
from idp.accounts.passwords import verify_password
from idp.accounts.refusals import Refusal
from idp.accounts.refusals import Refused
from idp.config import Settings
from idp.extensions import db
from idp.models.account import DISABLED
from idp.models.account import Account
from tests import presets
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_PASSWORD

CHEAP = Settings(
    argon2_time_cost=presets.BASE["argon2_time_cost"],
    argon2_memory_cost=presets.BASE["argon2_memory_cost"],
)
OTHER = dataclasses.replace(CHEAP, argon2_time_cost=2, argon2_memory_cost=2048)


def phc_parameters(phc: str) -> tuple[str, dict[str, str]]:
    """``$argon2id$v=19$m=19456,t=2,p=1$salt$hash`` → ("argon2id", {"v": "19", "m": ...})."""
    empty, variant, version, params, salt, digest = phc.split("$")
    assert empty == "" and salt and digest
    values = dict(p.split("=", 1) for p in params.split(","))
    values.update([version.split("=", 1)])
    return variant, values


def test_default_hash_is_argon2id_with_owasp_parameters():
    variant, values = phc_parameters(hash_password("correct horse battery staple", Settings()))
    assert variant == "argon2id"
    assert values == {"v": "19", "m": "19456", "t": "2", "p": "1"}


def test_hash_follows_the_settings():
    variant, values = phc_parameters(hash_password("correct horse battery staple", CHEAP))
    assert variant == "argon2id"
    assert (values["m"], values["t"], values["p"]) == ("1024", "1", "1")


def test_hashes_are_salted():
    assert hash_password("same password", CHEAP) != hash_password("same password", CHEAP)


def test_verify_accepts_the_password_and_refuses_others():
    stored = hash_password(DEMO_PASSWORD, CHEAP)
    assert verify_password(stored, DEMO_PASSWORD, CHEAP) is True
    assert verify_password(stored, "zonnepaneel-2026!", CHEAP) is False
    assert verify_password(stored, "", CHEAP) is False


@pytest.mark.parametrize(
    "stored",
    ["", "not-a-hash", "$argon2id$v=19$m=1024,t=1,p=1$x$y", "$2b$12$abcdefghijklmnopqrstuu"],
)
def test_verify_never_raises_on_a_malformed_stored_hash(stored):
    assert verify_password(stored, "whatever", CHEAP) is False


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("\ufb01let-mignon-2026", "filet-mignon-2026"),  # "ﬁ" ligature
        ("Caf\u0065\u0301-au-lait-2026", "Caf\u00e9-au-lait-2026"),  # e + combining acute
        ("\uff30\uff41\uff53\uff53-word-2026", "Pass-word-2026"),  # fullwidth letters
    ],
    ids=["fi-ligature", "combining-accent", "fullwidth"],
)
def test_nfkc_equivalent_passwords_verify(typed, stored):
    assert verify_password(hash_password(stored, CHEAP), typed, CHEAP)
    assert verify_password(hash_password(typed, CHEAP), stored, CHEAP)


@pytest.mark.parametrize("length", [64, 65, 200, 256])
def test_long_passwords_are_accepted_by_the_policy(length):
    # (A run of one letter and a year is refused since zxcvbn: a sentence it is.)
    sentence = ("le chat dort sur la box du salon " * 8)[: length - 4] + "2026"
    assert check_password_policy(sentence, Settings()) == []


def test_overlong_password_is_refused_by_the_policy_not_truncated():
    assert [r.value for r in check_password_policy("x" * 257, Settings())] == ["too_long"]


def test_long_passwords_are_not_truncated():
    password = "long-" + "a" * 194 + "Z"
    assert len(password) == 200
    stored = hash_password(password, CHEAP)
    assert verify_password(stored, password, CHEAP)
    assert not verify_password(stored, password[:-1] + "Y", CHEAP)
    assert not verify_password(stored, password[:72], CHEAP)  # bcrypt's cut-off
    assert not verify_password(stored, password[:-1], CHEAP)


def test_needs_rehash_when_parameters_change():
    stored = hash_password("correct horse battery staple", CHEAP)
    assert needs_rehash(stored, CHEAP) is False
    assert needs_rehash(stored, OTHER) is True
    assert needs_rehash(stored, Settings()) is True
    assert needs_rehash("not-a-hash", CHEAP) is True


def test_login_upgrades_the_hash_to_the_current_parameters(app):
    with app.app_context():
        assert app.config["IDP"].argon2_memory_cost == 1024  # tests/presets.BASE
        before = db.session.scalar(select(Account).where(Account.login == DEMO_ACTIVE))
        old_hash = before.password_hash
        assert not needs_rehash(old_hash, app.config["IDP"])
        newer = dataclasses.replace(app.config["IDP"], argon2_time_cost=2, argon2_memory_cost=2048)
        account = authenticate(db.session, DEMO_ACTIVE, DEMO_PASSWORD, newer)
        assert account is not None and account.login == DEMO_ACTIVE
        db.session.commit()
        db.session.expire_all()
        upgraded = db.session.get(Account, account.id).password_hash
    assert upgraded != old_hash
    assert phc_parameters(upgraded)[1]["m"] == "2048"
    assert phc_parameters(upgraded)[1]["t"] == "2"
    assert verify_password(upgraded, DEMO_PASSWORD, newer)
    assert not needs_rehash(upgraded, newer)


def test_login_keeps_a_current_hash(app):
    with app.app_context():
        settings = app.config["IDP"]
        before = db.session.scalar(select(Account).where(Account.login == DEMO_ACTIVE))
        old_hash = before.password_hash
        account = authenticate(db.session, DEMO_ACTIVE.upper(), DEMO_PASSWORD, settings)
        assert account is not None and account.password_hash == old_hash
        assert account.last_login_at is not None


def refused_login(login: str, password: str, settings: Settings) -> bool:
    """True when authenticate refuses with the one generic reason."""
    with pytest.raises(Refused) as refused:
        authenticate(db.session, login, password, settings)
    return refused.value.reason is Refusal.BAD_CREDENTIALS


def test_wrong_password_and_unknown_login_are_refused(app):
    with app.app_context():
        settings = app.config["IDP"]
        assert refused_login(DEMO_ACTIVE, DEMO_PASSWORD + "x", settings)
        assert refused_login("nobody@example.be", DEMO_PASSWORD, settings)
        assert refused_login("", "", settings)


def test_disabled_account_is_refused_even_with_the_right_password(app):
    with app.app_context():
        settings = app.config["IDP"]
        account = db.session.scalar(select(Account).where(Account.login == DEMO_ACTIVE))
        old_hash = account.password_hash
        account.status = DISABLED
        db.session.commit()
        newer = dataclasses.replace(settings, argon2_memory_cost=2048)
        assert refused_login(DEMO_ACTIVE, DEMO_PASSWORD, newer)
        assert account.password_hash == old_hash  # no rehash for a refused login


# The same password hashed at the production parameters by three builds of argon2: the
# portable wheel of argon2-cffi-bindings, its source build for AVX2 (-march=x86-64-v3, what
# `make setup` installs on such a CPU) and @node-rs/argon2 (the benchmark's peer).
PHC_FROM_OTHER_BUILDS = [
    pytest.param(
        "$argon2id$v=19$m=19456,t=2,p=1$ULEXtH18z1FXE4ud1UT3YQ$5ej5PqTR/sSwb3cBgNeWGD//c09dAF6KO336GByXUAY",
        id="portable-wheel",
    ),
    pytest.param(
        "$argon2id$v=19$m=19456,t=2,p=1$avhH1y2SLGCpIkyO/ePBcw$nyuVTB6UNMaDFKpe16v8hyVXRJOMsDfFVW1+tTOLTiQ",
        id="avx2-source-build",
    ),
    pytest.param(
        "$argon2id$v=19$m=19456,t=2,p=1$9JzoP7SzD+XaXBbe5yxsGQ$U6/y3iLnjKc8cQTrjFSvLK0cJ6jXhHVn3y1/YQ7VLvs",
        id="node-rs-argon2",
    ),
]


@pytest.mark.parametrize("stored", PHC_FROM_OTHER_BUILDS)
def test_hashes_made_by_other_argon2_builds_still_verify(stored):
    """Whichever argon2 build `make setup` picked, stored hashes keep verifying (PHC strings,
    RFC 9106): a right password passes, a wrong one fails, and no rehash is asked for."""
    settings = Settings()
    assert verify_password(stored, DEMO_PASSWORD, settings)
    assert not verify_password(stored, DEMO_PASSWORD + "x", settings)
    assert not needs_rehash(stored, settings)
