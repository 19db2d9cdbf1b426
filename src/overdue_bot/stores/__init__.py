"""Session stores: where a conversation's slots and state live between messages.

A store holds small JSON-ready dicts keyed by session id and offers a per-session lock, so two
messages of one session (a retry, a double click, two workers) are applied one after the other.
``open_store`` turns a URL (``memory:``) into a store.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from ..errors import StoreError
from .memory import MemoryStore


@runtime_checkable
class SessionStore(Protocol):
    """What the bot needs from a store."""

    def get(self, session_id: str) -> dict[str, Any] | None: ...

    def set(self, session_id: str, data: dict[str, Any]) -> None: ...

    def delete(self, session_id: str) -> None: ...

    def lock(self, session_id: str) -> AbstractContextManager[object]: ...


def open_store(url: str | None) -> SessionStore:
    """A store from a URL: memory: (the default and, for now, the only one)."""
    if not url or url in ("memory", "memory:"):
        return MemoryStore()
    if url.startswith(("sqlite:", "redis://", "rediss://")):
        raise StoreError(f"store {url!r}: only the memory store exists in this version")
    raise StoreError(f"unknown store URL {url!r}: use memory:, sqlite:///path.db or redis://host:port/0")


__all__ = ["MemoryStore", "SessionStore", "open_store"]
