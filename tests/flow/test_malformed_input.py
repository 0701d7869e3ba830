"""Malformed input at every endpoint: no answer is a 500.

Protocol endpoints (/token, /revoke, /introspect, /userinfo) answer a JSON OAuth error with
``Cache-Control: no-store`` (RFC 6749 §5.1–5.2, RFC 6750 §3); /authorize either redirects the
error to the client with ``iss`` (RFC 9207 §2) or renders a 400 page when the client or the
redirect URI cannot be trusted (RFC 6749 §4.1.2.1); the login pages answer 4xx pages.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import csrf_token
from tests.oidc import CUSTOMER_SPACE_SECRET
from tests.oidc import ISSUER
from tests.oidc import SMART_APP_REDIRECT
from tests.oidc import AuthorizationRequest
from tests.oidc import basic_auth
from tests.oidc import query_of

HUGE = "a" * 100_000
FORM = "application/x-www-form-urlencoded"
VALID_BASIC = basic_auth("customer-space", CUSTOMER_SPACE_SECRET)

# What a good answer looks like.
OAUTH_ERROR = "oauth error (JSON, error, no-store)"
JSON_OK = "200 JSON, no-store"
AUTHORIZE_ERROR = "302 error+iss to the client, or 400 page"
PAGE = "HTML page"
DOCUMENT = "public JSON document"


@dataclass(frozen=True)
class Case:
    """One malformed request; ``{uid}`` and ``{csrf}`` are filled in from a real interaction."""

    method: str
    path: str
    expect: str
    data: bytes | dict[str, str] | None = None
    content_type: str | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    status: tuple[int, ...] = ()


def case(case_id: str, method: str, path: str, expect: str, **kwargs: Any) -> Any:
    """A table row with a readable id."""
    return pytest.param(Case(method, path, expect, **kwargs), id=case_id)


def basic_raw(raw: bytes) -> str:
    """An HTTP Basic header carrying arbitrary bytes."""
    return "Basic " + base64.b64encode(raw).decode("ascii")


def authorize_query(**changes: str | None) -> str:
    """A well-formed smart-app request with some parameters changed (None drops one)."""
    params = AuthorizationRequest(state="xyz").params()
    params.update(changes)
    return urlencode({k: v for k, v in params.items() if v is not None})


AUTHORIZE = [
    case("authorize-get-no-params", "GET", "/authorize", AUTHORIZE_ERROR, status=(400,)),
    case(
        "authorize-get-client-id-not-utf8",
        "GET",
        "/authorize?client_id=%ff",
        AUTHORIZE_ERROR,
        status=(400,),
    ),
    case(
        "authorize-get-state-not-utf8",
        "GET",
        "/authorize?" + authorize_query(state=None) + "&state=%ff%fe&scope=profile",
        AUTHORIZE_ERROR,
    ),
    case(
        "authorize-get-client-id-nul",
        "GET",
        "/authorize?client_id=smart%00app",
        AUTHORIZE_ERROR,
        status=(400,),
    ),
    case(
        "authorize-get-redirect-uri-nul",
        "GET",
        "/authorize?" + authorize_query(redirect_uri=SMART_APP_REDIRECT + "\x00"),
        AUTHORIZE_ERROR,
        status=(400,),
    ),
    case(
        "authorize-get-redirect-uri-not-ascii",
        "GET",
        "/authorize?" + authorize_query(redirect_uri=SMART_APP_REDIRECT + "é"),
        AUTHORIZE_ERROR,
        status=(400,),
    ),
    case(
        "authorize-get-redirect-uri-broken-ipv6",
        "GET",
        "/authorize?" + authorize_query(redirect_uri="http://[::1/callback"),
        AUTHORIZE_ERROR,
        status=(400,),
    ),
    case(
        "authorize-get-response-type-not-ascii",
        "GET",
        "/authorize?" + authorize_query(response_type="cödé"),
        AUTHORIZE_ERROR,
    ),
    case(
        "authorize-get-response-type-nul",
        "GET",
        "/authorize?" + authorize_query(response_type="co\x00de"),
        AUTHORIZE_ERROR,
    ),
    case(
        "authorize-get-response-type-quote",
        "GET",
        "/authorize?" + authorize_query(response_type='code"'),
        AUTHORIZE_ERROR,
    ),
    case(
        "authorize-get-client-id-array",
        "GET",
        "/authorize?" + authorize_query(client_id=None) + "&client_id[]=smart-app",
        AUTHORIZE_ERROR,
        status=(400,),
    ),
    case(
        "authorize-get-scope-array",
        "GET",
        "/authorize?" + authorize_query(scope=None) + "&scope[]=openid",
        AUTHORIZE_ERROR,
    ),
    case(
        "authorize-get-client-id-repeated",
        "GET",
        "/authorize?" + authorize_query() + "&client_id=customer-space",
        AUTHORIZE_ERROR,
        status=(400,),
    ),
    case(
        "authorize-get-state-repeated",
        "GET",
        "/authorize?" + authorize_query() + "&state=2",
        AUTHORIZE_ERROR,
    ),
    case(
        "authorize-get-huge-client-id",
        "GET",
        "/authorize?client_id=" + HUGE,
        AUTHORIZE_ERROR,
        status=(400,),
    ),
    case(
        "authorize-get-huge-nonce",
        "GET",
        "/authorize?" + authorize_query(nonce=HUGE),
        AUTHORIZE_ERROR,
    ),
    case(
        "authorize-get-max-age-not-a-number",
        "GET",
        "/authorize?" + authorize_query(max_age="٣"),
        AUTHORIZE_ERROR,
    ),
    case(
        "authorize-get-id-token-hint-garbage",
        "GET",
        "/authorize?" + authorize_query(id_token_hint="%ff.\x00.!!!"),
        AUTHORIZE_ERROR,
    ),
    case("authorize-post-no-params", "POST", "/authorize", AUTHORIZE_ERROR, status=(400,)),
    case(
        "authorize-post-client-id-not-utf8",
        "POST",
        "/authorize",
        AUTHORIZE_ERROR,
        data=b"client_id=%ff%fe",
        content_type=FORM,
        status=(400,),
    ),
    case(
        "authorize-post-redirect-uri-not-utf8",
        "POST",
        "/authorize",
        AUTHORIZE_ERROR,
        data=authorize_query(redirect_uri=None).encode() + b"&redirect_uri=http://%ff",
        content_type=FORM,
        status=(400,),
    ),
    case(
        "authorize-post-json-body",
        "POST",
        "/authorize",
        AUTHORIZE_ERROR,
        json=AuthorizationRequest().params(),
        status=(400,),
    ),
    case(
        "authorize-post-huge-body",
        "POST",
        "/authorize",
        PAGE,
        data={"client_id": "smart-app", "state": HUGE},
        status=(413,),
    ),
    case("authorize-put-not-allowed", "PUT", "/authorize", PAGE, status=(405,)),
]

TOKEN = [
    case("token-no-params", "POST", "/token", OAUTH_ERROR),
    case(
        "token-grant-type-not-utf8",
        "POST",
        "/token",
        OAUTH_ERROR,
        data=b"grant_type=%ff%fe",
        content_type=FORM,
    ),
    case(
        "token-code-and-client-not-utf8",
        "POST",
        "/token",
        OAUTH_ERROR,
        data=b"grant_type=authorization_code&code=%ff&client_id=%fe&redirect_uri=%ff",
        content_type=FORM,
    ),
    case(
        "token-refresh-token-not-utf8",
        "POST",
        "/token",
        OAUTH_ERROR,
        data=b"grant_type=refresh_token&refresh_token=%ff&client_id=smart-app",
        content_type=FORM,
    ),
    case(
        "token-nul-bytes",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={
            "grant_type": "authorization_code",
            "code": "a\x00b",
            "client_id": "smart-app",
            "redirect_uri": SMART_APP_REDIRECT + "\x00",
            "code_verifier": "\x00",
        },
    ),
    case(
        "token-client-id-nul",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={"grant_type": "authorization_code", "code": "x", "client_id": "smart\x00app"},
    ),
    case(
        "token-arrays",
        "POST",
        "/token",
        OAUTH_ERROR,
        data=b"grant_type[]=authorization_code&code[]=x&client_id[]=smart-app",
        content_type=FORM,
    ),
    case(
        "token-grant-type-repeated",
        "POST",
        "/token",
        OAUTH_ERROR,
        data=b"grant_type=authorization_code&grant_type=refresh_token&client_id=smart-app"
        b"&client_id=customer-space&code=x",
        content_type=FORM,
    ),
    case(
        "token-huge-body",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={"grant_type": "authorization_code", "code": HUGE},
        status=(413,),
    ),
    case(
        "token-huge-code-under-limit",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={
            "grant_type": "authorization_code",
            "code": "a" * 60_000,
            "client_id": "smart-app",
            "redirect_uri": SMART_APP_REDIRECT,
        },
    ),
    case(
        "token-json-body",
        "POST",
        "/token",
        OAUTH_ERROR,
        json={"grant_type": "authorization_code", "code": "x", "client_id": "smart-app"},
    ),
    case(
        "token-text-body",
        "POST",
        "/token",
        OAUTH_ERROR,
        data=b"grant_type=authorization_code",
        content_type="text/plain",
    ),
    case(
        "token-basic-not-base64",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": "Basic !!!"},
    ),
    case(
        "token-basic-bad-padding",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": "Basic abc"},
    ),
    case(
        "token-basic-no-colon",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": basic_raw(b"customer-space")},
    ),
    case(
        "token-basic-not-utf8",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": basic_raw(b"\xff\xfe:\xff")},
    ),
    case(
        "token-basic-not-utf8-with-public-client",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": "smart-app",
            "redirect_uri": SMART_APP_REDIRECT,
        },
        headers={"Authorization": basic_raw(b"customer-space:\xff")},
    ),
    case(
        "token-basic-percent-garbage",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": basic_raw(b"customer-space:%ff%00")},
    ),
    case(
        "token-basic-empty",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": "Basic"},
    ),
    case(
        "token-bearer-instead-of-basic",
        "POST",
        "/token",
        OAUTH_ERROR,
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": "Bearer !!!"},
    ),
    case("token-put-not-allowed", "PUT", "/token", OAUTH_ERROR, status=(405,)),
    case(
        "token-get-not-allowed",
        "GET",
        "/token?grant_type=authorization_code",
        OAUTH_ERROR,
        status=(405,),
    ),
]

USERINFO = [
    case("userinfo-get-no-token", "GET", "/userinfo", OAUTH_ERROR, status=(401,)),
    case("userinfo-post-no-token", "POST", "/userinfo", OAUTH_ERROR, status=(401,)),
    case(
        "userinfo-bearer-garbage",
        "GET",
        "/userinfo",
        OAUTH_ERROR,
        status=(401,),
        headers={"Authorization": "Bearer !!!\x7f"},
    ),
    case(
        "userinfo-bearer-empty",
        "GET",
        "/userinfo",
        OAUTH_ERROR,
        status=(401,),
        headers={"Authorization": "Bearer "},
    ),
    case(
        "userinfo-bearer-several-words",
        "GET",
        "/userinfo",
        OAUTH_ERROR,
        status=(401,),
        headers={"Authorization": "Bearer a b c"},
    ),
    case(
        "userinfo-bearer-not-utf8",
        "GET",
        "/userinfo",
        OAUTH_ERROR,
        status=(401,),
        headers={"Authorization": b"Bearer \xff\xfe".decode("latin-1")},
    ),
    case(
        "userinfo-bearer-huge",
        "GET",
        "/userinfo",
        OAUTH_ERROR,
        status=(401,),
        headers={"Authorization": "Bearer " + HUGE},
    ),
    case(
        "userinfo-basic-instead-of-bearer",
        "GET",
        "/userinfo",
        OAUTH_ERROR,
        status=(401,),
        headers={"Authorization": "Basic !!!"},
    ),
    case(
        "userinfo-post-token-in-body-not-utf8",
        "POST",
        "/userinfo",
        OAUTH_ERROR,
        status=(401,),
        data=b"access_token=%ff",
        content_type=FORM,
    ),
    case(
        "userinfo-query-junk", "GET", "/userinfo?access_token=%ff&a[]=1", OAUTH_ERROR, status=(401,)
    ),
    case("userinfo-put-not-allowed", "PUT", "/userinfo", OAUTH_ERROR, status=(405,)),
]

REVOKE = [
    case("revoke-no-params", "POST", "/revoke", OAUTH_ERROR),
    case(
        "revoke-client-id-not-utf8",
        "POST",
        "/revoke",
        OAUTH_ERROR,
        data=b"token=x&client_id=%ff%fe",
        content_type=FORM,
    ),
    case(
        "revoke-token-not-utf8",
        "POST",
        "/revoke",
        JSON_OK,
        data=b"token=%ff&client_id=smart-app",
        content_type=FORM,
    ),
    # U+0000 never occurs in a token; the request is refused whole (idp/security.py).
    case(
        "revoke-token-nul",
        "POST",
        "/revoke",
        OAUTH_ERROR,
        data={"token": "a\x00b", "client_id": "smart-app"},
    ),
    case(
        "revoke-token-type-hint-garbage",
        "POST",
        "/revoke",
        OAUTH_ERROR,
        data={"token": "x", "client_id": "smart-app", "token_type_hint": "é\x00"},
    ),
    case(
        "revoke-token-array",
        "POST",
        "/revoke",
        OAUTH_ERROR,
        data=b"token[]=x&client_id=smart-app",
        content_type=FORM,
    ),
    # Authlib's revocation endpoint reads the first value; an unknown token is a 200 (§2.2).
    case(
        "revoke-token-repeated",
        "POST",
        "/revoke",
        JSON_OK,
        data=b"token=x&token=y&client_id=smart-app",
        content_type=FORM,
    ),
    case("revoke-huge-body", "POST", "/revoke", OAUTH_ERROR, data={"token": HUGE}, status=(413,)),
    case(
        "revoke-json-body",
        "POST",
        "/revoke",
        OAUTH_ERROR,
        json={"token": "x", "client_id": "smart-app"},
    ),
    case(
        "revoke-basic-not-base64",
        "POST",
        "/revoke",
        OAUTH_ERROR,
        data={"token": "x"},
        headers={"Authorization": "Basic !!!"},
    ),
    case(
        "revoke-basic-no-colon",
        "POST",
        "/revoke",
        OAUTH_ERROR,
        data={"token": "x"},
        headers={"Authorization": basic_raw(b"customer-space")},
    ),
    case(
        "revoke-basic-not-utf8",
        "POST",
        "/revoke",
        OAUTH_ERROR,
        data={"token": "x"},
        headers={"Authorization": basic_raw(b"\xff:\xff")},
    ),
    # Found by the fuzz pass (tests/property): a header of blanks only (NBSP, space, NBSP: a
    # server strips only SP and HTAB) made Authlib's split find no parts — a 500.
    *(
        case(
            f"{path.strip('/')}-authorization-header-of-blanks",
            "POST",
            path,
            OAUTH_ERROR,
            data={"token": "x", "grant_type": "refresh_token", "refresh_token": "x"},
            headers={"Authorization": "\xa0 \xa0"},
            status=(400, 401),
        )
        for path in ("/token", "/revoke", "/introspect")
    ),
    case("revoke-get-not-allowed", "GET", "/revoke", OAUTH_ERROR, status=(405,)),
]

INTROSPECT = [
    case("introspect-no-params", "POST", "/introspect", OAUTH_ERROR),
    case(
        "introspect-no-token",
        "POST",
        "/introspect",
        OAUTH_ERROR,
        headers={"Authorization": VALID_BASIC},
    ),
    case(
        "introspect-token-not-utf8",
        "POST",
        "/introspect",
        JSON_OK,
        data=b"token=%ff%fe",
        content_type=FORM,
        headers={"Authorization": VALID_BASIC},
    ),
    case(
        "introspect-token-nul",
        "POST",
        "/introspect",
        OAUTH_ERROR,
        data={"token": "a\x00b"},
        headers={"Authorization": VALID_BASIC},
    ),
    case(
        "introspect-token-type-hint-garbage",
        "POST",
        "/introspect",
        OAUTH_ERROR,
        data={"token": "x", "token_type_hint": "é\x00"},
        headers={"Authorization": VALID_BASIC},
    ),
    case(
        "introspect-token-array",
        "POST",
        "/introspect",
        OAUTH_ERROR,
        data=b"token[]=x",
        content_type=FORM,
        headers={"Authorization": VALID_BASIC},
    ),
    case(
        "introspect-huge-body",
        "POST",
        "/introspect",
        OAUTH_ERROR,
        data={"token": HUGE},
        headers={"Authorization": VALID_BASIC},
        status=(413,),
    ),
    case(
        "introspect-json-body",
        "POST",
        "/introspect",
        OAUTH_ERROR,
        json={"token": "x"},
        headers={"Authorization": VALID_BASIC},
    ),
    case(
        "introspect-basic-not-base64",
        "POST",
        "/introspect",
        OAUTH_ERROR,
        data={"token": "x"},
        headers={"Authorization": "Basic !!!"},
    ),
    case(
        "introspect-basic-no-colon",
        "POST",
        "/introspect",
        OAUTH_ERROR,
        data={"token": "x"},
        headers={"Authorization": basic_raw(b"customer-space")},
    ),
    case(
        "introspect-basic-not-utf8",
        "POST",
        "/introspect",
        OAUTH_ERROR,
        data={"token": "x"},
        headers={"Authorization": basic_raw(b"customer-space:\xff")},
    ),
    case(
        "introspect-bearer-instead-of-basic",
        "POST",
        "/introspect",
        OAUTH_ERROR,
        data={"token": "x"},
        headers={"Authorization": "Bearer x"},
    ),
    case("introspect-get-not-allowed", "GET", "/introspect", OAUTH_ERROR, status=(405,)),
]

INTERACTION = [
    case("interaction-get-unknown-uid", "GET", "/interaction/nope", PAGE, status=(400,)),
    case("interaction-get-uid-not-utf8", "GET", "/interaction/%ff%fe", PAGE, status=(400,)),
    case("interaction-get-uid-nul", "GET", "/interaction/a%00b", PAGE, status=(400,)),
    case("interaction-get-huge-uid", "GET", "/interaction/" + "a" * 5000, PAGE, status=(400,)),
    case(
        "interaction-post-unknown-uid",
        "POST",
        "/interaction/nope",
        PAGE,
        status=(400,),
        data={"login": "x", "password": "y"},
    ),
    case(
        "interaction-post-unknown-uid-with-token",
        "POST",
        "/interaction/nope",
        PAGE,
        status=(400,),
        data={"csrf_token": "{csrf}", "login": "x", "password": "y"},
    ),
    case(
        "interaction-get-real-junk-query",
        "GET",
        "/interaction/{uid}?lang=%ff&a[]=1",
        PAGE,
        status=(200,),
    ),
    case(
        "interaction-post-real-no-csrf",
        "POST",
        "/interaction/{uid}",
        PAGE,
        status=(400,),
        data={"login": "x", "password": "y"},
    ),
    case(
        "interaction-post-real-junk-no-csrf",
        "POST",
        "/interaction/{uid}",
        PAGE,
        status=(400,),
        data=b"login[]=a&password[]=b&junk=%ff&login=%00",
        content_type=FORM,
    ),
    case(
        "interaction-post-real-csrf-not-utf8",
        "POST",
        "/interaction/{uid}",
        PAGE,
        status=(400,),
        data=b"csrf_token=%ff&login=a&password=b",
        content_type=FORM,
    ),
    case(
        "interaction-post-real-json",
        "POST",
        "/interaction/{uid}",
        PAGE,
        status=(400,),
        json={"csrf_token": "{csrf}", "login": "a", "password": "b"},
    ),
    case(
        "interaction-post-real-fields-not-utf8",
        "POST",
        "/interaction/{uid}",
        PAGE,
        status=(401,),
        data=b"csrf_token={csrf}&login=%ff%fe&password=%ff",
        content_type=FORM,
    ),
    case(
        "interaction-post-real-fields-nul",
        "POST",
        "/interaction/{uid}",
        PAGE,
        status=(400,),
        data={"csrf_token": "{csrf}", "login": "a\x00b", "password": "\x00"},
    ),
    case(
        "interaction-post-real-fields-arrays",
        "POST",
        "/interaction/{uid}",
        PAGE,
        status=(400,),
        data=b"csrf_token={csrf}&login[]=a&password[]=b",
        content_type=FORM,
    ),
    case(
        "interaction-post-real-fields-repeated",
        "POST",
        "/interaction/{uid}",
        PAGE,
        status=(401,),
        data=b"csrf_token={csrf}&login=a&login=b&password=c&password=d",
        content_type=FORM,
    ),
    case(
        "interaction-post-real-fields-long",
        "POST",
        "/interaction/{uid}",
        PAGE,
        status=(401,),
        data={"csrf_token": "{csrf}", "login": "a" * 30_000, "password": "b" * 30_000},
    ),
    case(
        "interaction-post-real-huge-body",
        "POST",
        "/interaction/{uid}",
        PAGE,
        status=(413,),
        data={"csrf_token": "{csrf}", "login": HUGE, "password": "x"},
    ),
    case("interaction-put-not-allowed", "PUT", "/interaction/{uid}", PAGE, status=(405,)),
]

RESUME = [
    case("resume-unknown-uid", "GET", "/authorize/resume/nope", PAGE, status=(400,)),
    case("resume-uid-not-utf8", "GET", "/authorize/resume/%ff?x=%fe", PAGE, status=(400,)),
    case("resume-uid-nul", "GET", "/authorize/resume/a%00b", PAGE, status=(400,)),
    case(
        "resume-real-uid-login-not-finished",
        "GET",
        "/authorize/resume/{uid}?a[]=%ff",
        PAGE,
        status=(400,),
    ),
]

DOCUMENTS = [
    case(
        "discovery-junk-query",
        "GET",
        "/.well-known/openid-configuration?x=%ff&a[]=1&%00=1",
        DOCUMENT,
    ),
    case("jwks-junk-query", "GET", "/jwks.json?x=%ff&a[]=1&%00=1&" + "b" * 10_000, DOCUMENT),
    case(
        "discovery-post-not-allowed",
        "POST",
        "/.well-known/openid-configuration",
        OAUTH_ERROR,
        status=(405,),
    ),
]


@pytest.fixture
def interaction(test_client):
    """A real pending login in this browser: its uid and the login form's CSRF token."""
    response = test_client.get(AuthorizationRequest().url())
    assert response.status_code == 302, response.text
    path = response.headers["Location"]
    page = test_client.get(path)
    return {"uid": path.rsplit("/", 1)[1], "csrf": csrf_token(page.text)}


def _fill(value: Any, values: dict[str, str]) -> Any:
    """Put the real interaction's uid and CSRF token where the table says ``{uid}``/``{csrf}``."""
    if not values:
        return value
    if isinstance(value, str):
        return value.replace("{uid}", values["uid"]).replace("{csrf}", values["csrf"])
    if isinstance(value, bytes):
        return _fill(value.decode("latin-1"), values).encode("latin-1")
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def send(test_client: Any, c: Case, values: dict[str, str]) -> Any:
    """Send the case's request through the test client."""
    kwargs: dict[str, Any] = {"method": c.method, "headers": c.headers}
    if c.data is not None:
        kwargs["data"] = _fill(c.data, values)
    if c.content_type is not None:
        kwargs["content_type"] = c.content_type
    if c.json is not None:
        kwargs["json"] = _fill(c.json, values)
    return test_client.open(_fill(c.path, values), **kwargs)


def check_oauth_error(response: Any, c: Case) -> None:
    """RFC 6749 §5.2 / RFC 6750 §3.1: JSON ``error``, never cached."""
    assert 400 <= response.status_code < 500, response.text
    assert response.is_json, response.text
    body = response.get_json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert "no-store" in response.headers["Cache-Control"]


def check_authorize_error(response: Any, c: Case) -> None:
    """Redirected to the client with error and iss (RFC 9207 §2), or a 400 page."""
    if response.status_code == 302:
        location = response.headers["Location"]
        assert location.startswith(SMART_APP_REDIRECT), location
        params = query_of(location)
        assert params["error"] and params["iss"] == ISSUER, params
    else:
        assert response.status_code == 400, response.text
        assert response.mimetype == "text/html"
    assert "no-store" in response.headers["Cache-Control"]


def check_json_ok(response: Any, c: Case) -> None:
    """A garbage token is simply not found: 200 (RFC 7009 §2.2, RFC 7662 §2.2), never cached."""
    assert response.status_code == 200 and response.is_json, response.text
    assert "no-store" in response.headers["Cache-Control"]


def check_page(response: Any, c: Case) -> None:
    """A page for people, not a stack trace, not cached."""
    assert response.mimetype == "text/html", response.text
    assert "no-store" in response.headers["Cache-Control"]


def check_document(response: Any, c: Case) -> None:
    """Discovery and JWKS ignore the query."""
    assert response.status_code == 200 and response.is_json, response.text


EXPECTATIONS = {
    OAUTH_ERROR: check_oauth_error,
    JSON_OK: check_json_ok,
    AUTHORIZE_ERROR: check_authorize_error,
    PAGE: check_page,
    DOCUMENT: check_document,
}


@pytest.mark.parametrize(
    "c", AUTHORIZE + TOKEN + USERINFO + REVOKE + INTROSPECT + INTERACTION + RESUME + DOCUMENTS
)
def test_malformed_input_is_refused_cleanly(test_client, request, c):
    """Never a 500; the answer has the shape its endpoint promises."""
    uses_interaction = any(m in repr((c.path, c.data, c.json)) for m in ("{uid}", "{csrf}"))
    values = request.getfixturevalue("interaction") if uses_interaction else {}
    response = send(test_client, c, values)
    assert response.status_code != 500, response.text
    if c.status:
        assert response.status_code in c.status, (response.status_code, response.text[:300])
    EXPECTATIONS[c.expect](response, c)


def test_raw_non_utf8_query_string(test_client):
    """Bytes that are not UTF-8, not even percent-encoded, reach the app as they are."""
    # WSGI carries the raw query bytes as a latin-1 str (PEP 3333).
    raw = {"QUERY_STRING": "client_id=\xff\xfe&scope=\x00"}
    response = test_client.get("/authorize", environ_overrides=raw)
    assert response.status_code == 400 and response.mimetype == "text/html"
    response = test_client.get("/userinfo", environ_overrides={"QUERY_STRING": "\xff=\xfe"})
    assert response.status_code == 401 and response.is_json
    response = test_client.get("/jwks.json", environ_overrides={"QUERY_STRING": "\xff=\xfe"})
    assert response.status_code == 200 and response.is_json
