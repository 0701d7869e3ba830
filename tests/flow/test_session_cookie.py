"""The OP session cookie and Flask's browser cookie (issue #8 finding 7): ``__Host-`` prefixed
whenever the issuer is https (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain), HttpOnly and
SameSite=Lax always; the names used before the prefix are ignored and deleted."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models.op_session import OpSession
from idp.oauth.sso import start_session
from tests.conftest import csrf_token
from tests.oidc import DEMO_PASSWORD
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_session
from tests.oidc import start_login
from tests.oidc import submit_login

HTTPS = pytest.mark.settings(issuer="https://localhost")


def set_cookie_headers(response, name: str) -> list[str]:
    """The Set-Cookie header lines of a response for cookie ``name``."""
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def attributes(header: str) -> dict[str, str]:
    """``Set-Cookie`` attributes, lower-cased names (value-less ones map to "")."""
    parts = [p.strip() for p in header.split(";")[1:]]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1) + [""])[1] for p in parts if p}


def login_response(test_client):
    """The resume response that starts the OP session (it sets the session cookie)."""
    request = AuthorizationRequest()
    login_page = start_login(test_client, request)
    posted = submit_login(test_client, login_page, "demo.actif@example.be", DEMO_PASSWORD)
    assert posted.status_code == 303, posted.text
    final = test_client.get(posted.headers["Location"])
    assert final.status_code == 302 and "code=" in final.headers["Location"]
    return posted, final


@HTTPS
def test_https_session_cookie_is_host_prefixed(test_client):
    """RFC 6265bis §4.1.3.2: ``__Host-`` with Secure, Path=/ and no Domain; HttpOnly and
    SameSite=Lax kept."""
    _, final = login_response(test_client)
    [header] = set_cookie_headers(final, "__Host-idp_session")
    attrs = attributes(header)
    assert "secure" in attrs and "httponly" in attrs
    assert attrs["path"] == "/" and "domain" not in attrs
    assert attrs["samesite"] == "Lax"
    assert not set_cookie_headers(final, "idp_session")


@HTTPS
def test_https_browser_cookie_is_host_prefixed(test_client):
    """Flask's signed cookie (CSRF token, pending logins) carries the same prefix."""
    response = test_client.get(AuthorizationRequest().url())  # remembers the pending login
    headers = set_cookie_headers(response, "__Host-idp_browser")
    assert headers, response.headers.getlist("Set-Cookie")
    attrs = attributes(headers[-1])
    assert "secure" in attrs and "httponly" in attrs
    assert attrs["path"] == "/" and "domain" not in attrs
    assert attrs["samesite"] == "Lax"
    assert test_client.get_cookie("idp_browser") is None


@HTTPS
def test_https_sso_and_logout_use_the_prefixed_cookie(app, test_client):
    """The prefixed cookie carries SSO, and logout deletes it."""
    login_response(test_client)
    assert test_client.get_cookie("__Host-idp_session") is not None
    assert authorize_with_session(test_client, AuthorizationRequest())["code"]
    page = test_client.get("/logout")
    done = test_client.post("/logout/confirm", data={"csrf_token": csrf_token(page.text)})
    assert done.status_code == 303
    [deleted] = set_cookie_headers(done, "__Host-idp_session")
    assert "secure" in attributes(deleted) and attributes(deleted)["path"] == "/"
    assert test_client.get_cookie("__Host-idp_session") is None
    with app.app_context():
        assert db.session.scalar(select(OpSession)).ended_at is not None


@HTTPS
def test_https_ignores_and_deletes_the_unprefixed_cookie(app, test_client):
    """A cookie under the old name is never a session (a sibling host could have tossed it in:
    login CSRF); the response deletes it, and the browser is asked to log in."""
    with app.app_context():
        from idp.models.account import Account

        account = db.session.scalar(select(Account).where(Account.login == "demo.actif@example.be"))
        value = start_session(account, ["pwd"], app.config["IDP"]).cookie_value
        db.session.commit()
    test_client.set_cookie("idp_session", value)
    response = test_client.get(AuthorizationRequest().url())
    assert response.status_code == 302 and "/interaction/" in response.headers["Location"]
    [deleted] = set_cookie_headers(response, "idp_session")
    assert attributes(deleted).get("max-age") == "0" or "expires" in attributes(deleted)
    assert test_client.get_cookie("idp_session") is None


def test_plain_http_development_keeps_the_bare_names(test_client):
    """``__Host-`` needs Secure, which a plain-HTTP issuer cannot set: development keeps the
    bare names (and HttpOnly, SameSite=Lax)."""
    _, final = login_response(test_client)
    [header] = set_cookie_headers(final, "idp_session")
    attrs = attributes(header)
    assert "httponly" in attrs and attrs["samesite"] == "Lax" and "secure" not in attrs
    assert not set_cookie_headers(final, "__Host-idp_session")
