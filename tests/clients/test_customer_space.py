"""The customer space reference client against the provider in-process: login (Authlib's
Flask client, client_secret_basic + PKCE), eligibility shown, SSO after the Smart App,
third-party-initiated login, RP-initiated logout, and the back-channel logout receiver."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

from clients.customer_space.backchannel import BACKCHANNEL_EVENT
from tests.clients.conftest import CUSTOMER_SPACE_URL
from tests.clients.conftest import SMART_APP_URL
from tests.clients.conftest import follow
from tests.clients.conftest import heading
from tests.clients.conftest import through_provider
from tests.clients.steps import log_in_to_customer_space as log_in
from tests.oidc import CUSTOMER_SPACE_SECRET
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_INACTIVE


def query(url: str) -> dict[str, str]:
    """Single-valued query parameters."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def sessions(customer_space_app: Any) -> Any:
    """The customer space's server-side session store."""
    return customer_space_app.extensions["customer_space.sessions"]


def test_anonymous_home_offers_login(browser):
    page = browser.get(f"{CUSTOMER_SPACE_URL}/")
    assert page.status_code == 200 and "Se connecter" in page.text


def test_login_shows_who_and_eligibility(browser, issuer, provider_adapter):
    started = browser.get(f"{CUSTOMER_SPACE_URL}/login")
    params = query(started.headers["Location"])
    assert params["client_id"] == "customer-space"
    assert params["redirect_uri"] == f"{CUSTOMER_SPACE_URL}/callback"
    assert params["code_challenge_method"] == "S256" and params["nonce"] and params["state"]
    assert params["scope"] == "openid profile email eligibility"

    page = log_in(browser, issuer, DEMO_ACTIVE)
    assert heading(page.text) == "Bonjour Amélie Dubois"
    assert "éligible" in page.text and "non éligible" not in page.text
    token_request = next(r for r in provider_adapter.sent if r.url.endswith("/token"))
    expected = base64.b64encode(f"customer-space:{CUSTOMER_SPACE_SECRET}".encode()).decode()
    assert token_request.headers["Authorization"] == f"Basic {expected}"  # client_secret_basic
    body = parse_qs(token_request.body)
    assert body["code_verifier"] and "client_secret" not in body  # PKCE, secret not in body


def test_not_eligible_customer_is_shown_why(browser, issuer):
    page = log_in(browser, issuer, DEMO_INACTIVE)
    assert "non éligible" in page.text and "aucun contrat actif" in page.text
    assert "no_active_contract" not in page.text  # words, not the claim's code


@pytest.mark.parametrize(
    ("lang", "welcome", "login"),
    [
        ("fr", "Bienvenue dans votre Espace Client", "Se connecter"),
        ("nl", "Welkom in je Klantenzone", "Aanmelden"),
        ("en", "Welcome to your customer space", "Log in"),
        ("de", "Willkommen in Ihrem Kundenbereich", "Anmelden"),
    ],
)
def test_the_customer_space_speaks_four_languages(browser, lang, welcome, login):
    page = browser.get(f"{CUSTOMER_SPACE_URL}/?lang={lang}")
    assert f'<html lang="{lang}">' in page.text
    assert heading(page.text) == welcome and login in page.text
    # The choice is remembered and handed to the provider as ui_locales.
    started = browser.get(f"{CUSTOMER_SPACE_URL}/login")
    assert query(started.headers["Location"])["ui_locales"] == lang


def test_the_browser_language_is_used_without_a_choice(browser):
    page = browser.get(f"{CUSTOMER_SPACE_URL}/", headers={"Accept-Language": "de-BE,de;q=0.9"})
    assert heading(page.text) == "Willkommen in Ihrem Kundenbereich"


def test_the_language_survives_login(browser, issuer):
    browser.get(f"{CUSTOMER_SPACE_URL}/?lang=nl")
    page = log_in(browser, issuer, DEMO_ACTIVE)
    assert heading(page.text) == "Hallo Amélie Dubois" and "Mijn account beheren" in page.text


def test_home_links_to_the_account_page(browser, issuer):
    page = log_in(browser, issuer, DEMO_ACTIVE)
    assert f'href="{issuer}/account?ui_locales=fr"' in page.text
    assert "Gérer mon compte" in page.text


def test_create_an_account_uses_prompt_create(browser, issuer):
    started = browser.get(f"{CUSTOMER_SPACE_URL}/register")
    assert started.status_code == 302
    params = query(started.headers["Location"])
    assert params["prompt"] == "create"  # advertised by the provider (issue #7 item 1)
    assert params["client_id"] == "customer-space" and params["code_challenge_method"] == "S256"


def test_turning_back_at_the_provider_shows_the_welcome_page(browser, issuer):
    started = browser.get(f"{CUSTOMER_SPACE_URL}/login")
    state = query(started.headers["Location"])["state"]
    back = browser.get(
        f"{CUSTOMER_SPACE_URL}/callback",
        params={"error": "access_denied", "state": state, "iss": issuer},
    )
    page = follow(browser, back, CUSTOMER_SPACE_URL)
    assert heading(page.text) == "Bienvenue dans votre Espace Client"


def test_cookie_holds_only_the_local_session_id(browser, issuer, customer_space_app):
    log_in(browser, issuer, DEMO_ACTIVE)
    cookie = browser.cookies.get("customer_space_session", domain="127.0.0.1")
    payload = cookie.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert list(json.loads(decoded)) == ["local_session"]
    assert len(sessions(customer_space_app)._sessions) == 1


def test_sso_after_the_smart_app_needs_no_password(browser, issuer):
    browser.post(f"{SMART_APP_URL}/terms", data={"version": "2026-01", "accept": "yes"})
    started = browser.get(f"{SMART_APP_URL}/login")
    app_callback = through_provider(browser, started.headers["Location"], issuer, DEMO_ACTIVE)
    home = follow(browser, browser.get(app_callback), SMART_APP_URL)
    assert heading(home.text) == "Bonjour Amélie Dubois !"

    page = log_in(browser, issuer, login=None)  # through_provider fails on a password page
    assert heading(page.text) == "Bonjour Amélie Dubois"


def test_initiate_login_uri_checks_iss_and_passes_login_hint(browser, issuer):
    refused = browser.get(
        f"{CUSTOMER_SPACE_URL}/login",
        params={"iss": "https://evil.example", "login_hint": DEMO_ACTIVE},
    )
    assert refused.status_code == 400 and "Location" not in refused.headers

    started = browser.get(
        f"{CUSTOMER_SPACE_URL}/login", params={"iss": issuer, "login_hint": DEMO_ACTIVE}
    )
    assert started.status_code == 302
    assert query(started.headers["Location"])["login_hint"] == DEMO_ACTIVE


@pytest.mark.parametrize("iss", [None, "https://evil.example"])
def test_callback_without_our_iss_is_refused(browser, issuer, iss):
    """RFC 9207: the provider advertises ``iss`` in responses, so it must be there."""
    started = browser.get(f"{CUSTOMER_SPACE_URL}/login")
    callback = through_provider(browser, started.headers["Location"], issuer, DEMO_ACTIVE)
    params = query(callback)
    if iss is None:
        params.pop("iss")
    else:
        params["iss"] = iss
    response = browser.get(f"{CUSTOMER_SPACE_URL}/callback", params=params)
    assert response.status_code == 400 and "fournisseur" in response.text


def test_callback_with_a_forged_state_is_refused(browser, issuer):
    started = browser.get(f"{CUSTOMER_SPACE_URL}/login")
    callback = through_provider(browser, started.headers["Location"], issuer, DEMO_ACTIVE)
    params = {**query(callback), "state": "forged"}
    response = browser.get(f"{CUSTOMER_SPACE_URL}/callback", params=params)
    assert response.status_code == 400 and "mismatching_state" in response.text


def test_logout_ends_the_local_session_and_goes_to_the_provider(
    browser, issuer, customer_space_app
):
    page = log_in(browser, issuer, DEMO_ACTIVE)
    local = next(iter(sessions(customer_space_app)._sessions.values()))
    assert browser.post(f"{CUSTOMER_SPACE_URL}/logout").status_code == 400  # no CSRF token
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]

    response = browser.post(f"{CUSTOMER_SPACE_URL}/logout", data={"csrf_token": csrf})
    assert response.status_code in (302, 303)
    assert sessions(customer_space_app).get(local.id) is None
    location = response.headers["Location"]
    metadata = browser.get(f"{issuer}/.well-known/openid-configuration").json()
    assert location.split("?")[0] == metadata["end_session_endpoint"]  # RP-Initiated Logout
    params = query(location)
    assert params["id_token_hint"] == local.id_token
    assert params["post_logout_redirect_uri"] == f"{CUSTOMER_SPACE_URL}/"
    assert params["client_id"] == "customer-space" and params["state"]
    back = through_provider(browser, location, issuer)
    assert back.startswith(f"{CUSTOMER_SPACE_URL}/?") and query(back)["state"] == params["state"]
    page = browser.get(back)
    assert "Vous êtes déconnecté." in page.text and "Se connecter" in page.text
    # The provider's session ended too: logging in again asks for the password.
    started = browser.get(f"{CUSTOMER_SPACE_URL}/login")
    with pytest.raises(AssertionError, match="asked for a password"):
        through_provider(browser, started.headers["Location"], issuer, login=None)


# ---- back-channel logout ---------------------------------------------------------------


@pytest.fixture
def op_key() -> RSAKey:
    """A signing key of the test's own, served in a fake JWKS."""
    return RSAKey.generate_key(
        2048, parameters={"kid": "test-op-key", "alg": "RS256"}, private=True
    )


@pytest.fixture
def fake_jwks(customer_space_app: Any, op_key: RSAKey) -> list[bool]:
    """Make the receiver trust ``op_key`` only; record each fetch (``force`` flag)."""
    fetches: list[bool] = []

    def source(force: bool) -> dict[str, Any]:
        fetches.append(force)
        return KeySet([op_key]).as_dict(private=False)

    customer_space_app.config["LOGOUT_JWKS_SOURCE"] = source
    return fetches


def logout_token(
    key: RSAKey, issuer: str, header: dict[str, Any] | None = None, **claims: Any
) -> str:
    """A logout token (Back-Channel Logout 1.0 §2.4); ``claims`` override, None removes."""
    now = int(time.time())
    values = {
        "iss": issuer,
        "aud": "customer-space",
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
        "events": {BACKCHANNEL_EVENT: {}},
        "sub": "some-sub",
        "sid": "some-sid",
        **claims,
    }
    values = {k: v for k, v in values.items() if v is not None}
    head = {"alg": "RS256", "kid": key.kid, "typ": "logout+jwt", **(header or {})}
    # default_type=None: joserfc would otherwise add typ "JWT" when typ is left out.
    return jwt.encode(
        {k: v for k, v in head.items() if v is not None}, values, key, default_type=None
    )


@pytest.fixture
def backchannel(customer_space_app: Any) -> Any:
    """The provider's side of the back channel: no cookies, form POST."""
    transport = httpx.WSGITransport(app=customer_space_app)

    def post(token: str | None) -> httpx.Response:
        data = {} if token is None else {"logout_token": token}
        with httpx.Client(transport=transport, base_url=CUSTOMER_SPACE_URL) as client:
            return client.post("/backchannel-logout", data=data)

    return post


def test_valid_logout_token_ends_the_matching_session(
    browser, issuer, customer_space_app, fake_jwks, op_key, backchannel
):
    log_in(browser, issuer, DEMO_ACTIVE)
    local = next(iter(sessions(customer_space_app)._sessions.values()))
    assert local.sid, "the provider's ID token carries sid (Back-Channel Logout §2.1)"

    other = backchannel(logout_token(op_key, issuer, sid="another-sid", sub=local.sub))
    assert other.status_code == 200
    assert sessions(customer_space_app).get(local.id) is not None  # sid decides, not sub

    response = backchannel(logout_token(op_key, issuer, sid=local.sid, sub=local.sub))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert sessions(customer_space_app).get(local.id) is None
    page = browser.get(f"{CUSTOMER_SPACE_URL}/")
    assert "Se connecter" in page.text and "Bonjour" not in page.text


def test_logout_token_with_sub_only_ends_every_session_of_that_subject(
    browser, issuer, customer_space_app, fake_jwks, op_key, backchannel
):
    log_in(browser, issuer, DEMO_ACTIVE)
    local = next(iter(sessions(customer_space_app)._sessions.values()))
    response = backchannel(logout_token(op_key, issuer, sid=None, sub=local.sub))
    assert response.status_code == 200
    assert sessions(customer_space_app).get(local.id) is None


def test_unknown_kid_refetches_the_jwks_once(customer_space_app, fake_jwks, issuer, backchannel):
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-published"}, private=True)
    response = backchannel(logout_token(stranger, issuer))
    assert response.status_code == 400
    assert fake_jwks == [False, True]  # a rotated key would have been found the second time


def test_token_signed_with_a_key_not_in_the_providers_jwks_is_refused(issuer, backchannel):
    """With the real source: the provider's JWKS, fetched over the client's HTTP stack."""
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-published"}, private=True)
    response = backchannel(logout_token(stranger, issuer))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "signature" in response.json()["error_description"]


def test_token_with_a_published_kid_but_another_key_is_refused(issuer, backchannel, app):
    published = app.extensions["idp_keyring"].jwks["keys"][0]["kid"]
    impostor = RSAKey.generate_key(2048, parameters={"kid": published}, private=True)
    response = backchannel(logout_token(impostor, issuer))
    assert response.status_code == 400 and "signature" in response.json()["error_description"]


INVALID_TOKENS = [
    ("nonce", {"nonce": "n-0S6_WzA2Mj"}, {}, "nonce"),
    ("wrong iss", {"iss": "https://evil.example"}, {}, "iss"),
    ("wrong aud", {"aud": "smart-app"}, {}, "aud"),
    ("no events", {"events": None}, {}, "events"),
    ("other event", {"events": {"http://schemas.openid.net/event/other": {}}}, {}, "events"),
    ("event not an object", {"events": {BACKCHANNEL_EVENT: "yes"}}, {}, "events"),
    ("neither sid nor sub", {"sid": None, "sub": None}, {}, "sid"),
    ("no iat", {"iat": None}, {}, "iat"),
    ("iat in the future", {"iat": int(time.time()) + 3600}, {}, "iat"),
    ("expired", {"exp": int(time.time()) - 3600}, {}, "expired"),
    ("old without exp", {"exp": None, "iat": int(time.time()) - 3600}, {}, "old"),
    ("typ JWT (an ID token?)", {}, {"typ": "JWT"}, "typ"),
]


@pytest.mark.parametrize(
    ("case", "claims", "header", "why"), INVALID_TOKENS, ids=[c[0] for c in INVALID_TOKENS]
)
def test_invalid_logout_tokens_are_refused(
    case, claims, header, why, issuer, fake_jwks, op_key, backchannel
):
    response = backchannel(logout_token(op_key, issuer, header=header, **claims))
    assert response.status_code == 400, case
    body = response.json()
    assert body["error"] == "invalid_request" and why in body["error_description"], body


def test_typ_may_be_absent_or_the_media_type(issuer, fake_jwks, op_key, backchannel):
    assert backchannel(logout_token(op_key, issuer, header={"typ": None})).status_code == 200
    media = {"typ": "application/logout+jwt"}
    assert backchannel(logout_token(op_key, issuer, header=media)).status_code == 200


@pytest.mark.parametrize("token", [None, "", "not.a.jwt", "a.b.c"])
def test_garbage_is_refused(token, fake_jwks, backchannel):
    response = backchannel(token)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_unsigned_and_symmetric_tokens_are_refused(issuer, fake_jwks, backchannel):
    from joserfc.jwk import OctKey

    claims = {
        "iss": issuer,
        "aud": "customer-space",
        "iat": int(time.time()),
        "events": {BACKCHANNEL_EVENT: {}},
        "sid": "s",
    }
    secret = OctKey.import_key("dev-customer-space-secret-0123456789abcdef")
    hs256 = jwt.encode({"alg": "HS256", "typ": "logout+jwt"}, claims, secret)
    assert backchannel(hs256).status_code == 400
    head = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    assert backchannel(f"{head}.{hs256.split('.')[1]}.").status_code == 400


def test_a_replayed_logout_token_is_refused(issuer, fake_jwks, op_key, backchannel):
    token = logout_token(op_key, issuer)
    assert backchannel(token).status_code == 200
    replay = backchannel(token)
    assert replay.status_code == 400 and "replayed" in replay.json()["error_description"]


def test_a_tampered_id_token_is_refused(
    browser, issuer, provider_adapter, monkeypatch, customer_space_app
):
    """Authlib checks the ID token's signature against the provider's JWKS."""
    original = provider_adapter.send

    def tampering(request: Any, **kwargs: Any) -> Any:
        response = original(request, **kwargs)
        if request.url.endswith("/token"):
            body = json.loads(response.content)
            head, payload, signature = body["id_token"].split(".")
            flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
            body["id_token"] = f"{head}.{payload}.{flipped}"
            response._content = json.dumps(body).encode()
        return response

    monkeypatch.setattr(provider_adapter, "send", tampering)
    started = browser.get(f"{CUSTOMER_SPACE_URL}/login")
    callback = through_provider(browser, started.headers["Location"], issuer, DEMO_ACTIVE)
    response = browser.get(callback)
    assert response.status_code == 400 and "refusé" in response.text
    assert not sessions(customer_space_app)._sessions
