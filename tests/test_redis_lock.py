"""Issue 25: a Redis session lock outlives a dead holder by its short lease, never by the longest
wait, a live holder keeps it however long its turn, and a holder that lost it cannot write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from overdue_bot.errors import StoreError

pytest.importorskip("redis")

from overdue_bot.stores import RedisStore  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")

# a worker that takes a session's lock, writes under it, says so, and waits for a line on stdin;
# then it writes again and says whether the store let it
HOLDER = """
import sys
from overdue_bot.errors import StoreError
from overdue_bot.stores import RedisStore

url, sid, lease = sys.argv[1], sys.argv[2], sys.argv[3]
store = RedisStore(url, lease=float(lease)) if lease else RedisStore(url)
with store.lock(sid):
    store.set(sid, {"by": "a", "n": 1})
    print("held", flush=True)
    sys.stdin.readline()
    try:
        store.set(sid, {"by": "a", "n": 2})
    except StoreError:
        print("refused", flush=True)
    else:
        print("written", flush=True)
"""


@contextmanager
def _holder(url: str, sid: str, lease: float | None = None) -> Iterator[subprocess.Popen[str]]:
    """The HOLDER worker (with the default lease unless given), holding the lock; killed (and its
    pipes closed) at the end."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, sid, "" if lease is None else str(lease)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
            yield proc
        finally:
            proc.send_signal(signal.SIGCONT)
            proc.kill()


def test_a_killed_holders_lock_is_free_after_its_lease(redis_url: str) -> None:
    """A worker SIGKILLed mid-turn: another takes the session within a few seconds (LOCK_LEASE;
    before, the 10 s lock timeout), and the session's last write is there."""
    sid = uuid.uuid4().hex
    with _holder(redis_url, sid) as proc:
        with pytest.raises(StoreError, match="stayed locked"):  # held, and renewed, while it lives
            with RedisStore(redis_url, lock_timeout=0.05).lock(sid):
                pass
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    other = RedisStore(redis_url, lock_timeout=5.0)
    with other.lock(sid):  # StoreError if the dead worker's lock outlived 5 s
        assert other.get(sid) == {"by": "a", "n": 1}
        other.set(sid, {"by": "b", "n": 2})
    assert other.get(sid) == {"by": "b", "n": 2}


def test_a_live_holder_keeps_its_lock_past_the_lease(redis_url: str) -> None:
    """A turn running three leases long is renewed: nobody else gets the session meanwhile, and
    its write at the end is accepted."""
    sid = uuid.uuid4().hex
    holder = RedisStore(redis_url, lease=0.5)
    other = RedisStore(redis_url, lock_timeout=0.2)
    with holder.lock(sid):
        time.sleep(1.5)
        with pytest.raises(StoreError, match="stayed locked"):
            with other.lock(sid):
                pass
        holder.set(sid, {"n": 1})
    with other.lock(sid):  # released at the end of the turn
        assert other.get(sid) == {"n": 1}


def test_a_stalled_holder_cannot_overwrite_the_next_turn(redis_url: str) -> None:
    """Fencing: a worker frozen (SIGSTOP: a GC pause, a stalled VM) past its lease loses the lock
    to another; when it wakes, its write under the lost lock is refused and the newer turn stays."""
    sid = uuid.uuid4().hex
    with _holder(redis_url, sid, lease=0.5) as proc:
        proc.send_signal(signal.SIGSTOP)
        newer = RedisStore(redis_url, lock_timeout=5.0)
        with newer.lock(sid):  # the frozen worker's lease runs out
            newer.set(sid, {"by": "b"})
            proc.send_signal(signal.SIGCONT)
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "refused"
        assert newer.get(sid) == {"by": "b"}
        assert proc.wait(10) == 0


def test_a_lost_lock_refuses_delete_too(redis_url: str) -> None:
    """A lock that lapsed (here: its key gone, as when the lease ran out and nobody came yet) fences
    delete as well as set; outside any lock both work as before."""
    sid = uuid.uuid4().hex
    store = RedisStore(redis_url)
    store.set(sid, {"n": 1})
    with store.lock(sid):
        store._client.delete(f"overdue_bot:lock:{sid}")
        with pytest.raises(StoreError, match="lapsed"):
            store.set(sid, {"n": 2})
        with pytest.raises(StoreError, match="lapsed"):
            store.delete(sid)
    assert store.get(sid) == {"n": 1}
    store.set(sid, {"n": 3})
    assert store.get(sid) == {"n": 3}
    store.delete(sid)
    assert store.get(sid) is None


def test_writes_under_a_lock_fence_only_that_session(redis_url: str) -> None:
    """A marker written under its own lock while a turn of another session holds its lock (as the
    channels do): each write is checked against its own key's lock, or none."""
    store = RedisStore(redis_url)
    marker, sid, free = (uuid.uuid4().hex for _ in range(3))
    with store.lock(marker):
        with store.lock(sid):
            store.set(sid, {"n": 1})
            store.set(free, {"n": 2})  # no lock held for it: a plain write
        store.set(marker, {"seen": 1})
    assert [store.get(k) for k in (sid, free, marker)] == [{"n": 1}, {"n": 2}, {"seen": 1}]
