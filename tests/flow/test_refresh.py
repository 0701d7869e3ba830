"""Refresh tokens: offline_access only, rotation at every use, reuse detection revoking the
family, a fresh ID token with recomputed eligibility, bound to client and to an active account."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest
from sqlalchemy import select

import idp.models.oauth
from idp.extensions import db
from idp.models.base import utcnow
from idp.models.customer import Contract
from idp.models.oauth import Client
from tests.oidc import DEMO_ACTIVE
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_session
from tests.oidc import exchange_code
from tests.oidc import login_and_get_tokens
from tests.oidc import refresh
from tests.oidc import run_in_parallel
from tests.oidc import set_account_status
from tests.oidc import userinfo
from tests.oidc import validate_id_token


def refreshed(test_client, refresh_token: str) -> dict:
    """A successful refresh of smart-app; the new ID token validated (no nonce, at_hash)."""
    response = refresh(test_client, refresh_token)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store" and response.is_json
    tokens = response.get_json()
    tokens["claims"] = validate_id_token(
        test_client,
        tokens["id_token"],
        "smart-app",
        nonce=None,
        access_token=tokens["access_token"],
    )
    return tokens


def assert_invalid_grant(response) -> None:
    assert response.status_code == 400, response.text
    assert response.get_json()["error"] == "invalid_grant"
    assert "access_token" not in response.get_json()


def test_refresh_rotates_and_the_old_token_then_fails(test_client):
    """RFC 9700 §4.14.2 (refresh token rotation), RFC 6749 §6: a new refresh token every time;
    the presented one is no longer usable."""
    first = login_and_get_tokens(test_client)
    second = refreshed(test_client, first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert userinfo(test_client, second["access_token"]).status_code == 200
    third = refreshed(test_client, second["refresh_token"])
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    assert_invalid_grant(refresh(test_client, second["refresh_token"]))


def test_reused_refresh_token_revokes_the_whole_family(test_client):
    """RFC 9700 §4.14.2 (reuse of a rotated refresh token: the AS cannot tell attacker from
    client, so it revokes the active refresh token — and with it the grant), product §5 ("refresh
    token rotation with reuse detection")."""
    first = login_and_get_tokens(test_client)
    second = refreshed(test_client, first["refresh_token"])
    third = refreshed(test_client, second["refresh_token"])
    assert userinfo(test_client, third["access_token"]).status_code == 200

    assert_invalid_grant(refresh(test_client, first["refresh_token"]))  # the stolen old one

    assert_invalid_grant(refresh(test_client, third["refresh_token"]))  # the newest dies too
    assert userinfo(test_client, third["access_token"]).status_code == 401
    assert userinfo(test_client, second["access_token"]).status_code == 401


def test_reuse_does_not_touch_another_login_of_the_same_user(app, test_client):
    """RFC 9700 §4.14.2: the revocation is of that grant's family, not of every grant of the
    user (the other device keeps working)."""
    mine = login_and_get_tokens(test_client)
    other_device = login_and_get_tokens(app.test_client())
    refreshed(test_client, mine["refresh_token"])
    assert_invalid_grant(refresh(test_client, mine["refresh_token"]))
    assert userinfo(test_client, other_device["access_token"]).status_code == 200
    refreshed(test_client, other_device["refresh_token"])


def test_parallel_use_of_one_refresh_token_gives_one_answer(app, test_client):
    """RFC 9700 §4.14.2: one refresh token, one rotation — simultaneous uses cannot fork the
    family into two live refresh tokens."""
    first = login_and_get_tokens(test_client)
    results = run_in_parallel(app, [lambda c: refresh(c, first["refresh_token"]) for _ in range(3)])
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(r.status_code for r in results) == [200, 400, 400]
    winner = next(r for r in results if r.status_code == 200).get_json()
    # The reuse was detected: the family is revoked, the winner's token included.
    assert_invalid_grant(refresh(test_client, winner["refresh_token"]))


def test_refreshed_id_token_keeps_the_login_and_has_no_nonce(test_client):
    """OIDC Core §12.2: the refreshed ID token has the same iss, sub, aud and auth_time as the
    original, no nonce (or the original one — this OP sends none), and sid (OIDC Back-Channel
    Logout §2.1); at_hash of the new access token (§3.1.3.6)."""
    first = login_and_get_tokens(test_client)
    assert first["claims"]["nonce"]
    second = refreshed(test_client, first["refresh_token"])
    for claim in ("iss", "sub", "aud", "auth_time", "sid", "amr"):
        assert second["claims"][claim] == first["claims"][claim], claim
    assert "nonce" not in second["claims"]
    assert second["claims"]["iat"] >= first["claims"]["iat"]
    assert second["scope"] == first["scope"]


def test_refresh_recomputes_eligibility(app, test_client):
    """product §4 (eligibility computed at issue time and again at every refresh), product §2
    (active = start ≤ today < end)."""
    first = login_and_get_tokens(test_client)
    assert first["claims"]["eligibility"]["eligible"] is True
    with app.app_context():
        contract = db.session.scalar(select(Contract).where(Contract.id == "EL-2000000018-1"))
        contract.end_date = date.today() - timedelta(days=2)
        db.session.commit()
    second = refreshed(test_client, first["refresh_token"])
    eligibility = second["claims"]["eligibility"]
    assert eligibility["eligible"] is False
    assert eligibility["reason"] == "no_active_contract"
    assert isinstance(eligibility["checked_at"], int)
    assert eligibility["checked_at"] >= first["claims"]["eligibility"]["checked_at"]
    with app.app_context():
        contract = db.session.scalar(select(Contract).where(Contract.id == "EL-2000000018-1"))
        contract.end_date = None
        db.session.commit()
    third = refreshed(test_client, second["refresh_token"])
    assert third["claims"]["eligibility"]["eligible"] is True
    assert third["claims"]["eligibility"]["reason"] is None


def test_refresh_token_is_bound_to_its_client(app, test_client):
    """RFC 6749 §6 (the refresh token was issued to the authenticated client) and §10.4; a client
    without the refresh_token grant is refused outright (§5.2 unauthorized_client)."""
    tokens = login_and_get_tokens(test_client)
    cs = refresh(test_client, tokens["refresh_token"], client_id="customer-space")
    assert cs.status_code == 400 and cs.get_json()["error"] in (
        "unauthorized_client",
        "invalid_grant",
    )
    # Even a client allowed to refresh cannot use another client's refresh token.
    with app.app_context():
        client = db.session.get(Client, "customer-space")
        client.grant_types = ["authorization_code", "refresh_token"]
        db.session.commit()
    cs = refresh(test_client, tokens["refresh_token"], client_id="customer-space")
    assert_invalid_grant(cs)
    refreshed(test_client, tokens["refresh_token"])  # still the rightful client's


def test_customer_space_gets_no_refresh_token(test_client):
    """OIDC Core §11 (offline access) / product §1: the web client is not registered for
    offline_access or the refresh_token grant, even when it asks."""
    request = AuthorizationRequest.customer_space(scope="openid profile offline_access")
    tokens = login_and_get_tokens(test_client, request)
    assert "refresh_token" not in tokens
    assert "offline_access" not in tokens["scope"].split()


def test_smart_app_without_offline_access_gets_no_refresh_token(test_client):
    """OIDC Core §11: a refresh token for offline access only when offline_access is granted."""
    request = AuthorizationRequest(scope="openid profile eligibility")
    tokens = login_and_get_tokens(test_client, request)
    assert "refresh_token" not in tokens
    assert tokens["claims"]["eligibility"]["eligible"] is True


def test_refresh_cannot_widen_the_scope(test_client):
    """RFC 6749 §6: the requested scope MUST NOT include any scope not originally granted."""
    request = AuthorizationRequest(scope="openid offline_access")
    tokens = login_and_get_tokens(test_client, request)
    response = refresh(test_client, tokens["refresh_token"], scope="openid offline_access email")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_scope"
    assert "access_token" not in response.get_json()


@pytest.mark.parametrize("separator", ["\t", "\u00a0", "\u2003"])
def test_refresh_scope_separated_by_other_white_space_is_malformed(test_client, separator):
    """RFC 6749 §3.3: scope tokens are separated by spaces; any other white space makes the
    scope malformed (invalid_scope), not a list Python's str.split would read."""
    request = AuthorizationRequest(scope="openid offline_access")
    tokens = login_and_get_tokens(test_client, request)
    response = refresh(
        test_client, tokens["refresh_token"], scope=f"openid{separator}offline_access"
    )
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_scope"
    assert "access_token" not in response.get_json()


def test_disabled_account_cannot_refresh(app, test_client):
    """product §2 (account status active/locked/disabled) with RFC 6749 §6: a disabled account's
    refresh token no longer yields tokens, and its access token stops working (RFC 6750 §3.1)."""
    tokens = login_and_get_tokens(test_client)
    set_account_status(app, DEMO_ACTIVE, "disabled")
    response = refresh(test_client, tokens["refresh_token"])
    assert response.status_code == 400, response.text
    assert response.get_json()["error"] in ("invalid_grant", "invalid_request")
    assert "access_token" not in response.get_json()
    assert userinfo(test_client, tokens["access_token"]).status_code == 401


def test_locked_account_cannot_redeem_a_code_or_refresh(app, test_client):
    """product §2 (locked accounts) with RFC 6749 §4.1.3 / §6: no tokens for an account that is not
    active, even from a code issued just before."""
    tokens = login_and_get_tokens(test_client)
    request = AuthorizationRequest()
    code = authorize_with_session(test_client, request)["code"]
    set_account_status(app, DEMO_ACTIVE, "locked")
    response = exchange_code(test_client, request, code)
    assert response.status_code == 400 and "access_token" not in response.get_json()
    assert refresh(test_client, tokens["refresh_token"]).status_code == 400


def test_expired_refresh_token_is_refused(test_client, monkeypatch):
    """RFC 6749 §6 / RFC 9700 §4.14.2 (refresh tokens have a lifetime): past it, invalid_grant."""
    tokens = login_and_get_tokens(test_client)
    later = utcnow() + timedelta(days=31)
    monkeypatch.setattr(idp.models.oauth, "utcnow", lambda: later)
    assert_invalid_grant(refresh(test_client, tokens["refresh_token"]))
