"""Settings: IDP_* variables only, unknown ones refused, production refuses development
defaults, and docs/configuration.md is the table generated from the code."""

from __future__ import annotations

import dataclasses

import pytest

from idp.config import DEV_SECRET_KEY
from idp.config import REPO_ROOT
from idp.config import ConfigError
from idp.config import Settings
from idp.config import client_env_name
from idp.config import configuration_table
from idp.config import development_client_secret

DEV = {"IDP_ENV": "development"}
PRODUCTION = {
    "IDP_ENV": "production",
    "IDP_ISSUER": "https://login.example.be",
    "IDP_SECRET_KEY": "k" * 48,
    "IDP_CLIENT_SECRET__CUSTOMER_SPACE": "a-real-secret-from-the-vault",
    "IDP_DATABASE_URL": "postgresql+psycopg://idp@db/idp",
    "IDP_SMTP_URL": "smtp://mail.example.be:587?starttls=1",
}


def test_unknown_idp_variable_is_refused():
    with pytest.raises(ConfigError, match="unknown setting IDP_ACCES_TOKEN_TTL"):
        Settings.from_env({**DEV, "IDP_ACCES_TOKEN_TTL": "60"})


def test_unknown_override_is_refused():
    with pytest.raises(ConfigError, match="unknown setting override 'nope'"):
        Settings.from_env(DEV, nope=1)


def test_test_and_foreign_variables_are_ignored():
    settings = Settings.from_env(
        {
            **DEV,
            "IDP_TEST_POSTGRES_URL": "postgresql://x/y",
            "IDPX": "1",
            "PATH": "/bin",
            "idp_issuer": "lowercase",
        }
    )
    assert settings.issuer == Settings().issuer


def test_values_are_read_and_ints_parsed():
    settings = Settings.from_env(
        {**DEV, "IDP_ACCESS_TOKEN_TTL": "300", "IDP_DEFAULT_LANGUAGE": "nl"}
    )
    assert settings.access_token_ttl == 300 and settings.default_language == "nl"


def test_overrides_win_over_the_environment():
    settings = Settings.from_env({**DEV, "IDP_ACCESS_TOKEN_TTL": "300"}, access_token_ttl=120)
    assert settings.access_token_ttl == 120


@pytest.mark.parametrize("raw", ["ten", "", "1.5", "0x10"])
def test_int_parsing_error_names_variable_and_value(raw):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**DEV, "IDP_ACCESS_TOKEN_TTL": raw})
    assert str(info.value) == f"IDP_ACCESS_TOKEN_TTL must be an integer, got {raw!r}"


def test_production_accepts_a_proper_set():
    settings = Settings.from_env(PRODUCTION)
    assert not settings.is_development and settings.uses_https


def test_production_is_the_default_and_refuses_every_development_default():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({})
    message = str(info.value)
    for name in (
        "IDP_SECRET_KEY",
        "IDP_DATABASE_URL",
        "IDP_SMTP_URL",
        "IDP_ISSUER",
    ):
        assert name in message


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"IDP_SECRET_KEY": DEV_SECRET_KEY}, "IDP_SECRET_KEY"),
        ({"IDP_SECRET_KEY": "short-but-not-the-default"}, "IDP_SECRET_KEY"),
        ({"IDP_DATABASE_URL": "sqlite:////srv/idp.sqlite3"}, "IDP_DATABASE_URL"),
        ({"IDP_DATABASE_URL": ""}, "IDP_DATABASE_URL"),
        (
            {"IDP_CLIENT_SECRET__CUSTOMER_SPACE": development_client_secret("customer-space")},
            "IDP_CLIENT_SECRET__CUSTOMER_SPACE",
        ),
        (
            {"IDP_CLIENT_SECRET__APACHE": development_client_secret("apache")},
            "IDP_CLIENT_SECRET__APACHE",
        ),
        ({"IDP_SMTP_URL": ""}, "IDP_SMTP_URL"),
        ({"IDP_ISSUER": "http://login.example.be"}, "IDP_ISSUER"),
    ],
    ids=[
        "dev-secret-key",
        "short-secret-key",
        "sqlite",
        "empty-database-url",
        "dev-customer-space-secret",
        "dev-secret-of-another-client",
        "no-smtp",
        "http-issuer",
    ],
)
def test_production_refuses_one_development_default(change, named):
    with pytest.raises(ConfigError, match="production refuses development defaults") as info:
        Settings.from_env({**PRODUCTION, **change})
    assert named in str(info.value)
    others = {
        "IDP_SECRET_KEY",
        "IDP_DATABASE_URL",
        "IDP_CLIENT_SECRET__",
        "IDP_SMTP_URL",
        "IDP_ISSUER",
    }
    others = {other for other in others if not named.startswith(other)}
    assert not any(other in str(info.value) for other in others)


def test_development_accepts_the_defaults():
    settings = Settings.from_env(DEV)
    assert settings.is_development
    assert settings.resolved_database_url().startswith("sqlite:///")


@pytest.mark.parametrize(
    ("issuer", "message"),
    [
        ("https://login.example.be/", "without a trailing slash"),
        ("http://127.0.0.1:5000/", "without a trailing slash"),
        ("login.example.be", "http(s) URL"),
        ("ftp://login.example.be", "http(s) URL"),
        ("https://login.example.be?x=1", "query or fragment"),
        ("https://login.example.be#top", "query or fragment"),
    ],
)
def test_malformed_issuer_is_refused(issuer, message):
    with pytest.raises(ConfigError, match="IDP_ISSUER") as info:
        Settings.from_env({**DEV, "IDP_ISSUER": issuer})
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IDP_ENV", "staging"),
        ("IDP_AUTHORIZATION_CODE_TTL", "0"),
        ("IDP_AUTHORIZATION_CODE_TTL", "61"),
        ("IDP_PASSWORD_MIN_LENGTH", "7"),
        ("IDP_DEFAULT_LANGUAGE", "es"),
        ("IDP_REFRESH_TOKEN_GRACE", "-1"),
        ("IDP_REFRESH_TOKEN_GRACE", "61"),
    ],
)
def test_out_of_range_values_are_refused(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({**DEV, name: value})


def test_docs_configuration_md_is_generated_from_the_code():
    """Regenerate with ``IDP_ENV=development flask --app wsgi idp docs-config``."""
    published = (REPO_ROOT / "docs" / "configuration.md").read_text()
    assert published == configuration_table()


def test_readme_lists_every_setting_as_generated():
    """The README's settings table is the generated one (no hand-kept copy drifting)."""
    from idp.config import with_readme_table

    readme = (REPO_ROOT / "README.md").read_text()
    assert with_readme_table(readme) == readme


@pytest.mark.parametrize(
    ("client_id", "name"),
    [
        ("customer-space", "CUSTOMER_SPACE"),
        ("smart-app", "SMART_APP"),
        ("apache.front-end_2", "APACHE_FRONT_END_2"),
        ("MyApp", "MYAPP"),
        ("a", "A"),
    ],
)
def test_client_env_name(client_id, name):
    assert client_env_name(client_id) == name


def test_per_client_secrets_are_read_by_env_safe_client_id():
    """Issue #8 finding 4: one variable per confidential client, allowed by the strict
    unknown-variable rule as a declared family."""
    settings = Settings.from_env(
        {
            **DEV,
            "IDP_CLIENT_SECRET__CUSTOMER_SPACE": "one",
            "IDP_CLIENT_SECRET__APACHE_FRONT": "two",
            "IDP_CLIENT_SECRET_FILE__OTHER": "/run/secrets/other",
        }
    )
    assert settings.client_secrets == {"CUSTOMER_SPACE": "one", "APACHE_FRONT": "two"}
    assert settings.client_secret_files == {"OTHER": "/run/secrets/other"}


@pytest.mark.parametrize(
    "key",
    [
        "IDP_CLIENT_SECRET__",
        "IDP_CLIENT_SECRET__customer_space",
        "IDP_CLIENT_SECRET__CUSTOMER-SPACE",
        "IDP_CLIENT_SECRET_FILE__",
    ],
)
def test_malformed_per_client_variable_is_refused(key):
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({**DEV, key: "x"})


def test_old_customer_space_secret_variable_names_its_successor():
    """IDP_CUSTOMER_SPACE_SECRET was migrated: starting with it says what to set instead."""
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**DEV, "IDP_CUSTOMER_SPACE_SECRET": "x"})
    assert str(info.value) == (
        "IDP_CUSTOMER_SPACE_SECRET was renamed IDP_CLIENT_SECRET__CUSTOMER_SPACE"
    )


def test_configuration_table_lists_every_setting_once():
    table = configuration_table()
    for name, f in Settings.__dataclass_fields__.items():
        variable = f.metadata.get("prefix", f"IDP_{name.upper()}")
        variable += "<CLIENT_ID>" if "prefix" in f.metadata else ""
        assert table.count(f"| `{variable}` |") == 1


def env_example() -> dict[str, str]:
    """The variables .env.example sets, with their values (comments and blanks skipped)."""
    lines = (REPO_ROOT / ".env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name: value for name, value in pairs}


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Settings)])
def test_env_example_lists_every_setting(name):
    """Every setting of idp/config.py is in .env.example (a per-client family by an example
    variable or a comment naming its prefix)."""
    declared = Settings.__dataclass_fields__[name]
    text = (REPO_ROOT / ".env.example").read_text()
    if "prefix" in declared.metadata:
        assert declared.metadata["prefix"] in text
    else:
        assert f"IDP_{name.upper()}" in env_example()


def test_env_example_is_a_working_development_configuration():
    settings = Settings.from_env(env_example())
    assert settings.is_development
