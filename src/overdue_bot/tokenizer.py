"""The only module that imports jieba: a private tokenizer with the domain dictionary.

A private ``jieba.Tokenizer`` keeps our words out of the host application's global jieba.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import jieba

from . import cache

jieba.setLogLevel(logging.WARNING)


def _initialize(tk: jieba.Tokenizer) -> None:
    """Load jieba's dictionary from our own cache.

    jieba 0.42 reads its cache with ``marshal.load`` on a file object (~0.6 s); reading the
    bytes first and calling ``marshal.loads`` gives the same dictionary in a fraction of that.
    """
    name = f"overdue_bot-jieba-{jieba.__version__}.cache"
    cached = cache.load(name)
    if isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[0], dict):
        tk.FREQ, tk.total = cached
        tk.initialized = True
        return
    # build from the dictionary itself, bypassing jieba's own cache file (which we don't use)
    with tk.get_dict_file() as f:
        tk.FREQ, tk.total = tk.gen_pfdict(f)
    tk.initialized = True
    cache.save(name, (tk.FREQ, tk.total))


class Tokenizer:
    """Segment Chinese text, never splitting the domain's words (花呗, 征信, 爆通讯录 …)."""

    def __init__(self, words: Iterable[str] = ()) -> None:
        self._words = tuple(dict.fromkeys(w for w in words if w))
        self._jieba: jieba.Tokenizer | None = None
        self._lock = threading.Lock()

    def _load(self) -> jieba.Tokenizer:
        with self._lock:
            if self._jieba is None:
                tk = jieba.Tokenizer()
                _initialize(tk)
                for w in self._words:
                    tk.add_word(w, freq=max(tk.suggest_freq(w, tune=False), 2000))
                self._jieba = tk
            return self._jieba

    def warm_up(self) -> None:
        """Load the dictionary now rather than on the first message."""
        self._load()

    def cut(self, text: str) -> list[str]:
        """Words of a text, without spaces."""
        tk = self._jieba or self._load()
        return [w for w in tk.lcut(text, HMM=True) if not w.isspace()]
