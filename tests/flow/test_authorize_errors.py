"""Authorization endpoint errors: shown as a page while the redirect URI is not trusted, sent back
to the client (with ``state`` and ``iss``) once it is; exact redirect URI matching, loopback ports
of the native app (RFC 8252 §7.3)."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import pytest

from tests.oidc import DEMO_PASSWORD
from tests.oidc import AuthorizationRequest
from tests.oidc import assert_error_page
from tests.oidc import assert_error_redirect
from tests.oidc import query_lists
from tests.oidc import query_of
from tests.oidc import redeem
from tests.oidc import start_login
from tests.oidc import submit_login

EVIL = "https://evil.example/callback"


def assert_no_link_to(page: str, uri: str) -> None:
    """No link, form, refresh or script source of the page leads to ``uri`` (RFC 9700 §4.11)."""
    for value in re.findall(r'(?:href|action|src|content|formaction)="([^"]*)"', page):
        target = html.unescape(value).strip()
        target = re.sub(r"^\d*\s*;?\s*url=", "", target, flags=re.IGNORECASE)
        assert not target.startswith(uri), value
    assert 'http-equiv="refresh"' not in page.lower()


def html_lang(page: str) -> str:
    match = re.search(r'<html lang="([a-z]{2})"', page)
    assert match, page[:200]
    return match.group(1)


# ---- errors that must not be redirected ----------------------------------------------------------


UNTRUSTED = [
    ("unknown client_id", {"client_id": "no-such-client"}),
    ("missing client_id", {"client_id": None}),
    ("unregistered redirect_uri", {"redirect_uri": EVIL}),
    ("missing redirect_uri", {"redirect_uri": None}),
    (
        "smart-app redirect for customer-space",
        {
            "client_id": "customer-space",
            "redirect_uri": "be.customerspace.smartapp:/oauth2redirect",
        },
    ),
]


@pytest.mark.parametrize("change", [c for _, c in UNTRUSTED], ids=[n for n, _ in UNTRUSTED])
def test_untrusted_client_or_redirect_gets_a_page_not_a_redirect(test_client, change):
    """RFC 6749 §4.1.2.1 / §3.1.2.4, OIDC Core §3.1.2.1 (redirect_uri REQUIRED), product §5:
    when the client or its redirect URI cannot be validated the OP must not redirect (open
    redirector, RFC 9700 §4.11) and shows an error page that links nowhere near the redirect
    URI."""
    request = AuthorizationRequest()
    params = {k: v for k, v in {**request.params(), **change}.items() if v is not None}
    page = assert_error_page(test_client.get("/authorize?" + urlencode(params)))
    if params.get("redirect_uri"):
        assert_no_link_to(page, params["redirect_uri"])
    assert 'name="login"' not in page  # no login form for a request that cannot be answered


def test_untrusted_redirect_error_page_is_localised(test_client):
    """product §3 (every screen in fr/nl/en/de: ui_locales, then Accept-Language) on the error page
    of RFC 6749 §4.1.2.1."""
    request = AuthorizationRequest(client_id="no-such-client")
    page = assert_error_page(test_client.get(request.url(), headers={"Accept-Language": "nl"}))
    assert html_lang(page) == "nl"
    page = assert_error_page(test_client.get(request.url(), headers={"Accept-Language": "en"}))
    assert html_lang(page) == "en"
    request = AuthorizationRequest(redirect_uri=EVIL, extra={"ui_locales": "de-BE en"})
    page = assert_error_page(test_client.get(request.url(), headers={"Accept-Language": "nl"}))
    assert html_lang(page) == "de"


def test_repeated_client_id_or_redirect_uri_is_a_page(test_client):
    """RFC 6749 §3.1 (no repeated parameters) with §4.1.2.1: a repeated redirect_uri or client_id
    leaves the redirect target unknown, so the error is not redirected."""
    request = AuthorizationRequest()
    assert_error_page(test_client.get(request.url() + "&redirect_uri=" + EVIL))
    assert_error_page(test_client.get(request.url() + "&client_id=customer-space"))


# ---- errors after the redirect URI is validated --------------------------------------------------


REDIRECTED = [
    (
        "response_type token (implicit)",
        {"extra": {"response_type": "token"}},
        "unsupported_response_type",
    ),
    (
        "response_type id_token",
        {"extra": {"response_type": "id_token"}},
        "unsupported_response_type",
    ),
    (
        "response_type code id_token (hybrid)",
        {"extra": {"response_type": "code id_token"}},
        "unsupported_response_type",
    ),
    ("scope without openid", {"scope": "profile email"}, "invalid_scope"),
    ("missing scope", {"scope": None}, "invalid_scope"),
    # RFC 6749 §3.3: tokens are separated by the space alone.
    ("scope separated by a tab", {"scope": "openid\tprofile"}, "invalid_scope"),
    ("scope separated by a no-break space", {"scope": "openid\u00a0profile"}, "invalid_scope"),
    ("PKCE missing for the public client", {"code_verifier": None}, "invalid_request"),
    (
        "code_challenge_method plain",
        {"extra": {"code_challenge_method": "plain"}},
        "invalid_request",
    ),
    (
        "code_challenge without method",
        {"extra": {"code_challenge_method": None}},
        "invalid_request",
    ),
    (
        "code_challenge_method without challenge",
        {"code_verifier": None, "extra": {"code_challenge_method": "S256"}},
        "invalid_request",
    ),
    ("malformed code_challenge", {"extra": {"code_challenge": "short"}}, "invalid_request"),
    ("request object", {"extra": {"request": "eyJhbGciOiJub25lIn0.e30."}}, "request_not_supported"),
    (
        "request_uri",
        {"extra": {"request_uri": "https://evil.example/req.jwt"}},
        "request_uri_not_supported",
    ),
    ("prompt=none without a session", {"extra": {"prompt": "none"}}, "login_required"),
    ("prompt=none with another prompt", {"extra": {"prompt": "none login"}}, "invalid_request"),
    ("unknown prompt", {"extra": {"prompt": "bogus"}}, "invalid_request"),
    ("negative max_age", {"extra": {"max_age": "-1"}}, "invalid_request"),
    ("non-numeric max_age", {"extra": {"max_age": "soon"}}, "invalid_request"),
    ("response_mode fragment", {"extra": {"response_mode": "fragment"}}, "invalid_request"),
    ("response_mode form_post", {"extra": {"response_mode": "form_post"}}, "invalid_request"),
]


@pytest.mark.parametrize(
    ("request_kwargs", "error"), [c[1:] for c in REDIRECTED], ids=[c[0] for c in REDIRECTED]
)
def test_errors_after_redirect_validation_go_back_to_the_client(test_client, request_kwargs, error):
    """RFC 6749 §4.1.2.1 (errors redirected once client and redirect URI are valid, with the exact
    ``state``), RFC 9207 §2 (``iss`` in every authorization response), RFC 9700 §2.1.1 and
    RFC 7636 §4.2 (PKCE S256 required for the public client, ``plain`` refused), OIDC Core
    §3.1.2.1 (openid scope, prompt, max_age), §6.1/§6.2 (request objects not supported),
    §3.1.2.6 (login_required), product §5 (response_mode query only)."""
    request = AuthorizationRequest(**request_kwargs)
    request.state = "st&te = /é?" + request.state  # echoed exactly, not re-encoded or trimmed
    assert_error_redirect(test_client.get(request.url()), request, error)


def test_errors_are_redirected_for_customer_space_too(test_client):
    """RFC 6749 §4.1.2.1, RFC 9207 §2: the same for the confidential client."""
    request = AuthorizationRequest.customer_space(scope="email")
    assert_error_redirect(test_client.get(request.url()), request, "invalid_scope")
    request = AuthorizationRequest.customer_space(extra={"code_challenge_method": "plain"})
    assert_error_redirect(test_client.get(request.url()), request, "invalid_request")


def test_error_redirect_without_state_has_no_state(test_client):
    """RFC 6749 §4.1.2.1: ``state`` is returned only if the client sent one; ``iss`` always."""
    request = AuthorizationRequest(extra={"response_type": "token", "state": None})
    response = test_client.get(request.url())
    assert response.status_code == 302
    params = query_lists(response.headers["Location"])
    assert params["error"] == ["unsupported_response_type"]
    assert "state" not in params
    assert params["iss"] == ["http://localhost"]


REPEATABLE = [
    "state",
    "scope",
    "nonce",
    "response_type",
    "prompt",
    "max_age",
    "login_hint",
    "code_challenge",
    "code_challenge_method",
    "ui_locales",
    "id_token_hint",
]


@pytest.mark.parametrize("name", REPEATABLE)
def test_repeated_parameter_is_redirected_as_invalid_request(test_client, name):
    """RFC 6749 §3.1: request parameters MUST NOT be included more than once; once the redirect
    URI is validated the error goes back to the client (§4.1.2.1) with ``iss`` (RFC 9207 §2)."""
    request = AuthorizationRequest()
    values = {
        "state": request.state,
        "scope": request.scope,
        "nonce": request.nonce,
        "response_type": "code",
        "prompt": "login",
        "max_age": "60",
        "login_hint": "a@example.be",
        "code_challenge": request.params()["code_challenge"],
        "code_challenge_method": "S256",
        "ui_locales": "fr",
        "id_token_hint": "x.y.z",
    }
    params = [(k, v) for k, v in request.params().items() if k != name]
    query = urlencode(params + [(name, values[name])] * 2)
    response = test_client.get("/authorize?" + query)
    assert response.status_code == 302, response.text[:300]
    assert response.headers["Location"].startswith(request.redirect_uri + "?")
    params_back = query_lists(response.headers["Location"])
    assert params_back["error"] == ["invalid_request"]
    assert params_back["state"] == [request.state if name != "state" else values["state"]]
    assert params_back["iss"] == ["http://localhost"]
    assert "code" not in params_back


def test_two_different_states_are_refused_with_one_state_back(test_client):
    """RFC 6749 §3.1 and §4.1.2.1 (two ``state`` values: invalid_request, redirected with one
    state and ``iss``, RFC 9207 §2)."""
    request = AuthorizationRequest()
    response = test_client.get(request.url() + "&state=second-state")
    assert response.status_code == 302, response.text[:300]
    params = query_lists(response.headers["Location"])
    assert response.headers["Location"].startswith(request.redirect_uri + "?")
    assert params["error"] == ["invalid_request"]
    assert len(params["state"]) == 1 and params["state"][0] in (request.state, "second-state")
    assert params["iss"] == ["http://localhost"]
    assert "code" not in params


def test_authorization_request_by_post(test_client):
    """OIDC Core §3.1.2.1 (the authorization endpoint supports GET and POST form
    serialization): the same validation and the same redirected errors."""
    request = AuthorizationRequest()
    response = test_client.post("/authorize", data=request.params())
    assert response.status_code == 302 and "/interaction/" in response.headers["Location"]
    request = AuthorizationRequest(scope="profile")
    assert_error_redirect(
        test_client.post("/authorize", data=request.params()), request, "invalid_scope"
    )
    page = test_client.post("/authorize", data={**request.params(), "redirect_uri": EVIL})
    assert_error_page(page)


def test_pkce_is_optional_but_honoured_for_the_confidential_client(test_client):
    """product §1/§5: PKCE is required for public clients; customer-space may log in without it."""
    request = AuthorizationRequest.customer_space(code_verifier=None)
    start_login(test_client, request)


# ---- redirect URI matching -----------------------------------------------------------------------


LOOPBACK_ACCEPTED = [
    "http://127.0.0.1/callback",
    "http://127.0.0.1:1024/callback",
    "http://127.0.0.1:49152/callback",
    "http://127.0.0.1:65535/callback",
    "be.customerspace.smartapp:/oauth2redirect",
]


@pytest.mark.parametrize("uri", LOOPBACK_ACCEPTED)
def test_smart_app_loopback_any_port_and_private_scheme_accepted(test_client, uri):
    """RFC 8252 §7.3 (any port on the loopback IP literal) and §7.1 (private-use scheme)."""
    start_login(test_client, AuthorizationRequest(redirect_uri=uri))


def test_smart_app_loopback_with_a_random_port_completes_the_flow(test_client):
    """RFC 8252 §7.3: the port chosen at request time is where the code goes, and the token
    request repeats that exact redirect URI (RFC 6749 §4.1.3)."""
    request = AuthorizationRequest(redirect_uri="http://127.0.0.1:61234/callback")
    login_page = start_login(test_client, request)
    posted = submit_login(test_client, login_page, "demo.actif@example.be", DEMO_PASSWORD)
    final = test_client.get(posted.headers["Location"])
    assert final.headers["Location"].startswith("http://127.0.0.1:61234/callback?")
    redeem(test_client, request, query_of(final.headers["Location"]))


SMART_APP_REFUSED = [
    "http://127.0.0.1:49152/callback2",
    "http://127.0.0.1:49152/callback/",
    "http://127.0.0.1:49152/Callback",
    "http://127.0.0.1:49152/callback?x=1",
    "http://127.0.0.1:49152/callback#frag",
    "http://127.0.0.1:49152/",
    "http://localhost:49152/callback",
    "http://localhost/callback",
    "https://127.0.0.1:49152/callback",
    "https://127.0.0.1/callback",
    "http://127.0.0.2:49152/callback",
    "http://[::1]:49152/callback",
    "http://127.0.0.1.evil.example:49152/callback",
    "http://127.0.0.1:49152@evil.example/callback",
    "http://evil@127.0.0.1:49152/callback",
    "http://user:pw@127.0.0.1/callback",
    "http://127.0.0.1:99999/callback",
    "be.customerspace.smartapp:/other",
    "be.customerspace.smartapp://oauth2redirect",
    "http://127.0.0.1:5001/callback/../callback2",
]


@pytest.mark.parametrize("redirect_uri", SMART_APP_REFUSED)
def test_smart_app_refuses_anything_but_the_port_changing(test_client, redirect_uri):
    """RFC 8252 §7.3 (only the port may vary; loopback IP literal, not ``localhost``; http),
    RFC 9700 §4.1.3 (exact matching otherwise), RFC 6749 §4.1.2.1 (page, no redirect)."""
    request = AuthorizationRequest(redirect_uri=redirect_uri)
    page = assert_error_page(test_client.get(request.url()))
    assert_no_link_to(page, redirect_uri)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "HTTP://127.0.0.1:5111/callback",
        "hTTp://127.0.0.1:5111/callback",
        "Http://127.0.0.1/callback",
        "http://127.0.0.1:05111/callback",
        "http://127.0.0.1:0/callback",
        "http://127.0.0.1:/callback",
        "http://127.0.0.1:65536/callback",
    ],
)
def test_smart_app_loopback_port_is_plain_decimal_and_scheme_exact(test_client, redirect_uri):
    """Issue #8 finding 1, RFC 9700 §4.1.3 and RFC 8252 §7.3: the scheme is compared exactly
    (no case folding) and the free port is a plain decimal number; anything else is an
    unregistered redirect URI: an error page, never a redirect (RFC 6749 §4.1.2.1)."""
    request = AuthorizationRequest(redirect_uri=redirect_uri)
    page = assert_error_page(test_client.get(request.url()))
    assert_no_link_to(page, redirect_uri)


CUSTOMER_SPACE_REFUSED = [
    "http://127.0.0.1:5002/callback",
    "http://127.0.0.1/callback",
    "http://127.0.0.1:49152/callback",
    "http://localhost:5001/callback",
    "https://127.0.0.1:5001/callback",
    "http://127.0.0.1:5001/callback/",
    "http://127.0.0.1:5001/callback?next=/",
]


@pytest.mark.parametrize("uri", CUSTOMER_SPACE_REFUSED)
def test_customer_space_redirect_must_match_exactly(test_client, uri):
    """RFC 9700 §4.1.3 / RFC 6749 §3.1.2.3: a web client's redirect URI is compared as a string;
    the loopback port exception of RFC 8252 §7.3 is for native apps only."""
    assert_error_page(test_client.get(AuthorizationRequest.customer_space(redirect_uri=uri).url()))


def test_customer_space_exact_redirect_uri_works(test_client):
    start_login(test_client, AuthorizationRequest.customer_space())


# ---- the interaction belongs to the browser that started it --------------------------------------


def test_login_resume_only_in_the_browser_that_started_it(app, test_client):
    """RFC 9700 §4.7 / RFC 6749 §10.12 (CSRF): a resume URL replayed in another browser, or a
    second time, yields an error page and no code."""
    request = AuthorizationRequest()
    login_page = start_login(test_client, request)
    posted = submit_login(test_client, login_page, "demo.actif@example.be", DEMO_PASSWORD)
    resume = posted.headers["Location"]
    other = app.test_client()
    assert_error_page(other.get(resume))
    final = test_client.get(resume)
    assert final.status_code == 302 and "code=" in final.headers["Location"]
    assert_error_page(test_client.get(resume))  # used once
