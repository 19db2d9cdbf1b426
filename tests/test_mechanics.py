"""Mechanical faults fixed at their shared mechanism (issue 24): placeholders never glue, a typo is
corrected only where it is whole words, courtesy words go only as whole words, and a faint
reading of distress needs a word of distress."""

from __future__ import annotations

from overdue_bot import Bot


def test_adjacent_placeholders_stay_apart(bot: Bot) -> None:
    tokens = bot.nlu.analyse("花呗3000逾期了怎么办").tokens
    assert tokens[:2] == ("P", "A")
    assert "DP" not in bot.nlu.analyse("借呗逾期3天 花呗逾期5天").tokens


def test_a_typo_is_corrected_only_as_whole_words(bot: Bot) -> None:
    assert "怎么办" not in bot.nlu.analyse("几点算逾期").canonical  # 几点|算: no 点算 here
    assert "怎么办" in bot.nlu.analyse("怎么点算").canonical  # 点算 on its own: 怎么办
    assert "逾期" in bot.nlu.analyse("逾其了会怎样").canonical


def test_the_typo_fix_keeps_the_question(bot: Bot) -> None:
    assert bot.parse("几点算逾期").intent == "grace_period"


def test_a_faint_distress_reading_without_a_distress_word_is_not_distress(bot: Bot) -> None:
    from overdue_bot.dialogue.session import Session
    from overdue_bot.records import Parse

    faint = Parse("这个东西怎么弄", "distress", 0.2, {}, [("distress", 0.2), ("how_to_repay", 0.19)])
    _, turn = bot.dialogue.step(Session(), faint)
    assert turn.intent == "how_to_repay"
    worded = Parse("活着好难", "distress", 0.2, {}, [("distress", 0.2), ("how_to_repay", 0.19)])
    _, turn = bot.dialogue.step(Session(), worded)
    assert turn.intent == "distress" and "12356" in turn.text


def test_life_is_hard_is_heard_as_distress(fresh_bot: Bot) -> None:
    for i, text in enumerate(("人生好难", "活着好难", "我该怎么活")):
        r = fresh_bot.reply(text, session_id=f"h{i}")
        assert r.intent == "distress" and "12356" in r.text, text


def test_courtesy_stays_when_the_rest_neither_asks_nor_tells_of_a_debt(bot: Bot) -> None:
    assert bot.parse("谢谢你，讲得很清楚").intent == "thanks"
    assert bot.parse("謝謝你，講得很清楚").intent == "thanks"
    assert bot.parse("谢谢你，花呗逾期三天会上征信吗").intent == "credit_report"  # the question decides


def test_the_a_not_a_form_asks_anywhere_in_a_clause(bot: Bot) -> None:
    assert bot.nlu.has_question("上不上征信啊") and bot.nlu.has_question("影不影响以后贷款")
    assert bot.parse("白条晚还了3天 上不上征信啊").intent == "credit_report"
    assert not bot.nlu.has_question("逾期三天了")


def test_a_latin_alias_is_a_whole_word(bot: Bot) -> None:
    assert bot.parse("hb逾期三天").slots == {"platform": "花呗", "days_overdue": 3}
    assert "platform" not in bot.parse("hbase是什么").slots


def test_a_legal_word_alone_is_no_debt(bot: Bot) -> None:
    """起诉, 仲裁, 律师函 are weak evidence: a neighbour, a divorce or a labour case is no debt
    question, while 会被起诉吗 still is (the matcher decides) and a lender or 逾期 makes it strong."""
    for text in ("邻居占了我的车位能起诉吗", "劳动仲裁怎么申请", "离婚起诉要多久"):
        assert bot.parse(text).intent == "out_of_scope", text
    assert bot.parse("会被起诉吗").intent == "lawsuit_risk"
    assert bot.parse("网贷逾期会被仲裁吗").intent == "lawsuit_risk"


def test_the_last_number_stated_is_kept_with_the_session() -> None:
    import pytest

    from overdue_bot.dialogue.session import Session

    assert Session.from_dict(Session(last_number="monthly_budget").to_dict()).last_number == "monthly_budget"
    with pytest.raises(ValueError):
        Session.from_dict({"last_number": "password"})
