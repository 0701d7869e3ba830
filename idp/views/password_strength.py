"""Password strength in the customer's words (issue #7 item 4): zxcvbn's advice translated, and
/password/strength, which the new-password fields' script asks while the customer types.

The estimate is the policy's own (idp.accounts.passwords.estimate_strength): the live verdict
and the verdict on submit cannot disagree. The page works without the script; the endpoint is
a convenience, rate-limited, CSRF-protected like every form post, and never logs or stores
what it is sent. Imports idp.accounts.passwords.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from werkzeug.wrappers import Response

from idp.accounts.passwords import MAX_LENGTH
from idp.accounts.passwords import Strength
from idp.accounts.passwords import estimate_strength
from idp.extensions import limiter

bp = Blueprint("password_strength", __name__)
MAX_CONTEXT = 254

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


def _verdict(score: int) -> str:
    return [_("very weak"), _("weak"), _("fair"), _("strong"), _("very strong")][score]


@bp.post("/password/strength")
@limiter.limit("120/minute", methods=["POST"])
def check() -> Response:
    """The live verdict: ``{"score", "acceptable", "verdict", "advice"}`` (JSON in, JSON out:
    ``password`` and the ``context`` words the page already shows, like the login)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("password"), str):
        refused = _no_store(jsonify(error="invalid_request"))
        refused.status_code = 400
        return refused
    password = body["password"][:MAX_LENGTH]
    context = tuple(
        str(word)[:MAX_CONTEXT] for word in (body.get("context") or [])[:4] if isinstance(word, str)
    )
    strength = estimate_strength(password, context)
    minimum = current_app.config["IDP"].password_min_length
    advice = strength_advice(strength)
    if len(password) < minimum:
        advice.insert(0, _("Use at least %(min)d characters.", min=minimum))
    return _no_store(
        jsonify(
            score=strength.score,
            acceptable=strength.acceptable and len(password) >= minimum,
            verdict=_verdict(strength.score),
            advice=advice,
        )
    )


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
