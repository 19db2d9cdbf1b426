"""Rate limits: a token bucket per session and per client address, answered 429 with Retry-After.

The buckets live in each worker (no store round trip per request); with several workers a client
spread over them gets up to that many times the rate, which is still a ceiling on abuse.  The
per-client limit is off by default: behind a proxy every user has the proxy's address.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

#: buckets kept per limiter before the least recently used are forgotten
MAX_KEYS = 100_000


class Limiter:
    """``rate`` requests per minute, ``burst`` at once; rate 0 means no limit."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate / 60.0
        self.burst = float(max(1, burst))
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._mutex = threading.Lock()

    def wait(self, key: str, now: float | None = None) -> int:
        """0 when a request under ``key`` may go now; else the whole seconds until it may."""
        if self.rate <= 0:
            return 0
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
