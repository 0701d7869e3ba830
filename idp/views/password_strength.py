"""/password/strength, which the new-password fields' script asks while the customer types
(issue #7 item 4); zxcvbn's advice in the customer's words comes from idp/views/messages.py.

The estimate is the policy's own (idp.accounts.passwords.estimate_strength): the live verdict
and the verdict on submit cannot disagree. The page works without the script; the endpoint is
a convenience, rate-limited, CSRF-protected like every form post, and never logs or stores
what it is sent. Imports idp.accounts.passwords and idp.views.messages.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.accounts.passwords import MAX_LENGTH
from idp.accounts.passwords import estimate_strength
from idp.extensions import limiter
from idp.views.messages import strength_advice

bp = Blueprint("password_strength", __name__)
MAX_CONTEXT = 254


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
