"""Discovery and JWKS from prepared bytes (idp/documents.py): the same headers as every answer,
public caching, HEAD, 405 for other methods, a new keyring published, no per-request hooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.exceptions import ServiceUnavailable

import idp.keys
from idp.security import CSP

DOCUMENTS = ["/.well-known/openid-configuration", "/jwks.json"]


@pytest.mark.parametrize("path", DOCUMENTS)
@pytest.mark.settings(issuer="https://idp.example.test")
def test_documents_are_public_cacheable_json_with_the_hardening_headers(test_client, path):
    """OIDC Discovery 1.0 §4 / RFC 7517 §5 readable from any origin and cacheable; RFC 9700
    §4.16 headers like every other answer; no cookie set."""
    response = test_client.get(path)
    assert response.status_code == 200 and response.is_json
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("path", DOCUMENTS)
def test_head_answers_the_headers_without_the_body(test_client, path):
    """RFC 9110 §9.3.2: HEAD is GET without the content."""
    full = test_client.get(path)
    head = test_client.head(path)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == full.headers["Content-Length"]


@pytest.mark.parametrize("path", DOCUMENTS)
def test_other_methods_get_a_json_405(test_client, path):
    """RFC 9110 §15.5.6; protocol answers stay JSON."""
    response = test_client.post(path)
    assert response.status_code == 405
    assert response.get_json()["error"] == "invalid_request"


def test_jwks_follows_the_keyring_the_app_holds(app, test_client):
    """OIDC Core §10.1.1: after a rotation reloaded into the worker, the new next key is
    published at once (the prepared bytes belong to one keyring)."""
    before = {key["kid"] for key in test_client.get("/jwks.json").get_json()["keys"]}
    keys_dir = Path(app.config["IDP"].keys_dir)
    new_kids = idp.keys.rotate(keys_dir)
    app.extensions["idp_keyring"] = idp.keys.load_keyring(keys_dir)
    after = {key["kid"] for key in test_client.get("/jwks.json").get_json()["keys"]}
    assert set(new_kids) <= after and not set(new_kids) & before


def test_documents_need_none_of_the_per_request_machinery(app, test_client):
    """The documents are answered before Flask's dispatch: a failing request hook (session,
    limiter, CSRF, database all live behind those) does not reach them."""

    def broken() -> None:
        raise ServiceUnavailable()

    app.before_request(broken)
    for path in DOCUMENTS:
        assert test_client.get(path).status_code == 200
    assert test_client.get("/authorize").status_code == 503
