"""Mail delivery (issue "Mail"): the outbox against a real SMTP server on loopback (aiosmtpd),
a server that is down (nothing lost, retried with backoff, given up after max attempts), two
workers at once (each mail sent once), the background worker, the CLI, the development
viewer and the "view online" page."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from idp.delivery_admin import Backlog
from idp.extensions import db
from idp.mail import outbox
from idp.mail.links import online_mail_id
from idp.mail.links import view_online_link
from idp.mail.outbox import VIEW_ONLINE
from idp.mail.outbox import backoff
from idp.mail.outbox import deliver_pending
from idp.mail.outbox import forget_old_contexts
from idp.mail.transports import DirectoryTransport
from idp.mail.transports import SmtpTransport
from idp.mail.transports import TransportError
from idp.mail.transports import transport_for
from idp.models.base import utcnow
from idp.models.outbox import OutboxMail
from idp.views.mail_online import MAIL_CSP
from idp.worker import Worker
from idp.worker import backlogs
from tests.mail import TO
from tests.mail import add_mail
from tests.mail import free_port
from tests.mail import row
from tests.mail import start_smtp

SMTP_PASSWORD = "s3cret-smtp-pass"


@pytest.fixture
def overrides(tmp_path):
    """Delivered development mail goes to this test's own directory."""
    return {"mail_outbox_dir": str(tmp_path / "outbox")}


@pytest.fixture
def settings(app):
    return app.config["IDP"]


@pytest.fixture
def smtp():
    """A real SMTP server on loopback: (transport to it, its inbox)."""
    port = free_port()
    controller, inbox = start_smtp(port)
    yield SmtpTransport.from_url(f"smtp://127.0.0.1:{port}?timeout=5"), inbox
    controller.stop()


def deliver(app, transport, **kwargs):
    with app.app_context():
        return deliver_pending(db.session, transport, app.config["IDP"], **kwargs)


# ---- SMTP ---------------------------------------------------------------------------------


def test_delivers_multipart_alternative_over_smtp(app, settings, smtp):
    transport, inbox = smtp
    mail_id = add_mail(app, "activation", language="fr")
    result = deliver(app, transport)
    assert (result.sent, result.given_up, result.retrying) == (1, 0, 0)
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == [TO]
    [message] = inbox.messages()
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["To"] == TO
    assert message["From"] == settings.mail_from
    with app.app_context():
        from idp.mail.render import render

        expected_subject = render("activation", "fr", {"link": f"{settings.issuer}/x"}, settings)[0]
    assert message["Subject"] == expected_subject
    assert message["Content-Language"] == "fr"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    activation_link = f"{settings.issuer}/register/tok3n"
    assert activation_link in text and activation_link in html
    # The token is timestamped at delivery: compare what it names, not its bytes.
    online = re.search(rf"{re.escape(settings.issuer)}/mail/([A-Za-z0-9_.-]+)", text)
    assert online and online_mail_id(settings, online.group(1)) == mail_id
    assert view_online_link(settings, mail_id).rsplit("/", 1)[0] + "/" in text
    sent = row(app, mail_id)
    assert sent.sent_at is not None and sent.attempts == 1 and sent.last_error is None
    assert sent.context == {"link": f"{settings.issuer}/register/tok3n"}  # kept for "view online"


def test_context_is_cleared_once_sent_unless_a_view_online_page_needs_it(app, smtp):
    transport, _inbox = smtp
    assert "forgot_login" not in VIEW_ONLINE
    mail_id = add_mail(app, "forgot_login")
    assert deliver(app, transport).sent == 1
    assert row(app, mail_id).context is None
    assert deliver(app, transport).sent == 0  # sent once only


def test_server_down_loses_nothing_and_retries_later(app, smtp):
    transport, inbox = smtp
    down = SmtpTransport.from_url(f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{free_port()}")
    mail_id = add_mail(app)
    before = utcnow()
    result = deliver(app, down)
    assert (result.sent, result.given_up, result.retrying) == (0, 0, 1)
    waiting = row(app, mail_id)
    assert waiting.attempts == 1 and waiting.sent_at is None and waiting.given_up_at is None
    assert waiting.next_try_at >= before + backoff(1)
    assert waiting.last_error and "Connection" in waiting.last_error
    assert SMTP_PASSWORD not in waiting.last_error
    assert waiting.context is not None
    assert deliver(app, transport).sent == 0  # not due yet: backoff
    later = deliver(app, transport, now=waiting.next_try_at + timedelta(seconds=1))
    assert later.sent == 1 and len(inbox.envelopes) == 1
    delivered = row(app, mail_id)
    assert delivered.sent_at is not None and delivered.attempts == 2


def test_gives_up_after_max_attempts(app):
    down = SmtpTransport.from_url(f"smtp://127.0.0.1:{free_port()}")
    mail_id = add_mail(app)
    now = utcnow()
    outcomes = []
    for _ in range(3):
        result = deliver(app, down, now=now, max_attempts=3)
        outcomes.append((result.retrying, result.given_up))
        now = row(app, mail_id).next_try_at + timedelta(seconds=1)
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    given_up = row(app, mail_id)
    assert given_up.given_up_at is not None and given_up.attempts == 3 and given_up.sent_at is None
    assert deliver(app, down, now=now + timedelta(days=1)).given_up == 0  # never tried again


def test_a_permanently_refused_recipient_is_given_up_at_once(app, smtp):
    transport, inbox = smtp
    mail_id = add_mail(app, to="refused@example.be")
    result = deliver(app, transport)
    assert (result.sent, result.given_up, result.retrying) == (0, 1, 0)
    refused = row(app, mail_id)
    assert refused.given_up_at is not None and "550" in refused.last_error
    assert inbox.envelopes == []


def test_smtp_login_failure_keeps_the_password_out_of_last_error(app):
    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=False, handled=False)

    port = free_port()
    controller, _inbox = start_smtp(port, authenticator=authenticator, auth_require_tls=False)
    try:
        mail_id = add_mail(app)
        transport = SmtpTransport.from_url(f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{port}")
        assert deliver(app, transport).retrying == 1
    finally:
        controller.stop()
    error = row(app, mail_id).last_error
    assert "SMTPAuthenticationError" in error and SMTP_PASSWORD not in error


def test_smtp_login_success(app):
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == SMTP_PASSWORD.encode())

    port = free_port()
    controller, inbox = start_smtp(port, authenticator=authenticator, auth_require_tls=False)
    try:
        add_mail(app)
        transport = SmtpTransport.from_url(f"smtp://mail%40er:{SMTP_PASSWORD}@127.0.0.1:{port}")
        assert deliver(app, transport).sent == 1
    finally:
        controller.stop()
    assert seen == [(b"mail@er", SMTP_PASSWORD.encode())] and len(inbox.envelopes) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mx.example.be", ("mx.example.be", 25, False, False, None, None, 30)),
        (
            "smtp://u:p%40ss@mx.example.be?starttls=1&timeout=7",
            ("mx.example.be", 587, False, True, "u", "p@ss", 7),
        ),
        (
            "smtp://mx.example.be:2525?starttls=true",
            ("mx.example.be", 2525, False, True, None, None, 30),
        ),
        ("smtps://u:p@mx.example.be", ("mx.example.be", 465, True, False, "u", "p", 30)),
    ],
)
def test_smtp_url_options(url, expected):
    t = SmtpTransport.from_url(url)
    assert (
        t.host,
        t.port,
        t.implicit_tls,
        t.starttls,
        t.username,
        t.password,
        t.timeout,
    ) == expected


@pytest.mark.parametrize("url", ["http://mx.example.be", "smtp://", "mx.example.be:25"])
def test_malformed_smtp_url_is_refused(url):
    with pytest.raises(ValueError):
        SmtpTransport.from_url(url)


def test_transport_follows_the_settings(settings, tmp_path):
    assert isinstance(transport_for(settings), DirectoryTransport)
    assert transport_for(settings).directory == tmp_path / "outbox"
    smtp_settings = dataclasses.replace(settings, smtp_url="smtps://mx.example.be")
    assert isinstance(transport_for(smtp_settings), SmtpTransport)


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (20, 3600)]
)
def test_backoff_doubles_up_to_an_hour(attempts, seconds):
    assert backoff(attempts) == timedelta(seconds=seconds)


# ---- several workers ----------------------------------------------------------------------


class RecordingTransport:
    """Counts every message it is asked to send (slowly, so workers overlap)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def send(self, message) -> None:
        time.sleep(0.005)
        with self.lock:
            self.sent.append(message["To"])


def test_two_workers_at_once_send_each_mail_once(app):
    ids = [add_mail(app, to=f"klant{i}@example.be") for i in range(30)]
    transport = RecordingTransport()
    start = threading.Barrier(2)
    results, errors = [], []

    def worker() -> None:
        try:
            with app.app_context():
                start.wait()
                results.append(deliver_pending(db.session, transport, app.config["IDP"]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(transport.sent) == sorted(f"klant{i}@example.be" for i in range(30))
    assert sum(r.sent for r in results) == 30
    assert all(row(app, i).sent_at is not None for i in ids)


class CrashingTransport:
    """Hands the message to ``inner`` (the SMTP server accepts it), then the worker "dies"
    before recording that: a BaseException, which delivery does not catch, like a kill."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def send(self, message) -> None:
        self.inner.send(message)
        raise KeyboardInterrupt("worker killed after the server accepted the mail")


@pytest.mark.settings(delivery_lease=30)
def test_a_worker_dying_after_acceptance_resends_after_the_lease_with_the_same_message_id(
    app, smtp
):
    transport, inbox = smtp
    mail_id = add_mail(app)
    now = utcnow()
    with pytest.raises(KeyboardInterrupt):
        deliver(app, CrashingTransport(transport), now=now)
    claimed = row(app, mail_id)
    assert claimed.sent_at is None and claimed.claimed_by and claimed.attempts == 1
    assert claimed.claimed_until <= now + timedelta(seconds=31)  # the short lease
    assert deliver(app, transport, now=now + timedelta(seconds=29)).sent == 0  # still held
    assert deliver(app, transport, now=now + timedelta(seconds=31)).sent == 1
    first, again = inbox.messages()
    assert first["Message-ID"] == again["Message-ID"]  # the receiver can drop the duplicate
    sent = row(app, mail_id)
    assert sent.attempts == 2 and sent.claimed_by is None and sent.claimed_until is None


class FlakyTransport:
    """Fails the first message with a temporary error, then hands messages to ``inner``; keeps
    every message it was given."""

    def __init__(self, inner) -> None:
        self.inner, self.seen = inner, []

    def send(self, message) -> None:
        self.seen.append(message)
        if len(self.seen) == 1:
            raise TransportError("451 4.3.0 try again later")
        self.inner.send(message)


def test_every_attempt_carries_the_same_message_id(app, smtp):
    transport, inbox = smtp
    flaky = FlakyTransport(transport)
    mail_id = add_mail(app)
    assert deliver(app, flaky).retrying == 1
    later = row(app, mail_id).next_try_at + timedelta(seconds=1)
    assert deliver(app, flaky, now=later).sent == 1
    first, second = flaky.seen
    assert first["Message-ID"] == second["Message-ID"] == inbox.messages()[0]["Message-ID"]
    assert re.fullmatch(rf"<outbox\.{mail_id}\.[0-9]+@localhost>", first["Message-ID"])


class WatchingTransport:
    """Before sending each message, reads (on its own connection) which mails are already
    marked sent; records the time the server accepted each message."""

    def __init__(self, app, inner) -> None:
        self.app, self.inner = app, inner
        self.sent_before: list[set[int]] = []
        self.accepted_at: list = []

    def send(self, message) -> None:
        with self.app.app_context(), db.engine.connect() as connection:
            done = connection.execute(
                select(OutboxMail.id).where(OutboxMail.sent_at.is_not(None))
            ).scalars()
            self.sent_before.append(set(done))
        time.sleep(0.05)
        self.inner.send(message)
        self.accepted_at.append(utcnow())


def test_each_mail_is_marked_sent_right_after_it_is_sent_at_its_own_time(app, smtp):
    transport, inbox = smtp
    ids = [add_mail(app, to=f"klant{i}@example.be") for i in range(3)]
    watching = WatchingTransport(app, transport)
    assert deliver(app, watching).sent == 3
    assert watching.sent_before == [set(), {ids[0]}, {ids[0], ids[1]}]  # not per batch
    sent_at = [row(app, i).sent_at for i in ids]
    for accepted, recorded in zip(watching.accepted_at, sent_at, strict=True):
        assert recorded >= accepted  # each mail's own time, not the batch's start
    assert sent_at == sorted(sent_at) and len(set(sent_at)) == 3


class SlowTransport:
    """Takes ``seconds`` to send each message (a slow SMTP server)."""

    def __init__(self, inner, seconds: float) -> None:
        self.inner, self.seconds = inner, seconds

    def send(self, message) -> None:
        time.sleep(self.seconds)
        self.inner.send(message)


@pytest.mark.slow
@pytest.mark.settings(delivery_lease=3)
def test_a_slow_send_keeps_its_lease_while_the_heartbeat_renews_it(app, smtp):
    """A send that lasts twice the lease is not taken over by a second worker."""
    transport, inbox = smtp
    mail_id = add_mail(app)
    results = []
    first = threading.Thread(
        target=lambda: results.append(deliver(app, SlowTransport(transport, 6)))
    )
    first.start()
    deadline = time.monotonic() + 10
    while row(app, mail_id).claimed_by is None and time.monotonic() < deadline:
        time.sleep(0.05)
    claimed_until = row(app, mail_id).claimed_until
    second_rounds = []
    while first.is_alive():
        second_rounds.append(deliver(app, transport).sent)  # a second worker keeps looking
        time.sleep(0.5)
    first.join()
    assert results[0].sent == 1 and sum(second_rounds) == 0 and len(second_rounds) >= 8
    assert len(inbox.envelopes) == 1
    assert row(app, mail_id).attempts == 1
    assert row(app, mail_id).sent_at > claimed_until  # it outlived its first lease


def test_backlogs_count_waiting_due_and_given_up_rows_for_metrics(app, smtp):
    """idp.worker.backlogs: what /metrics and /readyz read (sent rows are not counted)."""
    transport, _inbox = smtp
    sent, retrying, given_up, due = (add_mail(app, to=f"klant{i}@example.be") for i in range(4))
    now = utcnow()
    with app.app_context():
        for mail_id, values in {
            sent: {"sent_at": now},
            retrying: {"attempts": 1, "next_try_at": now + timedelta(minutes=1)},
            given_up: {"attempts": 10, "given_up_at": now},
            due: {"next_try_at": now - timedelta(minutes=5)},
        }.items():
            for name, value in values.items():
                setattr(db.session.get(OutboxMail, mail_id), name, value)
        db.session.commit()
        state = backlogs(db.session)
    assert set(state) == {"mail", "logout"}
    assert state["logout"] == Backlog(waiting=0, due=0, given_up=0, oldest_due_at=None)
    assert state["mail"] == Backlog(
        waiting=2, due=1, given_up=1, oldest_due_at=row(app, due).next_try_at
    )


# ---- the worker ---------------------------------------------------------------------------


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def delivery_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.endswith("delivery")]


def test_the_provider_runs_no_delivery_thread(app, test_client):
    """Delivery is the worker process's job (idp/worker.py), not a thread in each provider."""
    mail_id = add_mail(app)
    assert test_client.get("/.well-known/openid-configuration").status_code == 200
    time.sleep(0.2)
    assert delivery_threads() == []
    assert row(app, mail_id).sent_at is None


@pytest.fixture
def running_worker(app):
    """The worker loop (what ``idp worker`` runs) in a thread of this process; stopped after."""
    worker = Worker(app)
    thread = threading.Thread(target=worker.run)
    yield worker, thread
    worker.stop.set()
    thread.join(10)
    assert not thread.is_alive()


@pytest.mark.settings(worker_interval=1)
def test_the_worker_delivers_without_any_request_and_stops(app, running_worker, tmp_path):
    worker, thread = running_worker
    thread.start()
    mail_id = add_mail(app)
    assert wait_until(lambda: row(app, mail_id).sent_at is not None, timeout=5)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    worker.stop.set()
    thread.join(5)
    assert not thread.is_alive() and delivery_threads() == []


@pytest.mark.settings(worker_interval=1)
def test_the_worker_survives_database_errors(app, running_worker, monkeypatch, caplog):
    worker, thread = running_worker
    real = outbox.deliver_pending
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT 1", {}, Exception("database is down"))
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox, "deliver_pending", flaky)
    mail_id = add_mail(app)
    thread.start()
    assert wait_until(lambda: row(app, mail_id).sent_at is not None, timeout=5)
    assert len(calls) >= 2
    assert "mail delivery round failed" in caplog.text


def test_a_stop_finishes_the_message_in_hand_and_leaves_the_rest(app, smtp):
    """What SIGTERM does (idp.worker.stop_on_signals sets the flag): no claim is left."""
    transport, inbox = smtp
    ids = [add_mail(app, to=f"klant{i}@example.be") for i in range(5)]
    stop = threading.Event()

    class StoppingTransport:
        def send(self, message) -> None:
            transport.send(message)
            stop.set()  # the signal arrives while the first mail is being sent

    with app.app_context():
        settings = app.config["IDP"]
        result = deliver_pending(db.session, StoppingTransport(), settings, stop=stop)
    assert (result.sent, result.retrying, result.given_up) == (1, 0, 0)
    rows = [row(app, i) for i in ids]
    assert rows[0].sent_at is not None and len(inbox.envelopes) == 1
    assert all(r.sent_at is None and r.attempts == 0 for r in rows[1:])
    assert all(r.claimed_by is None for r in rows)


# ---- CLI ----------------------------------------------------------------------------------


def test_cli_deliver_list_and_requeue(app, runner, tmp_path):
    add_mail(app)
    listed = runner.invoke(args=["idp", "mail", "list"])
    assert listed.exit_code == 0, listed.output
    assert "waiting 1, given up 0, sent 0" in listed.output
    result = runner.invoke(args=["idp", "mail", "deliver"])
    assert result.exit_code == 0, result.output
    assert "sent 1, retrying 0, given up 0" in result.output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert "waiting 0, given up 0, sent 1" in runner.invoke(args=["idp", "mail", "list"]).output

    failed_id = add_mail(app)
    with app.app_context():
        db.session.get(OutboxMail, failed_id).given_up_at = utcnow()
        db.session.commit()
    assert "given up 1" in runner.invoke(args=["idp", "mail", "list"]).output
    requeued = runner.invoke(args=["idp", "mail", "requeue"])
    assert "requeued 1" in requeued.output
    assert "sent 1, retrying 0, given up 0" in runner.invoke(args=["idp", "mail", "deliver"]).output


# ---- development viewer -------------------------------------------------------------------


def test_dev_viewer_lists_and_shows_delivered_mail(app, settings, test_client):
    add_mail(app, "forgot_login", language="en")
    add_mail(app, "activation", language="en")
    assert deliver(app, transport_for(settings)).sent == 2
    index = test_client.get("/_dev/mail")
    assert index.status_code == 200
    subjects = re.findall(r'<a href="/_dev/mail/([^"]+)">([^<]+)</a>', index.text)
    assert [s for _n, s in subjects] == [
        "Activate your customer space",
        "Your customer space login",
    ]  # newest first
    name = subjects[0][0]
    detail = test_client.get(f"/_dev/mail/{name}")
    assert detail.status_code == 200
    assert "Dear customer," in detail.text
    assert "&lt;!doctype html&gt;" in detail.text  # the HTML part shown as source
    assert "<table" not in detail.text
    raw = test_client.get(f"/_dev/mail/{name}/html")
    assert raw.status_code == 200 and raw.text.startswith("<!doctype html>")
    assert raw.headers["Content-Security-Policy"] == MAIL_CSP
    assert "sandbox" in raw.headers["Content-Security-Policy"]
    assert test_client.get("/_dev/mail/nonexistent").status_code == 404
    assert test_client.get("/_dev/mail/..%2F..%2Fidp.sqlite3").status_code == 404


def test_dev_viewer_is_absent_outside_development(app, settings, test_client, monkeypatch):
    add_mail(app)
    deliver(app, transport_for(settings))
    name = DirectoryTransport(settings.path(settings.mail_outbox_dir)).names()[0]
    monkeypatch.setitem(app.config, "IDP", dataclasses.replace(settings, env="production"))
    for path in ("/_dev/mail", f"/_dev/mail/{name}", f"/_dev/mail/{name}/html"):
        assert test_client.get(path).status_code == 404, path


# ---- "view online" ------------------------------------------------------------------------


def online_path(app, settings, mail_id: int) -> str:
    return view_online_link(settings, mail_id).removeprefix(settings.issuer)


def test_view_online_page_shows_the_activation_mail(app, settings, test_client):
    mail_id = add_mail(app, "activation", language="en")
    deliver(app, transport_for(settings))
    page = test_client.get(online_path(app, settings, mail_id), base_url="http://evil.example:8443")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == MAIL_CSP
    assert "noindex" in page.headers["X-Robots-Tag"]
    assert "Continue my activation" in page.text
    assert f'href="{settings.issuer}/register/tok3n"' in page.text
    assert "View the online version." not in page.text
    assert "evil.example" not in page.text


def test_view_online_refuses_forged_foreign_unsent_and_expired_mail(app, settings, test_client):
    unsent = add_mail(app, "activation")
    assert test_client.get(online_path(app, settings, unsent)).status_code == 404
    deliver(app, transport_for(settings))
    path = online_path(app, settings, unsent)
    assert test_client.get(path).status_code == 200
    tampered = path[:-2] + ("BB" if path.endswith("AA") else "AA")
    assert test_client.get(tampered).status_code == 404
    other_key = dataclasses.replace(settings, secret_key="another-secret-key-0123456789abcdef")
    assert test_client.get(online_path(app, other_key, unsent)).status_code == 404
    not_activation = add_mail(app, "forgot_login")
    deliver(app, transport_for(settings))
    assert test_client.get(online_path(app, settings, not_activation)).status_code == 404
    with app.app_context():  # the registration link's lifetime has passed
        mail = db.session.get(OutboxMail, unsent)
        mail.created_at = utcnow() - timedelta(seconds=settings.registration_link_ttl + 1)
        db.session.commit()
    assert test_client.get(path).status_code == 404


def test_expired_view_online_context_is_forgotten(app, settings):
    mail_id = add_mail(app, "activation")
    deliver(app, transport_for(settings))
    assert row(app, mail_id).context is not None
    with app.app_context():
        assert forget_old_contexts(db.session, settings) == 0  # still within the link's life
        later = utcnow() + timedelta(seconds=settings.registration_link_ttl + 1)
        assert forget_old_contexts(db.session, settings, later) == 1
    assert row(app, mail_id).context is None
