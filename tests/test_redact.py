"""Redaction (issue 25, point 6): the common forms of personal data people type, and the debt
facts that must survive it (amounts, days, dates, lenders), since the review queue is read to
write examples."""

from __future__ import annotations

import unicodedata

import pytest

from overdue_bot.redact import MARK, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("我的电话1381 2345 678", "2345"),  # spaced 4-4-3
        ("手机138.1234.5678有事打", "1234"),  # dotted
        ("电话一三八一二三四五六七八", "一二三四"),  # spelled in Chinese digits
        ("号码幺三八一二三四五六七八", "一二三四"),  # 幺 for one, as read out
        ("身份证110101 19900101 123X", "19900101"),  # ID with spaces
        ("身份证11010119900101123x", "19900101"),  # lowercase x
        ("我的名字是王小明，欠了借呗", "王小明"),
        ("本人张伟，花呗逾期三天", "张伟"),
        ("我叫李四", "李四"),
        ("加我微信号 abc_12345 聊", "abc_12345"),
        ("vx：wang-2024x 谢谢", "wang-2024x"),
        ("QQ号是 123456789", "123456789"),
        ("扣扣 55667788", "55667788"),
        ("我住在北京市朝阳区幸福路12号，催收说要上门", "朝阳区"),
        ("地址：广东省深圳市南山区某某小区3栋501", "南山区"),
        ("幸福路12号3栋501室", "12号"),
        ("车牌京A12345被拍了", "A12345"),
        ("车牌粤B·D12345", "D12345"),
        ("座机010-12345678", "12345678"),
        ("+86 138 1234 5678", "1234"),
        ("卡号6222 0212 3456 7890", "3456"),
    ],
)
def test_each_form_of_personal_data_is_redacted(text: str, secret: str) -> None:
    out = redact(text)
    assert MARK in out and secret not in out, out


@pytest.mark.parametrize(
    "text",
    [
        "本人逾期了三个月",
        "我是花呗逾期",
        "微信支付被限制了是因为网贷吗",
        "欠了20000元，每月能还1500",
        "2026.12.07收到支付令",
        "逾期30天 欠5000",
        "催收说要去户籍地走访",
        "我家在农村",
        "一万五千",
        "花呗3000借呗5000",
        "我是向银行借的钱",
    ],
)
def test_debt_facts_survive(text: str) -> None:
    assert redact(text) == unicodedata.normalize("NFKC", text)  # (full-width commas read as ',')
