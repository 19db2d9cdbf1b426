"""Every answer the bot can give, rendered for the slot combinations people bring, and read for
the mistakes that would hurt someone already frightened: card-only rules told to a borrower who has
no card, 限高 said to need an ability to pay, unfilled placeholders, unlisted phone numbers,
"2920天" for eight years, and a card user two days late told about criminal liability.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest

from overdue_bot import Bot

DAYS = (None, 2, 15, 60, 200, 2920)
#: (label, slots): none, two non-bank lenders, a bank card, a bank loan and a bare bank name
PLATFORMS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("none", {}),
    ("花呗", {"platform": "花呗"}),
    ("好分期", {"platform": "好分期"}),
    ("招商银行 card", {"platform": "招商银行", "product": "card"}),
    ("建行快贷", {"platform": "建设银行", "product": "loan"}),
    ("招商银行", {"platform": "招商银行"}),
)
AMOUNTS = (None, 5000, 60000)
NOT_A_CARD = {"花呗", "好分期", "建行快贷"}

#: phrases that only hold for credit cards (facts §4, §5, §19)
CARD_ONLY = ("个性化分期", "恶意透支", "领用合约", "发卡行", "透支", "信用卡业务监督管理办法", "银行卡纠纷")
#: claims the facts sheet calls wrong (§4, §10, §11)
WRONG = (
    re.compile(r"才(?:可能|会)?被?(?:限制高消费|限高)"),
    re.compile(r"有(?:还款)?能力[^。；\n]{0,15}才[^。；\n]{0,12}(?:限制高消费|限高)"),
    re.compile(
        r"只有[^。；\n（]{0,20}(?:判决后|被起诉并|进入(?:法院)?执行)[^。；\n]{0,10}才[^。；\n]{0,10}冻结"
    ),
    re.compile(r"判决前[^。；\n]{0,6}不会[^。；\n]{0,6}冻结"),
    re.compile(r"就不会(?:被起诉|走到诉讼|联系)"),
)
#: every number an answer may print: facts §6, §13 (12368), §16, §17 and the credit centre
PHONES = {
    "12356",
    "400-161-9995",
    "010-82951332",
    "12378",
    "12321",
    "110",
    "96110",
    "400-810-8866",
    "12363",
    "010-12321",
    "12368",
    "120",
}
_PHONE = re.compile(
    r"(?<![\d.A-Za-z/-])(\d{3,4}-\d{3,4}-\d{4}|\d{3}-\d{5,8}|1\d{2,4}|9\d{4})(?![\d%年月日号天期万元个.-])"
)
_NOT_PHONES = {
    "1033",
    "1024",
    "1064",
    "1065",
    "2016",
    "2017",
    "2020",
    "2021",
    "2022",
    "2023",
    "2024",
    "2025",
    "2026",
    "2027",
    "100",
    "1–7",
    "180",
}


def _combinations(bot: Bot) -> Iterator[tuple[str, str | None, dict[str, Any], str]]:
    """(intent, cue, slots, label) for every intent, cue, days, platform and amount."""
    for it in bot.knowledge.intents:
        for cue in (None, *it.cues):
            for days, (label, plat), amount in itertools.product(DAYS, PLATFORMS, AMOUNTS):
                slots = dict(plat)
                if days is not None:
                    slots["days_overdue"] = days
                if amount is not None:
                    slots["amount"] = amount
                yield it.name, cue, slots, label


#: a text that names a card-only rule to say it does not apply here (恶意透支只针对信用卡，你这笔不是)
_NOT_APPLIED = re.compile(r"只针对信用卡|不是信用卡[^。]*不存在|不存在恶意透支")


def _problems(text: str, days: int | None, label: str, *, asked: bool = False) -> list[str]:
    """What is wrong with a text said to this person (``asked``: a point said only when asked for
    it, where naming the criminal test at a short delay answers the question, not frightens)."""
    found = []
    if _NOT_APPLIED.search(text):
        text = _NOT_APPLIED.sub("", re.sub(r"[^。\n]*(?:只针对信用卡|不存在恶意透支)[^。\n]*", "", text))
    if label in NOT_A_CARD:
        found += [f"card-only phrase {p!r}" for p in CARD_ONLY if p in text]
    found += [f"wrong claim {rx.pattern!r}" for rx in WRONG if rx.search(text)]
    if re.search(r"\{[^}]*\}", text) or "None" in text:
        found.append("unresolved placeholder")
    found += [f"number {n}" for n in _PHONE.findall(text) if n not in PHONES and n not in _NOT_PHONES]
    if re.search(r"\d{3,}天(?!以上|以内|内)", text):
        found.append("long duration in days")
    if not asked and days is not None and days <= 7 and ("恶意透支" in text or "最长5年" in text):
        found.append("criminal test or 60-period instalments at a short delay")
    return found


def test_render_table_has_no_violations(bot: Bot) -> None:
    """The render table of issue 10: every combination, zero violations (the count is printed).

    Every point is read too, as it would be said to that person: a follow-up (恶意透支会判吗 after
    建行快贷逾期) must not give a card-only rule to a borrower without a card any more than a first
    answer may."""
    violations = []
    count = 0
    for intent, cue, slots, label in _combinations(bot):
        text, _ = bot.dialogue.render(intent, slots, cue)
        count += 1
        assert text.strip(), (intent, slots)
        days = slots.get("days_overdue")
        points = [
            t
            for p in bot.dialogue.intents[intent].points
            if (t := bot.dialogue.render_point(intent, p.name, slots, cue))
        ]
        found = _problems(text, days, label) + [
            x for t in points for x in _problems(t, days, label, asked=True)
        ]
        for problem in dict.fromkeys(found):
            violations.append((intent, cue, label, slots.get("days_overdue"), slots.get("amount"), problem))
    print(f"\nrender table: {count} combinations, {len(violations)} violations")
    assert count >= 3000
    assert not violations, "\n".join(map(str, violations[:40]))


@pytest.mark.parametrize(
    "intent", ["lawsuit_risk", "negotiate_repayment", "overdue_consequences", "what_to_do"]
)
@pytest.mark.parametrize("label", ["花呗", "好分期", "建行快贷"])
def test_long_overdue_small_debt_gets_negotiation_and_complaint(bot: Bot, intent: str, label: str) -> None:
    """200 days late with ¥5k: the long-overdue answer, with negotiation and where to complain."""
    slots = {**dict(PLATFORMS)[label], "days_overdue": 200, "amount": 5000}
    text, variant = bot.dialogue.render(intent, slots)
    assert "约7个月" in text, variant
    assert "投诉" in text and ("协商" in text or "分期" in text or "谈" in text), (intent, variant)


def test_card_two_days_gets_the_short_delay_answers(bot: Bot) -> None:
    slots = {"platform": "招商银行", "product": "card", "days_overdue": 2}
    lawsuit, _ = bot.dialogue.render("lawsuit_risk", slots)
    negotiate, _ = bot.dialogue.render("negotiate_repayment", slots)
    assert "一般还不到起诉" in lawsuit and "恶意透支" not in lawsuit
    assert "个性化分期" not in negotiate and "说明原因" in negotiate


def test_bank_loan_is_not_answered_as_a_card(bot: Bot) -> None:
    """建行快贷 is a loan: no 领用合约, no 个性化分期, the loan note instead."""
    slots = {"platform": "建设银行", "product": "loan", "days_overdue": 60}
    for intent in ("lawsuit_risk", "negotiate_repayment", "penalty_interest", "overdue_consequences"):
        text, _ = bot.dialogue.render(intent, slots)
        assert "不是信用卡" in text, intent
        assert not any(p in text for p in CARD_ONLY), intent


def test_bare_bank_name_asserts_neither(bot: Bot) -> None:
    """With only 招商银行, where the rules differ the answer names both and asks which."""
    text, variant = bot.dialogue.render("negotiate_repayment", {"platform": "招商银行"})
    assert "bank" in variant.split("+")
    assert "如果是信用卡" in text and "如果是贷款" in text


@pytest.mark.parametrize(
    ("cue", "must"),
    [
        ("payment_order", ["15天", "书面", "没钱还"]),
        ("summons", ["15天", "缺席判决", "小额诉讼"]),
        ("arbitration", ["3个月", "2026年3月1日", "先予仲裁"]),
        ("enforcement", ["执行", "限制高消费", "生活必需"]),
        ("fake", ["12368", "人民法院在线服务", "验证码"]),
    ],
)
def test_court_papers_by_kind_of_paper(bot: Bot, cue: str, must: list[str]) -> None:
    """The first answer fits the paper (and says how to check it is real); the topic's points for
    that paper hold what a person asks next (没钱能异议吗, 先予仲裁, 小额诉讼)."""
    first, variant = bot.dialogue.render("court_papers", {}, cue)
    assert not variant.startswith("default") and "核实" in first
    it = bot.dialogue.intents["court_papers"]
    said = [bot.dialogue.render_point("court_papers", p.name, {}, cue) for p in it.points]
    text = "\n".join([first, *(t for t in said if t)])
    for phrase in must:
        assert phrase in text, (cue, phrase)


def test_complaint_channel_follows_the_kind_of_lender(bot: Bot) -> None:
    """Banks and consumer finance: 12378. Online micro-lenders: the provincial regulator and NIFA, and
    12378 where the contract names a partner bank as the lender (好分期 lends through banks too)."""
    micro, _ = bot.dialogue.render("harassment_complaint", {"platform": "好分期"})
    bank, _ = bot.dialogue.render("harassment_complaint", {"platform": "招商银行", "product": "card"})
    cf, _ = bot.dialogue.render("harassment_complaint", {"platform": "花呗"})
    assert "地方金融管理局" in micro and "jubao.nifa.org.cn" in micro
    assert "放款方是银行的，可拨12378" in micro
    assert "12378" in bank and "地方金融管理局" not in bank
    assert "12378" in cf
    # spam calls and threats have their own lines, a question away (骚扰电话能举报吗 / 能报警吗)
    it = bot.dialogue.intents["harassment_complaint"]
    points = "\n".join(
        t for p in it.points if (t := bot.dialogue.render_point(it.name, p.name, {"platform": "好分期"}))
    )
    assert "12321" in points and "110" in points


def test_durations_read_as_people_say_them(bot: Bot) -> None:
    text, _ = bot.dialogue.render("overdue_severity", {"days_overdue": 2920})
    assert "8年" in text and "2920" not in text
    text, _ = bot.dialogue.render("credit_report", {"days_overdue": 60})
    assert "2个月" in text
