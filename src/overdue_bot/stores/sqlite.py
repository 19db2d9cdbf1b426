"""Sessions in a SQLite file: standard library only, WAL, survives restarts.

Several worker processes on one machine may share the file.  ``lock`` serialises the turns of a
session across threads (a per-session lock) and across processes (``BEGIN IMMEDIATE``, which
SQLite grants to one writer at a time), so a retry or a double click cannot interleave turns.

The file is watched: if it is deleted or replaced while the server runs, the store opens the
file at the path again (and says so) instead of writing into a file nobody can see.  Expired
rows are purged as the store goes.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
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


#: seconds between purges of expired rows
PURGE_EVERY = 600.0


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
                # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE in lock())
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
                conn.execute("PRAGMA busy_timeout=30000")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the SQLite session store {self.path!r}: {exc}") from exc
            self._local.conn = conn
            self._local.identity = self._identity()
        return conn

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

    def ping(self) -> None:
        """Raise StoreError unless the file can be read."""
        try:
            self._conn().execute("SELECT 1 FROM sessions LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite session store {self.path!r}: {exc}") from exc

    @contextmanager
    def lock(self, session_id: str) -> Iterator[None]:
        with self._locks.hold(session_id):
            conn = self._conn(check=True)
            if conn.in_transaction:  # nested use in one thread: the outer lock already holds it
                yield
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite session store {self.path!r}: cannot lock: {exc}") from exc
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
