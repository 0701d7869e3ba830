"""Serve the provider the production way (gunicorn, 1 worker, temp SQLite) on loopback and
measure discovery, JWKS, the whole login flow, refresh and userinfo. Bounded in count and time.

Usage: ``make bench`` (or ``python -m bench.run --seconds 5 --concurrency 8``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOGIN, PASSWORD = "demo.actif@example.be", "Zonnepaneel-2026!"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(tmp: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "IDP_ENV": "development",
        "IDP_ISSUER": f"http://127.0.0.1:{port}",
        "IDP_DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "IDP_KEYS_DIR": str(tmp / "keys"),
        "IDP_LOGIN_RATE_LIMIT": "100000/minute",
        "IDP_LOG_LEVEL": "WARNING",
    }
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    for args in (
        ["db", "upgrade"],
        ["idp", "keys", "generate"],
        ["idp", "clients", "sync"],
        ["idp", "seed-demo"],
    ):
        subprocess.run(flask + args, cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/jwks.json", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("server did not start")


def login_flow(base: str) -> tuple[dict[str, str], str]:
    """authorize → login page → POST credentials → resume → code → token; return tokens."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    redirect = "http://127.0.0.1:40000/callback"
    params = {
        "response_type": "code",
        "client_id": "smart-app",
        "redirect_uri": redirect,
        "scope": "openid profile email offline_access eligibility",
        "state": "s",
        "nonce": "n",
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
    }
    with httpx.Client(base_url=base, timeout=10) as browser:
        r = browser.get("/authorize?" + urlencode(params))
        page = browser.get(r.headers["location"])
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = browser.post(
            page.url.path, data={"csrf_token": token, "login": LOGIN, "password": PASSWORD}
        )
        r = browser.get(r.headers["location"])
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        r = browser.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "code_verifier": verifier,
                "client_id": "smart-app",
            },
        )
        r.raise_for_status()
        return r.json(), base


def measure(
    name: str, fn: Callable[[], object], seconds: float, concurrency: int, limit: int
) -> dict[str, str | float]:
    """Run ``fn`` from ``concurrency`` threads until ``seconds`` or ``limit`` calls."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        while time.perf_counter() < deadline and len(latencies) < limit:
            t0 = time.perf_counter()
            fn()
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for f in [pool.submit(worker) for _ in range(concurrency)]:
            f.result()
    elapsed = time.perf_counter() - start
    return {
        "name": name,
        "ops": len(latencies) / elapsed,
        "n": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": statistics.quantiles(latencies, n=20)[18] * 1000
        if len(latencies) > 20
        else max(latencies) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), port, args.workers)
        try:
            http = httpx.Client(
                base_url=base, timeout=10, limits=httpx.Limits(max_connections=args.concurrency)
            )
            tokens, _ = login_flow(base)
            refresh = {"value": tokens["refresh_token"]}

            def do_refresh() -> None:
                r = http.post(
                    "/token",
                    data={
                        "grant_type": "refresh_token",
                        "refresh_token": refresh["value"],
                        "client_id": "smart-app",
                    },
                )
                if r.status_code == 200:
                    refresh["value"] = r.json()["refresh_token"]

            bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
            rows = [
                measure(
                    "discovery",
                    lambda: http.get("/.well-known/openid-configuration"),
                    args.seconds,
                    args.concurrency,
                    50000,
                ),
                measure(
                    "jwks", lambda: http.get("/jwks.json"), args.seconds, args.concurrency, 50000
                ),
                measure(
                    "login flow", lambda: login_flow(base), args.seconds, args.concurrency, 2000
                ),
                # Rotation is sequential by nature: one chain, one caller.
                measure("refresh (rotation)", do_refresh, args.seconds, 1, 5000),
                measure(
                    "userinfo",
                    lambda: http.get("/userinfo", headers=bearer),
                    args.seconds,
                    args.concurrency,
                    50000,
                ),
            ]
        finally:
            server.terminate()
            server.wait(10)
    print(
        f"\ngunicorn gthread, {args.workers} worker(s), SQLite, {args.concurrency} client "
        f"threads, {args.seconds:.0f} s each (loopback)\n"
    )
    print("| operation | ops/s | n | p50 ms | p95 ms |\n|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['name']} | {r['ops']:.1f} | {r['n']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} |"
        )


if __name__ == "__main__":
    main()
