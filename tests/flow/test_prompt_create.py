"""Issue #7 items 1 and 6: ``prompt=create`` (Initiating User Registration via OpenID Connect
1.0) opens the registration pages and ends with the authorization response to the same client,
and the way back from the login and registration pages answers the client ``access_denied``
with ``state`` and ``iss`` (RFC 6749 §4.1.2.1, RFC 9207)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import csrf_token
from tests.flow.registration_steps import GENEROUS
from tests.flow.registration_steps import accept_cookies
from tests.flow.registration_steps import back_to_app_href
from tests.flow.registration_steps import choose_password
from tests.flow.registration_steps import new_link
from tests.flow.registration_steps import verify
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import assert_error_redirect
from tests.oidc import authorize_with_login
from tests.oidc import exchange_code
from tests.oidc import query_of
from tests.oidc import validate_id_token

pytestmark = pytest.mark.settings(**GENEROUS)
EMAIL = "sophie.lambert@example.be"


def create_request(**extra: str) -> AuthorizationRequest:
    return AuthorizationRequest(extra={"prompt": "create", **extra})


def start(test_client: Any, request: AuthorizationRequest) -> str:
    """/authorize → the interaction; its uid."""
    response = test_client.get(request.url())
    assert response.status_code == 302, response.text
    assert "/interaction/" in response.headers["Location"]
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_discovery_advertises_create(test_client):
    metadata = test_client.get("/.well-known/openid-configuration").get_json()
    assert "create" in metadata["prompt_values_supported"]


def test_prompt_create_opens_the_registration_pages(test_client):
    uid = start(test_client, create_request())
    shown = test_client.get(f"/interaction/{uid}")
    assert shown.status_code == 303 and shown.headers["Location"] == f"/register?uid={uid}"
    # "I already have an account: log in" reaches the login page of the same request.
    assert test_client.get(f"/interaction/{uid}?login=1").status_code == 200


def test_prompt_create_wins_over_a_live_session(test_client):
    authorize_with_login(test_client, AuthorizationRequest())
    start(test_client, create_request())  # no SSO answer: the customer asked for an account


def test_create_with_none_is_invalid(test_client):
    request = AuthorizationRequest(extra={"prompt": "none create"})
    response = test_client.get(request.url())
    assert_error_redirect(response, request, "invalid_request")


def test_registration_ends_with_the_authorization_response(app, test_client):
    request = create_request()
    uid = start(test_client, request)
    accept_cookies(test_client)
    test_client.get(f"/register?uid={uid}")
    link = new_link(app, test_client, EMAIL, uid)
    verify(test_client, link)
    created = choose_password(test_client, link, EMAIL)
    assert created.status_code == 303, created.text
    done = test_client.get(created.headers["Location"])
    back = back_to_app_href(done.text)
    assert back == f"/authorize/resume/{uid}"
    answer = test_client.get(back)
    assert answer.status_code == 302
    callback = query_of(answer.headers["Location"])
    assert answer.headers["Location"].startswith(request.redirect_uri)
    assert callback["state"] == request.state and callback["iss"] == ISSUER
    tokens = exchange_code(test_client, request, callback["code"]).get_json()
    claims = validate_id_token(
        test_client,
        tokens["id_token"],
        "smart-app",
        nonce=request.nonce,
        access_token=tokens["access_token"],
    )
    assert claims["email"] == EMAIL and claims["eligibility"]["eligible"] is True


def test_without_prompt_create_the_confirmation_keeps_the_initiate_login(app, test_client):
    """product §3.7 for the login page's "No account yet?": back to the app's login screen."""
    uid = start(test_client, AuthorizationRequest())
    accept_cookies(test_client)
    link = new_link(app, test_client, EMAIL, uid)
    verify(test_client, link)
    done = test_client.get(choose_password(test_client, link, EMAIL).headers["Location"])
    assert back_to_app_href(done.text).startswith("http://127.0.0.1:5002/initiate-login?")


def test_a_link_finished_in_another_browser_falls_back_to_the_initiate_login(app, test_client):
    uid = start(test_client, create_request())
    accept_cookies(test_client)
    test_client.get(f"/register?uid={uid}")
    link = new_link(app, test_client, EMAIL, uid)
    other = app.test_client()  # the mail opened on another device
    accept_cookies(other)
    verify(other, link)
    done = other.get(choose_password(other, link, EMAIL).headers["Location"])
    assert back_to_app_href(done.text).startswith("http://127.0.0.1:5002/initiate-login?")


# ---- the way back -------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["login", "register"])
def test_going_back_answers_access_denied_with_state_and_iss(test_client, where):
    request = AuthorizationRequest() if where == "login" else create_request()
    uid = start(test_client, request)
    if where == "register":
        accept_cookies(test_client)
        page = test_client.get(f"/register?uid={uid}")
    else:
        page = test_client.get(f"/interaction/{uid}")
    assert f'action="/interaction/{uid}/abort"' in page.text
    answer = test_client.post(
        f"/interaction/{uid}/abort", data={"csrf_token": csrf_token(page.text)}
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(request.redirect_uri)
    params = query_of(answer.headers["Location"])
    assert params["error"] == "access_denied"
    assert params["state"] == request.state and params["iss"] == ISSUER
    assert "code" not in params
    # Once: the request is over (a second tap, or the login after it, gets the error page).
    again = test_client.post(
        f"/interaction/{uid}/abort", data={"csrf_token": csrf_token(page.text)}
    )
    assert again.status_code == 400
    assert test_client.get(f"/interaction/{uid}").status_code == 400


def test_going_back_needs_the_csrf_token(test_client):
    uid = start(test_client, AuthorizationRequest())
    assert test_client.post(f"/interaction/{uid}/abort").status_code == 400
    assert test_client.get(f"/interaction/{uid}").status_code == 200  # still open


def test_the_account_pages_login_has_no_client_to_go_back_to(test_client):
    login_page = test_client.get("/account").headers["Location"]
    page = test_client.get(login_page)
    assert "/abort" not in page.text
    uid = login_page.rsplit("/", 1)[-1]
    answer = test_client.post(
        f"/interaction/{uid}/abort", data={"csrf_token": csrf_token(page.text)}
    )
    assert answer.status_code == 400
