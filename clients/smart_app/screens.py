"""The Smart App's screens, served on its own loopback port (127.0.0.1 only) and shown in a
phone-sized page: terms, welcome, home, the not-eligible screen with its chat button, the
chat stand-in, and the loopback endpoints the provider sends the browser back to (/callback,
/logged-out, /initiate-login). Texts through Flask-Babel (the shared catalogue files).
Imports ``app``, ``oidc`` (its errors) and ``texts`` of this package, Flask and Flask-Babel."""

from __future__ import annotations

from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import Flask
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import Babel
from werkzeug.wrappers import Response

from clients.smart_app.app import SmartApp
from clients.smart_app.oidc import LoginCancelled
from clients.smart_app.oidc import LoginError
from clients.smart_app.oidc import NetworkError
from clients.smart_app.texts import CATALOGUES
from clients.smart_app.texts import LANGUAGES
from clients.smart_app.texts import NOTICES
from clients.smart_app.texts import reason_text

MAX_HINT = 254


def create_screens(smart_app: SmartApp, base_url: str, chat_url: str | None = None) -> Flask:
    """The screens of ``smart_app``, a WSGI app reached at ``base_url`` (http://127.0.0.1:port).
    ``chat_url`` is the app's chat entry point (the not-eligible screen opens it with the
    reason); by default the app's own chat stand-in, ``/chat``."""
    app = Flask(__name__)
    app.config["SMART_APP"] = smart_app
    app.config["BASE_URL"] = base_url.rstrip("/")
    app.config["CHAT_URL"] = chat_url
    Babel(
        app,
        locale_selector=lambda: _app().language,
        default_translation_directories=str(CATALOGUES),
    )
    issuer_origin = "{0.scheme}://{0.netloc}".format(urlsplit(smart_app.issuer))

    @app.before_request
    def only_this_device() -> None:
        # DNS rebinding (RFC 8252 §8.3 keeps the listener on 127.0.0.1; the Host check keeps
        # other sites' names off it) and cross-site form posts.
        if request.host != urlsplit(app.config["BASE_URL"]).netloc:
            abort(400)
        origin = request.headers.get("Origin")
        if request.method == "POST" and origin not in (None, app.config["BASE_URL"]):
            abort(403)

    @app.after_request
    def private_headers(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        # same-origin: our own form posts carry a real Origin (no-referrer makes it "null"), and
        # no other site ever sees a referrer (/callback carries the code).
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'; "
            f"form-action 'self' {issuer_origin}"
        )
        return response

    register_routes(app)
    return app


def _app() -> SmartApp:
    return current_app.config["SMART_APP"]


def _url(path: str) -> str:
    return f"{current_app.config['BASE_URL']}{path}"


def _render(template: str, status: int = 200, **context: object) -> tuple[str, int]:
    body = render_template(template, lang=_app().language, languages=LANGUAGES, **context)
    return body, status


def chat_link(reason: str | None) -> str:
    """The chat entry point, carrying why the customer comes (the eligibility reason)."""
    base = current_app.config["CHAT_URL"] or url_for("chat")
    query = urlencode({"reason": reason or "unknown", "topic": "eligibility"})
    return f"{base}{'&' if '?' in base else '?'}{query}"


def _hint() -> str | None:
    return (request.values.get("login_hint") or "")[:MAX_HINT] or None


def _start_login(login_hint: str | None, create: bool = False) -> Response:
    """Send the browser to the provider — after the terms, which come before anything."""
    smart_app = _app()
    if not smart_app.terms_accepted():
        return redirect(url_for("index", login_hint=login_hint), code=303)
    try:
        url = smart_app.begin_login(_url("/callback"), login_hint=login_hint, create=create)
    except (NetworkError, LoginError):
        smart_app.notice = "offline"
        return redirect(url_for("index"), code=303)
    return redirect(url, code=303)


def register_routes(app: Flask) -> None:
    """Attach the screens' routes."""

    @app.get("/")
    def index() -> tuple[str, int]:
        """The screen the app is on."""
        smart_app = _app()
        screen = smart_app.screen()
        if screen == "terms":
            return _render("terms.html", version=smart_app.terms_version, login_hint=_hint())
        if screen == "home":
            return _render("home.html", customer=smart_app.customer)
        if screen == "ineligible":
            reason = smart_app.refusal.reason if smart_app.refusal else None
            return _render(
                "ineligible.html", reason_text=reason_text(reason), chat_url=chat_link(reason)
            )
        notice = smart_app.take_notice()
        return _render("welcome.html", notice=NOTICES.get(notice or ""))

    @app.post("/terms")
    def accept_terms() -> Response | tuple[str, int]:
        """The box must be ticked, for the version that was shown."""
        smart_app = _app()
        if request.form.get("version") != smart_app.terms_version:
            return redirect(url_for("index"), code=303)
        if request.form.get("accept") != "yes":
            return _render(
                "terms.html", 400, version=smart_app.terms_version, login_hint=_hint(), error=True
            )
        smart_app.accept_terms()
        if _hint():
            return redirect(url_for("login", login_hint=_hint()), code=303)
        return redirect(url_for("index"), code=303)

    @app.get("/login")
    def login() -> Response:
        """The "log in" button: the provider's authorization endpoint in the browser."""
        return _start_login(_hint())

    @app.get("/register")
    def register() -> Response:
        """The "create an account" button: ``prompt=create`` (the registration pages)."""
        return _start_login(None, create=True)

    @app.get("/callback")
    def callback() -> Response:
        """RFC 8252 §7.3 loopback redirect: redeem the code, then home or the error screen;
        a customer who turned back at the provider finds the welcome screen again."""
        smart_app = _app()
        try:
            smart_app.finish_login(request.args.to_dict())
        except LoginCancelled:
            pass  # they changed their mind: the welcome screen, no error
        except (NetworkError, LoginError):
            smart_app.notice = "login_failed"
        return redirect(url_for("index"), code=303)

    @app.get("/chat")
    def chat() -> tuple[str, int]:
        """The app's chat entry point (a stand-in: a real app opens its chat here)."""
        reason = request.args.get("reason", "")[:64]
        return _render("chat.html", reason_text=reason_text(reason))

    @app.post("/dismiss")
    def dismiss() -> Response:
        """Leave the error screen for the welcome screen."""
        _app().refusal = None
        return redirect(url_for("index"), code=303)

    @app.post("/logout")
    def logout() -> Response:
        """Revoke the refresh token, then end the provider's session too (if it can)."""
        url = _app().logout(_url("/logged-out"))
        return redirect(url or url_for("index"), code=303)

    @app.get("/logged-out")
    def logged_out() -> Response:
        """The post_logout_redirect_uri: back on the welcome screen."""
        _app().finish_logout(request.args.get("state"))
        return redirect(url_for("index"), code=303)

    @app.get("/initiate-login")
    def initiate_login() -> Response | tuple[str, int]:
        """OIDC Core §4 initiate_login_uri: ``iss`` must be our provider; ``login_hint`` is
        passed on (the provider's "Retour vers l'app" after registration lands here)."""
        if not _app().accepts_initiation(request.args.get("iss")):
            return _render("refused.html", 400)
        return _start_login(_hint())

    @app.post("/language")
    def language() -> Response:
        """The language switch."""
        _app().set_language(request.form.get("language", ""))
        return redirect(url_for("index"), code=303)
