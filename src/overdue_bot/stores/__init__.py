"""Session stores: where a conversation's slots and state live between messages.

A store holds small JSON-ready dicts keyed by session id and offers a per-session lock, so two
messages of one session (a retry, a double click, two workers) are applied one after the other.
``open_store`` turns a URL (``memory:``, ``sqlite:///path.db``, ``redis://host:port/0``) into a store.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from ..errors import StoreError
from .memory import MARKER, MemoryStore


@runtime_checkable
class SessionStore(Protocol):
    """What the bot needs from a store."""

    def get(self, session_id: str) -> dict[str, Any] | None: ...

    def set(self, session_id: str, data: dict[str, Any]) -> None: ...

    def delete(self, session_id: str) -> None: ...

    def lock(self, session_id: str) -> AbstractContextManager[object]: ...

    def ping(self) -> None:
        """Raise StoreError unless the store can be used (for /healthz)."""


@runtime_checkable
class RateStore(Protocol):
    """What a store shared by several workers offers to keep their rate limits in one budget.

    SQLiteStore and RedisStore have it; the memory store, in one process, has no need of it.
    """

    def take(self, key: str, rate_per_s: float, burst: float, now: float | None = None) -> float:
        """Seconds until a request under ``key`` may go; 0.0 when it may now (and it is counted)."""
        ...


def forget(store: SessionStore, session_id: str) -> bool:
    """Delete one session (the id as the store keeps it); whether there was one to delete.

    What a store keeps of a person is this one record (facts, state, digests of what was said,
    never the messages), so deleting it forgets them; once-only markers hold no personal data."""
    with store.lock(session_id):
        existed = store.get(session_id) is not None
        store.delete(session_id)
    return existed


def open_store(url: str | None) -> SessionStore:
    """A store from a URL: memory: (default), sqlite:///path/to.db, redis://host:port/0."""
    if not url or url in ("memory", "memory:"):
        return MemoryStore()
    if url.startswith("sqlite:"):
        from .sqlite import SQLiteStore

        # as SQLAlchemy reads it: sqlite:///relative.db, sqlite:////absolute/path.db, sqlite:rel.db
        path = url[len("sqlite:") :]
        path = path[3:] if path.startswith("///") else path
        return SQLiteStore(path or "sessions.db")
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisStore

        return RedisStore(url)
    raise StoreError(f"unknown store URL {url!r}: use memory:, sqlite:///path.db or redis://host:port/0")


def __getattr__(name: str) -> Any:
    # SQLiteStore and RedisStore load on first use, so importing the package never needs redis
    if name == "SQLiteStore":
        from .sqlite import SQLiteStore

        return SQLiteStore
    if name == "RedisStore":
        from .redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MARKER",
    "forget",
    "MemoryStore",
    "RateStore",
    "RedisStore",
    "SQLiteStore",
    "SessionStore",
    "open_store",
]
