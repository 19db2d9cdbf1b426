"""Answers people can trust: the seed question, safety answers, platform- and amount-awareness."""

from __future__ import annotations

from overdue_bot import Bot


def test_seed_question_at_two_days(fresh_bot: Bot) -> None:
    """At 2 days the answer says contacts are not the first step and when they may be contacted."""
    r = fresh_bot.reply("好分期逾期两天会联系我的联系人吗", session_id="seed")
    assert r.intent == "contact_emergency_contacts"
    assert r.slots == {
        "platform": "好分期",
        "days_overdue": 2,
        "debts": [{"platform": "好分期", "days_overdue": 2}],
    }
    assert "不会一上来就找你的联系人" in r.text
    assert "联系不上你" in r.text
    assert "不构成法律意见" in r.text
    assert r.text.index("联系不上你") < r.text.index("微财数科"), "the answer comes before the lender note"


def test_two_days_and_three_months_differ(bot: Bot) -> None:
    a = bot.dialogue.render("contact_emergency_contacts", {"days_overdue": 2})[0]
    b = bot.dialogue.render("contact_emergency_contacts", {"days_overdue": 90})[0]
    assert a != b and "委外" in b


def test_distress_gives_hotlines_first(fresh_bot: Bot) -> None:
    r = fresh_bot.reply("还不上钱我真的不想活了", session_id="d")
    assert r.intent == "distress"
    for number in ("12356", "400-161-9995", "010-82951332"):
        assert number in r.text


def test_card_only_rules_only_for_cards(bot: Bot) -> None:
    """个性化分期 and 恶意透支 appear for credit cards, never for online lenders."""
    card = bot.dialogue.render("negotiate_repayment", {"platform": "招商银行", "product": "card"})[0]
    online = bot.dialogue.render("negotiate_repayment", {"platform": "借呗"})[0]
    assert "个性化分期" in card and "最长5年" in card
    assert "最长5年" not in online
    sued_card = bot.dialogue.render("lawsuit_risk", {"platform": "信用卡", "amount": 60000})[0]
    sued_online = bot.dialogue.render("lawsuit_risk", {"platform": "美团借钱", "amount": 60000})[0]
    assert "5万元" in sued_card and "6万元" in sued_card
    assert "6万元" in bot.dialogue.render("negotiate_repayment", {"platform": "信用卡", "amount": 60000})[0]
    assert "恶意透支要同时满足" not in sued_online


def test_credit_repair_window_is_closed(bot: Bot) -> None:
    """The first answer names paid repair a scam; the one-time repair, asked about, is over and
    never needed an application (facts §2)."""
    text = bot.dialogue.render("credit_record_removal", {})[0]
    assert "骗局" in text
    it = bot.dialogue.intents["credit_record_removal"]
    said = [
        t
        for p in it.points
        if (t := bot.dialogue.render_point(it.name, p.name, {})) and "一次性信用修复" in t
    ]
    assert said and all("已经结束" in t and "不用申请" in t and "不能再申请" not in t for t in said)


def test_platform_note_names_the_kind(bot: Bot) -> None:
    text = bot.dialogue.render("credit_report", {"platform": "好分期", "days_overdue": 3})[0]
    assert "微财数科" in text and "小额贷款" in text


STAGED = [
    "contact_emergency_contacts",
    "contact_workplace",
    "collection_process",
    "credit_report",
    "overdue_severity",
    "overdue_consequences",
    "lawsuit_risk",
    "penalty_interest",
]


def test_every_stage_has_its_own_answer(bot: Bot) -> None:
    """1–7, 8–30, 31–90, over 90 days and unknown days give five different answers."""
    for name in STAGED:
        texts = {
            bot.dialogue.render(name, {"days_overdue": d} if d else {})[0] for d in (2, 15, 60, 120, None)
        }
        assert len(texts) == 5, name


def test_severity_names_level_and_bucket(bot: Bot) -> None:
    for days, level, bucket in [
        (3, "轻度逾期", "M1"),
        (20, "中度逾期", "M1"),
        (45, "重度逾期", "M2"),
        (80, "重度逾期", "M3"),
        (200, "重度逾期", "M3+"),
    ]:
        text = bot.dialogue.render("overdue_severity", {"days_overdue": days})[0]
        assert level in text and bucket in text, days
        assert "不是监管规定" in text or "不是法律规定" in text or "惯例" in text


def test_online_lenders_never_get_card_only_rules(bot: Bot) -> None:
    """个性化分期 (≤5 years) and 恶意透支 conditions are never claimed for a non-card lender."""
    for it in bot.knowledge.intents:
        for platform in ("好分期", "花呗", "借呗", "微粒贷", "美团借钱", "招联金融"):
            for days in (None, 3, 60, 200):
                slots = {"platform": platform, "amount": 60000}
                if days:
                    slots["days_overdue"] = days
                text = bot.dialogue.render(it.name, slots)[0]
                assert "最长5年" not in text and "恶意透支要同时满足" not in text, (it.name, platform, days)


def test_every_legal_answer_ends_with_the_note(bot: Bot) -> None:
    for it in bot.knowledge.intents:
        if it.legal:
            assert bot.dialogue.render(it.name, {"days_overdue": 10})[0].endswith(
                bot.knowledge.texts.disclaimer
            ), it.name


def test_amount_line_for_large_card_debt(bot: Bot) -> None:
    text = bot.dialogue.render("lawsuit_risk", {"platform": "建设银行", "product": "card", "amount": 80000})[
        0
    ]
    assert "8万元" in text and "非法占有" in text and "只算本金" in text
    small = bot.dialogue.render("lawsuit_risk", {"platform": "建设银行", "product": "card", "amount": 8000})[
        0
    ]
    assert "低于" in small
