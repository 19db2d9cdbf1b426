"""A small on-disk cache for start-up work (jieba's dictionary, the built example index).

Values are marshalled: ``marshal.loads`` of bytes is several times faster than unpickling or
jieba's own ``marshal.load`` on a file.  A cache that cannot be read or written only costs time.
Set ``OVERDUE_BOT_CACHE`` to choose the folder (default: the system temp folder).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from pathlib import Path
from typing import Any


def folder() -> Path:
    return Path(os.environ.get("OVERDUE_BOT_CACHE") or tempfile.gettempdir())


def load(name: str) -> Any | None:
    """The cached value, or None when there is none (or it is unreadable)."""
    try:
        return marshal.loads((folder() / name).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None


def save(name: str, value: Any, *, family: str = "") -> None:
    """Write atomically, so concurrent processes never read half a file.

    With ``family``, older files whose names start with it (caches of earlier versions) go.
    """
    path = folder() / name
    try:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(value))
        os.replace(tmp, path)
        if family:
            for old in path.parent.glob(f"{family}*.cache"):
                if old.name != path.name:
                    old.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


def digest(*parts: object) -> str:
    """A short stable key for the given values (their repr)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:20]
