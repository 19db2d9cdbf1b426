"""Sessions in a SQLite file: standard library only, WAL, survives restarts.

Several worker processes on one machine may share the file.  ``lock`` serialises the turns of a
session across threads (a per-session lock) and across processes, so a retry or a double click
cannot interleave turns.  Across processes, on Linux, the lock is an open-file-description lock
on one byte of ``<file>-locks`` (the byte is the session id's CRC-32): one system call to take,
none to write, and the kernel frees it if the process dies.  Elsewhere it is a row in the
``locks`` table, claimed and released in two short writes (measured: 185 µs a turn, against a
few µs).  No write transaction is held across a turn: SQLite has one writer at a time, and
holding it for a whole turn (as ``BEGIN IMMEDIATE`` did) made every other session's turn wait.

The file is watched: if it is deleted or replaced while the server runs, the store opens the
file at the path again (and says so) instead of writing into a file nobody can see.  Expired
rows are purged as the store goes.

``take`` keeps rate limits in the same file (the ``rates`` table), so the workers sharing it
share one budget per client instead of each granting the whole rate.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sqlite3
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .memory import SessionLocks
from .records import decode, encode

log = logging.getLogger("overdue_bot.stores")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated REAL NOT NULL
)
"""
_LOCKS = """
CREATE TABLE IF NOT EXISTS locks (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires REAL NOT NULL
)
"""
# GCRA: one "theoretical arrival time" per key; a row whose time has passed means a full budget
_RATES = """
CREATE TABLE IF NOT EXISTS rates (
    key TEXT PRIMARY KEY,
    tat REAL NOT NULL
)
"""
_RATES_BY_TIME = "CREATE INDEX IF NOT EXISTS rates_tat ON rates (tat)"
#: a claimed session lock expires after this long (a worker that died mid-turn frees it)
LOCK_TTL = 60.0
#: how long a turn waits for another process's turn of the same session before giving up
LOCK_WAIT = 30.0


#: seconds between purges of expired rows
PURGE_EVERY = 600.0
#: seconds between purges of spent rate rows: one row per client seen since, so this bounds the table
RATE_PURGE_EVERY = 60.0

try:  # open-file-description locks: Linux 3.15 and later
    import fcntl

    _OFD = hasattr(fcntl, "F_OFD_SETLK")
except ImportError:  # pragma: no cover - Windows: the locks table
    _OFD = False


def _flock(kind: int, offset: int) -> bytes:
    """A ``struct flock`` for one byte at ``offset`` (l_pid 0, as OFD locks require)."""
    return struct.pack("hhqqi4x", kind, os.SEEK_SET, offset, 1, 0)


class SQLiteStore:
    """Sessions as JSON rows of one table; rows older than ``ttl`` seconds count as gone."""

    def __init__(
        self,
        path: str | Path = "sessions.db",
        *,
        ttl: float = 24 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = str(path)
        self.ttl = ttl
        self._clock = clock
        self._local = threading.local()
        self._locks = SessionLocks()
        self._purged = self._clock()
        self._rates_purged = -math.inf
        self._conn()

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _conn(self, *, check: bool = False) -> sqlite3.Connection:
        """This thread's connection; with ``check`` (once per turn, in lock()), reopened if the file went."""
        conn = getattr(self._local, "conn", None)
        if (
            check
            and conn is not None
            and not conn.in_transaction
            and self.path != ":memory:"
            and self._identity() != self._local.identity
        ):
            log.warning("SQLite session store %r was deleted or replaced: opening it again", self.path)
            conn.close()
            conn = None
        if conn is None:
            try:
                if self.path != ":memory:" and not self.path.startswith("file:"):
                    # made private before SQLite makes it (0644 under the usual umask): its WAL and
                    # shm files take the database file's mode
                    with contextlib.suppress(OSError):
                        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
                # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE in lock())
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
                conn.execute("PRAGMA busy_timeout=30000")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
                conn.execute(_LOCKS)
                conn.execute(_RATES)
                conn.execute(_RATES_BY_TIME)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the SQLite session store {self.path!r}: {exc}") from exc
            self._local.conn = conn
            self._local.identity = self._identity()
            if getattr(self._local, "lockfd", None) is not None:
                os.close(self._local.lockfd)  # the file was replaced: so may its lock file have been
            self._local.lockfd = self._lock_file()
        return conn

    def _lock_file(self) -> int | None:
        """This thread's descriptor of ``<file>-locks`` (its own, so threads exclude each other too)."""
        if not _OFD or self.path == ":memory:":
            return None
        try:
            fd = os.open(self.path + "-locks", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StoreError(
                f"cannot open the SQLite session store's lock file {self.path}-locks: {exc}"
            ) from exc
        try:  # a file system or platform that refuses OFD locks (EINVAL, ENOLCK): the locks table
            fcntl.fcntl(fd, fcntl.F_OFD_GETLK, _flock(fcntl.F_WRLCK, 0))
        except OSError as exc:
            log.warning(
                "SQLite session store %r: no file locks here (%s); using the locks table", self.path, exc
            )
            os.close(fd)
            return None
        return fd

    def get(self, session_id: str) -> dict[str, Any] | None:
        try:
            row = (
                self._conn()
                .execute("SELECT data, updated FROM sessions WHERE id = ?", (session_id,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite session store {self.path!r}: {exc}") from exc
        if row is None or self._clock() - row[1] > self.ttl:
            return None
        return decode(row[0], session_id, f"SQLite session store {self.path!r}")

    def set(self, session_id: str, data: dict[str, Any]) -> None:
        try:
            self._conn().execute(
                "INSERT INTO sessions (id, data, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET data = excluded.data, updated = excluded.updated",
                (session_id, encode(data), self._clock()),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite session store {self.path!r}: {exc}") from exc
        if self._clock() - self._purged > PURGE_EVERY:
            self._purged = self._clock()
            self.purge()

    def delete(self, session_id: str) -> None:
        try:
            self._conn().execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite session store {self.path!r}: {exc}") from exc

    def purge(self) -> int:
        """Delete expired rows; returns how many went (also done every PURGE_EVERY seconds of writes)."""
        try:
            cur = self._conn().execute("DELETE FROM sessions WHERE updated < ?", (self._clock() - self.ttl,))
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite session store {self.path!r}: {exc}") from exc
        return cur.rowcount

    def take(self, key: str, rate_per_s: float, burst: float, now: float | None = None) -> float:
        """Seconds until one more request under ``key`` may go (0.0: it goes now, and is counted).

        GCRA in one BEGIN IMMEDIATE transaction, so two workers cannot both spend the last of a
        budget.  ``now`` (seconds) defaults to the store's clock.  Keys are kept as given: the
        caller bounds them (Limiter hashes its keys).
        """
        if rate_per_s <= 0 or burst < 1:
            raise ValueError(
                f"take needs a positive rate and a burst of at least 1 (got {rate_per_s}, {burst})"
            )
        interval = 1.0 / rate_per_s
        now = self._clock() if now is None else now
        try:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT tat FROM rates WHERE key = ?", (key,)).fetchone()
                after = (max(float(row[0]), now) if row else now) + interval
                wait = after - burst * interval - now
                if wait <= 0:
                    conn.execute(
                        "INSERT INTO rates (key, tat) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET tat = excluded.tat",
                        (key, after),
                    )
                    if now - self._rates_purged > RATE_PURGE_EVERY:
                        self._rates_purged = now
                        conn.execute("DELETE FROM rates WHERE tat < ?", (now,))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite session store {self.path!r}: rate limit: {exc}") from exc
        return max(0.0, wait)

    def ping(self) -> None:
        """Raise StoreError unless a turn could be stored now: one small write, so a read-only
        file or a full disk makes /healthz say 503 instead of every turn failing behind a 200."""
        try:
            conn = self._conn()
            conn.execute("SELECT 1 FROM sessions LIMIT 1").fetchall()
            conn.execute(
                "INSERT OR REPLACE INTO locks (id, owner, expires) VALUES ('~healthz', 'ping', ?)",
                (self._clock(),),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite session store {self.path!r}: {exc}") from exc

    @contextmanager
    def lock(self, session_id: str) -> Iterator[None]:
        with self._locks.hold(session_id):
            conn = self._conn(check=True)
            fd = self._local.lockfd
            if fd is not None:
                offset = zlib.crc32(session_id.encode("utf-8"))
                self._wait(lambda: self._try_byte(fd, offset))
                try:
                    yield
                finally:
                    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock(fcntl.F_UNLCK, offset))
                return
            owner = self._claim(conn, session_id)
            try:
                yield
            finally:
                try:
                    conn.execute("DELETE FROM locks WHERE id = ? AND owner = ?", (session_id, owner))
                except sqlite3.Error as exc:  # it expires on its own; the turn itself is done
                    log.warning("SQLite session store %r: could not release a lock: %s", self.path, exc)

    @contextmanager
    def lock_now(self, session_id: str) -> Iterator[bool]:
        """The session's lock if no thread or process holds it this moment (True), else False.

        Without file locks (the locks table) it is always False: claiming a row is a write.
        """
        with self._locks.hold_now(session_id) as free:
            fd = None
            if free:
                self._conn(check=True)
                fd = self._local.lockfd
            offset = zlib.crc32(session_id.encode("utf-8"))
            if fd is None or not self._try_byte(fd, offset):
                yield False
                return
            try:
                yield True
            finally:
                fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock(fcntl.F_UNLCK, offset))

    def _try_byte(self, fd: int, offset: int) -> bool:
        try:
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock(fcntl.F_WRLCK, offset))
        except BlockingIOError:
            return False  # another process (or store object) has it
        except OSError as exc:
            raise StoreError(f"SQLite session store {self.path!r}: cannot lock: {exc}") from exc
        return True

    def _claim(self, conn: sqlite3.Connection, session_id: str) -> str:
        """Claim the session's lock row (one short write); wait while another process holds it."""
        owner = f"{os.getpid()}:{threading.get_ident()}:{time.monotonic_ns()}"

        def attempt() -> bool:
            now = time.time()
            try:
                cur = conn.execute(
                    "INSERT INTO locks (id, owner, expires) VALUES (?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, expires = excluded.expires "
                    "WHERE locks.expires < ?",
                    (session_id, owner, now + LOCK_TTL, now),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite session store {self.path!r}: cannot lock: {exc}") from exc
            return cur.rowcount == 1

        self._wait(attempt)
        return owner

    def _wait(self, attempt: Callable[[], bool]) -> None:
        """Retry ``attempt`` with growing pauses until it succeeds or LOCK_WAIT has passed."""
        deadline = time.monotonic() + LOCK_WAIT
        pause = 0.001
        while not attempt():
            if time.monotonic() > deadline:
                raise StoreError(
                    f"SQLite session store {self.path!r}: the session stayed locked for {LOCK_WAIT:g} s"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        fd = getattr(self._local, "lockfd", None)
        if fd is not None:
            os.close(fd)
            self._local.lockfd = None
