"""The default store: a bounded, expiring dict in this process."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

#: the prefix of once-only markers (a platform message seen, a signature used): the channels
#: write them, and a store may keep them apart from the sessions
MARKER = "marker:"


class MemoryStore:
    """Sessions in memory, least recently used first out, each expiring after ``ttl`` seconds.

    Bounded by ``max_sessions`` so that a long-running process does not grow without limit.
    Markers (keys under MARKER) are kept apart, bounded by ``max_markers``: a flood of new
    session ids evicts sessions, never the markers that keep a retried message from being
    answered twice.
    """

    def __init__(
        self,
        *,
        ttl: float = 24 * 3600,
        max_sessions: int = 100_000,
        max_markers: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be at least 1 (got {max_sessions})")
        self.ttl = ttl
        self.max_sessions = max_sessions
        self.max_markers = max(1, max_markers)
        self._clock = clock
        self._data: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._markers: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._mutex = threading.Lock()
        self._locks = SessionLocks()

    def __len__(self) -> int:
        return len(self._data)

    def _pool(self, key: str) -> tuple[OrderedDict[str, tuple[float, dict[str, Any]]], int]:
        if key.startswith(MARKER):
            return self._markers, self.max_markers
        return self._data, self.max_sessions

    def get(self, session_id: str) -> dict[str, Any] | None:
        pool, _ = self._pool(session_id)
        with self._mutex:
            item = pool.get(session_id)
            if item is None:
                return None
            stamp, data = item
            if self._clock() - stamp > self.ttl:
                del pool[session_id]
                return None
            pool.move_to_end(session_id)
            return dict(data)

    def set(self, session_id: str, data: dict[str, Any]) -> None:
        pool, limit = self._pool(session_id)
        with self._mutex:
            pool[session_id] = (self._clock(), dict(data))
            pool.move_to_end(session_id)
            while len(pool) > limit:
                pool.popitem(last=False)

    def delete(self, session_id: str) -> None:
        pool, _ = self._pool(session_id)
        with self._mutex:
            pool.pop(session_id, None)

    def ping(self) -> None:
        """A store in this process is always there."""

    def lock(self, session_id: str) -> AbstractContextManager[None]:
        """Serialise the messages of one session; other sessions go on in parallel."""
        return self._locks.hold(session_id)

    def lock_now(self, session_id: str) -> AbstractContextManager[bool]:
        """The session's lock if it is free this moment (True), else nothing held (False)."""
        return self._locks.hold_now(session_id)


class SessionLocks:
    """One lock per session id, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, session_id: str) -> Iterator[None]:
        with self._mutex:
            lock, users = self._locks.get(session_id, (threading.Lock(), 0))
            self._locks[session_id] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            self._leave(session_id)

    @contextmanager
    def hold_now(self, session_id: str) -> Iterator[bool]:
        """hold(), only if nobody holds or waits for the session: True, else False (nothing held)."""
        with self._mutex:
            if session_id in self._locks:
                lock = None
            else:
                lock = threading.Lock()
                lock.acquire()
                self._locks[session_id] = (lock, 1)
        if lock is None:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()
            self._leave(session_id)

    def _leave(self, session_id: str) -> None:
        with self._mutex:
            lock, users = self._locks[session_id]
            if users <= 1:
                del self._locks[session_id]
            else:
                self._locks[session_id] = (lock, users - 1)
