"""A short description of a User-Agent header ("Chrome · Android", "SmartApp"), in no
language, for the account page's list of signed-in browsers and apps. Pure: imports nothing
of idp."""

from __future__ import annotations

import re

MAX_LENGTH = 120
# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
PRODUCT = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,40}")


def describe_user_agent(user_agent: str | None) -> str | None:
    """ "Browser · system" for a browser, else the first product name; None when empty."""
    if not user_agent:
        return None
    text = user_agent[:512]
    browser = next((name for marker, name in BROWSERS if marker in text), None)
    system = next((name for marker, name in SYSTEMS if marker in text), None)
    if browser and system:
        return f"{browser} · {system}"
    if browser or system:
        return str(browser or system)
    match = PRODUCT.match(text.strip())
    return match.group(0)[:MAX_LENGTH] if match else None
