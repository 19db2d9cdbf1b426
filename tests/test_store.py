"""The default MemoryStore: bounded, expiring, per-session locks."""

from __future__ import annotations

import pytest

from overdue_bot.errors import StoreError
from overdue_bot.stores import MemoryStore, open_store


def test_lru_bound() -> None:
    s = MemoryStore(max_sessions=3)
    for i in range(5):
        s.set(f"s{i}", {"i": i})
    assert len(s) == 3 and s.get("s0") is None and s.get("s4") == {"i": 4}


def test_recent_use_protects_from_eviction() -> None:
    s = MemoryStore(max_sessions=2)
    s.set("a", {})
    s.set("b", {})
    s.get("a")
    s.set("c", {})
    assert s.get("a") == {} and s.get("b") is None


def test_ttl_expiry() -> None:
    now = [0.0]
    s = MemoryStore(ttl=10, clock=lambda: now[0])
    s.set("a", {"x": 1})
    now[0] = 5
    assert s.get("a") == {"x": 1}
    now[0] = 16
    assert s.get("a") is None


def test_returned_data_is_a_copy() -> None:
    s = MemoryStore()
    s.set("a", {"x": 1})
    s.get("a")["x"] = 2  # type: ignore[index]
    assert s.get("a") == {"x": 1}


def test_open_store_rejects_unknown_urls() -> None:
    with pytest.raises(StoreError, match="unknown store URL"):
        open_store("mongodb://x")
    assert isinstance(open_store("memory:"), MemoryStore)


def test_unreachable_redis_is_a_clear_error() -> None:
    """A Redis URL nobody answers on gives a StoreError naming the URL, not a traceback from redis."""
    with pytest.raises(StoreError, match="cannot reach the Redis session store at redis://127.0.0.1:1/0"):
        open_store("redis://127.0.0.1:1/0")


def test_sqlite_url_forms(tmp_path) -> None:
    from overdue_bot.stores import SQLiteStore

    store = open_store(f"sqlite:///{tmp_path}/a.db")  # tmp_path is absolute: sqlite:////tmp/…
    assert isinstance(store, SQLiteStore) and store.path == str(tmp_path / "a.db")
