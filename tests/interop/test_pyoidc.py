"""Interoperability: pyoidc (``oic``), a relying-party library not written here, against the
provider served on a real loopback socket.

How the server is started: the issuer must equal the URL the RP talks to (OIDC Discovery §4.3),
so the port has to be known before ``create_app`` runs. ``listening_socket`` binds and listens
on 127.0.0.1:0 first; ``overrides`` (read by conftest's ``app`` fixture) turns its port into the
issuer; ``live_issuer`` hands that same, already listening socket to werkzeug's ``make_server``
through ``fd``. The socket stays open from bind to teardown, so no other process can take the
port in between (no bind-close-rebind race).

Bounds: every HTTP call has a timeout (``HTTP_TIMEOUT``: oic's settings and KeyJar, the httpx
"browser"), nothing follows redirects automatically, proxies from the environment are ignored,
and only 127.0.0.1 is ever contacted: the flow stops at the 302 to the redirect URI, which no one
listens on, and oic parses that URL.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from jwkest import BadSignature
from oic import rndstr
from oic.oauth2.message import ErrorResponse
from oic.oauth2.message import SchemeError
from oic.oic import Client
from oic.oic.message import AccessTokenResponse
from oic.oic.message import AuthorizationRequest
from oic.oic.message import AuthorizationResponse
from oic.oic.message import IdToken
from oic.oic.message import OpenIDSchema
from oic.oic.message import ProviderConfigurationResponse
from oic.oic.message import RegistrationResponse
from oic.oic.message import verify_id_token
from oic.utils.authn.client import CLIENT_AUTHN_METHOD
from oic.utils.keyio import KeyJar
from oic.utils.settings import OicClientSettings
from werkzeug.serving import make_server

from tests.conftest import csrf_token
from tests.loopback import HTTP_TIMEOUT
from tests.loopback import LOOPBACK
from tests.loopback import PROXY_VARIABLES
from tests.oidc import CUSTOMER_SPACE_REDIRECT
from tests.oidc import CUSTOMER_SPACE_SECRET
from tests.oidc import DEMO_ACTIVE
from tests.oidc import DEMO_PASSWORD

pytestmark = pytest.mark.interop

# Any port is allowed on the registered loopback redirect (RFC 8252 §7.3); nothing listens here.
SMART_APP_REDIRECT = f"http://{LOOPBACK}:49152/callback"


@pytest.fixture
def listening_socket() -> Iterator[socket.socket]:
    """A TCP socket already listening on a free loopback port, closed at teardown."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((LOOPBACK, 0))
        sock.listen(16)
        yield sock
    finally:
        sock.close()


@pytest.fixture
def overrides(listening_socket: socket.socket) -> dict[str, str]:
    """conftest's ``app`` reads this: the issuer is the URL the socket will be served on."""
    port = listening_socket.getsockname()[1]
    return {"issuer": f"http://{LOOPBACK}:{port}"}


@pytest.fixture
def live_issuer(
    app: Any, listening_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Serve ``app`` on the listening socket in a background thread; yield the issuer URL."""
    for name in PROXY_VARIABLES:  # requests (oic, its KeyJar) must never go through a proxy
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", LOOPBACK)
    monkeypatch.setenv("no_proxy", LOOPBACK)
    port = listening_socket.getsockname()[1]
    server = make_server(LOOPBACK, port, app, threaded=True, fd=listening_socket.fileno())
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="idp-interop-server",
        daemon=True,
    )
    thread.start()
    try:
        yield app.config["IDP"].issuer
    finally:
        server.shutdown()
        thread.join(timeout=HTTP_TIMEOUT)
        server.server_close()
        assert not thread.is_alive(), "the loopback server did not stop"


@pytest.fixture
def http_session() -> Iterator[requests.Session]:
    """The requests session oic uses: no proxies or .netrc from the environment."""
    session = requests.Session()
    session.trust_env = False
    with session:
        yield session


@pytest.fixture
def browser(live_issuer: str) -> Iterator[httpx.Client]:
    """The user agent: keeps cookies, never follows redirects by itself."""
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False, trust_env=False) as client:
        yield client


@dataclass
class Registration:
    """What is registered statically for a client in clients/registrations.toml."""

    client_id: str
    redirect_uri: str
    scope: list[str]
    token_endpoint_auth_method: str
    client_secret: str | None = None

    @property
    def oic_authn_method(self) -> str:
        """oic has no ``none`` authenticator: an empty method sends only ``client_id``."""
        return "" if self.token_endpoint_auth_method == "none" else self.token_endpoint_auth_method


SMART_APP = Registration(
    "smart-app",
    SMART_APP_REDIRECT,
    ["openid", "profile", "email", "offline_access", "eligibility"],
    "none",
)
CUSTOMER_SPACE = Registration(
    "customer-space",
    CUSTOMER_SPACE_REDIRECT,
    ["openid", "profile", "email", "eligibility"],
    "client_secret_basic",
    CUSTOMER_SPACE_SECRET,
)


def oic_client(issuer: str, registration: Registration, session: requests.Session) -> Client:
    """An oic RP: discovery from the issuer, then the static registration."""
    settings = OicClientSettings(timeout=HTTP_TIMEOUT, verify_ssl=True, requests_session=session)
    client = Client(
        client_id=registration.client_id,
        settings=settings,
        client_authn_method=CLIENT_AUTHN_METHOD,  # oic's default is none at all
        keyjar=KeyJar(verify_ssl=True, timeout=HTTP_TIMEOUT),
        config={"code_challenge": {"method": "S256", "length": 64}},
    )
    provider = client.provider_config(issuer)  # raises on an issuer mismatch
    assert isinstance(provider, ProviderConfigurationResponse)
    info = {
        "client_id": registration.client_id,
        "redirect_uris": [registration.redirect_uri],
        "token_endpoint_auth_method": registration.token_endpoint_auth_method,
    }
    if registration.client_secret:
        info["client_secret"] = registration.client_secret
    client.store_registration_info(RegistrationResponse(**info))
    client.redirect_uris = [registration.redirect_uri]
    return client


@dataclass
class Login:
    """One authorization request as oic built it, and its callback."""

    state: str
    nonce: str
    code_verifier: str
    callback_url: str


def same_origin(url: str, issuer: str) -> bool:
    a, b = urlsplit(url), urlsplit(issuer)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def log_in(client: Client, registration: Registration, browser: httpx.Client, issuer: str) -> Login:
    """oic builds the request (state, nonce, PKCE S256); the browser walks the login pages."""
    pkce, code_verifier = client.add_code_challenge()
    assert pkce["code_challenge_method"] == "S256"
    state, nonce = rndstr(32), rndstr(32)
    url, _body, _headers, _request = client.request_info(
        AuthorizationRequest,
        method="GET",
        request_args={
            "response_type": "code",
            "scope": registration.scope,
            "state": state,
            "nonce": nonce,
            "redirect_uri": registration.redirect_uri,
            **pkce,
        },
    )
    assert same_origin(url, issuer) and urlsplit(url).path == "/authorize"

    started = browser.get(url)
    assert started.status_code == 302, started.text
    login_page = urljoin(url, started.headers["Location"])
    assert same_origin(login_page, issuer) and "/interaction/" in login_page
    page = browser.get(login_page)
    assert page.status_code == 200, page.text
    posted = browser.post(
        login_page,
        data={
            "csrf_token": csrf_token(page.text),
            "login": DEMO_ACTIVE,
            "password": DEMO_PASSWORD,
        },
    )
    assert posted.status_code == 303, posted.text
    resume = urljoin(login_page, posted.headers["Location"])
    assert same_origin(resume, issuer) and "/authorize/resume/" in resume
    final = browser.get(resume)
    assert final.status_code == 302, final.text
    callback = final.headers["Location"]
    assert callback.startswith(registration.redirect_uri + "?"), callback
    return Login(state, nonce, code_verifier, callback)


def parse_callback(client: Client, login: Login, issuer: str) -> AuthorizationResponse:
    """oic parses the callback; it checks ``iss`` (RFC 9207) against the discovered issuer."""
    response = client.parse_response(
        AuthorizationResponse, info=login.callback_url, sformat="urlencoded"
    )
    assert isinstance(response, AuthorizationResponse), response
    assert response["state"] == login.state  # oic leaves the state comparison to the RP
    assert response["iss"] == issuer
    return response


def exchange_code(client: Client, registration: Registration, login: Login) -> Any:
    """oic's token request: the code from the grant, the code_verifier, the client's auth."""
    return client.do_access_token_request(
        state=login.state,
        authn_method=registration.oic_authn_method,
        request_args={
            "code_verifier": login.code_verifier,
            "redirect_uri": registration.redirect_uri,
        },
    )


def check_id_token(
    client: Client,
    tokens: AccessTokenResponse,
    registration: Registration,
    login: Login,
    issuer: str,
) -> IdToken:
    """oic already verified the ID token (signature against the fetched JWKS, iss, aud, exp,
    iat) while parsing; check what it leaves to the RP, and at_hash with oic's own code."""
    id_token = tokens["id_token"]
    assert isinstance(id_token, IdToken)
    assert id_token["iss"] == issuer
    assert registration.client_id in id_token["aud"]
    # oic compares nonces only when the ID token has one: make its presence explicit.
    assert id_token["nonce"] == login.nonce
    assert id_token.jws_header["alg"] == "RS256"
    assert client.keyjar.get_verify_key("RSA", owner=issuer, kid=id_token.jws_header["kid"])
    rechecked = verify_id_token(
        {"id_token": tokens["id_token_jwt"], "access_token": tokens["access_token"]},
        check_hash=True,
        keyjar=client.keyjar,
        iss=issuer,
        client_id=registration.client_id,
    )
    assert rechecked["at_hash"] == id_token["at_hash"]
    return id_token


def test_discovery_is_accepted_by_oic(live_issuer, http_session):
    client = oic_client(live_issuer, SMART_APP, http_session)
    provider = client.provider_info
    # oic's Discovery §3 check wants an https issuer; this loopback server speaks plain HTTP, so
    # that one refusal is expected here. Every other check runs on the same document with only
    # the scheme of the issuer changed.
    with pytest.raises(SchemeError, match="Not HTTPS"):
        provider.verify()
    as_if_https = ProviderConfigurationResponse(
        **{**provider.to_dict(), "issuer": "https://" + live_issuer.removeprefix("http://")}
    )
    assert as_if_https.verify()
    assert provider["issuer"] == live_issuer
    assert client.authorization_endpoint == f"{live_issuer}/authorize"
    assert client.token_endpoint == f"{live_issuer}/token"
    assert client.userinfo_endpoint == f"{live_issuer}/userinfo"
    assert "S256" in provider["code_challenge_methods_supported"]
    keys = client.keyjar.get_verify_key(owner=live_issuer)  # fetches jwks_uri
    assert keys and all(key.kid for key in keys)


def test_smart_app_pkce_login_userinfo_and_rotating_refresh(live_issuer, http_session, browser):
    client = oic_client(live_issuer, SMART_APP, http_session)
    login = log_in(client, SMART_APP, browser, live_issuer)
    parse_callback(client, login, live_issuer)

    tokens = exchange_code(client, SMART_APP, login)
    assert isinstance(tokens, AccessTokenResponse), tokens
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["refresh_token"]
    id_token = check_id_token(client, tokens, SMART_APP, login, live_issuer)

    userinfo = client.do_user_info_request(method="GET", state=login.state)
    assert isinstance(userinfo, OpenIDSchema), userinfo
    assert userinfo["sub"] == id_token["sub"]  # oic raises SubMismatch too
    assert userinfo["eligibility"]["eligible"] is True
    assert userinfo["email"] == DEMO_ACTIVE

    old = client.get_token(state=login.state)
    refreshed = client.do_access_token_refresh(
        state=login.state, authn_method=SMART_APP.oic_authn_method
    )
    assert isinstance(refreshed, AccessTokenResponse), refreshed
    assert refreshed["refresh_token"] and refreshed["refresh_token"] != old.refresh_token
    assert refreshed["access_token"] != old.access_token
    # oic verified the new ID token like the first (signature, iss, aud, exp, iat); OIDC Core
    # §12.2 adds: same iss, sub and aud, auth_time of the original authentication, no azp.
    renewed = refreshed["id_token"]
    assert renewed["sub"] == id_token["sub"] and renewed["iss"] == live_issuer
    assert SMART_APP.client_id in renewed["aud"]
    assert renewed["auth_time"] == id_token["auth_time"]
    assert "azp" not in renewed
    again = client.do_user_info_request(method="GET", state=login.state)
    assert isinstance(again, OpenIDSchema) and again["sub"] == id_token["sub"]
    current = client.get_token(state=login.state)
    assert current.refresh_token == refreshed["refresh_token"]

    replay = client.do_access_token_refresh(
        state=login.state, token=old, authn_method=SMART_APP.oic_authn_method
    )
    assert isinstance(replay, ErrorResponse), replay
    assert replay["error"] == "invalid_grant"
    # Reuse detection (RFC 9700 §4.14.2): the replay revoked the family, the new one included.
    after_replay = client.do_access_token_refresh(
        state=login.state, token=current, authn_method=SMART_APP.oic_authn_method
    )
    assert isinstance(after_replay, ErrorResponse), after_replay
    assert after_replay["error"] == "invalid_grant"


def test_customer_space_client_secret_basic(live_issuer, http_session, browser):
    client = oic_client(live_issuer, CUSTOMER_SPACE, http_session)
    login = log_in(client, CUSTOMER_SPACE, browser, live_issuer)
    parse_callback(client, login, live_issuer)

    tokens = exchange_code(client, CUSTOMER_SPACE, login)
    assert isinstance(tokens, AccessTokenResponse), tokens
    assert "refresh_token" not in tokens  # no offline_access for the web client
    id_token = check_id_token(client, tokens, CUSTOMER_SPACE, login, live_issuer)

    userinfo = client.do_user_info_request(method="GET", state=login.state)
    assert isinstance(userinfo, OpenIDSchema), userinfo
    assert userinfo["sub"] == id_token["sub"]
    assert userinfo["eligibility"]["eligible"] is True

    client.client_secret = "not-the-secret"  # the Basic header is what authenticates
    refused = exchange_code(client, CUSTOMER_SPACE, login)
    assert isinstance(refused, ErrorResponse), refused
    assert refused["error"] == "invalid_client"


def test_oic_rejects_a_tampered_id_token(live_issuer, http_session, browser):
    """The signature check above is real: oic refuses the same ID token with a broken
    signature, against the keys it fetched from jwks_uri."""
    client = oic_client(live_issuer, SMART_APP, http_session)
    login = log_in(client, SMART_APP, browser, live_issuer)
    parse_callback(client, login, live_issuer)
    tokens = exchange_code(client, SMART_APP, login)
    assert isinstance(tokens, AccessTokenResponse), tokens
    header, payload, signature = tokens["id_token_jwt"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(BadSignature):
        verify_id_token(
            {"id_token": f"{header}.{payload}.{flipped}"},
            keyjar=client.keyjar,
            iss=live_issuer,
            client_id=SMART_APP.client_id,
        )
