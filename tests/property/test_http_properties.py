"""Properties of the forms and language choice as a browser meets them (hypothesis, through
the WSGI app): any ``ui_locales`` or ``Accept-Language`` gives a page in one of the four
languages, the first supported ``ui_locales`` tag winning (OIDC Core §3.1.2.1); any login
and password in any Unicode gets the one generic answer; any customer-data input gets a
field error or the generic mismatch; any scope gets a code or the OAuth error, never a 500.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from markupsafe import escape

from tests.conftest import csrf_token
from tests.flow.registration_steps import GENEROUS
from tests.flow.registration_steps import accept_cookies
from tests.flow.registration_steps import new_link
from tests.oidc import SMART_APP_REDIRECT
from tests.oidc import AuthorizationRequest
from tests.oidc import query_of
from tests.property.conftest import budget
from tests.property.conftest import count
from tests.property.hostile import MARKUP
from tests.property.hostile import reflected_raw

LANGUAGES = ("fr", "nl", "en", "de")
HTTP_SETTINGS = settings(
    max_examples=budget(0.5), suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# What a header can carry once a server decoded it (latin-1, no line breaks).
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80
)
FORM_TEXT = st.one_of(
    MARKUP, st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
)
TAGS = st.one_of(
    st.sampled_from(["fr", "nl", "en", "de", "fr-BE", "nl-be", "EN", "de-AT", "es", "x-klingon"]),
    st.from_regex(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8}){0,2}", fullmatch=True),
    HEADER_TEXT,
)


def page_language(page: str) -> str:
    """The ``lang`` of the page's ``<html>`` element."""
    match = re.search(r'<html lang="([^"]*)"', page)
    assert match, page[:200]
    return match.group(1)


def first_supported(tags: list[str]) -> str | None:
    """OIDC Core §3.1.2.1: ui_locales in order of preference; the first we speak wins."""
    for tag in tags:
        base = tag.split("-", 1)[0].lower()
        if base in LANGUAGES:
            return base
    return None


@HTTP_SETTINGS
@given(ui_locales=st.lists(TAGS, max_size=4).map(" ".join), accept=HEADER_TEXT)
def test_the_login_page_speaks_the_first_supported_ui_locale(app, ui_locales, accept):
    count("locale")
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    request = AuthorizationRequest(extra={"ui_locales": ui_locales})
    response = browser.get(request.url())
    assert response.status_code == 302, response.text
    page = browser.get(response.headers["Location"])
    assert page.status_code == 200
    language = page_language(page.text)
    assert language in LANGUAGES
    wanted = first_supported(ui_locales.split())
    if wanted:
        assert language == wanted


@HTTP_SETTINGS
@given(accept=HEADER_TEXT, switch=st.one_of(st.none(), TAGS))
def test_any_accept_language_or_switch_gives_a_page_in_one_of_four_languages(app, accept, switch):
    count("locale")
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    response = browser.get("/forgot", query_string={"lang": switch} if switch else None)
    assert response.status_code == 200
    language = page_language(response.text)
    assert language in LANGUAGES
    if switch in LANGUAGES:
        assert language == switch
    elif accept.strip().lower() in LANGUAGES and switch is None:
        assert language == accept.strip().lower()


@HTTP_SETTINGS
@given(login=FORM_TEXT, password=FORM_TEXT, address=st.integers(1, 250))
def test_any_login_and_password_get_the_one_generic_answer(app, login, password, address):
    """Whatever is typed: 400 (a field empty), 401 (the generic message) or 429 (a wait),
    and the login shown back is escaped."""
    count("login form")
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = f"192.0.2.{address}"
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login_page = browser.get(AuthorizationRequest().url()).headers["Location"]
    page = browser.get(login_page)
    answer = browser.post(
        login_page,
        data={"csrf_token": csrf_token(page.text), "login": login, "password": password},
    )
    assert answer.status_code in (400, 401, 429), (answer.status_code, answer.text[:300])
    if answer.status_code == 401:
        assert "This login or password is not correct." in answer.text
    assert not reflected_raw(answer.text, login)
    if answer.status_code == 401 and login.strip():
        assert str(escape(login[:1024])) in answer.text  # shown back, escaped


@pytest.fixture
def activation_page(app) -> tuple[Any, str]:
    """A browser with the cookie notice accepted and a fresh activation link."""
    browser = app.test_client()
    accept_cookies(browser)
    return browser, new_link(app, browser, "fuzz@example.be")


@pytest.mark.settings(**GENEROUS)
@HTTP_SETTINGS
@given(number=FORM_TEXT, code=FORM_TEXT)
def test_any_customer_data_gets_a_field_error_or_the_generic_mismatch(
    app, activation_page, number, code
):
    count("customer-data form")
    browser, link = activation_page
    page = browser.get(link)
    token = csrf_token(page.text) if page.status_code == 200 else None
    if token is None:  # the link's three uses are spent: the one dead-link page
        assert page.status_code == 410
        return
    answer = browser.post(
        link, data={"csrf_token": token, "customer_number": number, "activation_code": code}
    )
    assert answer.status_code in (400, 410), (answer.status_code, answer.text[:300])
    assert not reflected_raw(answer.text, number) and not reflected_raw(answer.text, code)


SCOPES = st.lists(
    st.sampled_from(["openid", "profile", "email", "offline_access", "eligibility", "admin"])
    | st.from_regex(r"[!#-\[\]-~]{1,12}", fullmatch=True),
    max_size=6,
).map(" ".join)


@HTTP_SETTINGS
@given(scope=st.one_of(SCOPES, FORM_TEXT.map(lambda s: s[:200])))
def test_any_scope_gets_the_login_page_or_an_oauth_error_to_the_client(app, scope):
    """RFC 6749 §3.3 and §4.1.2.1: a scope without ``openid`` is ``invalid_scope`` sent back
    to the (trusted) redirect URI with ``state`` and ``iss``; others reach the login."""
    count("scope")
    browser = app.test_client()
    request = AuthorizationRequest(scope=scope)
    response = browser.get(request.url())
    assert response.status_code == 302, (response.status_code, response.text[:300])
    location = response.headers["Location"]
    if location.startswith(SMART_APP_REDIRECT):
        answer = query_of(location)
        assert answer["error"] in ("invalid_scope", "invalid_request")
        assert answer["state"] == request.state and answer["iss"] == "http://localhost"
    else:
        assert "/interaction/" in location
        assert "openid" in scope.split()
