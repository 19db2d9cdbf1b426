"""One contract, every store: memory, SQLite (a real file) and Redis (a real server)."""

from __future__ import annotations

import threading
import uuid

import pytest

from overdue_bot import Bot
from overdue_bot.bot import session_key as bot_key
from overdue_bot.stores import SessionStore, open_store


@pytest.fixture(params=["memory", "sqlite", "redis"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "memory":
        return "memory:"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/sessions.db"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture()
def store(url: str) -> SessionStore:
    return open_store(url)


def test_set_get_delete(store: SessionStore) -> None:
    sid = uuid.uuid4().hex
    assert store.get(sid) is None
    store.set(sid, {"state": "idle", "slots": {"platform": "花呗", "days_overdue": 3}})
    assert store.get(sid) == {"state": "idle", "slots": {"platform": "花呗", "days_overdue": 3}}
    store.set(sid, {"state": "ended", "slots": {}})
    assert store.get(sid) == {"state": "ended", "slots": {}}
    store.delete(sid)
    assert store.get(sid) is None


def test_is_a_session_store(store: SessionStore) -> None:
    assert isinstance(store, SessionStore)


def test_lock_serialises_one_session(url: str, store: SessionStore) -> None:
    """Concurrent read-modify-write turns of one session never lose an update, also between two
    store objects on the same file or server (as two worker processes would have)."""
    sid = uuid.uuid4().hex
    store.set(sid, {"n": 0})
    stores = [store, store if url == "memory:" else open_store(url)]

    def bump(s: SessionStore) -> None:
        for _ in range(25):
            with s.lock(sid):
                data = s.get(sid) or {"n": 0}
                s.set(sid, {"n": data["n"] + 1})

    threads = [threading.Thread(target=bump, args=(stores[k % 2],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get(sid) == {"n": 100}


def test_lock_now_takes_only_a_free_session(url: str, store: SessionStore) -> None:
    """Issue 17: a local store says at once whether a session's lock is free, so an asyncio host
    runs that turn in its loop; taken by a thread or another store object (another process), it
    says no and holds nothing; Redis has no such answer without a round trip."""
    lock_now = getattr(store, "lock_now", None)
    if url.startswith("redis"):
        assert lock_now is None
        return
    assert lock_now is not None
    sid, other = uuid.uuid4().hex, uuid.uuid4().hex
    with lock_now(sid) as held:
        assert held is True
        with lock_now(sid) as again:
            assert again is False  # held here already
        with lock_now(other) as free:
            assert free is True  # other sessions go on
    holders = [store] if url == "memory:" else [store, open_store(url)]
    for holder in holders:
        taken, release = threading.Event(), threading.Event()

        def hold(s: SessionStore, taken: threading.Event, release: threading.Event) -> None:
            with s.lock(sid):
                taken.set()
                release.wait(10)

        t = threading.Thread(target=hold, args=(holder, taken, release))
        t.start()
        assert taken.wait(10)
        with lock_now(sid) as held:
            assert held is False
        release.set()
        t.join()
        with lock_now(sid) as held:
            assert held is True  # and nothing was left behind by the refusal
    with store.lock(sid):  # a plain lock() after lock_now() still works
        pass


def test_reply_now_answers_a_free_session_and_declines_a_busy_one(
    url: str, store: SessionStore, bot: Bot
) -> None:
    bot = bot.with_store(store)
    sid = uuid.uuid4().hex
    if url.startswith("redis"):
        assert bot.reply_now("逾期会上征信吗", session_id=sid) is None
        return
    first = bot.reply_now("花呗逾期三天了", session_id=sid)
    assert first is not None and first.slots["days_overdue"] == 3
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.lock(bot_key(sid)):
            taken.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    assert taken.wait(10)
    assert bot.reply_now("会上征信吗", session_id=sid) is None  # it would have waited
    release.set()
    t.join()
    later = bot.reply_now("会上征信吗", session_id=sid)
    assert later is not None and later.intent == "credit_report" and later.slots["days_overdue"] == 3


def test_bot_conversation_through_the_store(store: SessionStore, bot: Bot) -> None:
    b = bot.with_store(store)
    sid = uuid.uuid4().hex
    b.reply("好分期逾期两天会联系我的联系人吗", session_id=sid)
    r = b.reply("那会上征信吗", session_id=sid)
    assert r.intent == "credit_report" and (r.slots["platform"], r.slots["days_overdue"]) == ("好分期", 2)
    assert "征信" not in str(store.get(sid)) and "联系人吗" not in str(store.get(sid))


def test_sqlite_survives_a_new_store_object(tmp_path, bot: Bot) -> None:
    """A restart (a new store on the same file) continues the conversation."""
    path = f"sqlite:///{tmp_path}/s.db"
    bot.with_store(open_store(path)).reply("借呗逾期十天了", session_id="u")
    r = bot.with_store(open_store(path)).reply("会上征信吗", session_id="u")
    assert (r.slots["platform"], r.slots["days_overdue"]) == ("借呗", 10)


def test_redis_keys_expire(redis_url: str) -> None:
    import redis

    from overdue_bot.stores import RedisStore

    store = RedisStore(redis_url, ttl=100)
    store.set("e", {"x": 1})
    ttl = redis.Redis.from_url(redis_url).ttl("overdue_bot:session:e")
    assert 0 < ttl <= 100


def test_sqlite_a_turn_in_progress_does_not_hold_up_other_sessions(tmp_path) -> None:
    """Two store objects (two workers): while one holds a session's lock, another session's turn
    on the other completes; the same session's waits.  (BEGIN IMMEDIATE held for a whole turn made
    every session wait for it.)"""
    url = f"sqlite:///{tmp_path}/sessions.db"
    a, b = open_store(url), open_store(url)
    holding, release = threading.Event(), threading.Event()
    done: list[str] = []

    def long_turn() -> None:
        with a.lock("slow"):
            a.set("slow", {"n": 1})
            holding.set()
            release.wait(30)

    def other_session() -> None:
        with b.lock("quick"):
            b.set("quick", {"n": 1})
        done.append("quick")

    def same_session() -> None:
        with b.lock("slow"):
            done.append("slow")

    first = threading.Thread(target=long_turn)
    first.start()
    assert holding.wait(10)
    quick, same = threading.Thread(target=other_session), threading.Thread(target=same_session)
    quick.start()
    same.start()
    quick.join(15)
    assert done == ["quick"], "another session's turn had to wait for this one"
    release.set()
    first.join(15)
    same.join(15)
    assert done == ["quick", "slow"] and b.get("quick") == {"n": 1}


def _bump(url: str, sid: str, times: int) -> None:
    store = open_store(url)
    for _ in range(times):
        with store.lock(sid):
            data = store.get(sid) or {"n": 0}
            store.set(sid, {"n": data["n"] + 1})


@pytest.mark.parametrize("lock", ["file lock", "locks table"])
def test_sqlite_lock_serialises_one_session_across_processes(
    tmp_path, lock: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real worker processes on one file: read-modify-write turns of one session lose nothing,
    with the byte lock on <file>-locks (Linux) and with the locks table (elsewhere)."""
    import multiprocessing

    from overdue_bot.stores import sqlite

    if lock == "locks table":
        monkeypatch.setattr(sqlite, "_OFD", False)
    elif not sqlite._OFD:
        pytest.skip("no open-file-description locks here")
    url = f"sqlite:///{tmp_path}/sessions.db"
    open_store(url).set("shared", {"n": 0})
    ctx = multiprocessing.get_context("fork")  # the child keeps the monkeypatched module
    workers = [ctx.Process(target=_bump, args=(url, "shared", 40)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert open_store(url).get("shared") == {"n": 120}
    assert (tmp_path / "sessions.db-locks").exists() == (lock == "file lock")
