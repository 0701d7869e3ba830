"""Field validation shared by the views: each check returns the cleaned value and a message
key (None when the field is fine); the views turn keys into localised messages.

Imports idp.accounts.activation (formats) and idp.accounts.passwords (lengths) only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from idp.accounts.activation import is_activation_code
from idp.accounts.activation import is_customer_number
from idp.accounts.activation import normalise_activation_code
from idp.accounts.activation import normalise_customer_number
from idp.accounts.passwords import MAX_LENGTH
from idp.accounts.passwords import normalise

MAX_FIELD = 1024  # longer input is cut before any work; no valid value comes near it
MAX_EMAIL = 254  # RFC 5321 §4.5.3.1.3 (path) less the angle brackets
# One @, something on each side, a dot in the domain, no spaces or control characters.
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f.]+$")
# Logins are typed on phones and read on invoices: ASCII letters, digits and . _ - @ + '
LOGIN = re.compile(r"^[A-Za-z0-9._@+'\-]{3,254}$")

REQUIRED = "required"
EMAIL_INVALID = "email_invalid"
CUSTOMER_NUMBER_FORMAT = "customer_number_format"
ACTIVATION_CODE_FORMAT = "activation_code_format"
LOGIN_INVALID = "login_invalid"
PASSWORD_MISMATCH = "password_mismatch"
PASSWORD_TOO_LONG = "password_too_long"


@dataclass(frozen=True)
class Checked:
    """A field's cleaned value and its message key (None: no error)."""

    value: str
    error: str | None = None


def _text(raw: str | None) -> str:
    return (raw or "")[:MAX_FIELD]


def check_email(raw: str | None) -> Checked:
    """An e-mail address: trimmed, NFC, the domain lower-cased (the local part is kept)."""
    value = unicodedata.normalize("NFC", _text(raw).strip())
    if not value:
        return Checked(value, REQUIRED)
    if len(value) > MAX_EMAIL or not EMAIL.fullmatch(value):
        return Checked(value, EMAIL_INVALID)
    local, domain = value.rsplit("@", 1)
    return Checked(f"{local}@{domain.lower()}")


def _digits(
    raw: str | None, normalise: Callable[[str], str], valid: Callable[[str], bool], error: str
) -> Checked:
    """A number typed with separators: normalised when valid, else as typed with ``error``."""
    typed = _text(raw).strip()
    if not typed:
        return Checked(typed, REQUIRED)
    value = normalise(typed)
    return Checked(value) if valid(value) else Checked(typed, error)


def check_customer_number(raw: str | None) -> Checked:
    """product §2: 10 digits starting with 2; spaces, dots, slashes and dashes are ignored."""
    return _digits(raw, normalise_customer_number, is_customer_number, CUSTOMER_NUMBER_FORMAT)


def check_activation_code(raw: str | None) -> Checked:
    """product §2: 10 digits; separators are ignored."""
    return _digits(raw, normalise_activation_code, is_activation_code, ACTIVATION_CODE_FORMAT)


def check_login(raw: str | None) -> Checked:
    """A login: 3 to 254 of the characters people can type anywhere (unique case-insensitively,
    which the service checks)."""
    value = _text(raw).strip()
    if not value:
        return Checked(value, REQUIRED)
    return Checked(value) if LOGIN.fullmatch(value) else Checked(value, LOGIN_INVALID)


def check_new_password(password: str | None, confirm: str | None) -> tuple[str | None, str | None]:
    """Keys for the password and the confirmation fields; the policy itself is the service's.

    Passwords are never stripped nor cut: an overlong one is refused, not truncated.
    """
    password, confirm = password or "", confirm or ""
    if not password:
        return REQUIRED, None
    if len(password) > MAX_LENGTH * 4:  # far past the policy's limit: do not even normalise
        return PASSWORD_TOO_LONG, None
    if normalise(password) != normalise(confirm):
        return None, PASSWORD_MISMATCH
    return None, None
