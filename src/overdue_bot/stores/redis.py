"""Sessions in Redis: shared by many workers on many machines, each key expiring by itself.

Needs the optional extra: ``pip install 'overdue-bot[redis]'``.  ``lock`` takes a Redis lock
per session (SET NX with a token and an expiry), so two turns of one session arriving at two
workers at once are applied one after the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import MissingExtraError, StoreError
from .records import decode, encode


class RedisStore:
    """Sessions as JSON strings under ``{prefix}session:{id}`` with a TTL."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        ttl: int = 24 * 3600,
        prefix: str = "overdue_bot:",
        lock_timeout: float = 10.0,
        client: Any = None,
    ) -> None:
        try:
            import redis
        except ImportError as exc:
            raise MissingExtraError("RedisStore", "redis") from exc
        self._redis_errors = (redis.RedisError,)
        self.url = url
        self.ttl = int(ttl)
        self.prefix = prefix
        self.lock_timeout = lock_timeout
        self._client = client or redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            self._client.ping()
        except redis.RedisError as exc:
            raise StoreError(f"cannot reach the Redis session store at {url}: {exc}") from exc

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

    def get(self, session_id: str) -> dict[str, Any] | None:
        try:
            raw = self._client.get(self._key(session_id))
        except self._redis_errors as exc:
            raise StoreError(f"Redis session store {self.url}: {exc}") from exc
        return decode(raw, session_id, f"Redis session store {self.url}")

    def set(self, session_id: str, data: dict[str, Any]) -> None:
        try:
            self._client.set(self._key(session_id), encode(data), ex=self.ttl)
        except self._redis_errors as exc:
            raise StoreError(f"Redis session store {self.url}: {exc}") from exc

    def delete(self, session_id: str) -> None:
        try:
            self._client.delete(self._key(session_id))
        except self._redis_errors as exc:
            raise StoreError(f"Redis session store {self.url}: {exc}") from exc

    @contextmanager
    def lock(self, session_id: str) -> Iterator[None]:
        lock = self._client.lock(
            f"{self.prefix}lock:{session_id}", timeout=self.lock_timeout, blocking_timeout=self.lock_timeout
        )
        try:
            acquired = lock.acquire()
        except self._redis_errors as exc:
            raise StoreError(f"Redis session store {self.url}: cannot lock: {exc}") from exc
        if not acquired:
            raise StoreError(
                f"Redis session store {self.url}: session {session_id!r} stayed locked "
                f"for {self.lock_timeout} s"
            )
        try:
            yield
        finally:
            try:
                lock.release()
            except self._redis_errors:
                pass  # expired meanwhile: the next turn may already hold it
