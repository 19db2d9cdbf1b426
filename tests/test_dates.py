"""When a paper arrived, said as people say it (issue 27's deadlines need it): days since."""

from __future__ import annotations

from datetime import date

import pytest

from overdue_bot.nlu.dates import received

MONDAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("今天刚收到", 0),
        ("昨天收到的", 1),
        ("前天收到的支付令", 2),
        ("3天前收到的", 3),
        ("三天以前收到", 3),
        ("上周三收到的", 5),
        ("周五收到的", 3),  # said on a Monday: last Friday
        ("上上周一收到", 14),
        ("12月2号收到的", 5),
        ("2号收到的", 5),
        ("28号收到的", 9),  # the 28th of last month
        ("11月30日签收", 7),
    ],
)
def test_the_days_since_a_paper_arrived(text: str, days: int) -> None:
    got = received(text, MONDAY)
    assert got is not None and got[0] == days


@pytest.mark.parametrize("text", ["15号还款日", "每月3号扣款", "逾期三天了", "周三还款", "收到支付令了"])
def test_a_date_that_is_no_receipt_is_not_read(text: str) -> None:
    assert received(text, MONDAY) is None
