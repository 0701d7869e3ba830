"""Mail rendering: subject, plain text and HTML from ``templates/mail/<name>.{txt,html}`` in the
recipient's language, and the MIME message that carries them.

Runs inside an app context (the worker's, the CLI's or a request's) and never reads the request:
every link comes from the context, absolute and built from the configured issuer.
May import idp.config, idp.i18n (the language list), flask, flask_babel and jinja2.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from jinja2 import Environment
from jinja2 import StrictUndefined
from jinja2 import UndefinedError

from idp.config import Settings
from idp.i18n import LANGUAGES

ENV_KEY = "idp_mail_jinja"


class MailContextError(ValueError):
    """A mail's context lacks a value its template needs, or holds a link not from the issuer."""


def _subjects() -> dict[str, str]:
    return {
        "activation": _("Activate your customer space"),
        "account_exists": _("You already have a customer space account"),
        "customer_already_activated": _("Your customer number is already linked to an account"),
        "welcome": _("Your customer space account is ready"),
        "reset_password": _("Choose a new password for your customer space"),
        "password_changed": _("Your customer space password was changed"),
        "forgot_login": _("Your customer space login"),
        "email_change_confirm": _("Confirm the new e-mail address of your customer space"),
        "email_change_notice": _("The e-mail address of your customer space is changing"),
        "account_deleted": _("Your customer space account was deleted"),
    }


def period(seconds: int) -> str:
    """A lifetime in words, in the current locale: whole days, else hours, else minutes."""
    if seconds >= 86400 and seconds % 86400 == 0:
        return ngettext("%(num)d day", "%(num)d days", seconds // 86400)
    if seconds >= 3600 and seconds % 3600 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", seconds // 3600)
    return ngettext("%(num)d minute", "%(num)d minutes", max(1, -(-seconds // 60)))


def _rules(settings: Settings) -> dict[str, str]:
    """The sentences that state a link's limits, from the configured values (product §3.4)."""
    uses = settings.registration_link_max_uses
    return {
        "link_rule": ngettext(
            "For security reasons this link can be used only once within %(period)s.",
            "For security reasons this link can be used only %(num)d times within %(period)s.",
            uses,
            period=period(settings.registration_link_ttl),
        ),
        "reset_rule": _(
            "This link can be used once within %(period)s.",
            period=period(settings.password_reset_ttl),
        ),
    }


def _mail_env() -> Environment:
    """The app's Jinja environment (gettext, autoescape by extension) with strict undefined
    values, so a missing context key fails the mail instead of sending a hole."""
    env = current_app.extensions.get(ENV_KEY)
    if env is None:
        env = current_app.jinja_env.overlay(
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, cache_size=100
        )
        current_app.extensions[ENV_KEY] = env
    return env


def check_links(context: Mapping[str, Any], settings: Settings) -> None:
    """Every ``*link`` value is an absolute URL under the issuer (never the request's Host)."""
    for key, value in context.items():
        if key.endswith("link") and not str(value).startswith(settings.issuer + "/"):
            raise MailContextError(f"context {key!r} is not a link under the issuer")


def render(
    template: str, language: str, context: Mapping[str, Any], settings: Settings
) -> tuple[str, str, str]:
    """``(subject, text, html)`` of ``template`` in ``language`` (fr, nl, en, de; else the
    default language)."""
    language = language if language in LANGUAGES else settings.default_language
    check_links(context, settings)
    env = _mail_env()
    with force_locale(language):
        subject = _subjects()[template]
        values = {**context, **_rules(settings), "language": language, "subject": subject}
        try:
            text = env.get_template(f"mail/{template}.txt").render(values)
            html = env.get_template(f"mail/{template}.html").render(values)
        except UndefinedError as exc:
            raise MailContextError(f"{template}: {exc.message}") from None
    return subject, text.strip() + "\n", html.strip() + "\n"


def compose(
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    language: str,
    settings: Settings,
    message_key: tuple[int, datetime] | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text first, HTML preferred) from ``settings.mail_from``.

    ``message_key`` (outbox id, creation time) makes the Message-ID the same on every retry,
    so a receiver can drop the duplicate an at-least-once retry may produce.
    """
    domain = urlsplit(settings.issuer).hostname or "localhost"
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.mail_from
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    if message_key is None:
        message["Message-ID"] = make_msgid(domain=domain)
    else:
        mail_id, created_at = message_key
        message["Message-ID"] = f"<outbox.{mail_id}.{int(created_at.timestamp())}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a no-reply
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # After the parts: making the message multipart moves Content-* headers into the first part.
    message["Content-Language"] = language
    return message
