"""Transports: SMTP for production (IDP_SMTP_URL) and, in development, a local directory of
``.eml`` files that the viewer at /_dev/mail reads.

A transport sends one message or raises TransportError, whose text never holds the SMTP
password. May import idp.config only.
"""

from __future__ import annotations

import os
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

from idp.config import Settings

DEFAULT_TIMEOUT = 30
TRUE = ("1", "true", "yes", "on")
STORED_NAME = re.compile(r"^[0-9]{8}T[0-9]{12}-[0-9a-f]{8}$")


class TransportError(Exception):
    """Delivery failed; ``permanent`` when retrying cannot help (the server refused the
    recipient for good)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    """Sends one message."""

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` or raise TransportError."""


@dataclass(frozen=True)
class SmtpTransport:
    """smtplib, one connection per message: ``smtp://`` (plain or ``?starttls=1``),
    ``smtps://`` (implicit TLS); ``user:password@`` logs in; ``?timeout=`` seconds."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_url(cls, url: str) -> SmtpTransport:
        """Parse IDP_SMTP_URL (percent-encoded user and password)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "IDP_SMTP_URL must look like smtp://host:587?starttls=1 or smtps://host"
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        implicit = parts.scheme == "smtps"
        starttls = query.get("starttls", "").lower() in TRUE
        default_port = 465 if implicit else (587 if starttls else 25)
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            implicit_tls=implicit,
            starttls=starttls and not implicit,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=float(query.get("timeout", DEFAULT_TIMEOUT)),
        )

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def send(self, message: EmailMessage) -> None:
        """Connect, (STARTTLS), (log in), send, quit."""
        try:
            with self._connect() as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _msg in exc.recipients.values()]
            raise TransportError(
                self._describe(exc), permanent=all(500 <= c < 600 for c in codes)
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(self._describe(exc)) from None

    def _describe(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}"
        if self.password:
            text = text.replace(self.password, "***")
        return f"{self.host}:{self.port}: {text}"


@dataclass(frozen=True)
class StoredMail:
    """A mail the directory transport wrote: its name (the viewer's id) and the message."""

    name: str
    message: EmailMessage


@dataclass(frozen=True)
class DirectoryTransport:
    """Development: each message becomes ``<UTC time>-<random>.eml`` in ``directory``."""

    directory: Path

    def send(self, message: EmailMessage) -> None:
        """Write the message atomically (a reader never sees half a file)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}"
            partial = self.directory / f".{name}.tmp"
            partial.write_bytes(message.as_bytes(policy=policy.SMTP))
            os.replace(partial, self.directory / f"{name}.eml")
        except OSError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None

    def names(self) -> list[str]:
        """Stored mails, newest first."""
        if not self.directory.is_dir():
            return []
        found = (p.stem for p in self.directory.glob("*.eml") if STORED_NAME.match(p.stem))
        return sorted(found, reverse=True)

    def read(self, name: str) -> StoredMail | None:
        """One stored mail by name; None for an unknown or malformed name."""
        path = self.directory / f"{name}.eml"
        if not STORED_NAME.match(name) or not path.is_file():
            return None
        with path.open("rb") as f:
            message = BytesParser(policy=policy.default).parse(f)
        assert isinstance(message, EmailMessage)
        return StoredMail(name, message)


def transport_for(settings: Settings) -> SmtpTransport | DirectoryTransport:
    """SMTP when IDP_SMTP_URL is set, else the development directory (IDP_MAIL_OUTBOX_DIR)."""
    if settings.smtp_url:
        return SmtpTransport.from_url(settings.smtp_url)
    return directory_transport(settings)


def directory_transport(settings: Settings) -> DirectoryTransport:
    """The development directory, relative to the repository root."""
    return DirectoryTransport(settings.path(settings.mail_outbox_dir))
