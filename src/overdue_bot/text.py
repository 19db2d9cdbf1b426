"""Normalise what people type before anything tries to understand it.

People write on phones: traditional characters, full-width digits, emoji, pinyin-input
typos (预期 for 逾期).  Everything downstream sees one canonical form, so the knowledge
base only has to be written once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

#: A message longer than this is cut before matching: nobody asks one question in 10k characters.
MAX_CHARS = 500

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_SPACE = re.compile(r"\s+")
# anything that is not a letter, digit or CJK ideograph is noise for the matcher
_NOISE = re.compile(r"[^0-9a-zA-Z\u3400-\u9fff\uf900-\ufaff*]+")


@lru_cache(maxsize=1)
def t2s_table() -> dict[int, str]:
    """The traditional→simplified character table (generated from OpenCC, see scripts/)."""
    table: dict[int, str] = {}
    data = resources.files("overdue_bot").joinpath("data/t2s.tsv").read_text(encoding="utf-8")
    for line in data.splitlines():
        if line and not line.startswith("#"):
            src, _, dst = line.partition("\t")
            table[ord(src)] = dst
    return table


def to_simplified(text: str) -> str:
    """Convert traditional (and Taiwan/Hong Kong variant) characters to simplified."""
    return text.translate(t2s_table())


def clean(text: str) -> str:
    """Make arbitrary input safe and canonical: NFKC, simplified, lower case, no control chars.

    Punctuation is kept (slot extraction reads 。，？), the text is cut to MAX_CHARS.
    """
    text = unicodedata.normalize("NFKC", text[: MAX_CHARS * 4])
    text = _CONTROL.sub(" ", text)
    text = to_simplified(text).lower()
    return _SPACE.sub(" ", text).strip()[:MAX_CHARS]


def strip_noise(text: str) -> str:
    """Drop punctuation, emoji and spaces: what is left is what the matcher compares."""
    return _NOISE.sub("", text)


def has_question(text: str) -> bool:
    """Whether the message asks something (a question mark or a question word)."""
    return bool(_QUESTION.search(text))


_QUESTION = re.compile(
    r"[?？]|吗|嘛|么|呢|吧|怎|咋|什么|啥|多少|多久|多长|几|如何|能否|可否|是否|"
    r"会不会|能不能|可不可以|算不算|是不是|有没有|要不要|行不行|哪|为何|为什么|请问|"
    r"[^\s]不[^\s]?$|"
    r"^(?:will|would|can|could|do|does|did|is|are|am|how|what|why|when|where|should)\b"
)


class Replacer:
    """Replace many phrases at once, longest first, in one regex pass."""

    def __init__(self, mapping: Mapping[str, str], *, prefix: str = "", suffix: str = "") -> None:
        self.mapping = dict(mapping)
        keys = sorted(self.mapping, key=len, reverse=True)
        alternatives = "|".join(map(re.escape, keys))
        self._rx = re.compile(f"{prefix}(?P<key>{alternatives}){suffix}") if keys else None

    def __call__(self, text: str) -> str:
        if self._rx is None:
            return text
        return self._rx.sub(lambda m: self.mapping[m.group("key")], text)
