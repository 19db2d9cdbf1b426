"""Normalise what people type before anything tries to understand it.

People write on phones: traditional characters, full-width digits, emoji, pinyin-input
typos (预期 for 逾期).  Everything downstream sees one canonical form, so the knowledge
base only has to be written once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from importlib import resources

#: A message longer than this is cut before matching: nobody asks one question in 10k characters.
MAX_CHARS = 500

#: what "a Chinese character" means everywhere in the package: a regex class body (CJK ideographs,
#: extension A and the compatibility block; NFKC and the t2s table map most of the latter anyway)
CJK = "\u3400-\u9fff\uf900-\ufaff"
CJK_CHAR = re.compile(f"[{CJK}]")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_SPACE = re.compile(r"\s+")
#: a character (not a digit: 10000 is a number) repeated more than three times
_RUN = re.compile(r"(\D)\1{3,}")
#: a piece of 2 to 24 characters repeated back to back more than three times (digits alone are
#: no run: 121212 is a number); tried on the cut text only, its cost grows with the length
_PIECES = re.compile(r"(.{2,24}?)\1{3,}", re.S)
#: more digits in a row than any number a person means (a card number has 19): the rest is noise
_DIGITS = re.compile(r"(\d{24})\d+")
# anything that is not a letter, digit or CJK ideograph is noise for the matcher
_NOISE = re.compile(f"[^0-9a-zA-Z{CJK}*]+")
_LATIN_GAP = re.compile(f"[a-zA-Z][^0-9a-zA-Z{CJK}*]+[a-zA-Z]")


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
    # 啊啊啊啊啊啊 reads as 啊啊啊, a question pasted thirty times as three times: a repetition
    # says nothing new, and 10,000 of one character (or of one clause) cost no more than three
    text = _DIGITS.sub(r"\1", _RUN.sub(r"\1\1\1", text))
    text = _SPACE.sub(" ", text).strip()[:MAX_CHARS]
    return _PIECES.sub(_three, text) if len(text) >= 8 else text


def _three(m: re.Match[str]) -> str:
    unit = m.group(1)
    return m.group(0) if unit.isdigit() else unit * 3


def strip_noise(text: str) -> str:
    """Drop punctuation, emoji and spaces: what is left is what the matcher compares.

    Between two Latin words one space stays (the segmenter drops it): pay huabei 2 days late is
    pay·P·D·逾期, where gluing gave one token, happenspayPDlate, that no example shares."""
    if not _LATIN_GAP.search(text):
        return _NOISE.sub("", text)
    return _NOISE.sub(_gap, text)


def _gap(m: re.Match[str]) -> str:
    t, start, end = m.string, m.start(), m.end()
    return " " if 0 < start and end < len(t) and _is_latin(t[start - 1]) and _is_latin(t[end]) else ""


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


class QuestionTest:
    """Whether a message asks something: a question mark, a question word, or the A不A form
    (好不好, 行不行 at the end; 上不上征信, 影不影响 anywhere); the words come from lexicon.yaml."""

    def __init__(self, words: Iterable[str], english: Iterable[str] = ()) -> None:
        chinese = "|".join(map(re.escape, sorted(words, key=len, reverse=True))) or "(?!)"
        latin = "|".join(map(re.escape, english)) or "(?!)"
        self._rx = re.compile(rf"[?？]|{chinese}|[^\s]不[^\s]?$|([{CJK}])不\1|^(?:{latin})\b")

    def __call__(self, text: str) -> bool:
        return bool(self._rx.search(text))


class Replacer:
    """Replace many phrases at once, longest first, in one regex pass."""

    def __init__(
        self,
        mapping: Mapping[str, str],
        *,
        prefix: str = "",
        suffix: str = "",
        words: Callable[[str], Iterable[str]] | None = None,
    ) -> None:
        self.mapping = dict(mapping)
        keys = sorted(self.mapping, key=len, reverse=True)
        alternatives = "|".join(map(re.escape, keys))
        self._rx = re.compile(f"{prefix}(?P<key>{alternatives}){suffix}") if keys else None
        #: with a segmenter, a phrase is replaced only where no word of the text crosses its edge: the
        #: typo 点算 (Cantonese 怎么办) in 几点算逾期 cuts 几点 and stays as it is
        self._words = words

    def __call__(self, text: str) -> str:
        if self._rx is None:
            return text
        if self._words is None:
            return self._rx.sub(lambda m: self.mapping[m.group("key")], text)
        found = list(self._rx.finditer(text))
        if not found:
            return text
        spans = _spans(text, self._words(text))
        out, last = [], 0
        for m in found:
            a, b = m.span()
            # a word that holds the phrase (正信会) is fine, one the phrase cuts through (几点|算) is not
            if not any(
                s < b and a < e and not (s <= a and b <= e) and not (a <= s and e <= b) for s, e in spans
            ):
                out += [text[last:a], self.mapping[m.group("key")]]
                last = b
        return "".join(out) + text[last:]


def _spans(text: str, words: Iterable[str]) -> list[tuple[int, int]]:
    """Where the words of two characters or more of a segmentation of text stand in it (a word
    that a phrase's edge cuts through is a word the phrase is not)."""
    spans, pos = [], 0
    for w in words:
        at = text.find(w, pos)
        if at < 0:
            break
        if len(w) > 1:
            spans.append((at, at + len(w)))
        pos = at + len(w)
    return spans
