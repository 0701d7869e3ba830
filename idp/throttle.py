"""Growing delays kept in the rate-limit store (memory in development, Redis in production).

A ``GrowingDelay`` counts consecutive failures for a subject (a login, a customer number,
everyone) and, past the free ones, sets a *wait* marker that expires when the next attempt may
come: the first wait is ``first`` seconds, each further failure doubles it, up to ``cap``.
Nothing sleeps in a request: an attempt during the wait is refused with the time left, which
is what NIST SP 800-63B-4 §3.2.2 describes ("requiring the subscriber to wait following a
failed attempt for a period of time that increases as the account approaches its maximum
allowance"), and OWASP ASVS 5.0 V6.3.1 asks instead of a hard lockout.

Subjects are hashed before they reach the store: it never holds a login or a number.
Imports the ``limits`` storage interface, idp.config and idp.metrics only.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from limits import parse
from limits.storage import Storage

from idp.config import Settings
from idp.metrics import SPRAYING_ALERTS
from idp.metrics import WRONG_ACTIVATION_CODES

log = logging.getLogger(__name__)


def subject_key(subject: str) -> str:
    """A short hash of a subject, as the store sees it."""
    return hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class GrowingDelay:
    """Consecutive failures of one kind, and the wait they impose."""

    storage: Storage
    scope: str
    free: int  # failures allowed before the first wait
    first: int  # seconds of the first wait
    cap: int  # longest wait, seconds
    memory: int  # seconds the failure count is kept after the first failure

    def _keys(self, subject: str) -> tuple[str, str]:
        digest = subject_key(subject)
        return f"idp-delay/{self.scope}/count/{digest}", f"idp-delay/{self.scope}/wait/{digest}"

    def delay_after(self, failures: int) -> int:
        """Seconds to wait after the ``failures``-th consecutive failure (0: none)."""
        past = failures - self.free
        if past <= 0 or self.cap <= 0:
            return 0
        return int(min(self.cap, self.first * 2 ** min(past - 1, 32)))

    def wait_left(self, subject: str) -> int:
        """Whole seconds before the next attempt may be tried (0: now)."""
        _count, wait = self._keys(subject)
        if self.storage.get(wait) <= 0:
            return 0
        return max(1, math.ceil(self.storage.get_expiry(wait) - time.time()))

    def failures(self, subject: str) -> int:
        """The consecutive failures remembered for the subject."""
        count, _wait = self._keys(subject)
        return self.storage.get(count)

    def fail(self, subject: str) -> int:
        """Count one failure; the wait it imposes, seconds (0: none yet)."""
        return self.count_failure(subject)[1]

    def count_failure(self, subject: str) -> tuple[int, int]:
        """Count one failure; the failures remembered now, and the wait they impose."""
        count, wait = self._keys(subject)
        failures = self.storage.incr(count, self.memory)
        delay = self.delay_after(failures)
        if delay:
            self.storage.clear(wait)  # a new marker: its expiry is the new wait
            self.storage.incr(wait, delay)
        return failures, delay

    def forget(self, subject: str) -> None:
        """Start over (a success, a password reset)."""
        for key in self._keys(subject):
            self.storage.clear(key)


LOGIN_FIRST_WAIT = 30  # seconds; NIST SP 800-63B-4 §3.2.2's example range is 30 s to an hour
LOGIN_MEMORY = 24 * 3600


def login_delays(storage: Storage, settings: Settings) -> GrowingDelay:
    """Wrong passwords per login from browsers that never logged in to it (issue #8 finding 6)."""
    return GrowingDelay(
        storage,
        "login",
        free=settings.login_free_failures,
        first=min(LOGIN_FIRST_WAIT, settings.login_max_delay),
        cap=settings.login_max_delay,
        memory=LOGIN_MEMORY,
    )


CODE_FIRST_WAIT = 30  # seconds, per customer number
CODE_MAX_WAIT = 3600
EVERYONE_FIRST_WAIT = 5  # seconds, for every submission once the brake is on
EVERYONE_MAX_WAIT = 300
EVERYONE = "everyone"


@dataclass(frozen=True)
class CodeGuesses:
    """Wrong activation codes, counted per customer number and in total (issue #8 finding 8).

    A new source address continues where the per-IP limit stopped the last one, so the
    counters follow what is guessed, not who guesses: past ``activation_number_rate_limit``
    wrong codes for one number, that number waits (growing); past
    ``activation_global_rate_limit`` wrong codes in total, every submission waits (growing,
    short: the brake must not become a lockout of everyone) and, from half of it on, a
    warning alert is logged (and counted) so that operators see the spraying rise.
    Unknown numbers count like known ones: a wait reveals nothing about a number.
    """

    per_number: GrowingDelay
    everyone: GrowingDelay
    alert_at: int

    def wait_left(self, number: str) -> int:
        """Whole seconds before a code may be checked for ``number`` (0: now)."""
        return max(self.per_number.wait_left(number), self.everyone.wait_left(EVERYONE))

    def wrong(self, number: str) -> None:
        """One wrong (or locked) code for ``number``."""
        WRONG_ACTIVATION_CODES.inc()
        self.per_number.fail(number)
        failures, delay = self.everyone.count_failure(EVERYONE)
        if failures == self.alert_at or failures == self.everyone.free + 1:
            alert_code_spraying(failures, self.everyone, braking=delay > 0)

    def right(self, number: str) -> None:
        """The right code for ``number``: its own count starts over (the total does not)."""
        self.per_number.forget(number)


def alert_code_spraying(failures: int, everyone: GrowingDelay, *, braking: bool) -> None:
    """The alert of a rising rate of wrong activation codes: a warning record (operators'
    log alerting picks up the logger ``idp.throttle`` at WARNING) and
    ``idp_activation_spraying_alerts_total``."""
    SPRAYING_ALERTS.inc()
    log.warning(
        "activation code spraying: %d wrong activation codes within %d s (brake at %d)%s",
        failures,
        everyone.memory,
        everyone.free,
        "; every submission now waits" if braking else "",
        extra={"alert": "activation_code_spraying", "wrong_codes": failures},
    )


def _limited(storage: Storage, scope: str, limit: str, first: int, cap: int) -> GrowingDelay:
    """A delay whose free failures and memory are a rate limit's (``3/hour``: 3, one hour)."""
    parsed = parse(limit)
    return GrowingDelay(
        storage, scope, free=parsed.amount, first=first, cap=cap, memory=parsed.get_expiry()
    )


def code_guesses(storage: Storage, settings: Settings) -> CodeGuesses:
    """The activation-code counters of these settings."""
    everyone = _limited(
        storage,
        "activation-everyone",
        settings.activation_global_rate_limit,
        EVERYONE_FIRST_WAIT,
        EVERYONE_MAX_WAIT,
    )
    number_limit = settings.activation_number_rate_limit
    return CodeGuesses(
        _limited(storage, "activation-number", number_limit, CODE_FIRST_WAIT, CODE_MAX_WAIT),
        everyone,
        alert_at=max(1, everyone.free // 2),
    )
