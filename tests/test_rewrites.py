"""Normalisation that keeps the meaning: every kind of rewrite fires where it should and not
where it would change what the person said (issue 12)."""

from __future__ import annotations

import pytest

from overdue_bot import Bot


def _tokens(bot: Bot, text: str) -> tuple[str, ...]:
    return bot.nlu.analyse(text).tokens


# (sentence, word the rewrite must produce) / (sentence, word it must not produce)
FIRES = [
    ("逾期会不会打给我老婆", "配偶"),  # a spouse is its own word: family_liability tells it apart
    ("会联系我的紧急联系人吗", "联系人"),
    ("催收会找我领导吗", "单位"),
    ("逾期会影响信用记录吗", "征信"),
    ("滞纳金怎么收", "罚息"),
    ("会被告上法院吗", "起诉"),
    ("催款电话太多了", "催收"),
    ("能不能跟平台商量一下", "协商"),
    ("能推迟几天还吗", "延期"),
    ("晚还了三天", "逾期"),
    ("借呗还了还能用吗", "还清"),
    ("在哪还", "怎么还款"),
    ("算不算逾期", "算逾期"),
    ("罚息能减免吗", "减免"),
    ("严不严重", "严重"),
    ("还清后能恢复使用吗", "恢复"),
    ("最晚能拖到几号", "最晚"),
    ("会打电话给我吗", "电话"),
    ("会发短信吗", "短信"),
    ("逾期了怎么处理", "怎么办"),
    ("实在还不起了", "还不上"),
    ("额度被封了", "冻结"),
    ("额度还有吗", "额度"),
    ("会不会到家里来", "上门"),
    ("催收恐吓我", "骚扰"),
    ("我要举报他们", "投诉"),
    ("这是诈骗吧", "骗子"),
    ("会不会 call my family", "联系人"),
    ("i am overdue", "逾期"),
    ("my card is 5 days late", "逾期"),
    ("what happens if i pay late", "会怎样"),
    ("can i negotiate", "协商"),
    ("i can't pay", "还不上"),
    ("will it hurt my credit", "征信"),
]
KEEPS = [
    ("你有男朋友吗", "联系人"),  # 朋友 inside 男朋友
    ("我在家里", "联系人"),  # 家里 is "at home"
    ("有没有宽限几天", "延期"),  # a grace, not an extension
    ("会有什么处罚", "罚息"),  # 处罚 is no penalty interest
    ("还了几百还算逾期吗", "还清"),  # a part paid
    ("还了一部分", "还清"),
    ("个人信息会泄露吗", "短信"),  # 信息 is information, not an SMS
    ("收到执行通知", "短信"),
    ("怎么还显示逾期", "怎么还款"),  # 怎么还 only at the end of a clause
]


@pytest.mark.parametrize(("text", "word"), FIRES)
def test_rewrite_fires(bot: Bot, text: str, word: str) -> None:
    assert word in _tokens(bot, text), _tokens(bot, text)


@pytest.mark.parametrize(("text", "word"), KEEPS)
def test_rewrite_keeps_the_meaning(bot: Bot, text: str, word: str) -> None:
    assert word not in _tokens(bot, text), _tokens(bot, text)


def test_every_synonym_fires_as_a_whole_word(bot: Bot) -> None:
    """Each Chinese synonym phrase, said on its own between other words, becomes its group's word."""
    missed = []
    for phrase, head in bot.nlu.synonyms.items():
        tokens = _tokens(bot, f"我想问{phrase}的事")
        if head not in tokens:
            missed.append((phrase, head, tokens))
    assert not missed, missed[:10]


@pytest.mark.parametrize(
    ("text", "not_word"),
    [
        ("男朋友", "联系人"),
        ("女朋友", "联系人"),
        ("老公司", "联系人"),
        ("信用社", "征信"),
        ("记录仪", "不良记录"),
    ],
)
def test_synonyms_never_fire_inside_a_longer_word(bot: Bot, text: str, not_word: str) -> None:
    """A phrase inside a longer word (朋友 in 男朋友, 老公 in 老公司, 信用 in 信用社) is left alone."""
    assert not_word not in _tokens(bot, text)


@pytest.mark.parametrize(
    ("typed", "fixed", "left"),
    [
        ("预期两天了", "逾期", None),
        ("正信会受影响吗", "征信", None),
        ("宽现期几天", "宽限期", None),
        ("越期了怎么办", "逾期", None),
        ("huabei逾期", "花呗", None),
        ("冇钱还点算", "没有", None),
        ("会唔会打俾我屋企人", "会不会", None),
    ],
)
def test_typos_fix_the_domain_words(bot: Bot, typed: str, fixed: str, left: str | None) -> None:
    assert fixed in bot.nlu.analyse(typed).cleaned


def test_courtesy_words_go_only_where_a_question_remains(bot: Bot) -> None:
    assert bot.parse("你好，逾期两天会上征信吗").intent == "credit_report"
    assert bot.parse("好的谢谢你").intent == "thanks"
    assert bot.parse("谢谢客服").intent == "thanks"
    assert bot.parse("嗯嗯谢谢您嘞").intent == "thanks"
    assert bot.parse("师傅您好").intent == "greet"


def test_latin_words_stay_apart(bot: Bot) -> None:
    """Words of an English message are tokens of their own (glued, happenspay matched nothing),
    and a credit card named in English is the lender 信用卡, not 征信 + card."""
    assert _tokens(bot, "what happens if I pay") == ("会怎样", "pay")
    assert "tomorrow" in _tokens(bot, "I will pay tomorrow")
    assert bot.parse("my credit card is overdue 10 days").slots == {"platform": "信用卡", "days_overdue": 10}
    assert bot.parse("花呗 逾期 两天").slots == {"platform": "花呗", "days_overdue": 2}  # Chinese still joins


def test_units_after_numbers_only(bot: Bot) -> None:
    assert bot.parse("jiebei overdue 3 days").slots.get("days_overdue") == 3
    assert "天" not in bot.nlu.analyse("sunday morning").cleaned
