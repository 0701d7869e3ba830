"""The Smart App reference client against the provider in-process: terms gating, login →
home or the eligibility error screen, refresh on start, logout, third-party-initiated login,
and the loopback screens' own guards."""

from __future__ import annotations

import html
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from clients.smart_app.app import Refusal
from clients.smart_app.app import SmartApp
from clients.smart_app.oidc import LoginError
from clients.smart_app.screens import create_screens
from clients.smart_app.texts import TERMS_VERSION
from tests.clients.conftest import SMART_APP_URL
from tests.clients.conftest import follow
from tests.clients.conftest import heading
from tests.clients.conftest import through_provider
from tests.clients.steps import accept_terms
from tests.clients.steps import log_in_to_smart_app as log_in
from tests.clients.steps import stored
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_INACTIVE
from tests.oidc import refresh


def query(url: str) -> dict[str, str]:
    """Single-valued query parameters."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def visible_text(page_html: str) -> str:
    """What the screen shows (tags dropped, entities and spaces normalised)."""
    body = page_html.split("<body>", 1)[-1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def chat_href(page_html: str) -> str:
    """Where the chat button goes."""
    match = re.search(r'<a class="button primary" href="([^"]+)">', page_html)
    assert match, page_html
    return html.unescape(match.group(1))


def screen_of(smart_app: SmartApp, chat_url: str | None = None) -> httpx.Response:
    """The screen a (re)started app shows, through its own screens."""
    screens = create_screens(smart_app, SMART_APP_URL, chat_url)
    with httpx.Client(transport=httpx.WSGITransport(app=screens), base_url=SMART_APP_URL) as c:
        return c.get("/")


# ---- terms ------------------------------------------------------------------------------


def test_first_start_shows_the_terms_and_nothing_else(browser, state_path):
    page = browser.get(f"{SMART_APP_URL}/")
    assert page.status_code == 200
    assert heading(page.text) == "Conditions d'utilisation et politique de confidentialité"
    assert 'type="checkbox" name="accept"' in page.text
    # The buttons of the welcome screen lead back to the terms until they are accepted.
    login = browser.get(f"{SMART_APP_URL}/login")
    assert login.status_code == 303 and login.headers["Location"].startswith("/")
    assert not state_path.exists()


def test_terms_need_the_box_ticked(browser, state_path):
    refused = browser.post(f"{SMART_APP_URL}/terms", data={"version": TERMS_VERSION})
    assert refused.status_code == 400
    assert "Cochez la case pour continuer." in refused.text
    assert not state_path.exists()


def test_accepting_the_terms_leads_to_welcome_and_is_remembered(
    browser, state_path, make_smart_app
):
    welcome = accept_terms(browser)
    assert heading(welcome.text) == "Bienvenue"
    assert "Se connecter" in welcome.text and "Créer un compte" in welcome.text
    assert stored(state_path)["terms_version"] == TERMS_VERSION
    assert heading(screen_of(make_smart_app()).text) == "Bienvenue"  # asked once


def test_a_new_terms_version_is_asked_again(browser, make_smart_app):
    accept_terms(browser)
    restarted = make_smart_app(terms_version="2027-01")
    assert heading(screen_of(restarted).text).startswith("Conditions d'utilisation")
    restarted.accept_terms()
    assert heading(screen_of(make_smart_app(terms_version="2027-01")).text) == "Bienvenue"


def test_accepting_a_version_not_shown_accepts_nothing(browser, state_path):
    response = browser.post(f"{SMART_APP_URL}/terms", data={"version": "1999", "accept": "yes"})
    assert response.status_code == 303
    assert not state_path.exists()


# ---- login ----------------------------------------------------------------------------


def test_login_request_is_a_native_app_request(browser, issuer):
    accept_terms(browser)
    started = browser.get(f"{SMART_APP_URL}/login")
    url = started.headers["Location"]
    assert url.startswith(f"{issuer}/authorize?")
    params = query(url)
    assert params["client_id"] == "smart-app"
    assert params["response_type"] == "code"
    assert params["scope"] == "openid profile email offline_access eligibility"
    assert params["redirect_uri"] == f"{SMART_APP_URL}/callback"  # RFC 8252 §7.3
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"] and params["state"] != params["nonce"]
    assert params["ui_locales"] == "fr"
    assert "prompt" not in params and "login_hint" not in params


def test_eligible_customer_gets_home_and_a_kept_session(browser, issuer, state_path):
    accept_terms(browser)
    home = log_in(browser, issuer, DEMO_ACTIVE)
    assert home.status_code == 200
    assert heading(home.text) == "Bonjour Amélie Dubois !"
    assert "Se déconnecter" in home.text
    saved = stored(state_path)
    assert saved["refresh_token"] and saved["issuer"] == issuer and saved["sub"]


def test_not_eligible_customer_gets_the_chat_screen_and_no_session(
    browser, issuer, state_path, app, token_responses
):
    accept_terms(browser)
    page = log_in(browser, issuer, DEMO_INACTIVE)
    assert heading(page.text) == "Vous ne pouvez pas utiliser l'app"
    words = visible_text(page.text)
    assert "Nous ne trouvons aucun contrat d'énergie à votre nom" in words
    assert "Contactez-nous via l'in-app chat" in words
    # Human words, no raw code, no error-red alert: nothing went wrong on the customer's side.
    assert "no_active_contract" not in words and 'role="alert"' not in page.text
    # The chat button opens the app's chat entry point with the reason.
    chat = chat_href(page.text)
    assert query(chat) == {"reason": "no_active_contract", "topic": "eligibility"}
    chat_page = browser.get(f"{SMART_APP_URL}{chat}")
    assert heading(chat_page.text) == "Chat"
    assert "Nous ne trouvons aucun contrat" in visible_text(chat_page.text)
    assert "refresh_token" not in stored(state_path)
    # The refresh token the provider issued was revoked (RFC 7009), not merely forgotten.
    issued = token_responses[-1]["refresh_token"]
    assert refresh(app.test_client(), issued).status_code == 400
    # "Back" returns to the welcome screen.
    back = follow(browser, browser.post(f"{SMART_APP_URL}/dismiss"), SMART_APP_URL)
    assert heading(back.text) == "Bienvenue"


def test_error_screen_speaks_the_app_language(browser, issuer):
    accept_terms(browser)
    browser.post(f"{SMART_APP_URL}/language", data={"language": "en"})
    page = log_in(browser, issuer, DEMO_INACTIVE)
    assert "Contact us through the in-app chat" in page.text
    assert "We found no energy contract of yours that is running today." in page.text


REASON_WORDS = {
    ("no_active_contract", "fr"): "Nous ne trouvons aucun contrat d'énergie",
    ("no_customer_linked", "fr"): "Votre compte n'est encore lié à aucun numéro de client.",
    ("account_disabled", "fr"): "Votre compte a été désactivé.",
    (None, "fr"): "Nous n'avons pas pu vérifier votre contrat",
    ("no_active_contract", "nl"): "We vinden geen energiecontract op jouw naam",
    ("no_customer_linked", "nl"): "Je account is nog niet aan een klantnummer gekoppeld.",
    ("account_disabled", "nl"): "Je account is uitgeschakeld.",
    (None, "nl"): "We konden je contract op dit moment niet controleren.",
    ("no_active_contract", "en"): "We found no energy contract of yours",
    ("no_customer_linked", "en"): "Your account is not linked to a customer number yet.",
    ("account_disabled", "en"): "Your account has been disabled.",
    (None, "en"): "We could not check your contract just now.",
    ("no_active_contract", "de"): "Wir finden keinen Energievertrag auf Ihren Namen",
    ("no_customer_linked", "de"): "Ihr Konto ist noch mit keiner Kundennummer verknüpft.",
    ("account_disabled", "de"): "Ihr Konto wurde deaktiviert.",
    (None, "de"): "Wir konnten Ihren Vertrag gerade nicht prüfen.",
}


@pytest.mark.parametrize(("reason", "lang"), sorted(REASON_WORDS, key=str))
def test_every_reason_has_human_words_in_every_language(make_smart_app, reason, lang):
    smart_app = make_smart_app()
    smart_app.accept_terms()
    smart_app.set_language(lang)
    smart_app.refusal = Refusal(reason)
    page = screen_of(smart_app)
    words = visible_text(page.text)
    assert REASON_WORDS[(reason, lang)] in words
    assert (reason or "unknown") not in words and "_" not in words
    assert query(chat_href(page.text))["reason"] == (reason or "unknown")


def test_chat_url_is_configurable_and_carries_the_reason(make_smart_app):
    smart_app = make_smart_app()
    smart_app.accept_terms()
    smart_app.refusal = Refusal("account_disabled")
    chat = "https://chat.example/open?channel=smart-app"
    page = screen_of(smart_app, chat_url=chat)
    href = chat_href(page.text)
    assert href.startswith("https://chat.example/open?")
    assert query(href) == {
        "channel": "smart-app",
        "reason": "account_disabled",
        "topic": "eligibility",
    }


def test_a_callback_that_does_not_match_is_a_failed_login(browser):
    accept_terms(browser)
    browser.get(f"{SMART_APP_URL}/login")
    page = follow(
        browser, browser.get(f"{SMART_APP_URL}/callback?code=x&state=forged"), SMART_APP_URL
    )
    assert heading(page.text) == "Bienvenue"
    assert "La connexion n'a pas abouti" in visible_text(page.text)


def test_create_account_sends_prompt_create(browser, issuer):
    """Issue #7 item 1: the provider advertises Initiating User Registration via OpenID
    Connect 1.0, so "Create an account" opens its registration pages directly."""
    accept_terms(browser)
    login = query(browser.get(f"{SMART_APP_URL}/login").headers["Location"])
    create = query(browser.get(f"{SMART_APP_URL}/register").headers["Location"])
    assert create["prompt"] == "create" and "prompt" not in login
    assert {k for k in login} | {"prompt"} == {k for k in create}
    first = browser.get(f"{issuer}/authorize", params=create)
    registration = browser.get(str(httpx.URL(f"{issuer}/").join(first.headers["Location"])))
    assert registration.status_code == 303 and "/register?uid=" in registration.headers["Location"]


def test_create_account_without_prompt_create_uses_the_login_page(browser, smart_app_instance):
    accept_terms(browser)
    metadata = smart_app_instance.provider.metadata
    metadata["prompt_values_supported"] = ["none", "login"]  # an older provider
    assert "prompt" not in query(browser.get(f"{SMART_APP_URL}/register").headers["Location"])


def test_language_choice_is_remembered_and_sent_as_ui_locales(browser, state_path):
    accept_terms(browser)
    page = follow(
        browser, browser.post(f"{SMART_APP_URL}/language", data={"language": "nl"}), SMART_APP_URL
    )
    assert heading(page.text) == "Welkom" and '<html lang="nl">' in page.text
    assert query(browser.get(f"{SMART_APP_URL}/login").headers["Location"])["ui_locales"] == "nl"
    assert stored(state_path)["language"] == "nl"


# ---- refresh on start -----------------------------------------------------------------


def test_refresh_on_start_rotates_and_persists(browser, issuer, state_path, make_smart_app):
    accept_terms(browser)
    log_in(browser, issuer, DEMO_ACTIVE)
    first = stored(state_path)["refresh_token"]

    restarted = make_smart_app()
    restarted.start()
    second = stored(state_path)
    assert second["refresh_token"] != first  # rotated, and the new one is on disk (0600)
    assert restarted.screen() == "home"
    assert heading(screen_of(restarted).text) == "Bonjour Amélie Dubois !"
    assert not list(state_path.parent.glob(".state-*"))  # no temporary file left over

    again = make_smart_app()
    again.start()
    assert again.screen() == "home"
    assert stored(state_path)["refresh_token"] != second["refresh_token"]


def test_refused_refresh_goes_back_to_welcome(browser, issuer, state_path, make_smart_app):
    accept_terms(browser)
    log_in(browser, issuer, DEMO_ACTIVE)
    saved = stored(state_path)
    state_path.write_text(json.dumps({**saved, "refresh_token": "not-a-live-token"}))

    restarted = make_smart_app()
    restarted.start()
    assert restarted.screen() == "welcome"
    page = screen_of(restarted)
    assert heading(page.text) == "Bienvenue" and "Votre session a pris fin" in page.text
    assert "refresh_token" not in stored(state_path)


def test_unreachable_provider_keeps_the_token(browser, issuer, state_path, make_smart_app):
    accept_terms(browser)
    log_in(browser, issuer, DEMO_ACTIVE)
    token = stored(state_path)["refresh_token"]

    class Offline(requests.adapters.BaseAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            raise requests.ConnectionError("offline", request=request)

        def close(self) -> None:
            pass

    restarted = make_smart_app(adapter=Offline())
    restarted.start()
    assert restarted.screen() == "welcome" and restarted.notice == "offline"
    assert stored(state_path)["refresh_token"] == token


def test_an_account_no_longer_eligible_loses_its_session_at_refresh(
    browser, issuer, state_path, make_smart_app, app
):
    from tests.oidc import set_account_status

    accept_terms(browser)
    log_in(browser, issuer, DEMO_ACTIVE)
    set_account_status(app, DEMO_ACTIVE, "disabled")
    restarted = make_smart_app()
    restarted.start()
    assert restarted.screen() in ("welcome", "ineligible")
    assert "refresh_token" not in stored(state_path)


# ---- logout ---------------------------------------------------------------------------


def test_logout_revokes_the_refresh_token(browser, issuer, state_path, app, smart_app_instance):
    accept_terms(browser)
    log_in(browser, issuer, DEMO_ACTIVE)
    token = stored(state_path)["refresh_token"]
    id_token = smart_app_instance.id_token

    response = browser.post(f"{SMART_APP_URL}/logout")
    assert response.status_code == 303
    assert "refresh_token" not in stored(state_path)
    refused = refresh(app.test_client(), token)
    assert refused.status_code == 400 and refused.json["error"] == "invalid_grant"

    # OIDC RP-Initiated Logout 1.0 §2: the browser goes to the provider's end_session_endpoint
    location = response.headers["Location"]
    assert location.split("?")[0] == smart_app_instance.provider.metadata["end_session_endpoint"]
    params = query(location)
    assert params["id_token_hint"] == id_token
    assert params["client_id"] == "smart-app"
    assert params["post_logout_redirect_uri"] == f"{SMART_APP_URL}/logged-out"
    assert params["state"] and params["ui_locales"] == "fr"
    # ... which ends its session and sends the browser back to the app's loopback port.
    back = through_provider(browser, location, issuer)
    assert back == f"{SMART_APP_URL}/logged-out?state={params['state']}"
    page = follow(browser, browser.get(back), SMART_APP_URL)
    assert heading(page.text) == "Bienvenue" and "Vous êtes déconnecté." in page.text
    # The provider's session is over: the next login asks for the password again.
    started = browser.get(f"{SMART_APP_URL}/login")
    with pytest.raises(AssertionError, match="asked for a password"):
        through_provider(browser, started.headers["Location"], issuer, login=None)


def test_a_forged_logout_return_says_nothing(browser, issuer):
    accept_terms(browser)
    log_in(browser, issuer, DEMO_ACTIVE)
    browser.post(f"{SMART_APP_URL}/logout")
    page = follow(browser, browser.get(f"{SMART_APP_URL}/logged-out?state=forged"), SMART_APP_URL)
    assert heading(page.text) == "Bienvenue" and "déconnecté" not in page.text


def test_logout_is_refused_from_another_origin(browser, issuer, state_path):
    accept_terms(browser)
    log_in(browser, issuer, DEMO_ACTIVE)
    response = browser.post(f"{SMART_APP_URL}/logout", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert stored(state_path)["refresh_token"]


# ---- third-party-initiated login (OIDC Core §4) ----------------------------------------


@pytest.mark.parametrize("iss", ["https://evil.example", "http://localhost/", ""])
def test_initiate_login_from_a_foreign_issuer_is_refused(browser, iss):
    accept_terms(browser)
    response = browser.get(
        f"{SMART_APP_URL}/initiate-login", params={"iss": iss, "login_hint": DEMO_ACTIVE}
    )
    assert response.status_code == 400 and "Location" not in response.headers
    assert heading(response.text) == "Demande refusée"


def test_initiate_login_without_iss_is_refused(browser):
    accept_terms(browser)
    response = browser.get(f"{SMART_APP_URL}/initiate-login", params={"login_hint": DEMO_ACTIVE})
    assert response.status_code == 400


def test_initiate_login_starts_a_login_with_the_hint(browser, issuer):
    accept_terms(browser)
    started = browser.get(
        f"{SMART_APP_URL}/initiate-login", params={"iss": issuer, "login_hint": DEMO_ACTIVE}
    )
    assert started.status_code == 303
    url = started.headers["Location"]
    assert url.startswith(f"{issuer}/authorize?") and query(url)["login_hint"] == DEMO_ACTIVE
    # The provider's login page is pre-filled with it.
    login_page = browser.get(url)
    page = browser.get(str(httpx.URL(url).join(login_page.headers["Location"])))
    assert f'value="{DEMO_ACTIVE}"' in page.text


def test_initiate_login_on_a_fresh_install_asks_the_terms_first(browser, issuer):
    started = browser.get(
        f"{SMART_APP_URL}/initiate-login", params={"iss": issuer, "login_hint": DEMO_ACTIVE}
    )
    terms = follow(browser, started, SMART_APP_URL)
    assert heading(terms.text).startswith("Conditions d'utilisation")
    assert f'name="login_hint" value="{DEMO_ACTIVE}"' in terms.text
    accepted = browser.post(
        f"{SMART_APP_URL}/terms",
        data={"version": TERMS_VERSION, "accept": "yes", "login_hint": DEMO_ACTIVE},
    )
    to_provider = follow(browser, accepted, SMART_APP_URL)
    assert to_provider.status_code == 303
    assert query(to_provider.headers["Location"])["login_hint"] == DEMO_ACTIVE


# ---- the loopback server's guards ------------------------------------------------------


def test_screens_answer_only_their_own_host(smart_app_instance):
    screens = create_screens(smart_app_instance, SMART_APP_URL)
    with httpx.Client(transport=httpx.WSGITransport(app=screens)) as client:
        assert client.get("http://attacker.example:5002/").status_code == 400
        assert client.get(f"{SMART_APP_URL}/").status_code == 200


def test_screens_are_private_and_self_contained(browser):
    page = browser.get(f"{SMART_APP_URL}/")
    assert page.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "<script" not in page.text and "http" not in page.text.split("<body>")[1]
    css = browser.get(f"{SMART_APP_URL}/static/app.css")
    assert css.status_code == 200 and "max-width" in css.text


def test_a_damaged_state_file_starts_over(state_path, make_smart_app):
    state_path.parent.mkdir(parents=True)
    state_path.write_text("{not json")
    smart_app = make_smart_app()
    assert smart_app.screen() == "terms"
    smart_app.accept_terms()
    assert stored(state_path)["terms_version"] == TERMS_VERSION


# ---- ID token checks (Authlib's parse_id_token + explicit iss and aud) -------------------


def id_token(key: Any, issuer: str, **claims: Any) -> str:
    """An ID token for the Smart App; ``claims`` override, None removes."""
    now = int(time.time())
    values = {
        "iss": issuer,
        "sub": "some-sub",
        "aud": "smart-app",
        "iat": now,
        "exp": now + 300,
        "nonce": "the-nonce",
        **claims,
    }
    header = {"alg": "RS256", "kid": key.kid}
    return jwt.encode(header, {k: v for k, v in values.items() if v is not None}, key)


def provider_key(app: Any) -> Any:
    return app.extensions["idp_keyring"].signing_key("RS256")


def test_a_good_id_token_is_accepted(smart_app_instance, app, issuer):
    token = id_token(provider_key(app), issuer)
    claims = smart_app_instance.provider.validate_id_token({"id_token": token}, "the-nonce")
    assert claims["sub"] == "some-sub"


BAD_ID_TOKENS = [
    ("wrong aud", {"aud": "customer-space"}),
    # Authlib alone checks aud only through azp: this one passes without the aud option.
    ("other aud, our azp", {"aud": "customer-space", "azp": "smart-app"}),
    ("wrong iss", {"iss": "https://evil.example"}),
    ("expired", {"exp": int(time.time()) - 3600}),
    ("other nonce", {"nonce": "replayed"}),
    ("no nonce", {"nonce": None}),
    ("no sub", {"sub": None}),
    ("no iat", {"iat": None}),
]


@pytest.mark.parametrize(("case", "claims"), BAD_ID_TOKENS, ids=[c[0] for c in BAD_ID_TOKENS])
def test_bad_id_tokens_are_refused(smart_app_instance, app, issuer, case, claims):
    token = id_token(provider_key(app), issuer, **claims)
    with pytest.raises(LoginError):
        smart_app_instance.provider.validate_id_token({"id_token": token}, "the-nonce")


def test_an_id_token_signed_by_another_key_is_refused(smart_app_instance, issuer):
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-published"}, private=True)
    with pytest.raises(LoginError):
        smart_app_instance.provider.validate_id_token(
            {"id_token": id_token(stranger, issuer)}, "the-nonce"
        )


def test_turning_back_at_the_provider_shows_welcome_without_an_error(browser, issuer):
    """RFC 6749 §4.1.2.1: access_denied with our state and the provider's iss."""
    accept_terms(browser)
    state = query(browser.get(f"{SMART_APP_URL}/login").headers["Location"])["state"]
    back = browser.get(
        f"{SMART_APP_URL}/callback",
        params={"error": "access_denied", "state": state, "iss": issuer},
    )
    page = follow(browser, back, SMART_APP_URL)
    assert heading(page.text) == "Bienvenue" and 'class="notice"' not in page.text


# ---- DPoP (RFC 9449) ------------------------------------------------------------------


def test_tokens_are_bound_to_the_apps_dpop_key(browser, issuer, state_path, app, app_adapter):
    """The app sends a proof with its code exchange; the provider binds the tokens to the
    key the app keeps beside its refresh token."""
    from joserfc.jwk import ECKey
    from sqlalchemy import select

    from idp.extensions import db
    from idp.models.oauth import Token

    accept_terms(browser)
    log_in(browser, issuer, DEMO_ACTIVE)
    saved = stored(state_path)
    key = ECKey.import_key(saved["dpop_key"])
    token_requests = [r for r in app_adapter.sent if urlsplit(r.url or "").path == "/token"]
    assert token_requests and all("DPoP" in r.headers for r in token_requests)
    assert app_adapter.token_responses[-1]["token_type"] == "DPoP"
    with app.app_context():
        bindings = set(
            db.session.scalars(select(Token.dpop_jkt).where(Token.client_id == "smart-app"))
        )
    assert bindings == {key.thumbprint()}


def test_restarted_app_refreshes_with_its_key(browser, issuer, state_path, make_smart_app):
    accept_terms(browser)
    log_in(browser, issuer, DEMO_ACTIVE)
    first = stored(state_path)
    restarted = make_smart_app()
    restarted.start()
    assert restarted.screen() == "home"
    after = stored(state_path)
    assert after["refresh_token"] != first["refresh_token"]
    assert after["dpop_key"] == first["dpop_key"]


def test_a_stolen_refresh_token_is_useless_without_the_key(
    browser, issuer, state_path, make_smart_app, app
):
    """RFC 9449 §5: the public client's refresh token needs a proof of its key."""
    accept_terms(browser)
    log_in(browser, issuer, DEMO_ACTIVE)
    saved = stored(state_path)
    stolen = refresh(app.test_client(), saved["refresh_token"])
    assert stolen.status_code == 400 and stolen.json["error"] == "invalid_dpop_proof"
    from clients.smart_app.oidc import new_dpop_key

    state_path.write_text(json.dumps({**saved, "dpop_key": new_dpop_key()}))
    restarted = make_smart_app()
    restarted.start()
    assert restarted.screen() == "welcome" and restarted.notice == "session_ended"
