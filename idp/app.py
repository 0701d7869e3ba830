"""create_app: config → extensions → blueprints → CLI → error handlers → security hooks."""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import re
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from idp.activation_keys import generate_missing as generate_activation_keys
from idp.config import REPO_ROOT
from idp.config import Settings
from idp.documents import serve_documents
from idp.extensions import babel
from idp.extensions import csrf
from idp.extensions import db
from idp.extensions import limiter
from idp.extensions import migrate
from idp.i18n import init_i18n
from idp.i18n import select_locale
from idp.key_reload import install as install_keyring
from idp.keys import generate_missing
from idp.logs import init_logging
from idp.oauth.server import init_oauth
from idp.oauth.sso import BROWSER_COOKIE
from idp.oauth.sso import host_cookie_name
from idp.ratelimit import init_ratelimit
from idp.security import init_security

MAX_REQUEST_BYTES = 64 * 1024
_RAW_OCTET = re.compile(r"[^\x00-\x7f]")


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the provider from ``IDP_*`` variables plus ``overrides`` (tests pass these)."""
    settings = Settings.from_env(os.environ, **(overrides or {}))
    # Authlib logs issued tokens at DEBUG ("Issue token %r"): never let secrets reach the logs.
    logging.getLogger("authlib").setLevel(
        max(logging.INFO, logging.getLevelName(settings.log_level))
    )
    app = Flask(
        "idp",
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(REPO_ROOT / "static"),
        instance_path=str(REPO_ROOT / "instance"),
    )
    init_logging(
        app, settings.log_level, access_lines=settings.access_log == "on"
    )  # first: every later hook and record has the id
    _configure(app, settings)
    _init_extensions(app, settings)
    _register_blueprints(app)
    _limits_only_where_declared(app)
    from idp.cli import init_cli
    from idp.views.errors import init_error_handlers
    from idp.views.unavailable import init_outage_handling

    init_cli(app)
    init_error_handlers(app)
    init_outage_handling(app)
    init_security(app)
    init_i18n(app)
    app.wsgi_app = serve_documents(app, app.wsgi_app)  # type: ignore[method-assign]
    app.wsgi_app = percent_encode_raw_query(app.wsgi_app)  # type: ignore[method-assign]
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app


def percent_encode_raw_query(wsgi_app: Callable[..., Iterable[bytes]]) -> Callable[..., Any]:
    """Percent-encode raw non-ASCII octets in the query string (RFC 3986 §2.1 requires it).

    Werkzeug decodes the query as strict UTF-8, so a client sending raw bytes that are not
    UTF-8 made every ``request.args`` read, the error pages' included, raise: a bare 500.
    Encoded, they stay percent-encoded in the parsed values like any other invalid sequence.
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        if not query.isascii():  # PEP 3333: each character of the str is one octet
            environ["QUERY_STRING"] = _RAW_OCTET.sub(lambda m: f"%{ord(m[0]):02X}", query)
        return wsgi_app(environ, start_response)

    return app


def _configure(app: Flask, settings: Settings) -> None:
    app.config.update(
        IDP=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.resolved_database_url(),
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_NAME=host_cookie_name(BROWSER_COOKIE, settings),
        SESSION_COOKIE_PATH="/",  # the __Host- prefix requires Path=/ and no Domain
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.uses_https,
        WTF_CSRF_TIME_LIMIT=None,
        # Our pages send Referrer-Policy: no-referrer, so Flask-WTF's HTTPS Referer check would
        # refuse every form; idp/security.py checks the Origin header instead.
        WTF_CSRF_SSL_STRICT=False,
        BABEL_DEFAULT_LOCALE=settings.default_language,
        BABEL_TRANSLATION_DIRECTORIES=str(REPO_ROOT / "idp" / "translations"),
    )
    if settings.resolved_database_url().startswith("sqlite:///"):
        (REPO_ROOT / "instance").mkdir(exist_ok=True)


def engine_options(settings: Settings) -> dict[str, Any]:
    """Pool settings: pre-ping replaces connections a database restart killed, recycle bounds
    a connection's age (firewalls, PgBouncer), and PostgreSQL connects give up in bounded time."""
    # A SQLite file has no server connection to lose: a ping would be one more statement on
    # every request.
    sqlite = settings.resolved_database_url().startswith("sqlite")
    options: dict[str, Any] = {"pool_pre_ping": not sqlite}
    if settings.resolved_database_url().startswith("postgresql"):
        options.update(
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_recycle=1800,
            pool_timeout=10,
            connect_args={"connect_timeout": settings.database_connect_timeout},
        )
    return options


def _init_extensions(app: Flask, settings: Settings) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    init_ratelimit(app, settings)
    babel.init_app(app, locale_selector=select_locale)
    keys_dir = settings.path(settings.keys_dir)
    if settings.is_development:
        generate_missing(keys_dir)
        generate_activation_keys(keys_dir)
    install_keyring(app.extensions, keys_dir, settings.keys_reload_interval)
    init_oauth(app)
    if settings.resolved_database_url().startswith("sqlite"):
        _enable_sqlite_pragmas(app)


def _limits_only_where_declared(app: Flask) -> None:
    """Every rate limit is declared on its route, whose decorator checks it. Flask-Limiter's
    app-wide hook only looks for default, application and blueprint limits, on every request;
    with none declared it is dropped (kept as soon as one is)."""
    manager = limiter.limit_manager
    if manager.default_limits or manager.application_limits or manager._blueprint_limits:
        return
    app.before_request_funcs[None].remove(limiter._check_request_limit)


def _enable_sqlite_pragmas(app: Flask) -> None:
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # SQLite is the development and embedded engine (production refuses it). In WAL mode,
        # NORMAL stays consistent and survives a crash of the provider; only an OS crash or
        # power cut may lose the last commits. FULL would fsync at every commit (5 ms each here).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    """Every ``idp/views/<module>.py`` that defines ``bp`` (each page area is one module)."""
    import idp.views

    for module in sorted(pkgutil.iter_modules(idp.views.__path__), key=lambda m: m.name):
        blueprint = getattr(importlib.import_module(f"idp.views.{module.name}"), "bp", None)
        if blueprint is not None:
            app.register_blueprint(blueprint)
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
