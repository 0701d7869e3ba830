"""One-off growth measurement: what a login and a refresh cost with few rows and with many
(``--accounts`` accounts and customers, ``--tokens`` tokens), on PostgreSQL, in-process.

For each size: an empty schema, the demo data, one login flow (the rows the filler clones),
bench/filler.py's rows, then ``--rounds`` logins (login form POST: account by login, argon2id,
OP session) and refreshes (rotation), one at a time; median and 95th percentile. Not a test.

Both sizes are timed round by round in turn, so the machine's load weighs on both alike.
Usage: ``python -m bench.growth --small-url postgresql+psycopg://…?options=-csearch_path%3Da
--large-url …%3Db --accounts 1000000 --tokens 10000000`` (each schema's tables are dropped).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

from sqlalchemy import create_engine
from sqlalchemy import text

from bench.filler import Volumes
from bench.filler import fill
from idp import create_app
from idp.activation_keys import generate_missing as generate_activation_keys
from idp.extensions import db
from idp.keys import generate_missing
from idp.models import Base

LOGIN, PASSWORD = "demo.actif@example.be", "Zonnepaneel-2026!"
REDIRECT = "http://127.0.0.1:49152/callback"


class Flow:
    """One Smart App authorization request (PKCE), driven through Flask's test client."""

    def __init__(self, client: Any):
        self.client = client
        self.verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(self.verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        query = {
            "response_type": "code",
            "client_id": "smart-app",
            "redirect_uri": REDIRECT,
            "scope": "openid offline_access eligibility",
            "state": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        self.page = client.get("/authorize?" + urlencode(query)).headers["Location"]
        html = client.get(self.page).text
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]

    def log_in(self) -> Any:
        """POST the login form."""
        data = {"csrf_token": self.csrf, "login": LOGIN, "password": PASSWORD}
        return self.client.post(self.page, data=data)

    def tokens(self) -> dict[str, Any]:
        """Log in, follow the resume, redeem the code."""
        resumed = self.client.get(self.log_in().headers["Location"]).headers["Location"]
        code = parse_qs(urlsplit(resumed).query)["code"][0]
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        data |= {"code_verifier": self.verifier, "client_id": "smart-app"}
        response = self.client.post("/token", data=data)
        assert response.status_code == 200, response.text
        return dict(response.get_json())


def refresh(client: Any, refresh_token: str) -> Any:
    """POST a refresh grant as the Smart App."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return client.post("/token", data=data | {"client_id": "smart-app"})


def prepared_app(url: str, keys: Path) -> Any:
    """The provider on an emptied schema with the demo data and one finished login."""
    app = create_app(
        {
            "env": "development",
            "database_url": url,
            "keys_dir": str(keys),
            "login_rate_limit": "100000/minute",
            "login_free_failures": 100000,
            "keys_reload_interval": 0,
        }
    )
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
    runner = app.test_cli_runner()
    for command in (["db", "upgrade"], ["idp", "clients", "sync"], ["idp", "seed-demo"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output
    Flow(app.test_client()).tokens()
    return app


def populate(url: str, volumes: Volumes) -> float:
    """Fill (each statement its own transaction); return the seconds it took."""
    start = time.perf_counter()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        fill(conn, volumes)
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - start


def time_login(app: Any) -> float:
    """Seconds of one login form POST (a fresh authorization request)."""
    flow = Flow(app.test_client())
    start = time.perf_counter()
    response = flow.log_in()
    spent = time.perf_counter() - start
    assert response.status_code == 303, response.status_code
    return spent


class Refresher:
    """A refresh token of its own, rotated at each timed refresh."""

    def __init__(self, app: Any):
        self.client = app.test_client()
        self.current = Flow(self.client).tokens()["refresh_token"]

    def time_refresh(self) -> float:
        """Seconds of one refresh (with rotation)."""
        start = time.perf_counter()
        response = refresh(self.client, self.current)
        spent = time.perf_counter() - start
        assert response.status_code == 200, response.text
        self.current = response.get_json()["refresh_token"]
        return spent


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"median {statistics.median(values) * 1000:7.2f} ms, p95 {p95 * 1000:7.2f} ms"


def prepare(url: str, volumes: Volumes, keys: Path) -> Any:
    """An app on ``url`` holding ``volumes`` of filler rows."""
    app = prepared_app(url, keys)
    seconds = populate(url, volumes)
    print(f"filled {volumes.accounts} accounts, {volumes.tokens} tokens in {seconds:.0f} s")
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-url", required=True, help="database (schema) of the small size")
    parser.add_argument("--large-url", required=True, help="database (schema) of the large size")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--tokens", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp)
        generate_missing(keys)
        generate_activation_keys(keys)
        small = prepare(options.small_url, Volumes.scaled(options.small, options.small * 10), keys)
        large = prepare(options.large_url, Volumes.scaled(options.accounts, options.tokens), keys)
        # Alternate the sizes round by round: the machine's load drifts equally on both.
        times: dict[str, dict[str, list[float]]] = {"small": {}, "large": {}}
        refreshers = {"small": Refresher(small), "large": Refresher(large)}
        for _ in range(options.rounds):
            for size, app in (("small", small), ("large", large)):
                times[size].setdefault("login", []).append(time_login(app))
                times[size].setdefault("refresh", []).append(refreshers[size].time_refresh())
    for size in ("small", "large"):
        for path, values in times[size].items():
            print(f"{size:6} {path:8} {summary(values)}")
    for path in ("login", "refresh"):
        ratio = statistics.median(times["large"][path]) / statistics.median(times["small"][path])
        print(f"{path}: large / small median = {ratio:.3f}")


if __name__ == "__main__":
    main()
