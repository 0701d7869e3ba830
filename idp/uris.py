"""Redirect URI matching: one rule for ``redirect_uris`` and ``post_logout_redirect_uris``.

RFC 9700 §4.1.3 and OIDC Core §3.1.2.1: a presented URI is compared with the registered ones as
exact strings — no case folding, no normalisation, no prefix. The single freedom is RFC 8252
§7.3's: a native client's loopback IP redirect (``http://127.0.0.1`` or ``http://[::1]``) may
carry any port, because the app listens on whatever port the system gives it. The port is then
a plain decimal number (1–65535, no leading zero) and every other character still compares
exactly. Pure: standard library only; imported by the client model and the logout code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# RFC 8252 §7.3 names exactly these loopback literals (``localhost`` is not one, §8.3).
_LOOPBACK = re.compile(
    r"http://(?P<host>127\.0\.0\.1|\[::1\])(?::(?P<port>[1-9][0-9]{0,4}))?(?P<rest>[/?#].*)?",
    re.DOTALL,
)
MAX_PORT = 65535


def loopback_without_port(uri: str) -> str | None:
    """``http://127.0.0.1:<port>/path`` written without its port; None unless ``uri`` is a
    loopback IP redirect URI in exactly that form (lower-case ``http``, a literal loopback
    address, a plain decimal port if any)."""
    match = _LOOPBACK.fullmatch(uri)
    if match is None:
        return None
    port = match["port"]
    if port is not None and int(port) > MAX_PORT:
        return None
    return f"http://{match['host']}{match['rest'] or ''}"


def uri_is_registered(uri: str, registered: Iterable[str], *, native: bool) -> bool:
    """True when ``uri`` is one of ``registered`` as an exact string, or — for a native
    client only — differs from a registered loopback IP URI by its port alone."""
    registered = list(registered)
    if uri in registered:
        return True
    if not native:
        return False
    bare = loopback_without_port(uri)
    return bare is not None and any(loopback_without_port(r) == bare for r in registered)
