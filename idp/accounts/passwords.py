"""argon2id hashing and the password policy of SPEC §3.6 (NIST SP 800-63B).

Imports argon2-cffi and idp.config only.
"""

from __future__ import annotations

import unicodedata
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

from idp.config import Settings

MAX_LENGTH = 256  # NIST SP 800-63B §3.1.1.2: accept at least 64; never truncate.


class Reason(str, Enum):
    """Why a password is refused; the view maps each to a plain-words message."""

    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    CONTAINS_CONTEXT = "contains_context"


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
    """Reasons to refuse the password (empty when acceptable); no composition rules."""
    pw = normalise(password)
    reasons = []
    if len(pw) < settings.password_min_length:
        reasons.append(Reason.TOO_SHORT)
    if len(pw) > MAX_LENGTH:
        reasons.append(Reason.TOO_LONG)
    folded = pw.casefold()
    for word in context:
        for part in _context_parts(word):
            if part in folded:
                reasons.append(Reason.CONTAINS_CONTEXT)
                return reasons
    return reasons


def _context_parts(word: str) -> set[str]:
    """The word and, for an e-mail, its local part; parts under 4 characters are ignored."""
    word = normalise(word).casefold().strip()
    parts = {word, word.split("@", 1)[0]}
    return {p for p in parts if len(p) >= 4}
