"""Rate limits: a budget per session and per client address, answered 429 with Retry-After.

Given a store that several workers share (SQLite, Redis: a ``stores.RateStore``), a limiter
keeps its budgets there, so N workers grant a client the rate once, not N times; the service
passes its store when it is SQLite or Redis, with a ``name`` per limiter so that a session id
chosen to look like an address cannot spend that address's budget.  Keys are digested before
they reach the store, and the store's own expiry bounds them.  If the store fails during a
check, the request goes (fail open): a rate limit is a ceiling on abuse, and a store outage
must not turn every request into a refusal (the turn itself will say whether the store works).

Without such a store (the memory store, one worker) the buckets live in the worker: no round
trip per request, at most MAX_KEYS of them.  The per-client limit is off by default: behind a
proxy every user has the proxy's address.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict

from ..errors import StoreError
from ..stores import RateStore

log = logging.getLogger("overdue_bot.http")

#: buckets kept per limiter before the least recently used are forgotten
MAX_KEYS = 100_000
#: seconds between two warnings that the store could not check a rate (each says how many)
WARN_EVERY = 60.0


class Limiter:
    """``rate`` requests per minute, ``burst`` at once; rate 0 means no limit.

    With ``store`` (one offering ``take``), the budget is the store's, shared by every worker
    using it, under ``name``; otherwise a token bucket in this process.
    """

    def __init__(self, rate: float, burst: int, store: object | None = None, *, name: str = "") -> None:
        self.rate = rate / 60.0
        self.burst = float(max(1, burst))
        self.name = name
        self.store = store if isinstance(store, RateStore) else None
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._mutex = threading.Lock()
        self._warned = -math.inf
        self._failures = 0

    def wait(self, key: str, now: float | None = None) -> int:
        """0 when a request under ``key`` may go now; else the whole seconds until it may.

        ``now`` is seconds on the limiter's clock: the store's (wall-clock) when it has a store,
        else ``time.monotonic``.
        """
        if self.rate <= 0:
            return 0
        if self.store is not None:
            return self._shared(self.store, key, now)
        now = time.monotonic() if now is None else now
        with self._mutex:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0
            else:
                self._buckets[key] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
            while len(self._buckets) > MAX_KEYS:
                self._buckets.popitem(last=False)
        return wait

    def _shared(self, store: RateStore, key: str, now: float | None) -> int:
        # a digest, so whatever a client sends as its id, the store's key is short and of one shape
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        try:
            seconds = store.take(f"{self.name}:{digest}", self.rate, self.burst, now)
        except StoreError as exc:
            self._failed(exc)
            return 0
        # a hair over a whole second is float noise, not a second more to wait
        return 0 if seconds <= 0 else max(1, math.ceil(seconds - 1e-6))

    def _failed(self, exc: StoreError) -> None:
        """Count a check the store could not make; warn at most every WARN_EVERY seconds."""
        with self._mutex:
            self._failures += 1
            clock = time.monotonic()
            if clock - self._warned < WARN_EVERY:
                return
            self._warned, failures, self._failures = clock, self._failures, 0
        log.warning(
            "rate limit %r not checked (%d times since the last warning), requests let through: %s",
            self.name,
            failures,
            exc,
        )
