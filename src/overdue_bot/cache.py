"""A small on-disk cache for start-up work (jieba's dictionary, the built example index).

The cache is the user's own: ``$OVERDUE_BOT_CACHE``, else ``$XDG_CACHE_HOME/overdue-bot``, else
``~/.cache/overdue-bot``, created mode 0700.  A folder that others can write to, or that belongs
to someone else, is not used.  Every file starts with a keyed digest (HMAC-SHA256 with a random
key kept, mode 0600, in the user's own cache folder) of what follows, and a file whose digest
does not match is ignored and rebuilt: nobody else can make the bot read an index they wrote.

Values are marshalled (``marshal.loads`` of bytes is several times faster than unpickling); a
cache that cannot be read or written only costs time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import marshal
import os
import secrets
import stat
import zlib
from pathlib import Path
from typing import Any

log = logging.getLogger("overdue_bot.cache")

_MAGIC = b"OBC1"
_DIGEST = 32


def _private() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "overdue-bot"


def folder() -> Path:
    """Where cache files go (see the module docstring)."""
    chosen = os.environ.get("OVERDUE_BOT_CACHE")
    return Path(chosen) if chosen else _private()


def _safe_dir(path: Path) -> bool:
    """Create the folder 0700 if need be; True when only this user can write to it."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError:
        return False
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return False
    return not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _key() -> bytes | None:
    """This user's cache key, made on first use (None when there is nowhere private to keep it)."""
    home = _private()
    if not _safe_dir(home):
        return None
    path = home / "key"
    try:
        data = path.read_bytes()
        if len(data) == 32:
            return data
    except OSError:
        pass
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path.with_name(f"key.{os.getpid()}.tmp"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        os.replace(path.with_name(f"key.{os.getpid()}.tmp"), path)
        return path.read_bytes()
    except OSError:
        return None


def load(name: str) -> Any | None:
    """The cached value: this user's, else the one shipped in the package (built with the wheel),
    else None."""
    value = _load_own(name)
    return value if value is not None else shipped(name)


def exists(name: str) -> bool:
    """Whether ``load(name)`` would find something, without reading it (for a "loading…" line)."""
    return (folder() / name).is_file() or (_shipped_dir() / name).is_file()


def _shipped_dir() -> Path:
    return Path(__file__).resolve().parent / "_index"


def shipped(name: str) -> Any | None:
    """An index the wheel build wrote into the package (``hatch_build.py``): part of the package,
    as trusted as its code, so it carries no user key."""
    try:
        return marshal.loads(zlib.decompress((_shipped_dir() / name).read_bytes()))
    except (OSError, ValueError, EOFError, TypeError, zlib.error):
        return None


def ship(folder_to: Path, names: list[str]) -> list[Path]:
    """Write this user's cache entries ``names`` as shipped files into ``folder_to`` (the build hook)."""
    folder_to.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        value = load(name)  # this build's, or one shipped in the tree already (the same dictionary)
        if value is None:
            raise OSError(f"nothing cached under {name}")
        path = folder_to / name
        path.write_bytes(zlib.compress(marshal.dumps(value), 6))
        written.append(path)
    return written


def _load_own(name: str) -> Any | None:
    """This user's cached value, or None when there is none, it is unreadable or not written by us."""
    where = folder()
    key = _key()
    if key is None or not _safe_dir(where):
        return None
    try:
        raw = (where / name).read_bytes()
    except OSError:
        return None
    head, body = raw[: len(_MAGIC) + _DIGEST], raw[len(_MAGIC) + _DIGEST :]
    if head[: len(_MAGIC)] != _MAGIC or not hmac.compare_digest(head[len(_MAGIC) :], _sign(key, body)):
        log.warning("ignoring cache file %s: not written by this user's overdue-bot", where / name)
        return None
    try:
        return marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None


def save(name: str, value: Any, *, family: str = "") -> None:
    """Write atomically, so concurrent processes never read half a file.

    With ``family``, older files whose names start with it (caches of earlier versions) go.
    """
    where = folder()
    key = _key()
    if key is None or not _safe_dir(where):
        return
    path = where / name
    try:
        body = marshal.dumps(value)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(_MAGIC + _sign(key, body) + body)
        os.replace(tmp, path)
        if family:
            for old in path.parent.glob(f"{family}*.cache"):
                if old.name != path.name:
                    old.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


def _sign(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


@functools.cache
def build_id() -> str:
    """What built this package: its version and, run from a source checkout (where the code can
    change without a new version), a digest of its modules, so an index is never read by other code."""
    from ._version import __version__

    here = Path(__file__).resolve().parent
    if os.environ.get("OVERDUE_BOT_RELEASE") or not (here.parent.parent / "pyproject.toml").exists():
        return __version__  # a wheel (or the wheel build, which must key its index as the wheel will)
    try:
        sources = [(p.name, p.read_bytes()) for p in sorted(here.rglob("*.py"))]
    except OSError:
        return __version__
    return f"{__version__}+{digest(sources)[:16]}"


def digest(*parts: object) -> str:
    """A short stable key for the given values (their repr)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:20]
