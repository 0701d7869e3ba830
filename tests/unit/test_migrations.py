"""The Alembic migrations build exactly the schema the models declare (no drift)."""

from __future__ import annotations

import logging
import shutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import inspect

from idp import create_app
from idp.extensions import db
from idp.models import Base
from tests import presets


@pytest.fixture
def logging_untouched():
    """migrations/env.py calls logging.config.fileConfig, which disables every logger it does
    not name; put the logging set-up back for the tests that follow."""
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    loggers = [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    saved = {lg: (lg.disabled, lg.level, list(lg.handlers), lg.propagate) for lg in loggers}
    yield
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    for lg in logging.Logger.manager.loggerDict.values():
        if isinstance(lg, logging.Logger) and lg not in saved:
            lg.disabled = False
    for lg, (disabled, level, handlers, propagate) in saved.items():
        lg.disabled, lg.level, lg.handlers[:], lg.propagate = disabled, level, handlers, propagate


@pytest.fixture
def empty_app(database_url, tmp_path, keys_template, logging_untouched):
    """The provider on a fresh database (SQLite, and PostgreSQL when configured) with no
    tables at all."""
    keys_dir = tmp_path / "keys"
    shutil.copytree(keys_template, keys_dir)
    app = create_app({**presets.BASE, "database_url": database_url, "keys_dir": str(keys_dir)})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def schema_differences() -> list:
    """Alembic's autogenerate diff between the live database and the models."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, Base.metadata)


def test_upgrade_head_matches_the_models(empty_app):
    with empty_app.app_context():
        assert schema_differences(), "the comparison sees nothing: it would hide drift"
        upgrade()
        differences = schema_differences()
        tables = set(inspect(db.engine).get_table_names())
    assert differences == []
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_downgrade_to_base_removes_every_table(empty_app):
    with empty_app.app_context():
        upgrade()
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names())
    assert tables == {"alembic_version"}


def test_history_is_one_line():
    """Engineers working in parallel each add a migration on the same parent: two heads make
    ``flask db upgrade`` refuse to run. The history must stay one line, one head."""
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parents[2] / "migrations"))
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1, script.get_heads()
    assert all(len(r._all_down_revisions) <= 1 for r in script.walk_revisions())
