"""Chinese and Arabic numerals to numbers, as people type them on a phone.

两 → 2, 十五 → 15, 1.5万 → 15000, 两千一 → 2100, 1万2 → 12000, 8千5 → 8500, 十几万 → 150000,
三十多万 → 300000; 几万 alone is no number at all.
"""

from __future__ import annotations

import re

DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "仨": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000, "亿": 100000000}
#: a run of characters a sum of money is written in (3000, 两千一, 1.5万, 1w5, 三万多): one pattern
#: for the slot reader and the dialogue's bare-number corrections
MONEY_RUN = r"[\d零〇一二两俩三四五六七八九十百千万几多.kw]{1,14}"
#: a unit written after a number (3万, 8千, 5w, 3k): what it multiplies by
SUFFIX_UNITS = {"万": 10000, "w": 10000, "千": 1000, "k": 1000}
#: the value a vague 几 stands for after 十 (十几 → 15): the middle of the range it names
VAGUE_TEENS = 5

_TOKEN = re.compile(r"\d+(?:\.\d+)?|.")


def parse_number(text: str) -> float | None:
    """Read a number written in digits, Chinese numerals or a mix (3千, 1.5万, 1万2).

    A bare trailing digit after a unit is the next unit down, as people say it:
    两千一 → 2100, 一万五 → 15000, 1万2 → 12000.  十几 counts as 15 (二十几 → 25); any other 几
    (几万, 几十) is too vague to be a number.  多/来 (三十多万) add nothing.  Returns None for
    anything else.
    """
    if not text:
        return None
    text = text.replace("多", "").replace("来", "")
    if "几" in text:
        # only 十几 / X十几 name a number; 几万, 几十, 好几百 do not
        if not re.search(r"十几", text) or text.count("几") > 1:
            return None
        text = text.replace("十几", f"十{VAGUE_TEENS}")
    if not text:
        return None
    if all(ch in DIGITS for ch in text) and len(text) > 1:  # 二零二五: digit by digit
        return float("".join(str(DIGITS[ch]) for ch in text))
    total = 0.0  # completed 万/亿 sections
    section = 0.0  # within the current section
    digit: float | None = None
    last_unit = 1
    zero = False
    for tok in _TOKEN.findall(text):
        if tok[0].isdigit():
            if digit is not None:
                return None  # two numbers side by side: not one amount
            digit = float(tok)
        elif tok in DIGITS:
            zero = zero or DIGITS[tok] == 0
            if digit is not None and not zero:  # 二零二五 style digit strings
                digit = digit * 10 + DIGITS[tok]
            else:
                digit = DIGITS[tok]
        elif tok in UNITS:
            unit = UNITS[tok]
            if unit >= 10000:
                section = (section + (digit or 0)) or 1
                total = (total + section) * unit
                section = 0
            else:
                section += (1 if digit is None else digit) * unit
            digit = None
            zero = False
            last_unit = unit
        else:
            return None
    if digit is not None:
        if last_unit >= 100 and digit < 10 and not zero:
            digit *= last_unit // 10  # 两千一 → 2100, 1万2 → 12000
        section += digit
    return total + section


def to_int(text: str) -> int | None:
    """parse_number rounded to an int, or None."""
    value = parse_number(text)
    return None if value is None else int(round(value))
