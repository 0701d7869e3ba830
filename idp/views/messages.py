"""The words pages say about refused input: one table per idea, shared by every page.

Field checks (idp.forms keys) and password policy reasons (idp.accounts.passwords.Reason) map
to localised messages here, so registration and recovery say the same thing the same way.
Imports idp.forms and idp.accounts.passwords.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from idp import forms
from idp.accounts.passwords import MAX_LENGTH
from idp.accounts.passwords import Reason
from idp.accounts.passwords import Strength
from idp.accounts.passwords import estimate_strength


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


def password_refusal_messages(
    reasons: list[Reason], password: str = "", context: tuple[str, ...] = ()
) -> list[str]:
    """Each reason of the password policy in plain words, once each, in the policy's order
    (a reason this table does not know yet still gets an explanation). ``password`` and the
    person's ``context`` words give a too-weak password the estimator's own advice."""
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
    if Reason.TOO_WEAK in reasons:
        texts[Reason.TOO_WEAK] = weak_password_message(estimate_strength(password, context))
    fallback = password_unusable_message()
    return list(dict.fromkeys(texts.get(reason, fallback) for reason in reasons))


def password_unusable_message() -> str:
    """When the policy refused a password without saying why (it changed in between)."""
    return _("This password cannot be used. Choose another one.")


# Every sentence zxcvbn 4.5 can say (zxcvbn/feedback.py), as message ids of our catalogues
# (written out twice: Babel extracts only literal strings).
ADVICE: dict[str, LazyString] = {
    "Use a few words, avoid common phrases.": _l("Use a few words, avoid common phrases."),
    "No need for symbols, digits, or uppercase letters.": _l(
        "No need for symbols, digits, or uppercase letters."
    ),
    "Add another word or two. Uncommon words are better.": _l(
        "Add another word or two. Uncommon words are better."
    ),
    "Straight rows of keys are easy to guess.": _l("Straight rows of keys are easy to guess."),
    "Short keyboard patterns are easy to guess.": _l("Short keyboard patterns are easy to guess."),
    "Use a longer keyboard pattern with more turns.": _l(
        "Use a longer keyboard pattern with more turns."
    ),
    'Repeats like "aaa" are easy to guess.': _l('Repeats like "aaa" are easy to guess.'),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': _l(
        'Repeats like "abcabcabc" are only slightly harder to guess than "abc".'
    ),
    "Avoid repeated words and characters.": _l("Avoid repeated words and characters."),
    'Sequences like "abc" or "6543" are easy to guess.': _l(
        'Sequences like "abc" or "6543" are easy to guess.'
    ),
    "Avoid sequences.": _l("Avoid sequences."),
    "Recent years are easy to guess.": _l("Recent years are easy to guess."),
    "Avoid recent years.": _l("Avoid recent years."),
    "Avoid years that are associated with you.": _l("Avoid years that are associated with you."),
    "Dates are often easy to guess.": _l("Dates are often easy to guess."),
    "Avoid dates and years that are associated with you.": _l(
        "Avoid dates and years that are associated with you."
    ),
    "This is a top-10 common password.": _l("This is a top-10 common password."),
    "This is a top-100 common password.": _l("This is a top-100 common password."),
    "This is a very common password.": _l("This is a very common password."),
    "This is similar to a commonly used password.": _l(
        "This is similar to a commonly used password."
    ),
    "A word by itself is easy to guess.": _l("A word by itself is easy to guess."),
    "Names and surnames by themselves are easy to guess.": _l(
        "Names and surnames by themselves are easy to guess."
    ),
    "Common names and surnames are easy to guess.": _l(
        "Common names and surnames are easy to guess."
    ),
    "Capitalization doesn't help very much.": _l("Capitalization doesn't help very much."),
    "All-uppercase is almost as easy to guess as all-lowercase.": _l(
        "All-uppercase is almost as easy to guess as all-lowercase."
    ),
    "Reversed words aren't much harder to guess.": _l(
        "Reversed words aren't much harder to guess."
    ),
    "Predictable substitutions like '@' instead of 'a' don't help very much.": _l(
        "Predictable substitutions like '@' instead of 'a' don't help very much."
    ),
}


def strength_advice(strength: Strength) -> list[str]:
    """zxcvbn's warning then its suggestions, translated, each once; a sentence this table
    does not know (a newer zxcvbn) is left out rather than shown in English."""
    said = [strength.warning, *strength.suggestions]
    return list(dict.fromkeys(str(ADVICE[text]) for text in said if text in ADVICE))


def weak_password_message(strength: Strength) -> str:
    """Why a password the estimator scores too low is refused, with its advice."""
    return " ".join([_("This password is too easy to guess."), *strength_advice(strength)])


def customer_data_mismatch() -> str:
    """The one answer to an unknown number, a wrong code and a locked code (issue #8 finding
    2): the locked state is said as the help, never as a verdict on this number."""
    return _(
        "This customer number and activation code do not match. Check them on your latest "
        "invoice. After several wrong codes the code is blocked: contact us to receive a new one."
    )
