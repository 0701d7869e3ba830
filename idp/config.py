"""Settings: every ``IDP_*`` environment variable, its type, default and one-line doc.

Declared once here; ``docs/configuration.md`` is generated from this table (a test fails when
they differ). An unknown ``IDP_*`` variable is an error at startup, and production refuses to
start on development defaults. Imports nothing from the rest of ``idp``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from ipaddress import IPv4Network
from ipaddress import IPv6Network
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

PREFIX = "IDP_"
REPO_ROOT = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "dev-secret-key-not-for-production"
CLIENT_SECRET_PREFIX = "IDP_CLIENT_SECRET__"
CLIENT_SECRET_FILE_PREFIX = "IDP_CLIENT_SECRET_FILE__"
RENAMED = {"IDP_CUSTOMER_SPACE_SECRET": "IDP_CLIENT_SECRET__CUSTOMER_SPACE"}
_ENV_SAFE = re.compile(r"[A-Z0-9_]+")
_DEV_CLIENT_SECRET = re.compile(r"dev-.*-secret")


class ConfigError(ValueError):
    """A setting is missing, malformed, unknown or unsafe for the environment."""


def setting(default: Any, doc: str) -> Any:
    """Declare a setting with its default and its one-line documentation."""
    return field(default=default, metadata={"doc": doc})


def per_client_setting(prefix: str, doc: str) -> Any:
    """Declare a family of variables ``<prefix><CLIENT_ID>`` (one per client), read into a
    mapping from the env-safe client id (``client_env_name``) to the value."""
    return field(default_factory=dict, metadata={"doc": doc, "prefix": prefix})


def client_env_name(client_id: str) -> str:
    """A client id as it appears in variable names: ASCII upper case, every character other
    than a letter or digit written ``_`` (``customer-space`` → ``CUSTOMER_SPACE``)."""
    return re.sub(r"[^A-Z0-9]", "_", client_id.upper())


def development_client_secret(client_id: str) -> str:
    """The secret a confidential client gets in development when none is set."""
    return f"dev-{client_id}-secret"


@dataclass(frozen=True)
class Settings:
    """The provider's configuration. Field ``issuer`` is read from ``IDP_ISSUER``, and so on."""

    env: str = setting(
        "production", "`production` or `development` (dev defaults, mail viewer, demo data)."
    )
    issuer: str = setting(
        "http://127.0.0.1:5000", "Issuer identifier: the public base URL, no trailing slash."
    )
    secret_key: str = setting(
        DEV_SECRET_KEY, "Signs cookies and links. Production refuses the development default."
    )
    database_url: str = setting(
        "", "SQLAlchemy URL. Empty: SQLite file `instance/idp.sqlite3` (development only)."
    )
    keys_dir: str = setting("keys", "Directory of signing keys (JWK files); relative to the repo.")
    keys_reload_interval: int = setting(
        10,
        "Seconds between checks of the keys directory: a rotation made on one host reaches "
        "every process within this time; 0 never reloads (restart after a rotation).",
    )
    clients_file: str = setting(
        "clients/registrations.toml", "Client registrations loaded by `idp clients sync`."
    )
    client_secrets: dict[str, str] = per_client_setting(
        CLIENT_SECRET_PREFIX,
        "Client secret of a confidential client (`customer-space` → "
        "`IDP_CLIENT_SECRET__CUSTOMER_SPACE`). Unset in development: `dev-<client_id>-secret`; "
        "production refuses that and a missing one.",
    )
    client_secret_files: dict[str, str] = per_client_setting(
        CLIENT_SECRET_FILE_PREFIX,
        "Instead of the above: a file holding the client secret (e.g. a mounted secret).",
    )
    access_token_ttl: int = setting(600, "Access token lifetime, seconds.")
    refresh_token_ttl: int = setting(30 * 24 * 3600, "Refresh token lifetime, seconds.")
    refresh_token_grace: int = setting(
        10,
        "Seconds a confidential client's just-rotated refresh token still answers, with the "
        "same successor tokens (parallel refreshes); 0 disables. Public clients get none.",
    )
    id_token_ttl: int = setting(600, "ID token lifetime, seconds.")
    authorization_code_ttl: int = setting(60, "Authorization code lifetime, seconds (at most 60).")
    interaction_ttl: int = setting(
        1800, "How long a pending login (authorization request) waits, seconds."
    )
    interaction_url: str = setting(
        "/interaction/{uid}",
        "Where /authorize sends the browser to log in; `{uid}` names the pending request "
        "(node-oidc-provider `interactions.url`).",
    )
    default_client_id: str = setting(
        "customer-space",
        "Client people are sent to when no application sent them (mail links, registrations "
        "started directly).",
    )
    session_ttl: int = setting(12 * 3600, "OP login session lifetime (SSO), seconds.")
    session_cookie_max_age: int = setting(
        0, "OP session cookie Max-Age, seconds; 0 makes it a browser-session cookie."
    )
    password_min_length: int = setting(12, "Minimum password length (NIST SP 800-63B).")
    registration_link_ttl: int = setting(3 * 24 * 3600, "Activation link lifetime, seconds.")
    registration_link_max_uses: int = setting(
        3, "Submissions of the customer-data page one activation link allows."
    )
    activation_max_failures: int = setting(
        5, "Wrong activation codes before a customer's code is locked."
    )
    password_reset_ttl: int = setting(3600, "Password reset link lifetime, seconds.")
    account_reauth_max_age: int = setting(
        300, "Account page: seconds after a login in which sensitive changes need no password."
    )
    email_change_ttl: int = setting(
        24 * 3600, "Lifetime of the link that confirms a new e-mail address, seconds."
    )
    registration_rate_limit: str = setting(
        "5/hour;20/day", "Registration / recovery mails allowed per e-mail address and per IP."
    )
    activation_rate_limit: str = setting(
        "20/hour", "Customer-data submissions allowed per client IP."
    )
    activation_number_rate_limit: str = setting(
        "3/hour",
        "Wrong activation codes for one customer number before it waits (30 s, doubling); "
        "the code locks at IDP_ACTIVATION_MAX_FAILURES.",
    )
    activation_global_rate_limit: str = setting(
        "500/hour",
        "Wrong activation codes in total before every submission waits (5 s, doubling to "
        "5 min); a warning alert is logged from half of it (code-spraying brake).",
    )
    smtp_url: str = setting(
        "",
        "SMTP server, `smtp://user:pass@host:587?starttls=1` or `smtps://host:465`; "
        "empty: the development outbox directory.",
    )
    mail_from: str = setting("Espace Client <no-reply@example.be>", "Sender of every mail.")
    mail_outbox_dir: str = setting(
        "instance/mail", "Development transport: directory of delivered mails (viewer /_dev/mail)."
    )
    worker_interval: int = setting(
        2,
        "Seconds the delivery worker (`idp worker`) waits before looking again at an empty "
        "mail or logout queue.",
    )
    delivery_lease: int = setting(
        30,
        "Seconds a worker holds a mail or logout token it is sending (renewed while it sends); "
        "after a crash the message is sent again this long later.",
    )
    argon2_time_cost: int = setting(2, "argon2id iterations (OWASP: 2).")
    argon2_memory_cost: int = setting(19456, "argon2id memory, KiB (OWASP: 19456).")
    argon2_parallelism: int = setting(1, "argon2id lanes (OWASP: 1).")
    ratelimit_storage_url: str = setting(
        "memory://", "Rate-limit store: `memory://` (one process) or `redis://host:6379/0`."
    )
    redis_timeout_ms: int = setting(
        500,
        "Connect and read timeout of every rate-limit store call, milliseconds; past it the "
        "process counts limits in memory until Redis answers again.",
    )
    login_rate_limit: str = setting(
        "10/minute;50/hour",
        "Login attempts allowed per client IP, and wrong passwords per trusted device.",
    )
    login_free_failures: int = setting(
        5,
        "Wrong passwords for one login from unknown browsers before waits start "
        "(browsers that logged in to it before are exempt).",
    )
    login_max_delay: int = setting(
        3600, "Longest wait between wrong passwords for one login, seconds (waits double to it)."
    )
    login_device_ttl: int = setting(
        180 * 24 * 3600,
        "Lifetime of the device cookie that exempts a browser from other browsers' waits, seconds.",
    )
    timezone: str = setting(
        "Europe/Brussels", "Time zone of contract dates (decides which day is today)."
    )
    default_language: str = setting("fr", "Language when neither ui_locales nor browser decide.")
    trusted_proxies: int = setting(
        0, "Number of reverse proxies whose X-Forwarded-* headers are trusted."
    )
    log_level: str = setting("INFO", "Python logging level.")
    access_log: str = setting(
        "on",
        "`on`: one JSON line per request (logger `idp.access`, route not URL); `off` when a "
        "proxy's log is enough (saves about 60 µs a request).",
    )
    database_pool_size: int = setting(
        5, "Database connections each process keeps open (SQLAlchemy pool_size)."
    )
    database_max_overflow: int = setting(
        5, "Extra database connections a process may open under load (max_overflow)."
    )
    database_connect_timeout: int = setting(
        5, "Seconds to wait for a new PostgreSQL connection before answering 503."
    )
    metrics_networks: str = setting(
        "",
        "Who may read `/metrics`: `off`, or networks like `127.0.0.1/32,10.0.0.0/8`; "
        "empty: loopback in development, off in production.",
    )
    ready_max_backlog: int = setting(
        1000, "`/readyz` fails when more mails or logout notifications than this are due."
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Build settings from ``IDP_*`` variables (unknown ones are an error) and overrides."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        families = {f.metadata["prefix"]: f.name for f in known.values() if "prefix" in f.metadata}
        values: dict[str, Any] = {name: {} for name in families.values()}
        for key, raw in environ.items():
            if not key.startswith(PREFIX) or key.startswith("IDP_TEST_"):
                continue
            family = next((p for p in families if key.startswith(p)), None)
            if family is not None:
                values[families[family]][_client_key(key, family)] = raw
                continue
            if key in RENAMED:
                raise ConfigError(f"{key} was renamed {RENAMED[key]}")
            name = key[len(PREFIX) :].lower()
            if name not in known:
                raise ConfigError(f"unknown setting {key}")
            values[name] = _parse(known[name], raw, key)
        for name in overrides:
            if name not in known:
                raise ConfigError(f"unknown setting override {name!r}")
        values.update(overrides)
        return cls(**values).validate()

    @property
    def is_development(self) -> bool:
        """True when running with development defaults."""
        return self.env == "development"

    @property
    def uses_https(self) -> bool:
        """True when the issuer is served over HTTPS (cookies get Secure, HSTS is sent)."""
        return self.issuer.startswith("https://")

    def resolved_database_url(self) -> str:
        """The database URL, with the embedded SQLite default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{REPO_ROOT / 'instance' / 'idp.sqlite3'}"

    def path(self, value: str) -> Path:
        """Resolve a path setting relative to the repository root."""
        p = Path(value)
        return p if p.is_absolute() else REPO_ROOT / p

    def validate(self) -> Settings:
        """Refuse malformed values and, in production, development defaults."""
        if self.env not in ("production", "development"):
            raise ConfigError("IDP_ENV must be 'production' or 'development'")
        parts = urlsplit(self.issuer)
        if parts.scheme not in ("http", "https") or not parts.netloc or self.issuer.endswith("/"):
            raise ConfigError("IDP_ISSUER must be an http(s) URL without a trailing slash")
        if parts.query or parts.fragment:
            raise ConfigError("IDP_ISSUER must not have a query or fragment (OIDC Discovery §3)")
        if not 1 <= self.authorization_code_ttl <= 60:
            raise ConfigError("IDP_AUTHORIZATION_CODE_TTL must be between 1 and 60 seconds")
        if not self.interaction_url.startswith("/") or self.interaction_url.count("{uid}") != 1:
            raise ConfigError("IDP_INTERACTION_URL must be a path containing {uid} once")
        if self.password_min_length < 8:
            raise ConfigError("IDP_PASSWORD_MIN_LENGTH below 8 breaks NIST SP 800-63B")
        if not 0 <= self.refresh_token_grace <= 60:
            raise ConfigError("IDP_REFRESH_TOKEN_GRACE must be between 0 and 60 seconds")
        if self.keys_reload_interval < 0:
            raise ConfigError("IDP_KEYS_RELOAD_INTERVAL must be 0 (never) or a number of seconds")
        if self.login_free_failures < 0 or self.login_max_delay < 0:
            raise ConfigError("IDP_LOGIN_FREE_FAILURES and IDP_LOGIN_MAX_DELAY must be >= 0")
        if self.worker_interval < 1:
            raise ConfigError("IDP_WORKER_INTERVAL must be at least 1 second")
        if self.delivery_lease < 3:
            raise ConfigError("IDP_DELIVERY_LEASE must be at least 3 seconds")
        if self.account_reauth_max_age < 0 or self.email_change_ttl < 60:
            raise ConfigError(
                "IDP_ACCOUNT_REAUTH_MAX_AGE must be >= 0 and IDP_EMAIL_CHANGE_TTL >= 60 seconds"
            )
        if self.default_language not in ("fr", "nl", "en", "de"):
            raise ConfigError("IDP_DEFAULT_LANGUAGE must be one of fr, nl, en, de")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError("IDP_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        if self.access_log not in ("on", "off"):
            raise ConfigError("IDP_ACCESS_LOG must be on or off")
        self._check_operations()
        if not self.is_development:
            self._refuse_development_defaults()
        return self

    def _check_operations(self) -> None:
        if self.redis_timeout_ms < 1:
            raise ConfigError("IDP_REDIS_TIMEOUT_MS must be a positive number of milliseconds")
        query = parse_qs(urlsplit(self.ratelimit_storage_url).query)
        if any(name.startswith(("socket_", "retry")) for name in query):
            raise ConfigError(
                "IDP_RATELIMIT_STORAGE_URL must not set socket_* or retry* parameters "
                "(they would override IDP_REDIS_TIMEOUT_MS)"
            )
        if self.database_pool_size < 1 or self.database_max_overflow < 0:
            raise ConfigError("IDP_DATABASE_POOL_SIZE must be ≥ 1, IDP_DATABASE_MAX_OVERFLOW ≥ 0")
        if self.database_connect_timeout < 1:
            raise ConfigError("IDP_DATABASE_CONNECT_TIMEOUT must be at least 1 second")
        self.metrics_allowed_networks()

    def metrics_allowed_networks(self) -> list[IPv4Network | IPv6Network]:
        """The networks ``/metrics`` answers (empty: nobody)."""
        value = self.metrics_networks.strip()
        if value == "off" or (not value and not self.is_development):
            return []
        if not value:
            return [ip_network("127.0.0.0/8"), ip_network("::1/128")]
        try:
            return [ip_network(part.strip()) for part in value.split(",") if part.strip()]
        except ValueError as exc:
            raise ConfigError(f"IDP_METRICS_NETWORKS: {exc}") from None

    def _refuse_development_defaults(self) -> None:
        problems = []
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("IDP_SECRET_KEY (set 32+ random characters)")
        if not self.uses_https:
            problems.append("IDP_ISSUER (https:// is required, OIDC Discovery §3)")
        problems += [
            f"{CLIENT_SECRET_PREFIX}{key}"
            for key, secret in sorted(self.client_secrets.items())
            if _DEV_CLIENT_SECRET.fullmatch(secret)
        ]
        if not self.smtp_url:
            problems.append("IDP_SMTP_URL (the development mail directory is not a mail server)")
        if not self.database_url or self.database_url.startswith("sqlite"):
            problems.append("IDP_DATABASE_URL (PostgreSQL in production)")
        if problems:
            raise ConfigError("production refuses development defaults: " + ", ".join(problems))


def _client_key(key: str, prefix: str) -> str:
    """The env-safe client id of a per-client variable; a malformed one is refused."""
    suffix = key[len(prefix) :]
    if not _ENV_SAFE.fullmatch(suffix):
        raise ConfigError(f"{key}: write the client id in upper case, '_' for other characters")
    return suffix


def _parse(f: dataclasses.Field[Any], raw: str, key: str) -> Any:
    if f.type in ("int", int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{key} must be an integer, got {raw!r}") from None
    return raw


def settings_table() -> str:
    """The Markdown table of every setting (variable, type, default, meaning)."""
    lines = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for f in dataclasses.fields(Settings):
        kind = "int" if f.type in ("int", int) else "str"
        if "prefix" in f.metadata:
            variable, default = f"{f.metadata['prefix']}<CLIENT_ID>", "(unset)"
        else:
            variable = f"{PREFIX}{f.name.upper()}"
            default = f"`{f.default}`" if f.default != "" else "(empty)"
        lines.append(f"| `{variable}` | {kind} | {default} | {f.metadata['doc']} |")
    return "\n".join(lines) + "\n"


def configuration_table() -> str:
    """docs/configuration.md: a short header and the settings table."""
    header = [
        "# Configuration",
        "",
        "Generated from `idp/config.py` by `flask --app wsgi idp docs-config`; "
        "a test fails when this file and the code differ.",
        "Every variable is optional in development; production refuses development defaults.",
        "",
    ]
    return "\n".join(header) + settings_table()


README_START = "<!-- settings table: generated by `flask --app wsgi idp docs-config` -->"
README_END = "<!-- end of settings table -->"


def with_readme_table(readme: str) -> str:
    """README.md with its settings section replaced by the current table."""
    start = readme.index(README_START) + len(README_START)
    end = readme.index(README_END)
    return readme[:start] + "\n" + settings_table() + readme[end:]
