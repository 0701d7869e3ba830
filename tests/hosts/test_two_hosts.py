"""Two provider processes behind one name behave as one provider (product §7: several workers on
several hosts): each is served the production way (granian, as ``make serve`` runs it) on its
own port, both on one PostgreSQL database, one Redis rate-limit store and one keys directory.

A code issued by one is redeemed at the other; the OP session started at one is honoured by the
other; the per-login throttle counts at both; 20 parallel redemptions of one code across both
give one token; a key rotated through one signs at both (idp/key_reload.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import httpx
import pytest
from joserfc import jwt
from sqlalchemy import func
from sqlalchemy import select

from idp import create_app
from idp.extensions import db
from idp.keys import CURRENT
from idp.keys import read_keys
from idp.models import Base
from idp.models.base import token_hash
from idp.models.oauth import AuthorizationCode
from idp.models.oauth import Token
from idp.models.op_session import OpSession
from tests import presets
from tests.conftest import emptied
from tests.conftest import with_demo_data
from tests.oidc import ISSUER
from tests.oidc import AuthorizationRequest
from tests.oidc import authorize_with_login
from tests.oidc import authorize_with_session
from tests.oidc import exchange_code
from tests.oidc import start_login
from tests.oidc import submit_login
from tests.oidc import validate_id_token

POSTGRES_URL = os.environ.get("IDP_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL")
ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "two-hosts-secret-key-0123456789abcdef-0123456789"
RELOAD_INTERVAL = 1

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (POSTGRES_URL and REDIS_URL),
        reason="needs IDP_TEST_POSTGRES_URL and IDP_TEST_REDIS_URL (CI sets both)",
    ),
]


class Answer:
    """An httpx response with the Flask test-response methods the tests/oidc.py helpers use."""

    def __init__(self, response: httpx.Response):
        self.status_code = response.status_code
        self.headers = response.headers
        self.text = response.text
        self.mimetype = response.headers.get("content-type", "").split(";")[0]
        self._response = response

    def get_json(self) -> Any:
        return self._response.json()


class Host:
    """One provider process, driven like Flask's test client; the cookie jar is the browser's,
    shared by every host (cookies are per host name, not per port)."""

    def __init__(self, name: str, base_url: str, browser: httpx.Client):
        self.name, self.base_url, self.browser = name, base_url, browser

    def url(self, target: str) -> str:
        """``target`` (a path, or a URL of the provider) on this host."""
        parts = urlsplit(target)
        return self.base_url + urlunsplit(("", "", parts.path, parts.query, ""))

    def get(self, target: str, **kwargs: Any) -> Answer:
        return Answer(self.browser.get(self.url(target), **kwargs))

    def post(self, target: str, **kwargs: Any) -> Answer:
        return Answer(self.browser.post(self.url(target), **kwargs))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(keys_dir: Path) -> dict[str, str]:
    """The settings both hosts share (production would share them the same way)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    return {
        **base,
        "IDP_ENV": "development",
        "IDP_ISSUER": ISSUER,
        "IDP_SECRET_KEY": SECRET_KEY,
        "IDP_DATABASE_URL": POSTGRES_URL or "",
        "IDP_RATELIMIT_STORAGE_URL": REDIS_URL or "",
        "IDP_KEYS_DIR": str(keys_dir),
        "IDP_KEYS_RELOAD_INTERVAL": str(RELOAD_INTERVAL),
        "IDP_LOGIN_RATE_LIMIT": "1000/minute",
        "IDP_LOGIN_FREE_FAILURES": "1",
        "IDP_ARGON2_TIME_COST": str(presets.BASE["argon2_time_cost"]),
        "IDP_ARGON2_MEMORY_COST": str(presets.BASE["argon2_memory_cost"]),
    }


def serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start one host the way ``make serve`` does (granian, one worker); output to ``log``."""
    granian = Path(sys.executable).parent / "granian"
    command = [str(granian), "--interface", "wsgi", "--no-ws", "--workers", "1"]
    command += ["--blocking-threads", "4", "--host", "127.0.0.1", "--port", str(port), "wsgi:app"]
    with log.open("wb") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)


def wait_until_up(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            pytest.fail(f"{base_url} exited with {process.returncode}: {tail}")
        try:
            if httpx.get(f"{base_url}/.well-known/openid-configuration").status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail(f"{base_url} did not answer within 60 s")


@pytest.fixture(scope="module")
def cluster(keys_template, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The database (demo data, both clients) and two running hosts sharing it."""
    keys_dir = tmp_path_factory.mktemp("shared-keys")
    shutil.copytree(keys_template, keys_dir, dirs_exist_ok=True)
    settings = {**presets.BASE, "database_url": emptied(POSTGRES_URL), "keys_dir": str(keys_dir)}
    app = with_demo_data(create_app(settings))
    env = environment(keys_dir)
    ports = [free_port(), free_port()]
    logs = [keys_dir.parent / f"host-{port}.log" for port in ports]
    processes = [serve(env, port, log) for port, log in zip(ports, logs, strict=True)]
    try:
        for process, port, log in zip(processes, ports, logs, strict=True):
            wait_until_up(process, f"http://127.0.0.1:{port}", log)
        yield {"app": app, "env": env, "keys_dir": keys_dir, "ports": ports}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with app.app_context():
            db.session.remove()
            Base.metadata.drop_all(db.engine)
            db.engine.dispose()


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    """One browser (one cookie jar) that may talk to either host."""
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        yield client


@pytest.fixture
def hosts(cluster, browser) -> tuple[Host, Host]:
    """Host A and host B, seen from the one browser."""
    port_a, port_b = cluster["ports"]
    return Host("A", f"http://127.0.0.1:{port_a}", browser), Host(
        "B", f"http://127.0.0.1:{port_b}", browser
    )


def test_a_code_issued_by_one_host_is_redeemed_at_the_other(hosts):
    a, b = hosts
    request = AuthorizationRequest()
    callback = authorize_with_login(a, request)
    assert callback["iss"] == ISSUER
    response = exchange_code(b, request, callback["code"])
    assert response.status_code == 200, response.text
    tokens = response.get_json()
    validate_id_token(b, tokens["id_token"], "smart-app", request.nonce, tokens["access_token"])
    validate_id_token(a, tokens["id_token"], "smart-app", request.nonce, tokens["access_token"])
    info = a.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200 and info.get_json()["eligibility"]["eligible"] is True
    refreshed = b.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "smart-app",
        },
    )
    assert refreshed.status_code == 200, refreshed.text


def test_an_sso_session_started_at_one_host_is_honoured_by_the_other(hosts, cluster):
    a, b = hosts
    first = AuthorizationRequest()
    authorize_with_login(a, first)
    second = AuthorizationRequest.customer_space()
    callback = authorize_with_session(b, second)  # no login page: the OP session answers
    response = exchange_code(b, second, callback["code"])
    assert response.status_code == 200, response.text
    with cluster["app"].app_context():
        sid = db.session.scalar(
            select(AuthorizationCode.sid).where(
                AuthorizationCode.code_hash == token_hash(callback["code"])
            )
        )
        assert db.session.get(OpSession, sid) is not None


def test_the_login_throttle_counts_at_both_hosts(hosts):
    a, b = hosts
    login = f"{uuid.uuid4().hex}@example.be"
    statuses = []
    for host in (a, b, a, b):
        page = start_login(host, AuthorizationRequest())
        statuses.append(submit_login(host, page, login, "wrong-password").status_code)
    # One free failure, then a wait, for this login at both hosts together; each host
    # counting alone would have let all four through ([401, 401, 401, 401]).
    assert statuses == [401, 401, 429, 429]


def test_twenty_parallel_redemptions_across_both_hosts_give_one_token(hosts, cluster):
    a, b = hosts
    request = AuthorizationRequest()
    code = authorize_with_login(a, request)["code"]
    barrier = threading.Barrier(20)
    statuses: list[int | None] = [None] * 20

    def redeem(index: int) -> None:
        host = (a, b)[index % 2]
        with httpx.Client(timeout=30) as client:
            barrier.wait(timeout=30)
            data = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": request.redirect_uri,
                "code_verifier": request.code_verifier,
                "client_id": "smart-app",
            }
            statuses[index] = client.post(host.url("/token"), data=data).status_code

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses, key=str) == [200] + [400] * 19, statuses
    with cluster["app"].app_context():
        code_id = db.session.scalar(
            select(AuthorizationCode.id).where(AuthorizationCode.code_hash == token_hash(code))
        )
        issued = db.session.scalar(
            select(func.count()).select_from(Token).where(Token.code_id == code_id)
        )
    assert issued == 1


def signing_kid(host: Host) -> str:
    """The kid of a fresh ID token issued by ``host`` (the browser's OP session answers)."""
    request = AuthorizationRequest()
    callback = authorize_with_session(host, request)
    tokens = exchange_code(host, request, callback["code"]).get_json()
    return jwt.decode(tokens["id_token"], _any_key(host)).header["kid"]


def _any_key(host: Host) -> Any:
    from joserfc.jwk import KeySet

    return KeySet.import_key_set(host.get("/jwks.json").get_json())


def test_a_key_rotated_through_one_host_signs_at_both(hosts, cluster):
    a, b = hosts
    authorize_with_login(a, AuthorizationRequest())  # an OP session for the browser
    rotated = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "idp", "keys", "rotate"],
        cwd=ROOT,
        env=cluster["env"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rotated.returncode == 0, rotated.stderr
    new_kid = next(
        k.kid for k in read_keys(cluster["keys_dir"]) if k.alg == "RS256" and k.status == CURRENT
    )
    deadline = time.monotonic() + 10 * RELOAD_INTERVAL + 10
    seen: dict[str, str] = {}
    while time.monotonic() < deadline:
        seen = {host.name: signing_kid(host) for host in (a, b)}
        if set(seen.values()) == {new_kid}:
            break
        time.sleep(0.5)
    assert seen == {"A": new_kid, "B": new_kid}
    next_kids = {k.kid for k in read_keys(cluster["keys_dir"]) if k.status == "next"}
    for host in (a, b):
        published = {k["kid"] for k in host.get("/jwks.json").get_json()["keys"]}
        assert next_kids <= published
