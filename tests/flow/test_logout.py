"""RP-Initiated Logout 1.0 at /logout: a valid hint logs out and redirects exactly where
registered (with state); every doubtful request asks the End-User and never redirects."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from idp.extensions import db
from idp.models.op_session import OpSession
from tests.conftest import csrf_token
from tests.oidc import DEMO_INACTIVE
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_session
from tests.oidc import exchange_code
from tests.oidc import login_and_get_tokens
from tests.oidc import query_of
from tests.oidc import refresh
from tests.oidc import start_login
from tests.oidc import validate_id_token

CS_AFTER_LOGOUT = "http://127.0.0.1:5001/"
APP_AFTER_LOGOUT = "http://127.0.0.1/logged-out"
APP_SCHEME_AFTER_LOGOUT = "be.customerspace.smartapp:/logged-out"


def b64(data: dict) -> str:
    """base64url(JSON) without padding, as in a compact JWS."""
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def signed_by_us(app, claims: dict, alg: str = "RS256") -> str:
    """A JWT signed with the provider's own current key (to forge claims, not keys)."""
    key = app.extensions["idp_keyring"].signing_key(alg)
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


def signed_by_stranger(app, claims: dict) -> str:
    """Our header (same kid), someone else's RSA key: the signature cannot verify."""
    ours = app.extensions["idp_keyring"].signing_key("RS256")
    key = RSAKey.generate_key(2048, private=True)
    return jwt.encode({"alg": "RS256", "kid": ours.kid}, claims, key, algorithms=["RS256"])


def unsigned(claims: dict) -> str:
    """RFC 7519 §6 unsecured JWT (``alg: none``)."""
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def logout_url(**params: str) -> str:
    """``/logout?…`` with the given parameters."""
    return "/logout?" + urlencode(params)


def session_of(app, sid: str) -> OpSession:
    """The OP session row, detached."""
    with app.app_context():
        row = db.session.scalar(select(OpSession).where(OpSession.sid == sid))
        db.session.expunge(row)
        return row


def is_ended(app, sid: str) -> bool:
    """True once the OP session has been ended."""
    return session_of(app, sid).ended_at is not None


def assert_cookie_cleared(response, test_client) -> None:
    """The OP session cookie is deleted on the logout response and gone from the browser."""
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("idp_session=;") and "Max-Age=0" in c for c in cookies), cookies
    assert test_client.get_cookie("idp_session") is None


def assert_needs_login(test_client) -> None:
    """The next authorization request goes to the login page, not straight back to the RP."""
    start_login(test_client, AuthorizationRequest())


def assert_confirmation_page(response) -> str:
    """A page (no redirect) with the CSRF-protected confirmation form."""
    assert response.status_code == 200, (response.status_code, response.headers)
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    assert 'action="/logout/confirm"' in response.text
    assert 'name="csrf_token"' in response.text
    return response.text


def customer_space_login(test_client) -> dict:
    """Log in through the customer space; the token response with validated ID token claims."""
    return login_and_get_tokens(test_client, AuthorizationRequest.customer_space())


# ---- success ---------------------------------------------------------------------------


def test_valid_hint_and_registered_uri_redirect_there_with_state(app, test_client):
    tokens = customer_space_login(test_client)
    sid = tokens["claims"]["sid"]
    response = test_client.get(
        logout_url(
            id_token_hint=tokens["id_token"],
            post_logout_redirect_uri=CS_AFTER_LOGOUT,
            state="af0ifjsldkj",
            client_id="customer-space",
            ui_locales="en",
        )
    )
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == CS_AFTER_LOGOUT + "?state=af0ifjsldkj"
    assert response.headers["Cache-Control"] == "no-store"
    assert is_ended(app, sid)
    assert_cookie_cleared(response, test_client)
    assert_needs_login(test_client)


def test_post_form_is_accepted_like_get(app, test_client):
    tokens = customer_space_login(test_client)
    response = test_client.post(
        "/logout",
        data={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": CS_AFTER_LOGOUT,
            "state": "s1",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == CS_AFTER_LOGOUT + "?state=s1"
    assert is_ended(app, tokens["claims"]["sid"])


@pytest.mark.parametrize(
    "uri",
    [
        APP_SCHEME_AFTER_LOGOUT,
        APP_AFTER_LOGOUT,
        "http://127.0.0.1:49152/logged-out",  # RFC 8252 §7.3: any port on the loopback IP
    ],
)
def test_smart_app_returns_to_its_registered_uris(app, test_client, uri):
    tokens = login_and_get_tokens(test_client)
    response = test_client.get(
        logout_url(
            id_token_hint=tokens["id_token"],
            post_logout_redirect_uri=uri,
            state="st",
        )
    )
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == uri + "?state=st"
    assert is_ended(app, tokens["claims"]["sid"])


def test_expired_hint_is_accepted(app, test_client):
    """RP-Initiated Logout 1.0 §2: the OP SHOULD accept an ID token whose exp has passed."""
    tokens = customer_space_login(test_client)
    now = int(time.time())
    claims = {**tokens["claims"], "iat": now - 7200, "exp": now - 3600}
    hint = signed_by_us(app, claims)
    response = test_client.get(
        logout_url(
            id_token_hint=hint,
            post_logout_redirect_uri=CS_AFTER_LOGOUT,
            state="late",
        )
    )
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == CS_AFTER_LOGOUT + "?state=late"
    assert is_ended(app, tokens["claims"]["sid"])


def test_valid_hint_without_redirect_shows_the_logged_out_page(app, test_client):
    tokens = customer_space_login(test_client)
    response = test_client.get(logout_url(id_token_hint=tokens["id_token"], ui_locales="en"))
    assert response.status_code == 302
    assert response.headers["Location"] == "/logged-out?ui_locales=en"
    assert is_ended(app, tokens["claims"]["sid"])
    page = test_client.get(response.headers["Location"])
    assert page.status_code == 200 and "You are logged out." in page.text


def test_hint_ends_the_named_session_when_this_browser_has_none(app, test_client):
    """The Smart App may log out from a browser that does not hold the cookie."""
    tokens = login_and_get_tokens(test_client)
    other_browser = app.test_client()
    response = other_browser.get(
        logout_url(
            id_token_hint=tokens["id_token"],
            post_logout_redirect_uri=APP_SCHEME_AFTER_LOGOUT,
        )
    )
    assert response.status_code == 302
    assert response.headers["Location"] == APP_SCHEME_AFTER_LOGOUT
    assert is_ended(app, tokens["claims"]["sid"])
    assert_needs_login(test_client)


def test_offline_refresh_token_outlives_the_session(app, test_client):
    """OIDC Core §11: offline_access is access while the End-User is not logged in."""
    tokens = login_and_get_tokens(test_client)
    test_client.get(logout_url(id_token_hint=tokens["id_token"]))
    assert is_ended(app, tokens["claims"]["sid"])
    assert refresh(test_client, tokens["refresh_token"]).status_code == 200


# ---- negative cases: never a redirect ----------------------------------------------------


def _cases(app, tokens: dict, smart_tokens: dict) -> dict[str, dict[str, str]]:
    claims = tokens["claims"]
    return {
        "forged signature": {
            "id_token_hint": signed_by_stranger(app, claims),
            "post_logout_redirect_uri": CS_AFTER_LOGOUT,
        },
        "foreign issuer": {
            "id_token_hint": signed_by_us(app, {**claims, "iss": "https://evil.example"}),
            "post_logout_redirect_uri": CS_AFTER_LOGOUT,
        },
        "alg none": {
            "id_token_hint": unsigned(claims),
            "post_logout_redirect_uri": CS_AFTER_LOGOUT,
        },
        "garbage hint": {"id_token_hint": "not.a.jwt", "post_logout_redirect_uri": CS_AFTER_LOGOUT},
        "unregistered uri": {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://evil.example/",
        },
        "extra query parameter": {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": CS_AFTER_LOGOUT + "?next=evil",
        },
        "other port for a web client": {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "http://127.0.0.1:5002/",
        },
        "another client's uri": {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": APP_SCHEME_AFTER_LOGOUT,
        },
        "hint of another client, mismatching client_id": {
            "id_token_hint": smart_tokens["id_token"],
            "client_id": "customer-space",
            "post_logout_redirect_uri": CS_AFTER_LOGOUT,
        },
        "unknown client_id": {
            "id_token_hint": tokens["id_token"],
            "client_id": "nobody",
            "post_logout_redirect_uri": CS_AFTER_LOGOUT,
        },
        "repeated redirect uri": {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": [CS_AFTER_LOGOUT, "https://evil.example/"],
        },
        "no hint, registered uri": {
            "client_id": "customer-space",
            "post_logout_redirect_uri": CS_AFTER_LOGOUT,
        },
    }


NEGATIVE = [
    "forged signature",
    "foreign issuer",
    "alg none",
    "garbage hint",
    "unregistered uri",
    "extra query parameter",
    "other port for a web client",
    "another client's uri",
    "hint of another client, mismatching client_id",
    "unknown client_id",
    "repeated redirect uri",
    "no hint, registered uri",
]


@pytest.mark.parametrize("case", NEGATIVE)
def test_doubtful_requests_ask_first_and_never_redirect(app, test_client, case):
    smart_tokens = login_and_get_tokens(test_client)
    request = AuthorizationRequest.customer_space()
    callback = authorize_with_session(test_client, request)
    answer = exchange_code(test_client, request, callback["code"]).get_json()
    tokens = {
        "id_token": answer["id_token"],
        "claims": validate_id_token(
            test_client, answer["id_token"], "customer-space", request.nonce
        ),
    }
    sid = tokens["claims"]["sid"]
    params = {**_cases(app, tokens, smart_tokens)[case], "state": "st"}
    page = test_client.get("/logout?" + urlencode(params, doseq=True))
    html = assert_confirmation_page(page)
    assert not is_ended(app, sid), "logged out without asking"
    done = test_client.post(
        "/logout/confirm",
        data={
            "csrf_token": csrf_token(html),
            **params,
        },
    )
    assert done.status_code == 303, done.text
    assert done.headers["Location"].startswith("/logged-out"), done.headers["Location"]
    assert is_ended(app, sid)
    assert_cookie_cleared(done, test_client)


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost:49152/logged-out",  # RFC 8252 §8.3: the IP literal only
        "http://127.0.0.1:49152/logged-out?x=1",  # port free, nothing else
        "http://127.0.0.1:49152/logged-out/",
        "https://127.0.0.1:49152/logged-out",
        "http://user@127.0.0.1:49152/logged-out",
        "be.customerspace.smartapp:/logged-out?x=1",
        # issue #8 finding 1: exact scheme, plain decimal port (RFC 9700 §4.1.3)
        "HTTP://127.0.0.1:5111/logged-out",
        "hTTp://127.0.0.1:5111/logged-out",
        "http://127.0.0.1:05111/logged-out",
        "http://127.0.0.1:0/logged-out",
    ],
)
def test_smart_app_loopback_rule_frees_only_the_port(app, test_client, uri):
    tokens = login_and_get_tokens(test_client)
    page = test_client.get(
        logout_url(id_token_hint=tokens["id_token"], post_logout_redirect_uri=uri)
    )
    assert_confirmation_page(page)
    assert not is_ended(app, tokens["claims"]["sid"])


# ---- confirmation ------------------------------------------------------------------------


def test_no_hint_asks_then_logs_out_with_a_csrf_protected_post(app, test_client):
    tokens = customer_space_login(test_client)
    sid = tokens["claims"]["sid"]
    page = test_client.get("/logout?ui_locales=en")
    html = assert_confirmation_page(page)
    assert "Do you want to log out?" in html
    assert not is_ended(app, sid)

    refused = test_client.post("/logout/confirm", data={"ui_locales": "en"})
    assert refused.status_code == 400
    assert not is_ended(app, sid)
    assert test_client.get_cookie("idp_session") is not None

    done = test_client.post(
        "/logout/confirm", data={"csrf_token": csrf_token(html), "ui_locales": "en"}
    )
    assert done.status_code == 303
    assert done.headers["Location"] == "/logged-out?ui_locales=en"
    assert is_ended(app, sid)
    assert_cookie_cleared(done, test_client)
    final = test_client.get(done.headers["Location"])
    assert final.status_code == 200 and "You are logged out." in final.text
    assert_needs_login(test_client)


def test_hint_of_another_user_asks_first(app, test_client):
    other_browser = app.test_client()
    someone_else = customer_space_login(other_browser)
    mine = login_and_get_tokens(test_client, login=DEMO_INACTIVE)
    page = test_client.get(
        logout_url(
            id_token_hint=someone_else["id_token"],
            post_logout_redirect_uri=CS_AFTER_LOGOUT,
            state="st",
        )
    )
    html = assert_confirmation_page(page)
    assert "Espace Client" in html
    assert not is_ended(app, mine["claims"]["sid"])
    done = test_client.post(
        "/logout/confirm",
        data={
            "csrf_token": csrf_token(html),
            "id_token_hint": someone_else["id_token"],
            "post_logout_redirect_uri": CS_AFTER_LOGOUT,
            "state": "st",
        },
    )
    # Confirmed, the valid hint's registered URI is a legitimate target (§3).
    assert done.status_code == 303
    assert done.headers["Location"] == CS_AFTER_LOGOUT + "?state=st"
    assert is_ended(app, mine["claims"]["sid"])
    assert not is_ended(app, someone_else["claims"]["sid"])  # only this browser's session


def test_without_session_or_hint_there_is_nothing_to_confirm(test_client):
    response = test_client.get("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/logged-out"
    assert_cookie_cleared(response, test_client)


def test_confirmation_page_renders_in_every_language(test_client, app):
    customer_space_login(test_client)
    for language in ("fr", "nl", "en", "de"):
        page = test_client.get(f"/logout?ui_locales={language}")
        assert_confirmation_page(page)
        assert f'lang="{language}"' in page.text
    for language in ("fr", "nl", "en", "de"):
        page = test_client.get(f"/logged-out?ui_locales={language}")
        assert page.status_code == 200 and f'lang="{language}"' in page.text


def test_discovery_advertises_logout(test_client):
    metadata = test_client.get("/.well-known/openid-configuration").get_json()
    assert metadata["end_session_endpoint"] == ISSUER + "/logout"
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True


def test_redirect_carries_no_authorization_response_parameters(app, test_client):
    tokens = customer_space_login(test_client)
    response = test_client.get(
        logout_url(
            id_token_hint=tokens["id_token"],
            post_logout_redirect_uri=CS_AFTER_LOGOUT,
            state="x",
        )
    )
    assert query_of(response.headers["Location"]) == {"state": "x"}
