"""Client registrations (issue #8 finding 4): every confidential client has its own secret,
from ``IDP_CLIENT_SECRET__<CLIENT_ID>`` or a file, production refusing missing or development
secrets; ``private_key_jwt`` clients register public keys only."""

from __future__ import annotations

from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from idp.clients_sync import RegistrationError
from idp.clients_sync import client_secret
from idp.clients_sync import read_registrations
from idp.config import Settings

DEV = Settings(env="development")
PRODUCTION = Settings(env="production", issuer="https://login.example.be")
WEB = {
    "name": "Web",
    "token_endpoint_auth_method": "client_secret_basic",
    "redirect_uris": ["https://app.example/cb"],
    "scope": "openid",
}
EC_PUBLIC = ECKey.generate_key("P-256").as_dict(private=False)


def registration(client_id: str = "apache-front", **changes) -> dict:
    """A registration as read_registrations returns it."""
    return {"client_id": client_id, **WEB, **changes}


def settings(base: Settings, **values) -> Settings:
    """``base`` with other values (no validation: these are unit inputs)."""
    return Settings(**{**base.__dict__, **values})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "registrations.toml"
    path.write_text(text)
    return path


def test_each_client_reads_its_own_variable():
    both = settings(DEV, client_secrets={"APACHE_FRONT": "a" * 40, "CUSTOMER_SPACE": "c" * 40})
    assert client_secret(registration("apache-front"), both) == "a" * 40
    assert client_secret(registration("customer-space"), both) == "c" * 40


def test_a_secrets_file_is_read_without_its_line_break(tmp_path):
    path = tmp_path / "secret"
    path.write_text("s3cret-from-the-vault\n")
    configured = settings(PRODUCTION, client_secret_files={"APACHE_FRONT": str(path)})
    assert client_secret(registration(), configured) == "s3cret-from-the-vault"


def test_public_and_key_clients_have_no_secret():
    assert client_secret(registration(token_endpoint_auth_method="none"), PRODUCTION) is None
    jwt_client = registration(token_endpoint_auth_method="private_key_jwt")
    assert client_secret(jwt_client, PRODUCTION) is None


def test_development_falls_back_to_the_development_secret():
    assert client_secret(registration(), DEV) == "dev-apache-front-secret"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "no client secret: set IDP_CLIENT_SECRET__APACHE_FRONT"),
        ({"client_secrets": {"APACHE_FRONT": ""}}, "no client secret"),
        ({"client_secrets": {"OTHER": "x" * 40}}, "no client secret"),
        (
            {"client_secrets": {"APACHE_FRONT": "dev-apache-front-secret"}},
            "production refuses the development client secret",
        ),
        (
            {
                "client_secrets": {"APACHE_FRONT": "x"},
                "client_secret_files": {"APACHE_FRONT": "/f"},
            },
            "not both",
        ),
        ({"client_secret_files": {"APACHE_FRONT": "/nonexistent/secret"}}, "cannot read"),
    ],
    ids=["missing", "empty", "another-clients", "development", "both", "unreadable-file"],
)
def test_production_refuses(values, message):
    with pytest.raises(RegistrationError, match=message):
        client_secret(registration(), settings(PRODUCTION, **values))


def test_production_refuses_a_development_secret_in_a_file(tmp_path):
    path = tmp_path / "secret"
    path.write_text("dev-apache-front-secret")
    configured = settings(PRODUCTION, client_secret_files={"APACHE_FRONT": str(path)})
    with pytest.raises(RegistrationError, match="development client secret"):
        client_secret(registration(), configured)


def test_the_repository_registrations_are_valid():
    from idp.config import REPO_ROOT

    regs = read_registrations(REPO_ROOT / "clients" / "registrations.toml", DEV)
    assert {r["client_id"] for r in regs} == {"smart-app", "customer-space"}


BASE_TOML = """
[clients.{cid}]
name = "X"
token_endpoint_auth_method = "{method}"
redirect_uris = ["https://app.example/cb"]
scope = "openid"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            BASE_TOML.format(cid="a", method="client_secret_basic")
            + 'client_secret_env = "IDP_CUSTOMER_SPACE_SECRET"\n',
            "client_secret_env is no longer read; the secret comes from IDP_CLIENT_SECRET__A",
        ),
        (
            BASE_TOML.format(cid="a-b", method="client_secret_basic")
            + BASE_TOML.format(cid="a_b", method="client_secret_basic"),
            "client ids that share a variable name: A_B",
        ),
        (BASE_TOML.format(cid='"a b"', method="none"), "a client id is letters"),
        (BASE_TOML.format(cid='"é"', method="none"), "a client id is letters"),
        (BASE_TOML.format(cid="a", method="client_secret_jwt"), "token_endpoint_auth_method"),
        (BASE_TOML.format(cid="a", method="private_key_jwt"), "exactly one of jwks, jwks_uri"),
        (
            BASE_TOML.format(cid="a", method="private_key_jwt")
            + 'jwks_uri = "https://a.example/jwks"\njwks = { keys = [] }\n',
            "exactly one of jwks, jwks_uri",
        ),
        (
            BASE_TOML.format(cid="a", method="client_secret_basic")
            + 'jwks_uri = "https://a.example/jwks"\n',
            "jwks and jwks_uri are for private_key_jwt",
        ),
        (
            BASE_TOML.format(cid="a", method="private_key_jwt") + 'jwks = { keys = "no" }\n',
            "jwks is not a JWK Set",
        ),
        (
            BASE_TOML.format(cid="a", method="private_key_jwt")
            + 'jwks = { keys = [ { kty = "oct", k = "c2VjcmV0" } ] }\n',
            "private or symmetric key material",
        ),
        (
            BASE_TOML.format(cid="a", method="private_key_jwt")
            + 'jwks_uri = "https://a.example/jwks"\ntoken_endpoint_auth_signing_alg = "HS256"\n',
            "token_endpoint_auth_signing_alg",
        ),
    ],
    ids=[
        "client-secret-env",
        "clashing-variable-names",
        "space-in-id",
        "non-ascii-id",
        "unknown-method",
        "no-keys",
        "both-keys",
        "keys-for-a-secret-client",
        "malformed-jwks",
        "symmetric-key",
        "hmac-alg",
    ],
)
def test_malformed_registrations_are_refused(tmp_path, text, message):
    with pytest.raises(RegistrationError, match=message):
        read_registrations(write(tmp_path, text), DEV)


def key_registration(jwk: dict) -> str:
    """A private_key_jwt registration with ``jwk`` inline."""
    members = ", ".join(f'{k} = "{v}"' for k, v in jwk.items())
    return (
        BASE_TOML.format(cid="a", method="private_key_jwt")
        + f"jwks = {{ keys = [ {{ {members} }} ] }}\n"
    )


def test_private_key_in_jwks_is_refused(tmp_path):
    text = key_registration(ECKey.generate_key("P-256").as_dict(private=True))
    with pytest.raises(RegistrationError, match="private or symmetric key material"):
        read_registrations(write(tmp_path, text), DEV)


def test_production_needs_an_https_jwks_uri(tmp_path):
    text = BASE_TOML.format(cid="a", method="private_key_jwt") + 'jwks_uri = "http://a.example/j"\n'
    with pytest.raises(RegistrationError, match="jwks_uri must be https"):
        read_registrations(write(tmp_path, text), PRODUCTION)
    assert read_registrations(write(tmp_path, text), DEV)[0]["jwks_uri"] == "http://a.example/j"


def test_public_keys_are_accepted(tmp_path):
    text = key_registration(EC_PUBLIC)
    [reg] = read_registrations(write(tmp_path, text), PRODUCTION)
    assert reg["jwks"]["keys"][0]["x"] == EC_PUBLIC["x"]
