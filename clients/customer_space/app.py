"""``create_app()``: the customer space, a confidential web client of the provider
(client_secret_basic + PKCE S256) on Authlib's Flask client, in French, Dutch, English and
German (Flask-Babel over the catalogue files it shares with the provider and the Smart App).
Configuration comes from the environment (``CUSTOMER_SPACE_*``) or ``test_config``. Imports
this package, Flask, Flask-Babel, Authlib's client integration (which uses requests); never
``idp``."""

from __future__ import annotations

import os
import secrets
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.flask_client import FlaskOAuth2App
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import Flask
from flask import Response
from flask import current_app
from flask_babel import Babel
from requests.adapters import BaseAdapter

from clients.customer_space import views
from clients.customer_space.i18n import CATALOGUES
from clients.customer_space.i18n import DEFAULT_LANGUAGE
from clients.customer_space.i18n import LANGUAGES
from clients.customer_space.i18n import current_language
from clients.customer_space.i18n import select_language
from clients.customer_space.sessions import ExpiringCache
from clients.customer_space.sessions import SessionStore

CLIENT_ID = "customer-space"
SCOPE = "openid profile email eligibility"
HTTP_TIMEOUT = 10


def settings_from_env() -> dict[str, Any]:
    """Every setting, its environment variable and its development default."""
    return {
        "OIDC_ISSUER": os.environ.get("CUSTOMER_SPACE_ISSUER", "http://127.0.0.1:5000"),
        "OIDC_CLIENT_SECRET": os.environ.get(
            "CUSTOMER_SPACE_CLIENT_SECRET", "dev-customer-space-secret"
        ),
        # Where the browser reaches this app; redirect and post-logout URIs derive from it
        # and must match clients/registrations.toml.
        "BASE_URL": os.environ.get("CUSTOMER_SPACE_BASE_URL", "http://127.0.0.1:5001"),
        # Signs the cookie holding the local session id. The sessions live in this process'
        # memory, so a per-process random key loses nothing on restart.
        "SECRET_KEY": os.environ.get("CUSTOMER_SPACE_SECRET_KEY") or secrets.token_hex(32),
    }


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The customer space. ``test_config`` may also set ``OIDC_HTTP_ADAPTER`` (a requests
    transport adapter for the issuer's URLs) and ``LOGOUT_JWKS_SOURCE`` (``force -> JWKS``)."""
    app = Flask(__name__)
    app.config.update(
        settings_from_env(),
        OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_HTTP_ADAPTER=None,
        LOGOUT_JWKS_SOURCE=None,
        # 127.0.0.1 is shared by every port: never reuse the provider's cookie names.
        SESSION_COOKIE_NAME="customer_space_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.update(test_config or {})
    for key in ("OIDC_ISSUER", "BASE_URL"):
        app.config[key] = app.config[key].rstrip("/")
    app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https:")

    Babel(
        app,
        locale_selector=select_language,
        default_locale=DEFAULT_LANGUAGE,
        default_translation_directories=str(CATALOGUES),
    )
    app.extensions["customer_space.sessions"] = SessionStore()
    app.extensions["customer_space.logout_jti"] = ExpiringCache()
    oauth = OAuth(app, cache=ExpiringCache())
    register_provider(oauth, app.config)
    app.register_blueprint(views.bp)
    app.jinja_env.globals.update(languages=LANGUAGES, current_language=current_language)
    app.after_request(security_headers)
    return app


def register_provider(oauth: OAuth, config: Any) -> None:
    """The provider as ``oauth.idp``: discovery, client_secret_basic, PKCE S256."""
    oauth.register(
        "idp",
        client_id=config["OIDC_CLIENT_ID"],
        client_secret=config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{config['OIDC_ISSUER']}/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPE,
            "token_endpoint_auth_method": "client_secret_basic",
            "code_challenge_method": "S256",
            "default_timeout": HTTP_TIMEOUT,
        },
        client_cls=_app_class(config["OIDC_HTTP_ADAPTER"], config["OIDC_ISSUER"]),
    )


def _app_class(adapter: BaseAdapter | None, issuer: str) -> type[FlaskOAuth2App]:
    """Authlib's Flask client app; with ``adapter``, its HTTP calls to the issuer go through
    that requests adapter (tests run the provider in-process that way)."""
    if adapter is None:
        return FlaskOAuth2App

    class AdaptedSession(OAuth2Session):
        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.mount(issuer, adapter)

    return type("AdaptedOAuth2App", (FlaskOAuth2App,), {"client_cls": AdaptedSession})


def security_headers(response: Response) -> Response:
    """No caching of personal pages, no framing, no foreign resources."""
    issuer = urlsplit(current_app.config["OIDC_ISSUER"])
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"  # /callback carries the code
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'; "
        f"form-action 'self' {issuer.scheme}://{issuer.netloc}"
    )
    return response
