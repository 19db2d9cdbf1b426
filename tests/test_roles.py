"""Every number has a role (issue 23): for each role, messages and the value read in that role.

A number of a role that fills no slot (income, a rent, a limit, a year …) must never fill one.
The table in docs/number-roles.md is these cases.
"""

from __future__ import annotations

import pytest

from overdue_bot import Bot

#: role → (message, the value read in that role)
ROLES = {
    "amount": [
        ("网贷欠了五万", 50000),
        ("借呗欠了8千5", 8500),
        ("信用卡透支了三十多万", 300000),
        ("花呗3000，借呗8000", 3000),
        ("本金一万五 逾期了", 15000),
    ],
    "monthly_budget": [
        ("我每月退休金三千 最多拿一千五出来还", 1500),
        ("每个月工资四千，最多能拿出两千", 2000),
        ("一个月收入三千五 能还一千", 1000),
        ("每月能还1500", 1500),
        ("一个月顶多还得起三千", 3000),
    ],
    "income": [
        ("工资6000 房租1500", 6000),
        ("我每月退休金三千", 3000),
        ("月薪八千 欠了十万", 8000),
        ("一个月收入三千五", 3500),
        ("低保一个月九百", 900),
    ],
    "living_cost": [
        ("房租一千", 1000),
        ("工资6000 房租1500", 1500),
        ("生活费每月两千", 2000),
        ("孩子学费三千 还有网贷要还", 3000),
        ("每个月水电费三百", 300),
    ],
    "credit_limit": [
        ("额度一万五 逾期3天了", 15000),
        ("借呗额度是5万", 50000),
        ("信用卡授信两万", 20000),
        ("降额到三千了", 3000),
        ("可用额度只有800", 800),
    ],
    "days_overdue": [
        ("逾期两个月了", 60),
        ("花呗晚还了三天", 3),
        ("俩月了还没还", 60),
        ("已经拖了半年", 180),
        ("逾期第十天了", 10),
    ],
    "date": [
        ("19年在拍拍贷借的", 19),
        ("15号发工资", 15),
        ("还款日是每月8号", 8),
        ("20年底办的信用卡", 20),
        ("每月10号扣款", 10),
    ],
    "frequency": [
        ("一天打十几个 烦死了", 10),
        ("每天打三四次电话", 3),
        ("一天打了二十多通", 20),
        ("他们每天发五条短信", 5),
        ("一天十几个电话", 10),
    ],
    "term": [
        ("分60期每期还800", 60),
        ("借了12期还了5期", 12),
        ("分了24期", 24),
        ("36期的分期逾期了", 36),
        ("还剩6期没还", 6),
    ],
    "rate": [
        ("年化24%合法吗", 24),
        ("日息万分之五算高吗", 5),
        ("年利率36是不是高利贷", 36),
        ("利率18%", 18),
        ("月息2分", 2),
    ],
    "count": [
        ("我有5笔欠款", 5),
        ("欠了六个平台", 6),
        ("三张信用卡都逾期了", 3),
        ("十几家网贷", 10),
        ("欠了两家银行", 2),
    ],
    "elapsed": [
        ("今天已经第10天了", 10),
        ("收到支付令第五天了", 5),
        ("这是第三天了", 3),
        ("到今天第12天", 12),
        ("已经第8天了 还来得及吗", 8),
    ],
    "savings": [
        ("卡里有4千多", 4000),
        ("手上只有两千", 2000),
        ("存款只有八千 欠了五万", 8000),
        ("余额300 还不上", 300),
        ("身上只有五百块", 500),
    ],
    "price": [
        ("网上有人说花800能帮我查", 800),
        ("中介要收3000服务费", 3000),
        ("说交两千定金就能停息挂账", 2000),
        ("收费五百帮修复征信", 500),
        ("3000手续费包办", 3000),
    ],
}

#: the roles that fill a slot, and the slot
SLOT_OF = {"amount": "amount", "monthly_budget": "monthly_budget", "days_overdue": "days_overdue"}
CASES = [(role, text, value) for role, rows in ROLES.items() for text, value in rows]


@pytest.mark.parametrize(("role", "text", "value"), CASES)
def test_a_number_is_read_in_its_role(bot: Bot, role: str, text: str, value: int) -> None:
    numbers = bot.nlu.analyse(text).numbers
    assert value in [n.value for n in numbers if n.role == role], [(n.role, n.value) for n in numbers]


@pytest.mark.parametrize(("role", "text", "value"), [c for c in CASES if c[0] not in SLOT_OF])
def test_a_number_of_another_role_fills_no_slot(bot: Bot, role: str, text: str, value: int) -> None:
    slots = bot.parse(text).slots
    assert value not in [slots.get(s) for s in SLOT_OF.values()], slots


def test_the_pension_is_kept_and_never_becomes_the_debt(fresh_bot: Bot) -> None:
    fresh_bot.reply("我欠了建行八万 逾期两个月了", session_id="p")
    r = fresh_bot.reply("我每月退休金三千 最多拿一千五出来还", session_id="p")
    assert r.slots["amount"] == 80000 and r.slots["monthly_budget"] == 1500
    assert "收入3000元" in r.text and "3000元、每月能拿出" not in r.text


def test_a_lexicon_role_outside_the_known_roles_is_refused(tmp_path) -> None:
    import shutil

    from overdue_bot.errors import KnowledgeError
    from overdue_bot.kb import loader

    kb = tmp_path / "kb"
    shutil.copytree(loader.default_path(), kb)
    lex = kb / "lexicon.yaml"
    lex.write_text(
        lex.read_text(encoding="utf-8").replace("  living_cost:", "  rent_money:", 1), encoding="utf-8"
    )
    with pytest.raises(KnowledgeError, match="number_roles"):
        loader.load(kb)


def test_income_and_costs_are_stored_and_bounded() -> None:
    from overdue_bot.dialogue.session import MAX_COSTS, Session

    s = Session(income=6000, costs=(("房租", 1500), ("生活费", 1000)))
    again = Session.from_dict(s.to_dict())
    assert again.income == 6000 and dict(again.costs) == {"房租": 1500, "生活费": 1000}
    with pytest.raises(ValueError, match="costs"):
        Session.from_dict({"costs": {f"c{i}": 1 for i in range(MAX_COSTS + 1)}})
    with pytest.raises(ValueError, match="income"):
        Session.from_dict({"income": "6000"})


def test_a_cost_said_again_keeps_its_newest_value(fresh_bot: Bot) -> None:
    fresh_bot.reply("房租一千五 花呗欠了三千", session_id="c")
    r = fresh_bot.reply("房租其实是两千", session_id="c")
    assert r.slots.get("amount") == 3000
    facts = fresh_bot.store.get("c")
    assert facts is not None and facts["costs"] == {"房租": 2000}


@pytest.mark.parametrize(
    ("text", "amount"),
    [("网贷欠了四五万", 45000), ("花呗欠了两三千", 2500), ("借呗欠了七八千", 7500), ("欠了一二十万", 150000)],
)
def test_a_range_of_money_is_read_by_its_middle(bot: Bot, text: str, amount: int) -> None:
    assert bot.parse(text).slots.get("amount") == amount


@pytest.mark.parametrize(
    "text", ["卡里有1万2 这1万2怎么分", "每个月光利息就要三千多", "工资卡里面一万多 卡被冻结了"]
)
def test_savings_and_interest_costs_fill_no_amount(bot: Bot, text: str) -> None:
    assert "amount" not in bot.parse(text).slots
