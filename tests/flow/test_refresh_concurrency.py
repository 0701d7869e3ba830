"""Parallel refreshes of one refresh token (issue #8 finding 3).

RFC 9700 §4.14.2 asks rotation with reuse detection of *public* clients; a confidential client
authenticates every refresh. So a confidential client's parallel (or quickly repeated)
presentations of one refresh token within ``IDP_REFRESH_TOKEN_GRACE`` all get the same
successor tokens and the grant lives on, while the public client keeps strict reuse detection:
one presentation wins, every other one is reuse and revokes the family.
"""

from __future__ import annotations

import pytest

from idp.extensions import db
from idp.models.oauth import Client
from tests.oidc import AuthorizationRequest
from tests.oidc import login_and_get_tokens
from tests.oidc import refresh
from tests.oidc import revoke
from tests.oidc import run_in_parallel
from tests.oidc import userinfo

WEB_OFFLINE_SCOPE = "openid profile email eligibility offline_access"


@pytest.fixture
def refreshing_web_client(app):
    """customer-space registered for offline access, as a web front end that refreshes
    (mod_auth_openidc with refresh tokens) would be."""
    with app.app_context():
        client = db.session.get(Client, "customer-space")
        client.grant_types = ["authorization_code", "refresh_token"]
        client.scope = WEB_OFFLINE_SCOPE
        db.session.commit()
    return "customer-space"


def tokens_of(test_client, client_id: str) -> dict:
    """A fresh login of ``client_id`` with offline access."""
    if client_id == "customer-space":
        request = AuthorizationRequest.customer_space(scope=WEB_OFFLINE_SCOPE)
    else:
        request = AuthorizationRequest()
    tokens = login_and_get_tokens(test_client, request)
    assert "refresh_token" in tokens
    return tokens


def parallel_refreshes(app, refresh_token: str, client_id: str, n: int) -> list:
    """``n`` refreshes of one token, released together; no request may raise or 500."""
    results = run_in_parallel(app, [lambda c: refresh(c, refresh_token, client_id)] * n)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert all(r.status_code in (200, 400) for r in results), [r.status_code for r in results]
    return results


@pytest.mark.parametrize("n", [4, 10])
def test_parallel_refreshes_of_a_confidential_client_keep_the_grant(
    app, test_client, refreshing_web_client, n
):
    """RFC 9700 §4.14.2: every parallel presentation answers, with the same successor pair;
    the grant lives on (the successor refreshes, its access token works)."""
    first = tokens_of(test_client, refreshing_web_client)
    results = parallel_refreshes(app, first["refresh_token"], refreshing_web_client, n)
    assert [r.status_code for r in results] == [200] * n, [r.get_json() for r in results]
    bodies = [r.get_json() for r in results]
    assert len({b["refresh_token"] for b in bodies}) == 1
    assert len({b["access_token"] for b in bodies}) == 1
    successor = bodies[0]
    assert successor["refresh_token"] != first["refresh_token"]
    assert all(b["token_type"] == "Bearer" and b["id_token"] for b in bodies)
    assert userinfo(test_client, successor["access_token"]).status_code == 200
    after = refresh(test_client, successor["refresh_token"], refreshing_web_client)
    assert after.status_code == 200, after.text
    assert userinfo(test_client, after.get_json()["access_token"]).status_code == 200


@pytest.mark.parametrize("n", [4, 10])
def test_parallel_refreshes_of_a_public_client_are_reuse(app, test_client, n):
    """RFC 9700 §4.14.2: for the public client one presentation wins at most, every other one
    is reuse and revokes the whole family (the winner's tokens included)."""
    first = tokens_of(test_client, "smart-app")
    results = parallel_refreshes(app, first["refresh_token"], "smart-app", n)
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) <= 1 and codes.count(400) >= n - 1, codes
    assert all(r.get_json()["error"] == "invalid_grant" for r in results if r.status_code == 400)
    for winner in [r.get_json() for r in results if r.status_code == 200]:
        assert refresh(test_client, winner["refresh_token"]).status_code == 400
        assert userinfo(test_client, winner["access_token"]).status_code == 401


def test_confidential_repeat_within_the_grace_gets_the_same_successor(
    test_client, refreshing_web_client
):
    """A sequential repeat (a retried request whose answer was lost) is answered like a parallel
    one: the same pair, and the first answer's tokens stay valid."""
    first = tokens_of(test_client, refreshing_web_client)
    one = refresh(test_client, first["refresh_token"], refreshing_web_client)
    two = refresh(test_client, first["refresh_token"], refreshing_web_client)
    assert one.status_code == two.status_code == 200, two.text
    assert one.get_json()["refresh_token"] == two.get_json()["refresh_token"]
    assert one.get_json()["access_token"] == two.get_json()["access_token"]
    assert 0 < two.get_json()["expires_in"] <= one.get_json()["expires_in"]
    assert userinfo(test_client, one.get_json()["access_token"]).status_code == 200


def test_public_client_gets_no_grace(test_client):
    """RFC 9700 §4.14.2: the public client's second presentation, however soon, is reuse."""
    first = tokens_of(test_client, "smart-app")
    one = refresh(test_client, first["refresh_token"])
    assert one.status_code == 200
    again = refresh(test_client, first["refresh_token"])
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    assert refresh(test_client, one.get_json()["refresh_token"]).status_code == 400


@pytest.mark.settings(refresh_token_grace=0)
def test_confidential_repeat_after_the_grace_is_reuse(test_client, refreshing_web_client):
    """Past the grace, a rotated refresh token coming back is reuse for every client: the
    family is revoked."""
    first = tokens_of(test_client, refreshing_web_client)
    one = refresh(test_client, first["refresh_token"], refreshing_web_client)
    assert one.status_code == 200
    again = refresh(test_client, first["refresh_token"], refreshing_web_client)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    assert userinfo(test_client, one.get_json()["access_token"]).status_code == 401


def test_grace_does_not_revive_a_revoked_grant(test_client, refreshing_web_client):
    """RFC 7009 §2.1: once the grant is revoked, the grace answers nothing."""
    first = tokens_of(test_client, refreshing_web_client)
    one = refresh(test_client, first["refresh_token"], refreshing_web_client)
    assert one.status_code == 200
    assert revoke(test_client, one.get_json()["refresh_token"], "customer-space").status_code == 200
    again = refresh(test_client, first["refresh_token"], refreshing_web_client)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_grace_is_not_for_another_client(app, test_client, refreshing_web_client):
    """RFC 6749 §6: the refresh token is bound to its client, within the grace too."""
    first = tokens_of(test_client, "smart-app")
    assert refresh(test_client, first["refresh_token"]).status_code == 200
    stolen = refresh(test_client, first["refresh_token"], refreshing_web_client)
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_grant"
