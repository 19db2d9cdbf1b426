"""Issue 25: rate limits kept in a shared store (SQLite, Redis) are one budget for all workers;
in-process buckets otherwise; a store that fails lets the request through."""

from __future__ import annotations

import uuid

import pytest

from overdue_bot.stores import MemoryStore, RateStore, open_store


@pytest.fixture(params=["sqlite", "redis"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/sessions.db"
    return str(request.getfixturevalue("redis_url"))


def rates(url: str) -> RateStore:
    store = open_store(url)
    assert isinstance(store, RateStore)
    return store


def test_take_is_gcra(url: str) -> None:
    """One a second, three at once: the burst goes, the next waits the one second it has to, a
    refusal is not counted, and the budget refills as the clock moves (no sleeping)."""
    store = rates(url)
    key, t = uuid.uuid4().hex, 1_000_000.0
    assert [store.take(key, 1.0, 3, now=t) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert store.take(key, 1.0, 3, now=t) == pytest.approx(1.0)
    assert store.take(key, 1.0, 3, now=t + 0.25) == pytest.approx(0.75)
    assert store.take(key, 1.0, 3, now=t + 1.0) == 0.0
    assert store.take(key, 1.0, 3, now=t + 1.0) == pytest.approx(1.0)
    later = [store.take(key, 1.0, 3, now=t + 100) for _ in range(4)]
    assert later[:3] == [0.0, 0.0, 0.0] and later[3] > 0
    assert store.take(uuid.uuid4().hex, 1.0, 3, now=t + 1.0) == 0.0


def test_two_workers_share_one_budget(url: str) -> None:
    """Two store objects on one file or server (two workers): five at once between them, not each."""
    a, b = rates(url), rates(url)
    key, t = uuid.uuid4().hex, 1_000_000.0
    granted = [s.take(key, 0.5, 5, now=t) == 0.0 for s in (a, b) * 5]
    assert granted == [True] * 5 + [False] * 5


def test_take_without_a_clock_uses_the_stores(url: str) -> None:
    store = rates(url)
    key = uuid.uuid4().hex
    assert store.take(key, 1 / 60, 1) == 0.0
    assert 0 < store.take(key, 1 / 60, 1) <= 60


def test_redis_rate_keys_expire(redis_url: str) -> None:
    """A client's key is gone once its budget is full again: the clients seen bound Redis' memory."""
    import redis

    store = rates(redis_url)
    key = uuid.uuid4().hex
    store.take(key, 0.5, 3)
    ttl = redis.Redis.from_url(redis_url).pttl(f"overdue_bot:rate:{key}")
    assert 0 < ttl <= 2000


def test_sqlite_spent_rate_rows_are_purged(tmp_path) -> None:
    """Rows whose budget is full again go at the next purge, so many clients leave few rows."""
    from overdue_bot.stores.sqlite import RATE_PURGE_EVERY, SQLiteStore

    store = SQLiteStore(tmp_path / "s.db")
    for n in range(50):
        store.take(f"client-{n}", 1.0, 2, now=0.0)
    store.take("late", 1.0, 2, now=RATE_PURGE_EVERY + 10)
    rows = store._conn().execute("SELECT key FROM rates").fetchall()
    assert rows == [("late",)]


def test_take_refuses_a_rate_it_cannot_keep(url: str) -> None:
    with pytest.raises(ValueError):
        rates(url).take("k", 0.0, 3)


def test_only_shared_stores_keep_rates() -> None:
    """The memory store lives in one worker: its Limiter keeps buckets of its own."""
    assert not isinstance(MemoryStore(), RateStore)
