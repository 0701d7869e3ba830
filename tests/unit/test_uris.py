"""idp.uris: exact redirect URI matching (RFC 9700 §4.1.3) with the loopback port freedom of
native clients (RFC 8252 §7.3) — the one rule for redirect and post-logout redirect URIs."""

from __future__ import annotations

import pytest

from idp.uris import loopback_without_port
from idp.uris import uri_is_registered

NATIVE = ["http://127.0.0.1/callback", "be.customerspace.smartapp:/oauth2redirect"]
NATIVE_V6 = ["http://[::1]/callback"]
NATIVE_WITH_PORT = ["http://127.0.0.1:5111/callback"]
WEB = ["https://app.example/callback", "http://127.0.0.1:5001/callback"]


@pytest.mark.parametrize(
    ("uri", "registered", "native", "expected"),
    [
        # exact strings, any client
        ("http://127.0.0.1/callback", NATIVE, True, True),
        ("be.customerspace.smartapp:/oauth2redirect", NATIVE, True, True),
        ("https://app.example/callback", WEB, False, True),
        ("http://127.0.0.1:5001/callback", WEB, False, True),
        # the native loopback port freedom (RFC 8252 §7.3)
        ("http://127.0.0.1:5111/callback", NATIVE, True, True),
        ("http://127.0.0.1:1/callback", NATIVE, True, True),
        ("http://127.0.0.1:65535/callback", NATIVE, True, True),
        ("http://[::1]:5111/callback", NATIVE_V6, True, True),
        ("http://127.0.0.1:6000/callback", NATIVE_WITH_PORT, True, True),
        ("http://127.0.0.1/callback", NATIVE_WITH_PORT, True, True),
        # issue #8 finding 1: scheme case and a port with a leading zero
        ("HTTP://127.0.0.1:5111/callback", NATIVE, True, False),
        ("hTTp://127.0.0.1:5111/callback", NATIVE, True, False),
        ("Http://127.0.0.1/callback", NATIVE, True, False),
        ("http://127.0.0.1:05111/callback", NATIVE, True, False),
        ("http://127.0.0.1:0/callback", NATIVE, True, False),
        ("http://127.0.0.1:00/callback", NATIVE, True, False),
        # the port is a plain decimal number in range
        ("http://127.0.0.1:65536/callback", NATIVE, True, False),
        ("http://127.0.0.1:99999/callback", NATIVE, True, False),
        ("http://127.0.0.1:123456/callback", NATIVE, True, False),
        ("http://127.0.0.1:/callback", NATIVE, True, False),
        ("http://127.0.0.1:+5111/callback", NATIVE, True, False),
        ("http://127.0.0.1:5111 /callback", NATIVE, True, False),
        ("http://127.0.0.1:٥١١١/callback", NATIVE, True, False),  # Arabic-Indic digits
        ("http://127.0.0.1:0x15/callback", NATIVE, True, False),
        # everything but the port compares exactly
        ("http://127.0.0.1:5111/Callback", NATIVE, True, False),
        ("http://127.0.0.1:5111/callback/", NATIVE, True, False),
        ("http://127.0.0.1:5111/callback?x=1", NATIVE, True, False),
        ("http://127.0.0.1:5111/callback#f", NATIVE, True, False),
        ("http://127.0.0.1:5111/%63allback", NATIVE, True, False),
        ("http://127.0.0.1:5111/callback/../callback", NATIVE, True, False),
        ("http://127.0.0.1:5111", NATIVE, True, False),
        ("https://127.0.0.1:5111/callback", NATIVE, True, False),
        ("http://127.0.0.1:5111/callback\n", NATIVE, True, False),
        (" http://127.0.0.1:5111/callback", NATIVE, True, False),
        # only the literal loopback addresses of RFC 8252 §7.3 (not localhost, §8.3)
        ("http://localhost:5111/callback", NATIVE, True, False),
        ("http://127.0.0.2:5111/callback", NATIVE, True, False),
        ("http://127.1:5111/callback", NATIVE, True, False),
        ("http://[::1]:5111/callback", NATIVE, True, False),
        ("http://[0:0:0:0:0:0:0:1]:5111/callback", NATIVE_V6, True, False),
        ("http://2130706433:5111/callback", NATIVE, True, False),
        # no userinfo, no host tricks
        ("http://127.0.0.1:5111@evil.example/callback", NATIVE, True, False),
        ("http://evil@127.0.0.1:5111/callback", NATIVE, True, False),
        ("http://127.0.0.1.evil.example:5111/callback", NATIVE, True, False),
        ("http://127.0.0.1:5111\\@evil.example/callback", NATIVE, True, False),
        # a web client has no port freedom, loopback or not
        ("http://127.0.0.1:5002/callback", WEB, False, False),
        ("http://127.0.0.1/callback", WEB, False, False),
        ("https://app.example:443/callback", WEB, False, False),
        ("HTTPS://app.example/callback", WEB, False, False),
        ("https://APP.example/callback", WEB, False, False),
        ("http://127.0.0.1:5111/callback", NATIVE, False, False),
        # private-use schemes are exact too
        ("be.customerspace.smartapp:/other", NATIVE, True, False),
        ("BE.customerspace.smartapp:/oauth2redirect", NATIVE, True, False),
        ("be.customerspace.smartapp://oauth2redirect", NATIVE, True, False),
        ("", NATIVE, True, False),
    ],
)
def test_uri_is_registered(uri, registered, native, expected):
    assert uri_is_registered(uri, registered, native=native) is expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://127.0.0.1:5111/callback", "http://127.0.0.1/callback"),
        ("http://127.0.0.1/callback", "http://127.0.0.1/callback"),
        ("http://127.0.0.1:5111", "http://127.0.0.1"),
        ("http://[::1]:8080/cb?x=1", "http://[::1]/cb?x=1"),
        ("http://127.0.0.1:05111/callback", None),
        ("HTTP://127.0.0.1:5111/callback", None),
        ("http://localhost:5111/callback", None),
        ("be.customerspace.smartapp:/oauth2redirect", None),
    ],
)
def test_loopback_without_port(uri, expected):
    assert loopback_without_port(uri) == expected
