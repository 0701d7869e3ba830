"""/healthz, /readyz and /metrics (issue 9 "what operators expect"), and the request id every
answer carries (X-Request-Id, error pages, log lines)."""

from __future__ import annotations

import json
import logging
import re

import pytest

from idp.extensions import db
from idp.logs import DevelopmentServerFilter
from idp.logs import json_handler
from idp.models.outbox import OutboxMail
from tests.oidc import AuthorizationRequest
from tests.oidc import login_and_get_tokens

PRODUCTION_LIKE_METRICS = {"metrics_networks": "off"}


def test_healthz_answers_without_touching_anything(test_client):
    response = test_client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_on_a_working_provider(test_client):
    response = test_client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.get_json() == {
        "status": "ready",
        "database": "ok",
        "signing_keys": "ok",
        "backlog": "ok",
    }


@pytest.mark.settings(ready_max_backlog=2)
def test_readyz_fails_when_the_mail_backlog_passes_the_threshold(app, test_client):
    with app.app_context():
        for n in range(3):
            db.session.add(
                OutboxMail(
                    to_address=f"p{n}@example.be", template="activation", language="fr", context={}
                )
            )
        db.session.commit()
    response = test_client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["backlog"] == "failing"
    assert response.get_json()["database"] == "ok"


def test_readyz_fails_without_signing_keys(app, test_client):
    app.extensions["idp_keyring"].signing.clear()
    response = test_client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["signing_keys"] == "failing"


def test_readyz_and_healthz_are_never_throttled(test_client):
    assert {test_client.get("/readyz").status_code for _ in range(30)} == {200}
    assert {test_client.get("/healthz").status_code for _ in range(30)} == {200}


def test_metrics_count_logins_tokens_and_requests_per_endpoint(test_client):
    """Development answers loopback (the test client comes from 127.0.0.1)."""
    before = _samples(test_client)
    login_and_get_tokens(test_client, AuthorizationRequest())
    after = _samples(test_client)

    def grew(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert grew('idp_security_events_total{event="login_succeeded"}') == 1
    assert grew('idp_tokens_issued_total{grant_type="authorization_code"}') == 1
    assert grew('idp_http_requests_total{endpoint="oauth.token",method="POST",status="200"}') == 1
    assert grew('idp_http_request_duration_seconds_count{endpoint="oauth.token"}') == 1
    assert 'idp_mail_backlog{state="due"}' in after
    assert 'idp_logout_backlog{state="given_up"}' in after


def test_metrics_count_a_failed_login(test_client):
    before = _samples(test_client)
    request = AuthorizationRequest()
    page = test_client.get(request.url()).headers["Location"]
    from tests.oidc import submit_login

    assert submit_login(test_client, page, "demo.actif@example.be", "wrong").status_code == 401
    after = _samples(test_client)
    key = 'idp_security_events_total{event="login_failed"}'
    assert after[key] - before.get(key, 0.0) == 1


@pytest.mark.settings(**PRODUCTION_LIKE_METRICS)
def test_metrics_off_answers_404(test_client):
    assert test_client.get("/metrics").status_code == 404


@pytest.mark.settings(metrics_networks="10.0.0.0/8")
def test_metrics_only_from_listed_networks(test_client):
    assert test_client.get("/metrics").status_code == 404
    inside = test_client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert inside.status_code == 200
    assert inside.content_type.startswith("text/plain")


@pytest.mark.settings(metrics_networks="10.0.0.0/8", trusted_proxies=1)
def test_metrics_judge_the_forwarded_address_behind_a_trusted_proxy(test_client):
    """A stranger behind the proxy (which itself is on the allowed network) is refused."""
    outside = test_client.get(
        "/metrics",
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert outside.status_code == 404


def _samples(test_client) -> dict[str, float]:
    response = test_client.get("/metrics")
    assert response.status_code == 200, response.text
    samples = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


# ---- request id -------------------------------------------------------------------------


def test_every_answer_carries_a_generated_request_id(test_client):
    first = test_client.get("/healthz").headers["X-Request-Id"]
    second = test_client.get("/healthz").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_a_request_id_from_an_untrusted_client_is_ignored(test_client):
    response = test_client.get("/healthz", headers={"X-Request-Id": "chosen-by-attacker"})
    assert response.headers["X-Request-Id"] != "chosen-by-attacker"


@pytest.mark.settings(trusted_proxies=1)
def test_a_trusted_proxy_names_the_request(test_client):
    response = test_client.get("/healthz", headers={"X-Request-Id": "proxy-42.abc"})
    assert response.headers["X-Request-Id"] == "proxy-42.abc"
    hostile = test_client.get("/healthz", headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Request-Id"])


def test_the_error_page_shows_the_request_id_of_its_log_line(app, test_client, caplog):
    """Support finds a customer's failed request: the 500 page and the log line share the id."""

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_url_rule("/_test/broken", "broken", broken)
    with caplog.at_level(logging.ERROR):
        response = test_client.get("/_test/broken")
    assert response.status_code == 500
    request_id = response.headers["X-Request-Id"]
    assert request_id in response.text
    records = [r for r in caplog.records if r.levelno >= logging.ERROR]
    line = json.loads(json_handler().format(records[-1]))
    assert line["request_id"] == request_id
    assert line["level"] == "ERROR" and "time" in line and "message" in line


def test_the_oauth_error_page_shows_the_request_id(test_client):
    response = test_client.get("/authorize?client_id=nobody&response_type=code")
    assert response.status_code == 400
    assert response.headers["X-Request-Id"] in response.text


def access_lines(caplog) -> list[dict]:
    return [json.loads(json_handler().format(r)) for r in caplog.records if r.name == "idp.access"]


@pytest.mark.parametrize(
    ("url", "route", "secret"),
    [
        ("/reset/s3cr3t-reset-token", "/reset/<token>", "s3cr3t-reset-token"),
        ("/register/s3cr3t-link-token", "/register/<token>", "s3cr3t-link-token"),
        ("/authorize?client_id=x&login_hint=jan%40example.be", "/authorize", "example.be"),
        ("/no/such/s3cr3t", "(no route)", "s3cr3t"),
    ],
    ids=["reset-link", "registration-link", "authorization-request", "unknown-path"],
)
def test_one_access_line_per_request_names_the_route_never_the_url(
    test_client, caplog, url, route, secret
):
    """Mail links carry their secret in the path, authorization requests an e-mail address in
    the query: the access line names the declared route, with the request id and status."""
    with caplog.at_level(logging.INFO, logger="idp.access"):
        response = test_client.get(url)
    [line] = access_lines(caplog)
    assert line["route"] == route and line["method"] == "GET"
    assert line["status"] == response.status_code
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert secret not in json.dumps(line)


@pytest.mark.settings(access_log="off")
def test_no_access_line_when_the_operator_turns_them_off(test_client, caplog):
    with caplog.at_level(logging.INFO, logger="idp.access"):
        response = test_client.get("/healthz")
    assert response.status_code == 200 and response.headers["X-Request-Id"]
    assert access_lines(caplog) == []


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("werkzeug", logging.INFO, __file__, 1, message, None, None)


def test_the_development_server_request_lines_are_dropped():
    line = '127.0.0.1 - - [29/Nov/2026 09:17:48] "GET /reset/s3cr3t HTTP/1.1" 200 -'
    assert DevelopmentServerFilter().filter(record(line)) is False


def test_the_development_server_colour_codes_are_stripped():
    kept = record("\x1b[33mPress CTRL+C to quit\x1b[0m")
    assert DevelopmentServerFilter().filter(kept) is True
    assert kept.getMessage() == "Press CTRL+C to quit"
