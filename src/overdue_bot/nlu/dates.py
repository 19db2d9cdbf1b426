"""How many days ago a paper arrived, from the way people say when (上周三收到的, 昨天收到, 12月2号
收到, 5天前收到): a 支付令's 15 days and an answer period count from that day.

Read only where a word of receipt follows the date, so a due date (15号还款) is never taken for it.
``today`` is passed in: the reading is pure and a test can fix the day.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from .numerals import to_int

_NUM = r"[\d零〇一二两三四五六七八九十]{1,3}"
#: words of receipt that must follow the date within a few characters
_RECEIVED = r"(?:才|就|刚)?(?:收到|送到|拿到|签收|寄到|送达|接到)"
_WEEKDAYS = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}
_RELATIVE = {"今天": 0, "昨天": 1, "前天": 2, "大前天": 3}
_PATTERN = re.compile(
    rf"(?:(?P<rel>大前天|前天|昨天|今天)"
    rf"|(?P<ago>{_NUM})\s*天(?:之|以)?前"
    rf"|(?P<week>上上|上个?|这个?|本)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])"
    rf"|(?:(?P<month>{_NUM})\s*月\s*)?(?P<day>{_NUM})\s*[号日])"
    rf"[^，。,.!！?？]{{0,4}}?{_RECEIVED}"
)


def received(text: str, today: date) -> tuple[int, tuple[int, int]] | None:
    """Days from the paper's arrival to ``today`` (0: today) and where the date was said, or None."""
    m = _PATTERN.search(text)
    if m is None:
        return None
    days = _days(m, today)
    return None if days is None else (days, m.span())


def _days(m: re.Match[str], today: date) -> int | None:
    if m.group("rel"):
        return _RELATIVE[m.group("rel")]
    if m.group("ago"):
        return to_int(m.group("ago"))
    if m.group("wd"):
        weekday = _WEEKDAYS[m.group("wd")]
        back = {"上上": 14, "上": 7, "上个": 7}.get(m.group("week") or "", 0)
        days = today.weekday() - weekday + back
        return days if days >= 0 else days + 7  # 周三收到的, said on a Monday: last week's
    day = to_int(m.group("day"))
    month = to_int(m.group("month")) if m.group("month") else today.month
    if not day or not month or not 1 <= month <= 12:
        return None
    try:
        when = date(today.year, month, day)
    except ValueError:
        return None
    if when > today:  # 28号收到的, said on the 7th: last month's (or last year's December)
        if m.group("month"):
            when = when.replace(year=today.year - 1)
        else:
            first = today.replace(day=1) - timedelta(days=1)
            try:
                when = first.replace(day=day)
            except ValueError:
                return None
    days = (today - when).days
    return days if days <= 366 else None
