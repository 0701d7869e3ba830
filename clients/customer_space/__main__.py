"""``python -m clients.customer_space [--port 5001]``: serve the customer space on
http://127.0.0.1:5001 (the URLs registered in clients/registrations.toml). Settings:
``CUSTOMER_SPACE_ISSUER`` (http://127.0.0.1:5000), ``CUSTOMER_SPACE_CLIENT_SECRET``
(dev-customer-space-secret), ``CUSTOMER_SPACE_BASE_URL`` (http://127.0.0.1:<port>),
``CUSTOMER_SPACE_SECRET_KEY`` (random per process)."""

from __future__ import annotations

import argparse
import os
import sys

from werkzeug.serving import run_simple

from clients.customer_space.app import create_app


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m clients.customer_space")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--issuer", help="overrides CUSTOMER_SPACE_ISSUER")
    args = parser.parse_args(argv)
    config = {
        "BASE_URL": os.environ.get("CUSTOMER_SPACE_BASE_URL") or f"http://127.0.0.1:{args.port}"
    }
    if args.issuer:
        config["OIDC_ISSUER"] = args.issuer
    app = create_app(config)
    print(
        f"Customer space: {app.config['BASE_URL']}/  (provider {app.config['OIDC_ISSUER']})",
        flush=True,
    )
    # Threaded: the provider's back-channel POST can arrive while a browser request waits.
    run_simple("127.0.0.1", args.port, app, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
