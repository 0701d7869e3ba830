"""``python -m clients.smart_app [serve] [--port 5002] [--issuer URL] [--state FILE]``: run the
app — its screens on http://127.0.0.1:<port>/ in a phone-sized page, the provider in the
system browser (RFC 8252).

``python -m clients.smart_app login [--no-browser] [--issuer URL]``: the headless login for
terminals and tests — prints the authorization URL (or opens the browser), waits for the
loopback callback on a free port, redeems the code with PKCE and prints the eligibility
decision (exit 0 eligible, 2 not eligible, 1 failed). It keeps the session like the app does
but does not ask for the terms (the screens do).
"""

from __future__ import annotations

import argparse
import os
import sys
import webbrowser

from werkzeug.serving import make_server

from clients.smart_app.app import SmartApp
from clients.smart_app.oidc import LoginError
from clients.smart_app.oidc import LoopbackListener
from clients.smart_app.oidc import NetworkError
from clients.smart_app.screens import create_screens
from clients.smart_app.storage import LocalState
from clients.smart_app.storage import default_state_path
from clients.smart_app.texts import LANGUAGES

DEFAULT_ISSUER = "http://127.0.0.1:5000"
# The registered initiate_login_uri names this port (a native app's loopback port varies,
# but a third party can only send the browser to a URL it knows).
DEFAULT_PORT = 5002
COMMANDS = ("serve", "login")


def open_app(args: argparse.Namespace) -> SmartApp:
    """The app on its local state, in the language asked for (remembered)."""
    smart_app = SmartApp(args.issuer, LocalState(args.state))
    if args.language:
        smart_app.set_language(args.language)
    return smart_app


def serve(args: argparse.Namespace) -> int:
    """Refresh on start, then serve the screens until interrupted."""
    smart_app = open_app(args)
    screens = create_screens(smart_app, f"http://127.0.0.1:{args.port}", args.chat_url)
    try:
        server = make_server("127.0.0.1", args.port, screens, threaded=False)
    except OSError as exc:
        print(f"Cannot listen on 127.0.0.1:{args.port}: {exc} (try --port)", file=sys.stderr)
        return 1
    url = f"http://127.0.0.1:{server.server_port}"
    screens.config["BASE_URL"] = url  # --port 0: the port is known only now
    smart_app.start()
    print(f"Smart App: {url}/   (provider {smart_app.issuer}, state {args.state})", flush=True)
    if args.open_browser:
        webbrowser.open(f"{url}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def login(args: argparse.Namespace) -> int:
    """Run one login; 0 when eligible, 2 when not eligible, 1 on error."""
    smart_app = open_app(args)
    listener = LoopbackListener()
    try:
        url = smart_app.begin_login(listener.redirect_uri)
    except (NetworkError, LoginError) as exc:
        listener.server.server_close()
        print(f"The provider at {smart_app.issuer} cannot be used: {exc}", file=sys.stderr)
        return 1
    print(f"Open this URL in a browser to log in:\n\n  {url}\n", flush=True)
    if args.open_browser:
        webbrowser.open(url)
    try:
        smart_app.finish_login(listener.wait(args.timeout))
    except (NetworkError, LoginError) as exc:
        print(f"Login failed: {exc}", file=sys.stderr)
        return 1
    if smart_app.customer is not None:
        claims = smart_app.customer
        print(f"Logged in as {claims.get('name')} <{claims.get('email')}> (sub {claims['sub']})")
        print(f"Eligible: the app opens its home screen (session kept in {args.state}).")
        return 0
    reason = smart_app.refusal.reason if smart_app.refusal else None
    print(f"Not eligible ({reason}): contact us through the in-app chat. No session kept.")
    return 2


def parse_args(argv: list[str]) -> argparse.Namespace:
    """``serve`` is the default command."""
    if not argv or argv[0] not in COMMANDS + ("-h", "--help"):
        argv = ["serve", *argv]
    parser = argparse.ArgumentParser(prog="python -m clients.smart_app")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("serve", "run the app's screens on a loopback port"),
        ("login", "log in headless: print the URL, wait for the callback"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--issuer", default=DEFAULT_ISSUER)
        cmd.add_argument(
            "--state",
            default=str(default_state_path()),
            help="the app's local state file (default: %(default)s)",
        )
        cmd.add_argument("--language", choices=LANGUAGES, help="the app's language")
        cmd.add_argument(
            "--no-browser", dest="open_browser", action="store_false", help="print the URL only"
        )
    sub.choices["serve"].add_argument("--port", type=int, default=DEFAULT_PORT)
    sub.choices["serve"].add_argument(
        "--chat-url",
        default=os.environ.get("SMART_APP_CHAT_URL") or None,
        help="the in-app chat's entry point, opened with ?reason=...&topic=eligibility "
        "(env SMART_APP_CHAT_URL; default: the app's own chat stand-in, /chat)",
    )
    sub.choices["login"].add_argument("--timeout", type=float, default=300.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return serve(args) if args.command == "serve" else login(args)


if __name__ == "__main__":
    sys.exit(main())
