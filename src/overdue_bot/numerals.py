"""Chinese and Arabic numerals to numbers: 两 → 2, 十五 → 15, 1.5万 → 15000, 两千一 → 2100."""

from __future__ import annotations

import re

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "仨": 3, "四": 4,
          "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000, "亿": 100000000}



def parse_number(text: str) -> float | None:
    """Read a number written in digits, Chinese numerals or a mix (3千, 1.5万).

    A bare trailing digit after a unit is the next unit down, as people say it:
    两千一 → 2100, 一万五 → 15000, 三百五 → 350.  Returns None for anything else.
    """
    if not text:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([十百千万亿]*)", text)
    if m:
        value = float(m.group(1))
        for unit in m.group(2):
            value *= UNITS[unit]
        return value
    if all(ch in DIGITS for ch in text):  # 二零二五: digit by digit
        return float("".join(str(DIGITS[ch]) for ch in text))
    total = 0  # completed 万/亿 sections
    section = 0  # within the current section
    digit: int | None = None
    last_unit = 1
    zero = False
    for ch in text:
        if ch in DIGITS:
            zero = zero or DIGITS[ch] == 0
            if digit is not None and not zero:  # 二零二五 style digit strings
                digit = digit * 10 + DIGITS[ch]
            else:
                digit = DIGITS[ch]
        elif ch in UNITS:
            unit = UNITS[ch]
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
            digit *= last_unit // 10  # 两千一 → 2100
        section += digit
    return float(total + section)


def to_int(text: str) -> int | None:
    """parse_number rounded to an int, or None."""
    value = parse_number(text)
    return None if value is None else int(round(value))
