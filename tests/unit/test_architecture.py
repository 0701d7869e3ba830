"""Which module may import which (STYLE.md), read from each module's imports with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    """``idp/views/login.py`` → ``idp.views.login``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module the file imports, at any depth (function bodies too), relative ones resolved.

    ``from a import b`` yields ``a`` and ``a.b`` (b may be a submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def python_files(*folders: str) -> list[Path]:
    """Every .py file under the folders (relative to the repository root)."""
    files = [
        p
        for folder in folders
        for p in (
            [ROOT / folder] if folder.endswith(".py") else sorted((ROOT / folder).rglob("*.py"))
        )
    ]
    assert files, f"no Python files under {folders}"
    return files


def is_within(module: str, *prefixes: str) -> bool:
    """True when ``module`` is one of the prefixes or inside one of them."""
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def violations(files: list[Path], *forbidden: str) -> list[str]:
    """``file: module`` for every forbidden import."""
    return sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in files
        for module in imports_of(path)
        if is_within(module, *forbidden)
    )


RULES = [
    pytest.param(
        ["idp/models"], ("flask", "authlib"), id="models-import-neither-flask-nor-authlib"
    ),
    pytest.param(
        ["idp/accounts"], ("flask", "authlib"), id="accounts-import-neither-flask-nor-authlib"
    ),
    pytest.param(["idp/views"], ("authlib",), id="views-import-no-authlib"),
    pytest.param(["clients"], ("idp",), id="clients-never-import-idp"),
    pytest.param(
        ["idp/uris.py"],
        ("idp", "flask", "werkzeug", "sqlalchemy", "authlib"),
        id="uri-matching-is-pure",
    ),
]


@pytest.mark.parametrize(("folders", "forbidden"), RULES)
def test_forbidden_imports(folders, forbidden):
    assert violations(python_files(*folders), *forbidden) == []


def test_only_the_oauth_package_imports_authlib_protocol_code():
    outside = [p for p in python_files("idp") if not is_within(module_name(p), "idp.oauth")]
    assert violations(outside, "authlib.oauth2", "authlib.oidc") == []


def test_models_import_only_sqlalchemy_and_idp_models():
    """STYLE.md: ``idp.models.* ─▶ idp.extensions (db) and sqlalchemy only`` (plus stdlib)."""
    third_party = {
        module
        for path in python_files("idp/models")
        for module in imports_of(path)
        if module.split(".")[0]
        in {
            "flask",
            "authlib",
            "werkzeug",
            "joserfc",
            "argon2",
            "flask_sqlalchemy",
            "flask_babel",
            "flask_wtf",
        }
    }
    assert third_party == set()


# ---- the whole rule, as an allow-list ---------------------------------------------------------

# What each package of idp/ may import from the rest of idp/ (itself always). Anything else in
# idp/ is refused, so a new dependency is a decision written here, not an accident.
ALLOWED = {
    "idp.models": ("idp.uris",),
    "idp.accounts": (
        "idp.models",
        "idp.config",
        "idp.mail.outbox",
        "idp.mail.links",
        "idp.activation_keys",
    ),
    "idp.mail": ("idp.models", "idp.config", "idp.delivery", "idp.delivery_admin", "idp.i18n"),
    "idp.oauth": (
        "idp.models",
        "idp.accounts.eligibility",
        "idp.accounts.signout",
        "idp.config",
        "idp.extensions",
        "idp.keys",
        "idp.key_reload",
        "idp.delivery",
        "idp.delivery_admin",
        "idp.devices",
        "idp.throttle",
        "idp.uris",
        "idp.audit",  # code replay, refresh reuse, back-channel failures are detected here
    ),
    "idp.views": (
        "idp.accounts",
        "idp.oauth",
        "idp.forms",
        "idp.i18n",
        "idp.config",
        "idp.extensions",
        "idp.endpoint_kinds",
        "idp.throttle",
        "idp.mail.links",
        "idp.audit",  # security events: one record and one counter each (docs/operations.md)
        "idp.metrics",
        "idp.ratelimit",  # the limiter's store, safe when Redis fails
        # row types and pure helpers only (the views docstring)
        "idp.models.base",
        "idp.models.account",
        "idp.models.registration",
        "idp.models.op_session",
        "idp.models.oauth",
    ),
}
# The view modules other views may import: shared helpers, not another page's routes.
VIEW_HELPERS = (
    "idp.views.errors",
    "idp.views.cookies",
    "idp.views.messages",
    "idp.views.mail_limits",
    "idp.views.device_cookie",
    "idp.views.rate_limits",
    "idp.views.code_guesses",
)
# Known exceptions, each with its reason.
EXCEPTIONS = {
    ("idp.views.mail_online", "idp.models.outbox"): "reads the one mail a signed link names",
    ("idp.views.mail_online", "idp.mail.outbox"): "renders a sent mail again",
    ("idp.views.mail_online", "idp.mail.render"): "renders a sent mail again",
    ("idp.views.dev_mail", "idp.mail.outbox"): "development viewer: counts by state",
    ("idp.views.dev_mail", "idp.mail.transports"): "development viewer: the outbox directory",
    ("idp.views.dev_mail", "idp.views.mail_online"): "development viewer shows mails the same way",
    ("idp.views.operations", "idp.backlog"): "readiness and metrics read the delivery backlogs",
}


def _own_package(path: Path) -> tuple[str, ...]:
    """The subpackage a view module belongs to or is (``idp.views.registration``), if any."""
    parts = module_name(path).split(".")
    if len(parts) > 3 or (len(parts) == 3 and path.name == "__init__.py"):
        return (".".join(parts[:3]),)
    return ()


def as_module(name: str) -> str:
    """``idp.views.query_pairs`` (a name from a module) → ``idp.views``; modules unchanged."""
    path = ROOT / name.replace(".", "/")
    if path.with_suffix(".py").exists() or (path / "__init__.py").exists():
        return name
    return name.rsplit(".", 1)[0]


def refused_imports(package: str) -> list[str]:
    """``module: imported`` for every import of idp/ the allow-list does not grant."""
    allowed = (package, *ALLOWED[package])
    found = []
    for path in python_files(package.replace(".", "/")):
        module = module_name(path)
        for imported in sorted({as_module(name) for name in imports_of(path)}):
            if not is_within(imported, "idp") or imported == "idp":
                continue
            granted = is_within(imported, *allowed)
            if granted and package == "idp.views" and is_within(imported, "idp.views"):
                granted = imported == "idp.views" or is_within(
                    imported, *VIEW_HELPERS, *_own_package(path)
                )
            exception = any(module == m and is_within(imported, target) for m, target in EXCEPTIONS)
            if not granted and not exception:
                found.append(f"{module}: {imported}")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_the_rule_allows(package):
    assert refused_imports(package) == []


def test_the_exceptions_are_still_needed():
    """An exception nobody uses any more is deleted, not kept as a loophole."""
    used = {
        (module_name(path), target)
        for path in python_files("idp/views")
        for module, target in EXCEPTIONS
        if module_name(path) == module and any(is_within(i, target) for i in imports_of(path))
    }
    assert used == set(EXCEPTIONS)


# ---- the checker itself ----------------------------------------------------------------


def test_relative_and_nested_imports_are_seen(tmp_path, monkeypatch):
    package = tmp_path / "idp" / "models"
    package.mkdir(parents=True)
    source = package / "sample.py"
    source.write_text(
        "from . import base\n"
        "from ..views import login\n"
        "def f():\n"
        "    import authlib.oauth2.rfc6749 as r\n"
        "    from flask import request\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    found = imports_of(source)
    assert {
        "idp.models",
        "idp.models.base",
        "idp.views",
        "idp.views.login",
        "authlib.oauth2.rfc6749",
        "flask",
        "flask.request",
    } <= found
    assert violations([source], "flask", "authlib") == [
        "idp/models/sample.py: authlib.oauth2.rfc6749",
        "idp/models/sample.py: flask",
        "idp/models/sample.py: flask.request",
    ]
