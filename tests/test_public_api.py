"""The public surface is __all__, and it stays what the contract names."""

import types

import overdue_bot

#: the documented surface (README "Use it from Python", ../shared/spec/api.md), exactly
DOCUMENTED = [
    "Bot",
    "KnowledgeError",
    "MatcherConfig",
    "MissingExtraError",
    "OverdueBotError",
    "Parse",
    "Reply",
    "SessionIdError",
    "StoreError",
    "__version__",
    "load_knowledge",
]


def test_exported_members() -> None:
    """As httpx's test_exported_members: __all__ is the documented surface, and every public
    name the package has is in it (submodules aside)."""
    assert overdue_bot.__all__ == DOCUMENTED
    public = {
        name
        for name, value in vars(overdue_bot).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public | {"__version__"} == set(DOCUMENTED)
    for name in DOCUMENTED:
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


def test_an_empty_message_reads_back_no_debts(fresh_bot) -> None:
    fresh_bot.reply("借呗欠了两万 逾期一个月 工资五千", session_id="e")
    for text in ("", "   ", "🙂"):
        r = fresh_bot.reply(text, session_id="e")
        assert r.slots == {}, (text, r.slots)
    assert fresh_bot.reply("会上征信吗", session_id="e").slots["amount"] == 20000  # the session kept them
