"""The public surface is __all__, and it stays what the contract names."""

import overdue_bot


def test_exported_members() -> None:
    assert overdue_bot.__all__ == sorted(overdue_bot.__all__)
    for name in ("Bot", "Parse", "Reply", "OverdueBotError", "KnowledgeError", "load_knowledge"):
        assert name in overdue_bot.__all__
        assert hasattr(overdue_bot, name)


def test_parse_contract(bot) -> None:
    p = bot.parse("好分期逾期两天会联系我的联系人吗")
    assert p.intent == "contact_emergency_contacts"
    assert isinstance(p.confidence, float) and 0 <= p.confidence <= 1
    assert p.slots == {"platform": "好分期", "days_overdue": 2}
    assert len(p.ranking) >= 3 and p.ranking[0][0] == p.intent


def test_out_of_scope(bot) -> None:
    assert bot.parse("今天天气怎么样").intent == "out_of_scope"
    assert bot.parse("推荐一部好看的电影吧").intent == "out_of_scope"
