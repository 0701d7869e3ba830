"""The delivery queues' backlogs as plain numbers, for ``/readyz`` and ``/metrics``.

Imports idp.worker (which counts them) and idp.models.base only.
"""

from __future__ import annotations

from idp.models.base import DbSession
from idp.models.base import utcnow
from idp.worker import backlogs


def backlog_counts(session: DbSession) -> dict[str, dict[str, int]]:
    """Per queue (``mail``, ``logout``): rows ``waiting``, ``due`` now and unclaimed,
    ``given_up``, and how many seconds the oldest due row has waited (``oldest_due_seconds``)."""
    now = utcnow()
    counts: dict[str, dict[str, int]] = {}
    for name, state in backlogs(session).items():
        behind = (now - state.oldest_due_at).total_seconds() if state.oldest_due_at else 0
        counts[name] = {
            "waiting": state.waiting,
            "due": state.due,
            "given_up": state.given_up,
            "oldest_due_seconds": int(max(behind, 0)),
        }
    return counts
