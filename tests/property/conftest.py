"""Hypothesis profiles for the property and fuzz tests, and the count of cases they ran.

``dev`` (the default) and ``ci`` (chosen when ``CI`` is set: derandomized, so a CI run is
reproducible, and no example database) run a bounded number of examples; ``deep``
(``HYPOTHESIS_PROFILE=deep``) runs twenty times more, for a long run by hand. No deadline:
the machine is shared, and speed belongs in ``make bench``.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck
from hypothesis import settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow], "print_blob": True}
settings.register_profile("dev", max_examples=100, **_COMMON)
settings.register_profile("ci", max_examples=100, derandomize=True, database=None, **_COMMON)
settings.register_profile("deep", max_examples=2000, **_COMMON)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

CASES: Counter[str] = Counter()  # examples run per kind, reported at the end of the run


def budget(fraction: float) -> int:
    """A share of the profile's examples, for tests whose every example is an HTTP request."""
    return max(5, int(settings.default.max_examples * fraction))


def count(kind: str) -> None:
    """One more example of ``kind`` ran."""
    CASES[kind] += 1


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many property and fuzz cases ran (the closing note of issue #8 quotes it)."""
    if CASES:
        detail = ", ".join(f"{kind} {n}" for kind, n in sorted(CASES.items()))
        terminalreporter.write_line(f"property/fuzz cases run: {sum(CASES.values())} ({detail})")
