"""The interaction seam is configuration (node-oidc-provider ``interactions.url``): where
/authorize sends the browser to log in, and which client people go to when no application
sent them."""

from __future__ import annotations

import pytest

from idp.config import ConfigError
from idp.config import Settings
from tests.oidc import AuthorizationRequest


def test_authorize_sends_the_browser_to_the_default_interaction_url(test_client):
    response = test_client.get(AuthorizationRequest().url())
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/interaction/")


@pytest.mark.settings(interaction_url="/sign-in/{uid}/form")
def test_the_interaction_url_is_a_setting(test_client):
    response = test_client.get(AuthorizationRequest().url())
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/sign-in/") and location.endswith("/form")
    uid = location.split("/")[2]
    assert test_client.get(f"/interaction/{uid}").status_code == 200  # the page itself


def test_start_login_goes_to_the_default_client(test_client):
    response = test_client.get("/start-login?login_hint=someone")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("http://127.0.0.1:5001/login?")


@pytest.mark.settings(default_client_id="smart-app")
def test_the_default_client_is_a_setting(test_client):
    response = test_client.get("/start-login?login_hint=someone")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("http://127.0.0.1:5002/initiate-login?")


@pytest.mark.parametrize(
    "url", ["interaction/{uid}", "/interaction", "/interaction/{uid}/{uid}", "https://x/{uid}"]
)
def test_an_interaction_url_without_one_uid_placeholder_is_refused(url):
    with pytest.raises(ConfigError, match="IDP_INTERACTION_URL"):
        Settings(env="development", interaction_url=url).validate()
