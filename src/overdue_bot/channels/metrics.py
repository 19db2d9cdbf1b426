"""``/metrics`` in Prometheus' text format (prometheus-client, part of the extra ``server``).

With several workers each process writes its counters to files in ``PROMETHEUS_MULTIPROC_DIR``
(``serve`` sets a fresh one per start) and a scrape of any worker adds up all of them, so the
figures are the server's, not one worker's.  Without the variable (an app built in-process, as
the tests do) the counts live in this process only.
"""

from __future__ import annotations

import os
from typing import Any

from .delivery import SPACE

#: reply latency buckets, seconds: a turn takes ~1 ms, a slow store tens
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_CHANNEL = {prefix.rstrip(":"): name for name, prefix in SPACE.items()}


def channel_of(session_id: str) -> str:
    """The channel a stored session id belongs to (web:…, wechat:…), "api" for a library caller."""
    return _CHANNEL.get(session_id.split(":", 1)[0], "api") if ":" in session_id else "api"


class Metrics:
    """The server's counters; ``observe`` is a Bot observer."""

    def __init__(self) -> None:
        try:
            import prometheus_client as pc
        except ImportError:
            self.pc = None
            return
        self.pc = pc
        self.registry = pc.CollectorRegistry(auto_describe=True)
        r = self.registry
        self.turns = pc.Counter(
            "overdue_bot_turns",
            "Answered turns, by intent (or what was said instead) and channel",
            ["intent", "channel"],
            registry=r,
        )
        self.unsure = pc.Counter(
            "overdue_bot_unsure_turns",
            "Turns the bot was unsure about, by reason (out_of_scope, clarify, low_margin, correction)",
            ["reason", "channel"],
            registry=r,
        )
        self.handoffs = pc.Counter(
            "overdue_bot_handoffs",
            "Sessions handed to a person, by reason",
            ["reason", "channel"],
            registry=r,
        )
        self.latency = pc.Histogram(
            "overdue_bot_reply_seconds",
            "Time to answer one turn (understanding, dialogue and store)",
            ["channel"],
            buckets=BUCKETS,
            registry=r,
        )
        self.store_errors = pc.Counter(
            "overdue_bot_store_errors", "Requests that failed because the session store did", registry=r
        )
        self.limited = pc.Counter(
            "overdue_bot_rate_limited", "Requests refused with 429, by limit", ["limit"], registry=r
        )
        self.reloads = pc.Counter(
            "overdue_bot_reloads",
            "Knowledge-base reloads, by result (reloaded, unchanged, failed)",
            ["result"],
            registry=r,
        )

    @property
    def enabled(self) -> bool:
        return self.pc is not None

    def observe(self, seen: Any) -> None:
        if self.pc is None:
            return
        channel = channel_of(seen.session_id)
        reply = seen.reply
        self.turns.labels(reply.intent or reply.variant or "none", channel).inc()
        if seen.unsure:
            self.unsure.labels(seen.unsure, channel).inc()
        if reply.handoff:  # set only on the turn that hands the session over
            self.handoffs.labels(reply.handoff, channel).inc()
        self.latency.labels(channel).observe(seen.seconds)

    def count(self, name: str, *labels: str) -> None:
        """Increment one of the counters that are not per turn (store_errors, limited, reloads)."""
        if self.pc is None:
            return
        metric = getattr(self, name)
        (metric.labels(*labels) if labels else metric).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The scrape body and its content type."""
        assert self.pc is not None
        pc = self.pc
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = pc.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return pc.generate_latest(registry), pc.CONTENT_TYPE_LATEST
        return pc.generate_latest(self.registry), pc.CONTENT_TYPE_LATEST
