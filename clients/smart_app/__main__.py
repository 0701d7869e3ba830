"""``python -m clients.smart_app login [--no-browser] [--issuer URL]``: log in like the app.

Prints the authorization URL (or opens the system browser), waits for the loopback callback,
redeems the code with PKCE and shows the eligibility decision.
"""

from __future__ import annotations

import argparse
import sys
import webbrowser

from clients.smart_app.oidc import LoginError
from clients.smart_app.oidc import LoopbackListener
from clients.smart_app.oidc import PendingLogin
from clients.smart_app.oidc import Provider


def login(issuer: str, open_browser: bool, timeout: float, language: str) -> int:
    """Run one login; 0 when eligible, 2 when not eligible, 1 on error."""
    provider = Provider(issuer)
    listener = LoopbackListener()
    pending = PendingLogin(listener.redirect_uri)
    url = provider.authorization_url(pending, ui_locales=language)
    print(f"Open this URL in a browser to log in:\n\n  {url}\n", flush=True)
    if open_browser:
        webbrowser.open(url)
    try:
        tokens = provider.redeem(pending, listener.wait(timeout))
    except LoginError as exc:
        print(f"Login failed: {exc}", file=sys.stderr)
        return 1
    claims = tokens["claims"]
    eligibility = claims.get("eligibility", {})
    print(f"Logged in as {claims.get('name')} <{claims.get('email')}> (sub {claims['sub']})")
    if eligibility.get("eligible"):
        print("Eligible: the app opens its home screen.")
        return 0
    print(f"Not eligible ({eligibility.get('reason')}): contact us through the in-app chat.")
    return 2


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m clients.smart_app")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("login", help="log in through the provider")
    cmd.add_argument("--issuer", default="http://127.0.0.1:5000")
    cmd.add_argument("--no-browser", action="store_true", help="print the URL only")
    cmd.add_argument("--timeout", type=float, default=300.0)
    cmd.add_argument("--language", default="fr", choices=["fr", "nl", "en", "de"])
    args = parser.parse_args(argv)
    return login(args.issuer, not args.no_browser, args.timeout, args.language)


if __name__ == "__main__":
    sys.exit(main())
