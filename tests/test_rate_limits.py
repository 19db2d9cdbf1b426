"""Issue 25: rate limits kept in a shared store (SQLite, Redis) are one budget for all workers;
in-process buckets otherwise; a store that fails lets the request through."""

from __future__ import annotations

import uuid

import pytest

from overdue_bot.channels.limits import Limiter
from overdue_bot.errors import StoreError
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


def test_limiter_in_one_process_is_a_token_bucket() -> None:
    """No shared store: buckets in the worker, as before (the memory store has no take)."""
    limiter = Limiter(60, 2, MemoryStore())
    assert limiter.store is None
    assert [limiter.wait("a", now=0.0) for _ in range(3)] == [0, 0, 1]
    assert limiter.wait("b", now=0.0) == 0  # another key, another bucket
    assert limiter.wait("a", now=1.0) == 0
    assert Limiter(0, 1).wait("a") == 0  # rate 0: no limit


def test_two_limiters_on_one_store_share_the_budget(url: str) -> None:
    """Two workers' limiters (two store objects on one file or server): 20 a minute, 3 at once, in
    all; the one refused is told the whole seconds to wait; the budget comes back with the clock."""
    a, b = Limiter(20, 3, rates(url), name="session"), Limiter(20, 3, rates(url), name="session")
    key, t = uuid.uuid4().hex, 1_000_000.0
    assert [lim.wait(key, now=t) for lim in (a, b, a, b)] == [0, 0, 0, 3]
    assert b.wait(key, now=t + 1.5) == 2
    assert a.wait(key, now=t + 3.0) == 0
    assert a.wait(uuid.uuid4().hex, now=t) == 0  # another client has its own budget


def test_limiters_with_other_names_do_not_share(url: str) -> None:
    """A session id chosen to look like an address cannot spend that address's budget."""
    session, client = Limiter(60, 1, rates(url), name="session"), Limiter(60, 1, rates(url), name="client")
    who, t = "10.0.0.7", 1_000_000.0
    assert session.wait(who, now=t) == 0 and session.wait(who, now=t) == 1
    assert client.wait(who, now=t) == 0


def test_limiter_keys_in_redis_are_digests(redis_url: str) -> None:
    """Whatever a client sends as its key, Redis holds a short key of one shape, which expires."""
    import redis

    limiter = Limiter(60, 2, rates(redis_url), name=f"n{uuid.uuid4().hex[:8]}")
    assert limiter.wait("x" * 10_000 + "\ud800") == 0
    client = redis.Redis.from_url(redis_url)
    keys = client.keys(f"overdue_bot:rate:{limiter.name}:*")
    assert len(keys) == 1 and len(keys[0]) < 80 and client.pttl(keys[0]) > 0


class _Down:
    """A shared store whose every rate check fails."""

    def __init__(self) -> None:
        self.calls = 0

    def take(self, key: str, rate_per_s: float, burst: float, now: float | None = None) -> float:
        self.calls += 1
        raise StoreError("down")


def test_a_failing_store_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    """Fail open: the store raising StoreError allows every request, past the burst too, and is
    logged once for the lot."""
    store = _Down()
    limiter = Limiter(60, 1, store, name="session")
    assert limiter.store is store
    assert [limiter.wait("a") for _ in range(5)] == [0] * 5
    assert store.calls == 5
    assert len([r for r in caplog.records if "not checked" in r.getMessage()]) == 1


def test_a_stopped_redis_lets_requests_through() -> None:
    """The real outage: the Redis server gone, the limiter allows (and no exception escapes)."""
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    pytest.importorskip("redis")
    from .conftest import start_redis

    proc, url = start_redis()
    try:
        limiter = Limiter(60, 1, rates(url), name="client")
        assert limiter.wait("a") == 0 and limiter.wait("a") == 1  # working: the second is refused
        proc.terminate()
        proc.wait(timeout=10)
        assert [limiter.wait("a") for _ in range(3)] == [0, 0, 0]
    finally:
        proc.kill()
        proc.wait(timeout=10)
