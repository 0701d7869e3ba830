"""The words pages say about refused input: one table per idea, shared by every page.

Field checks (idp.forms keys) and password policy reasons (idp.accounts.passwords.Reason) map
to localised messages here, so registration and recovery say the same thing the same way.
Imports idp.forms and idp.accounts.passwords.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from idp import forms
from idp.accounts.passwords import MAX_LENGTH
from idp.accounts.passwords import Reason


def _too_long() -> str:
    return _("This password is too long: use at most %(max)d characters.", max=MAX_LENGTH)


def field_message(key: str | None, required: str | None = None) -> str | None:
    """The message for an idp.forms key (None: no error). ``required`` words the empty field
    for pages that name it ("Enter your e-mail address.")."""
    if key is None:
        return None
    if key == forms.REQUIRED and required is not None:
        return required
    messages = {
        forms.REQUIRED: _("Please fill in this field."),
        forms.EMAIL_INVALID: _("Enter an e-mail address such as name@example.be."),
        forms.CUSTOMER_NUMBER_FORMAT: _("The customer number has 10 digits and starts with 2."),
        forms.ACTIVATION_CODE_FORMAT: _("The activation code has 10 digits."),
        forms.LOGIN_INVALID: _(
            "Use 3 to 254 characters: letters without accents, digits and . _ - @ + '"
        ),
        forms.PASSWORD_MISMATCH: _("The two passwords are not the same."),
        forms.PASSWORD_TOO_LONG: _too_long(),
    }
    return messages[key]


def password_refusal_messages(reasons: list[Reason]) -> list[str]:
    """Each reason of the password policy in plain words, once each, in the policy's order
    (a reason this table does not know yet still gets an explanation)."""
    texts = {
        Reason.TOO_SHORT: _(
            "Use at least %(min)d characters. A few unrelated words make a long "
            "password that is easy to remember.",
            min=current_app.config["IDP"].password_min_length,
        ),
        Reason.TOO_LONG: _too_long(),
        Reason.COMMON: _(
            "This password is one of the most used or leaked ones: attackers try those first."
        ),
        Reason.REPETITIVE: _(
            "This password repeats characters or follows a sequence (like "
            "aaaa or 1234): it is too easy to guess."
        ),
        Reason.CONTAINS_CONTEXT: _(
            "Do not use your login, your e-mail address or your customer number in your password."
        ),
        Reason.CONTAINS_SERVICE_NAME: _(
            "Do not use the name of our company or of this service in your password."
        ),
    }
    fallback = password_unusable_message()
    return list(dict.fromkeys(texts.get(reason, fallback) for reason in reasons))


def password_unusable_message() -> str:
    """When the policy refused a password without saying why (it changed in between)."""
    return _("This password cannot be used. Choose another one.")
