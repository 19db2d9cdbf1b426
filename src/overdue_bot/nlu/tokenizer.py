"""The only module that imports jieba: a private tokenizer with the domain dictionary.

A private ``jieba.Tokenizer`` keeps our words out of the host application's global jieba.

With the extra ``fast``, rjieba (jieba-rs, in Rust) segments instead, about 25 times faster per
message, loaded with exactly the same dictionary: the same words, the same frequencies and the
same total (the log-probabilities compare 还了 against 还+了 within 0.006, so a total off by
0.7 % already splits differently).  Loaded so, it split every example, every test and real
question and 30,000 random mixed-script texts as jieba does (tests/test_text.py keeps checking
the shipped examples).  ``OVERDUE_BOT_SEGMENTER=jieba`` keeps jieba even where rjieba is there.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import sys
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from .. import cache


@functools.cache
def _jieba_version() -> str:
    """jieba's version without importing it (the dictionary's cache name depends on it)."""
    from importlib import metadata

    try:
        return metadata.version("jieba")
    except metadata.PackageNotFoundError:
        return str(_jieba().__version__)


def _import_jieba() -> ModuleType:
    """Import jieba without pkg_resources.

    jieba imports pkg_resources only to locate its own data files, which costs ~90 ms and
    ~20 MB where setuptools is installed; when that import fails it opens them by path.  Hide
    pkg_resources for this one import, unless the host application has already loaded it.
    """
    if "pkg_resources" in sys.modules:
        import jieba
    else:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]
        try:
            import jieba
        finally:
            del sys.modules["pkg_resources"]
    jieba.setLogLevel(logging.WARNING)
    module: ModuleType = jieba
    return module


#: jieba is imported when the first tokenizer loads, not when overdue_bot is imported
_jieba = functools.cache(_import_jieba)


def _initialize(tk: Any, words: tuple[str, ...], min_freq: int) -> None:
    """Load jieba's dictionary, with the domain words added, from our own cache.

    jieba 0.42 reads its cache with ``marshal.load`` on a file object (~0.6 s); reading the
    bytes first and calling ``marshal.loads`` gives the same dictionary in a fraction of that.
    The cached dictionary already holds the domain words, so start-up adds none.
    """
    name = Tokenizer.cache_name(words, min_freq)
    cached = cache.load(name)
    if isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[0], dict):
        tk.FREQ, tk.total = cached
        tk.initialized = True
        return
    # build from jieba's own dictionary, bypassing jieba's cache file (which we don't use), and
    # keep only words seen at least min_freq times in jieba's corpus (MatcherConfig.min_freq)
    with tk.get_dict_file() as f:
        lines = [
            line
            for line in f.read().decode("utf-8").splitlines()
            if line and int(line.split(" ", 2)[1]) >= min_freq
        ]
    tk.FREQ, tk.total = tk.gen_pfdict(io.BytesIO("\n".join(lines).encode("utf-8")))
    tk.initialized = True
    for w in words:
        tk.add_word(w, freq=max(tk.suggest_freq(w, tune=False), 2000))
    cache.save(name, (tk.FREQ, tk.total), family="overdue_bot-jieba-")


#: a word no text holds (a private-use character), whose frequency brings rjieba's total to jieba's
_BALANCE = "\ue000"


def _rjieba(tk: Any) -> Any:
    """An rjieba segmenter with jieba's dictionary ``tk`` (None when rjieba is not installed)."""
    try:
        import rjieba
    except ImportError:
        return None
    empty: Any = rjieba.Jieba.empty  # rjieba ships no type hints
    seg = empty()
    kept = 0
    for word, freq in tk.FREQ.items():
        if freq > 0:  # jieba's zero entries are prefixes for its own word graph
            seg.add_word(word, freq, None)
            kept += freq
    if tk.total > kept:
        seg.add_word(_BALANCE, tk.total - kept, None)
    return seg


def _segmenter() -> str:
    return os.environ.get("OVERDUE_BOT_SEGMENTER", "auto")


class Tokenizer:
    """Segment Chinese text, never splitting the domain's words (花呗, 征信, 爆通讯录 …)."""

    def __init__(self, words: Iterable[str] = (), min_freq: int = 20) -> None:
        self._words = tuple(dict.fromkeys(w for w in words if w))
        self._min_freq = min_freq
        self._jieba: Any = None
        self._cut: Any = None
        #: "jieba" or "rjieba", once loaded
        self.segmenter = ""
        self._lock = threading.Lock()

    @staticmethod
    def cache_name(words: Iterable[str], min_freq: int) -> str:
        """The cache name of the dictionary with these domain words."""
        unique = tuple(dict.fromkeys(w for w in words if w))
        return f"overdue_bot-jieba-{_jieba_version()}-{cache.digest(unique, min_freq)}.cache"

    def _load(self) -> Any:
        with self._lock:
            if self._jieba is None:
                tk = _jieba().Tokenizer()
                _initialize(tk, self._words, self._min_freq)
                fast = _rjieba(tk) if _segmenter() != "jieba" else None
                if fast is not None:
                    self._cut, self.segmenter = (lambda text: fast.cut(text, True)), "rjieba"
                else:
                    self._cut, self.segmenter = (lambda text: tk.lcut(text, HMM=True)), "jieba"
                self._jieba = tk
            return self._cut

    def warm_up(self) -> None:
        """Load the dictionary now rather than on the first message."""
        self._load()

    def cut(self, text: str) -> list[str]:
        """Words of a text, without spaces."""
        cut = self._cut or self._load()
        return [w for w in cut(text) if not w.isspace()]

    def cut_with_jieba(self, text: str) -> list[str]:
        """The same with jieba itself, whichever segmenter ``cut`` uses (to check they agree)."""
        self._load()
        return [w for w in self._jieba.lcut(text, HMM=True) if not w.isspace()]
