"""Sessions in Redis: shared by many workers on many machines, each key expiring by itself.

Needs the optional extra: ``pip install 'overdue-bot[redis]'``.  ``lock`` takes a Redis lock
per session, so two turns of one session arriving at two workers at once are applied one after
the other.  The lock is a key set with a random token and a short lease (LOCK_LEASE), renewed
by one daemon thread per store while a turn holds it: a worker killed mid-turn frees its
sessions within the lease, not after the longest turn we were willing to wait for.  A holder
that stalls past its lease (a long GC pause, a frozen VM) may find the lock taken by another
worker when it wakes, so writes made under a lock are *fenced*: ``set`` and ``delete`` inside
``lock`` run a script that writes only while the lock key still holds this holder's token, and
raise StoreError otherwise, so a stale turn cannot overwrite a newer one.

``take`` keeps rate limits under ``{prefix}rate:``, so the workers sharing the server share one
budget per client instead of each granting the whole rate.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import MissingExtraError, StoreError
from .records import decode, encode

log = logging.getLogger("overdue_bot.stores")

#: seconds a session lock outlives its holder: renewed every third of it while held, so a live
#: turn keeps its lock however long it runs, and a dead worker's lock is gone this long after
LOCK_LEASE = 2.0
#: seconds a turn waits for another turn of the same session before StoreError
LOCK_WAIT = 10.0

# the lock key holds the holder's token; each script acts only while it still does
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""
_FENCED_SET = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1
"""
_FENCED_DELETE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
end
redis.call('DEL', KEYS[2])
return 1
"""

# GCRA: one "theoretical arrival time" per key; the key expires when that time has passed,
# which is exactly when it would mean a full budget again
_TAKE = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now
if ARGV[3] == '' then
    local t = redis.call('TIME')
    now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
    now = tonumber(ARGV[3])
end
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
    tat = math.max(tonumber(stored), now)
end
local after = tat + interval
local wait = after - burst * interval - now
if wait > 0 then
    return string.format('%.6f', wait)
end
redis.call('SET', KEYS[1], string.format('%.6f', after), 'PX', math.ceil((after - now) * 1000))
return '0'
"""


class _Renewer:
    """Extends the leases of the locks one store holds, from one daemon thread.

    One thread per store, not per turn: it runs while any lock is held and ends when none is,
    so an idle store keeps no thread (and no reference to itself) alive.
    """

    def __init__(
        self, renew: Callable[[str, bytes], bool], every: float, errors: tuple[type[Exception], ...]
    ) -> None:
        self._renew = renew
        self._every = every
        self._errors = errors
        self._held: set[tuple[str, bytes]] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, key: str, token: bytes) -> None:
        with self._cond:
            self._held.add((key, token))
            # not alive though set: this is a forked child, which has no copy of the thread
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="overdue-bot-lock-lease", daemon=True)
                self._thread.start()

    def discard(self, key: str, token: bytes) -> None:
        with self._cond:
            self._held.discard((key, token))

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait(self._every)
                if not self._held:
                    self._thread = None
                    return
                held = list(self._held)
            failed: Exception | None = None
            for key, token in held:
                try:
                    kept = self._renew(key, token)
                except self._errors as exc:
                    failed = exc  # the lease runs out on its own; the fenced write will say so
                    continue
                if not kept:  # lost (this process stalled past the lease): another may hold it
                    self.discard(key, token)
            if failed is not None:
                log.warning("Redis session store: could not renew session locks: %s", failed)


class RedisStore:
    """Sessions as JSON strings under ``{prefix}session:{id}`` with a TTL.

    ``lock_timeout`` is how long a turn waits for another turn of the same session; ``lease``
    how long a lock outlives a holder that stopped renewing it (died or stalled).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        ttl: int = 24 * 3600,
        prefix: str = "overdue_bot:",
        lock_timeout: float = LOCK_WAIT,
        lease: float = LOCK_LEASE,
        client: Any = None,
    ) -> None:
        try:
            import redis
        except ImportError as exc:
            raise MissingExtraError("RedisStore", "redis") from exc
        if lease <= 0:
            raise ValueError(f"lease must be positive (got {lease})")
        self._redis_errors = (redis.RedisError,)
        self.url = url
        self.ttl = int(ttl)
        self.prefix = prefix
        self.lock_timeout = lock_timeout
        self.lease = lease
        self._client = client or redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            self._client.ping()
        except redis.RedisError as exc:
            raise StoreError(f"cannot reach the Redis session store at {url}: {exc}") from exc
        self._renew_script = self._client.register_script(_RENEW)
        self._release_script = self._client.register_script(_RELEASE)
        self._set_script = self._client.register_script(_FENCED_SET)
        self._delete_script = self._client.register_script(_FENCED_DELETE)
        self._take_script = self._client.register_script(_TAKE)
        # the tokens of the locks this thread holds, by session id: what fences its writes
        self._local = threading.local()
        self._renewer = _Renewer(self._renew, lease / 3, self._redis_errors)

    def ping(self) -> None:
        """Raise StoreError unless a turn could be stored now: a ping and one small write, so a
        server refusing writes (a failed snapshot, maxmemory) makes /healthz say 503."""
        try:
            self._client.ping()
            self._client.set(f"{self.prefix}healthz", b"1", ex=60)
        except self._redis_errors as exc:
            raise StoreError(f"Redis session store {self.url}: {exc}") from exc

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}session:{session_id}"

    def _lock_key(self, session_id: str) -> str:
        return f"{self.prefix}lock:{session_id}"

    def _tokens(self) -> dict[str, bytes]:
        tokens: dict[str, bytes] | None = getattr(self._local, "tokens", None)
        if tokens is None:
            tokens = self._local.tokens = {}
        return tokens

    def get(self, session_id: str) -> dict[str, Any] | None:
        try:
            raw = self._client.get(self._key(session_id))
        except self._redis_errors as exc:
            raise StoreError(f"Redis session store {self.url}: {exc}") from exc
        return decode(raw, session_id, f"Redis session store {self.url}")

    def set(self, session_id: str, data: dict[str, Any]) -> None:
        token = self._tokens().get(session_id)
        try:
            if token is None:
                self._client.set(self._key(session_id), encode(data), ex=self.ttl)
                return
            written = self._set_script(
                keys=[self._lock_key(session_id), self._key(session_id)], args=[token, encode(data), self.ttl]
            )
        except self._redis_errors as exc:
            raise StoreError(f"Redis session store {self.url}: {exc}") from exc
        if not written:
            raise self._lost(session_id)

    def delete(self, session_id: str) -> None:
        token = self._tokens().get(session_id)
        try:
            if token is None:
                self._client.delete(self._key(session_id))
                return
            deleted = self._delete_script(
                keys=[self._lock_key(session_id), self._key(session_id)], args=[token]
            )
        except self._redis_errors as exc:
            raise StoreError(f"Redis session store {self.url}: {exc}") from exc
        if not deleted:
            raise self._lost(session_id)

    def _lost(self, session_id: str) -> StoreError:
        return StoreError(
            f"Redis session store {self.url}: the lock of session {session_id!r} lapsed while held "
            f"(its {self.lease:g} s lease was not renewed in time); not written, as another turn may "
            "have taken it"
        )

    def _renew(self, key: str, token: bytes) -> bool:
        return bool(self._renew_script(keys=[key], args=[token, math.ceil(self.lease * 1000)]))

    def _acquire(self, key: str, token: bytes) -> bool:
        """SET NX with the lease, retried with growing pauses until ``lock_timeout`` has passed."""
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.002
        while not self._client.set(key, token, nx=True, px=math.ceil(self.lease * 1000)):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.05)
        return True

    @contextmanager
    def lock(self, session_id: str) -> Iterator[None]:
        key = self._lock_key(session_id)
        token = secrets.token_hex(16).encode("ascii")
        try:
            acquired = self._acquire(key, token)
        except self._redis_errors as exc:
            raise StoreError(f"Redis session store {self.url}: cannot lock: {exc}") from exc
        if not acquired:
            raise StoreError(
                f"Redis session store {self.url}: session {session_id!r} stayed locked "
                f"for {self.lock_timeout} s"
            )
        tokens = self._tokens()
        tokens[session_id] = token
        self._renewer.add(key, token)
        try:
            yield
        finally:
            self._renewer.discard(key, token)
            tokens.pop(session_id, None)
            try:
                self._release_script(keys=[key], args=[token])
            except self._redis_errors:
                pass  # the lease ends on its own; the turn itself is done

    def take(self, key: str, rate_per_s: float, burst: float, now: float | None = None) -> float:
        """Seconds until one more request under ``key`` may go (0.0: it goes now, and is counted).

        GCRA, one script, so every worker sharing this Redis draws on one budget per key; the
        key expires when its budget is full again.  ``now`` (seconds) defaults to the server's
        clock, so the workers' own clocks need not agree.
        """
        if rate_per_s <= 0 or burst < 1:
            raise ValueError(
                f"take needs a positive rate and a burst of at least 1 (got {rate_per_s}, {burst})"
            )
        try:
            wait = self._take_script(
                keys=[f"{self.prefix}rate:{key}"], args=[1.0 / rate_per_s, burst, "" if now is None else now]
            )
        except self._redis_errors as exc:
            raise StoreError(f"Redis session store {self.url}: rate limit: {exc}") from exc
        return max(0.0, float(wait))
