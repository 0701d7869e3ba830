"""argon2id hashing and the password policy of product §3.6 (NIST SP 800-63B).

The policy has no composition rules: a minimum length, no truncation, NFKC, a blocklist
(common/breached passwords from ``idp/data/common-passwords.txt``, repetitive or sequential
strings, the service's own name, and the person's login, e-mail and customer number), and a
strength estimate (zxcvbn, Dropbox's estimator in its Python port: a score from 0 to 4; below
3 — fewer than about 10^8 guesses — is refused, with the estimator's own advice).

Imports argon2-cffi, zxcvbn and idp.config only.
"""

from __future__ import annotations

import re
import string
import threading
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from zxcvbn import zxcvbn

from idp.config import Settings

MAX_LENGTH = 256  # NIST SP 800-63B §3.1.1.2: accept at least 64; never truncate.
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
# Words attackers try first against this service, compared without spaces or punctuation.
SERVICE_WORDS = (
    "engie",
    "espaceclient",
    "smartapp",
    "klantenzone",
    "kundenbereich",
    "customerspace",
)
_EDGES = string.digits + string.punctuation + string.whitespace
# zxcvbn: 3 = "safely unguessable", about 10^8 guesses and more (zxcvbn's README).
MIN_STRENGTH = 3
# The estimate reads at most this many characters: its cost grows with the square of the
# length (a random 64-character string: ~0.1 s, 256: ~2 s). Longer passwords are judged on
# their beginning; repetitions over the whole length are caught by is_repetitive.
ESTIMATED_LENGTH = 64
# zxcvbn keeps the user inputs of the current call in a module global (ranked_dictionaries):
# two threads estimating at once would read each other's words.
_ESTIMATOR = threading.Lock()


class Reason(StrEnum):
    """Why a password is refused; the view maps each to a plain-words message."""

    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    CONTAINS_CONTEXT = "contains_context"
    COMMON = "common"
    REPETITIVE = "repetitive"
    CONTAINS_SERVICE_NAME = "contains_service_name"
    TOO_WEAK = "too_weak"  # zxcvbn's score below MIN_STRENGTH; its advice says why


@dataclass(frozen=True)
class Strength:
    """zxcvbn's verdict: a score from 0 to 4 and its advice, as English message ids that the
    pages translate (a warning, maybe empty, and suggestions)."""

    score: int
    warning: str
    suggestions: tuple[str, ...]

    @property
    def acceptable(self) -> bool:
        """Strong enough for the policy."""
        return self.score >= MIN_STRENGTH


def normalise(password: str) -> str:
    """NFKC-normalise, as NIST SP 800-63B §3.1.1.2 advises before hashing."""
    return unicodedata.normalize("NFKC", password)


def hasher(settings: Settings) -> PasswordHasher:
    """An argon2id hasher at the configured cost (OWASP: m=19456 KiB, t=2, p=1)."""
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )


def hash_password(password: str, settings: Settings) -> str:
    """The PHC string of the normalised password."""
    return hasher(settings).hash(normalise(password))


def verify_password(stored_hash: str, password: str, settings: Settings) -> bool:
    """True when the password matches; never raises on a malformed stored hash."""
    try:
        return hasher(settings).verify(stored_hash, normalise(password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, settings: Settings) -> bool:
    """True when the stored hash was made with other parameters than today's."""
    try:
        return hasher(settings).check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def check_password_policy(
    password: str, settings: Settings, context: tuple[str, ...] = ()
) -> list[Reason]:
    """Reasons to refuse the password (empty when acceptable); no composition rules.

    ``context`` holds the person's own words (login, e-mail, customer number). An overlong
    password is refused for that alone: it is never truncated to be checked.
    """
    pw = normalise(password)
    if len(pw) > MAX_LENGTH:
        return [Reason.TOO_LONG]
    reasons = []
    if len(pw) < settings.password_min_length:
        reasons.append(Reason.TOO_SHORT)
    folded = pw.casefold()
    if is_common(folded):
        reasons.append(Reason.COMMON)
    if is_repetitive(folded):
        reasons.append(Reason.REPETITIVE)
    if any(_contains(folded, part) for word in context for part in _context_parts(word)):
        reasons.append(Reason.CONTAINS_CONTEXT)
    if any(word in _alnum(folded) for word in SERVICE_WORDS):
        reasons.append(Reason.CONTAINS_SERVICE_NAME)
    if not reasons and not estimate_strength(pw, context).acceptable:
        reasons.append(Reason.TOO_WEAK)  # a keyboard walk, a word and a year, a name…
    return reasons


def estimate_strength(password: str, context: tuple[str, ...] = ()) -> Strength:
    """zxcvbn's score and advice for ``password`` (its first ESTIMATED_LENGTH characters),
    the person's own words counting as guessable."""
    beginning = normalise(password)[:ESTIMATED_LENGTH]
    # zxcvbn matches whole user inputs: give it the pieces too ("pieter", "janssens").
    words = sorted(
        {piece for word in context for part in _context_parts(word) for piece in _pieces(part)}
    )
    with _ESTIMATOR:
        result = zxcvbn(beginning, user_inputs=words, max_length=ESTIMATED_LENGTH)
    feedback = result.get("feedback") or {}
    return Strength(
        score=int(result["score"]),
        warning=str(feedback.get("warning") or ""),
        suggestions=tuple(str(s) for s in feedback.get("suggestions") or ()),
    )


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped blocklist, read once on first use (lower-case, NFKC)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line)


def is_common(folded: str) -> bool:
    """On the list as typed, without digits/punctuation around it (``Password-2026!``), or
    repeated (``monkeymonkey``); also with its separators removed."""
    common = common_passwords()
    for candidate in {folded, _alnum(folded)}:
        core = candidate.strip(_EDGES)
        for word in (candidate, core, _period(candidate), _period(core)):
            if len(word) >= 4 and word in common:
                return True
    return False


def is_repetitive(folded: str) -> bool:
    """One to three characters repeated (``aaaaaaaaaaaa``, ``abcabcabcabc``) or a straight
    run (``abcdefghijkl``, ``123456789012``, ``987654321098``)."""
    if len(folded) < 2:
        return bool(folded)
    if len(_period(folded)) <= 3:
        return True
    steps = {_step(a, b) for a, b in zip(folded, folded[1:], strict=False)}
    return steps in ({1}, {-1})


def _step(a: str, b: str) -> int:
    if a.isdigit() and b.isdigit() and a.isascii() and b.isascii():
        return (int(b) - int(a) + 5) % 10 - 5  # 9 → 0 continues a run of digits
    return ord(b) - ord(a)


def _period(word: str) -> str:
    """The shortest unit whose repetition makes ``word`` (the word itself if none)."""
    for size in range(1, len(word) // 2 + 1):
        if len(word) % size == 0 and word[:size] * (len(word) // size) == word:
            return word[:size]
    return word


def _alnum(word: str) -> str:
    return "".join(c for c in word if c.isalnum())


def _contains(folded: str, part: str) -> bool:
    """``part`` in the password, also once spaces and punctuation are ignored on both sides."""
    bare = _alnum(part)
    return part in folded or (len(bare) >= 4 and bare in _alnum(folded))


def _pieces(part: str) -> set[str]:
    """A context part and its words (split at punctuation), words under 3 characters left out."""
    return {part} | {w for w in re.split(r"[\W_]+", part) if len(w) >= 3}


def _context_parts(word: str) -> set[str]:
    """The word and, for an e-mail, its local part; parts under 4 characters are ignored."""
    word = normalise(word).casefold().strip()
    parts = {word, word.split("@", 1)[0]}
    return {p for p in parts if len(p) >= 4}
