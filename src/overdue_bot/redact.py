"""Personal data out of anything the bot writes down (logs, the review queue).

Numbers are found by shape, whatever the separators and the script: a run of seven or more digits
(ASCII, full-width, or spelled 一三八…) with spaces, dashes or dots between them is a phone, an
identity card, a bank card or a QQ number, unless it reads as a date or an amount (followed by
元/块/万).  Words come from data/personal.yaml: a name after 我叫 (or after 本人/我是 when it
starts with a common surname), an account id after 微信号/QQ/vx, an address after 住在/地址 when it
looks like one, a licence plate, an e-mail address.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources
from typing import Any

import yaml

from .nlu.text import CJK

MARK = "[已隐去]"

_DIGIT = "0-9〇零一二三四五六七八九幺"
_SEP = r"[ \-.·_/]"
_PUNCT = r"[，,。.!！?？;；:：、\s)）]"
#: a date is no personal number (2026.12.07, 2026-12-7, 20261207 is still redacted)
_DATE = re.compile(r"\d{4}[.\-/]\d{1,2}[.\-/]\d{1,2}")


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@cache
def _patterns() -> list[tuple[re.Pattern[str], int]]:
    """(pattern, group to replace) in the order they run: words first, then bare numbers."""
    data: dict[str, Any] = yaml.safe_load(
        resources.files("overdue_bot").joinpath("data/personal.yaml").read_text(encoding="utf-8")
    )
    surnames = "".join(sorted(set(data["surnames"])))
    parts = _alternation(data["address_parts"])
    return [
        (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), 0),  # e-mail
        # an account id after its label: letters, digits, _ - . (a bare 微信 before 支付 is no id)
        (
            re.compile(
                rf"(?:{_alternation(data['account_markers'])})\s*(?:号码|号)?\s*(?:是|为|[:：])?\s*"
                r"([A-Za-z0-9][A-Za-z0-9_\-.]{4,})"
            ),
            1,
        ),
        # an address after its label, up to the next punctuation, when it holds a number or two parts
        (
            re.compile(
                rf"(?:{_alternation(data['address_markers'])})\s*[:：]?\s*"
                rf"((?=[^，,。!！?？;；\n]*?(?:\d|(?:{parts})[^，,。!！?？;；\n]*?(?:{parts})))"
                r"[^，,。!！?？;；\n]{3,40})"
            ),
            1,
        ),
        # a street address without a label: 幸福路12号, 3栋2单元501
        (re.compile(rf"[{CJK}]{{2,8}}(?:路|街|巷|弄|道)\d+号(?:[{CJK}\d]{{0,12}}(?:室|楼))?"), 0),
        (re.compile(r"\d+(?:栋|幢|号楼)\d+(?:单元)?\d*(?:室|号)?"), 0),
        # a licence plate: 京A12345, 粤B·D12345
        (re.compile(rf"[{data['plate_provinces']}][A-Z][·\s-]?[A-Z0-9]{{5,6}}(?![A-Za-z0-9])"), 0),
        # a name after a sure label, or after a weak one when it starts with a common surname
        (re.compile(rf"(?:{_alternation(data['name_markers'])})\s*[:：]?\s*([{CJK}]{{2,3}})"), 1),
        (
            re.compile(
                rf"(?:{_alternation(data['name_markers_weak'])})\s*([{surnames}][{CJK}]{{1,2}})(?={_PUNCT}|$)"
            ),
            1,
        ),
        # any long run of digits: phones (+86, 4-4-3, dotted, spelled), ID numbers (spaced, with X),
        # bank cards, QQ numbers, landlines (010-12345678)
        (
            re.compile(
                rf"(?<![0-9])(?:\+?86{_SEP}?)?[{_DIGIT}](?:{_SEP}?[{_DIGIT}]){{6,}}(?:{_SEP}?[Xx])?"
                rf"(?![0-9元块万千百亿])"
            ),
            0,
        ),
    ]


def _replace(group: int) -> Any:
    def sub(m: re.Match[str]) -> str:
        if group == 0 and _DATE.fullmatch(m.group(0).strip()):
            return m.group(0)
        start, end = m.span(group)
        return m.string[m.start() : start] + MARK + m.string[end : m.end()]

    return sub


def redact(text: str) -> str:
    """The text with every personal number, id, address and name replaced by MARK."""
    text = unicodedata.normalize("NFKC", text)
    for rx, group in _patterns():
        text = rx.sub(_replace(group), text)
    return text
