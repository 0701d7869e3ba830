"""Prometheus metrics: the counters every module may increment, and the text exposition.

Imports prometheus_client and sqlalchemy only (the backlog gauges are read from the database at
scrape time, through the session the caller passes). The metric objects are process singletons,
like the extension objects: prometheus_client keeps them in its default registry. Under a
multi-process server set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before the server
starts; every process then writes its samples there and a scrape of any process sums them
(prometheus_client's multiprocess mode; docs/operations.md says how to set it up).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter(
    "idp_http_requests_total", "HTTP requests answered.", ["endpoint", "method", "status"]
)
LATENCY = Histogram(
    "idp_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SECURITY_EVENTS = Counter(
    "idp_security_events_total",
    "Audit events (login_succeeded, login_failed, login_throttled, refresh_reuse, ...).",
    ["event"],
)
WRONG_ACTIVATION_CODES = Counter(
    "idp_activation_wrong_codes_total",
    "Wrong (or locked) activation codes submitted; a rising rate is code spraying.",
)
SPRAYING_ALERTS = Counter(
    "idp_activation_spraying_alerts_total",
    "Wrong activation codes reached half of IDP_ACTIVATION_GLOBAL_RATE_LIMIT, or all of it.",
)
TOKENS = Counter("idp_tokens_issued_total", "Token responses issued by grant type.", ["grant_type"])
DATABASE_ERRORS = Counter(
    "idp_database_errors_total", "Requests answered 503 because the database was unreachable."
)
REDIS_ERRORS = Counter(
    "idp_redis_errors_total", "Rate-limit store failures that switched a process to memory limits."
)
RATELIMIT_FALLBACK = Gauge(
    "idp_ratelimit_memory_fallback",
    "1 while this process counts rate limits in its own memory because Redis is unreachable.",
    multiprocess_mode="livemax",
)


class BacklogCollector(Collector):
    """Mail outbox and back-channel logout queues, counted at scrape time."""

    def __init__(self, counts: Callable[[], dict[str, dict[str, int]]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Per queue: rows by state, and the age of the oldest due row."""
        for queue, states in self._counts().items():
            states = dict(states)
            behind = states.pop("oldest_due_seconds", 0)
            family = GaugeMetricFamily(
                f"idp_{queue}_backlog",
                f"Rows of the {queue} queue: waiting, due now and unclaimed, given up.",
                labels=["state"],
            )
            for state, value in sorted(states.items()):
                family.add_metric([state], value)
            yield family
            yield GaugeMetricFamily(
                f"idp_{queue}_oldest_due_seconds",
                f"How long the oldest due row of the {queue} queue has waited.",
                value=behind,
            )


def exposition(backlog: Callable[[], dict[str, dict[str, int]]]) -> bytes:
    """The text exposition: this process's metrics (all processes' in multiprocess mode)
    followed by the queue backlogs."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        own = generate_latest(REGISTRY)
    queues = CollectorRegistry()
    queues.register(BacklogCollector(backlog))
    return own + generate_latest(queues)
