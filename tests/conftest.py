"""Fixtures: app (fresh database per test, SQLite and — with IDP_TEST_POSTGRES_URL — PostgreSQL),
test_client, runner, demo data, the two client rows, and keys generated once per run."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text

from idp import create_app
from idp.activation_keys import generate_missing as generate_activation_keys
from idp.clients_sync import sync_clients
from idp.config import REPO_ROOT
from idp.extensions import db
from idp.keys import generate_missing
from idp.models import Base
from idp.models.oauth import Client
from idp.seed import seed_demo
from tests import presets

POSTGRES_URL = os.environ.get("IDP_TEST_POSTGRES_URL")
ENGINES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def pytest_report_header(config: pytest.Config) -> str:
    """Say which engines the database tests run on."""
    return f"database engines: {', '.join(ENGINES)}"


@pytest.fixture(scope="session")
def keys_template(tmp_path_factory: pytest.TempPathFactory):
    """Signing keys generated once; each test gets a copy."""
    directory = tmp_path_factory.mktemp("keys")
    generate_missing(directory)
    generate_activation_keys(directory)
    return directory


@pytest.fixture(scope="session")
def postgres_ready():
    """Fail (not skip) when PostgreSQL was asked for and cannot be reached."""
    if not POSTGRES_URL:
        return None
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect is fatal here
        pytest.fail(f"IDP_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {exc}")
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture(params=ENGINES)
def database_url(request, tmp_path, postgres_ready):
    """A fresh, empty database for one test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'idp.sqlite3'}"
    return emptied(postgres_ready)


def emptied(url: str) -> str:
    """Drop the provider's tables (and Alembic's) in the database at ``url``; return ``url``."""
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return url


@pytest.fixture
def overrides():
    """Per-test extra settings; override this fixture (or use the ``settings`` marker) to change."""
    return {}


@pytest.fixture
def app(database_url, keys_template, tmp_path, overrides, request):
    """The provider with demo data and both clients, on a fresh database."""
    keys_dir = tmp_path / "keys"
    shutil.copytree(keys_template, keys_dir)
    marker = request.node.get_closest_marker("settings")
    extra = dict(marker.kwargs) if marker else {}
    app = create_app(
        {
            **presets.BASE,
            "database_url": database_url,
            "keys_dir": str(keys_dir),
            **overrides,
            **extra,
        }
    )
    with_demo_data(app)
    yield app
    with app.app_context():
        db.session.remove()
        if database_url.startswith("postgresql"):
            Base.metadata.drop_all(db.engine)
        db.engine.dispose()


def with_demo_data(app):
    """Create the tables, load both client registrations and the demo data; return ``app``."""
    with app.app_context():
        Base.metadata.create_all(db.engine)
        sync_clients(db.session, app.config["IDP"])
        seed_demo(db.session, app.config["IDP"])
        db.session.commit()
    return app


@pytest.fixture
def test_client(app):
    """Flask's test client (``client`` would clash with the OAuth client rows)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Click runner for ``flask idp`` commands."""
    return app.test_cli_runner()


@pytest.fixture
def smart_app(app):
    """The public native client row."""
    with app.app_context():
        client = db.session.get(Client, "smart-app")
        db.session.expunge(client)
        return client


@pytest.fixture
def customer_space(app):
    """The confidential web client row."""
    with app.app_context():
        client = db.session.get(Client, "customer-space")
        db.session.expunge(client)
        return client


def toml_value(value) -> str:
    """A TOML value for str, bool, int, list and dict (inline tables) — enough for a client
    registration with an inline ``jwks``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"


def registrations_with(directory, clients: dict[str, dict]) -> str:
    """A copy of clients/registrations.toml with more ``[clients.<id>]`` tables; its path."""
    text = (REPO_ROOT / "clients" / "registrations.toml").read_text()
    for client_id, reg in clients.items():
        text += f"\n[clients.{json.dumps(client_id)}]\n"
        text += "".join(f"{k} = {toml_value(v)}\n" for k, v in reg.items())
    path = directory / "registrations.toml"
    path.write_text(text)
    return str(path)


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**overrides): extra create_app overrides")


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    """Compile the git-ignored .mo catalogues before any page renders."""
    from tests.translations import compile_catalogues

    compile_catalogues()
