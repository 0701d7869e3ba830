"""Behaviour by endpoint kind (idp/endpoint_kinds.py), not by URL-prefix lists: JSON errors and
cross-origin posts for the protocol API, pages and same-origin posts for everything else."""

from __future__ import annotations

import pytest
from flask import Blueprint
from flask import abort

from idp.endpoint_kinds import EndpointKind
from idp.endpoint_kinds import endpoint_kind
from tests.conftest import csrf_token

FOREIGN = {"Origin": "https://elsewhere.example"}


def _is_json(response) -> bool:
    return response.mimetype == "application/json"


def _token(client) -> str:
    """A valid CSRF token for this browser (the origin check stands behind the token)."""
    return csrf_token(client.get("/forgot/password").text)


@pytest.fixture
def marked_app(app):
    """The provider with three extra routes, one per kind, that all refuse with a 400."""
    bp = Blueprint("kinds_test", __name__)

    @bp.post("/test-kinds/api")
    @endpoint_kind(EndpointKind.PROTOCOL_API)
    def api():
        abort(400)

    @bp.post("/test-kinds/protocol-page")
    @endpoint_kind(EndpointKind.PROTOCOL_PAGE)
    def protocol_page():
        abort(400)

    @bp.post("/test-kinds/page")
    def page():
        abort(400)

    app.register_blueprint(bp)
    return app


@pytest.mark.parametrize(
    ("path", "json_errors", "cross_origin"),
    [
        ("/test-kinds/api", True, True),
        ("/test-kinds/protocol-page", False, True),
        ("/test-kinds/page", False, False),
    ],
)
def test_the_marker_decides_error_format_and_origin_check(
    marked_app, path, json_errors, cross_origin
):
    client = marked_app.test_client()
    form = {"csrf_token": _token(client)}
    response = client.post(path, headers=FOREIGN, data=form)
    assert response.status_code == (400 if cross_origin else 403)
    assert _is_json(response) is json_errors
    assert client.post(path, data=form).status_code == 400  # from our own origin


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/token"),
        ("POST", "/revoke"),
        ("POST", "/introspect"),
        ("POST", "/userinfo"),
        ("POST", "/jwks.json"),  # 405, answered as the JWKS endpoint's kind
        ("POST", "/.well-known/openid-configuration"),
    ],
)
def test_protocol_api_endpoints_take_cross_origin_posts_and_answer_json(test_client, method, path):
    response = test_client.open(path, method=method, headers=FOREIGN)
    assert response.status_code != 403
    assert response.status_code >= 400 and _is_json(response), response.data[:200]


@pytest.mark.parametrize("path", ["/authorize", "/logout"])
def test_protocol_pages_take_cross_origin_posts_and_answer_pages(test_client, path):
    response = test_client.post(path, headers=FOREIGN, data={"client_id": "nobody"})
    assert response.status_code != 403
    assert not _is_json(response)


@pytest.mark.parametrize("path", ["/logout/confirm", "/forgot/password", "/register"])
def test_our_own_forms_refuse_a_foreign_origin(test_client, path):
    form = {"csrf_token": _token(test_client)}
    assert test_client.post(path, headers=FOREIGN, data=form).status_code == 403


@pytest.mark.parametrize("path", ["/token/anything", "/.well-known/unknown"])
def test_a_path_no_route_knows_is_a_page(test_client, path):
    response = test_client.get(path)
    assert response.status_code == 404 and not _is_json(response)
