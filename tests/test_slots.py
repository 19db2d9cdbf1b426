"""Slot extraction, table-driven: every row is one message and the slots it must give."""

from __future__ import annotations

import pytest

from overdue_bot import Bot

DAYS = [
    ("逾期两天了", 2),
    ("逾期2天", 2),
    ("逾期十五天", 15),
    ("逾期15天", 15),
    ("逾期俩月", 60),
    ("逾期两个月", 60),
    ("逾期一个多月", 30),
    ("都逾期十来天了", 10),  # 来 after a number: about that many
    ("逾期二十来天", 20),
    ("逾期一个来月了", 30),
    ("逾期半年", 180),
    ("逾期一年多", 365),
    ("逾期两周", 14),
    ("逾期一礼拜", 7),
    ("逾期一个星期", 7),
    ("逾期5年", 1825),
    ("逾期半个月", 15),
    ("逾期三个月", 90),
    ("逾期一周了", 7),
    ("晚了三天", 3),
    ("晚还两天", 2),
    ("推迟一天还款", 1),
    ("延期七天", 7),
    ("迟了一天", 1),
    ("超过十天了", 10),
    ("逾期二十天", 20),
    ("逾期二十五天", 25),
    ("逾期一百天", 100),
    ("逾期10日", 10),
    ("逾期五六天", 5),
    ("逾期两三天", 2),
    ("逾期十几天", 15),
    ("逾期一两天", 1),
    ("逾期一到两天", 1),
    ("两天", 2),
    ("十天", 10),
    ("三个月", 90),
    ("俩月", 60),
    ("逾期3个月", 90),
    ("已经逾期快二十天了", 20),
    ("算逾期一天吗", 1),
    ("逾期一年半", 545),
    ("逾期一个半月", 45),
    ("逾期30天", 30),
    ("逾期 7 天", 7),
    ("逾期７天", 7),
    ("逾期兩天", 2),
    ("逾期两天会上征信吗", 2),
    ("好分期逾期两天会联系我的联系人吗", 2),
    ("逾期一天多少利息", 1),
    ("逾期三天后会怎样", 3),
    ("我这两天很忙，能推迟两天吗", 2),
    ("逾期九十天", 90),
    ("逾期六十天", 60),
    ("拖了一个月", 30),
    ("逾期一个月零几天", 30),
    ("逾期了整整三天", 3),
    ("逾期一个月了还没还", 30),
    # vague durations (taxonomy: 快半年 150–180, 大半年 180–270, 半年多 180)
    ("快半年了", 180),
    ("大半年了", 240),
    ("半年多", 180),
    ("逾期第一天", 1),
    ("逾期三年了", 1095),
    # corrections: the value after the marker is the one meant
    ("不是12天是42天", 42),
    ("说错了，是二十天", 20),
    ("其实是逾期五天", 5),
    ("应该是三个月", 90),
    ("不对，是十天", 10),
    ("jiebei overdue 3 days了", 3),
    ("2 months overdue", 60),
]

NOT_DAYS = [
    "后来天天打电话",  # 来 is about a number only after one
    "还款日15号",
    "晚上11点还的",
    "打12378投诉",
    "分60期",
    "万分之五",
    "罚息一天多少钱",
    "三天宽限期",
    "宽限期是三天吗",
    "借了12个月",
    "还款期限12个月",
    "第二天还算逾期吗",
    "最后一天还款",
    "还了三天了还显示逾期",
    "两天前已经还了",
    "2016年4月21日到期",
    "3月8日发工资",
    "逾期几天会上征信",
    "晚几天还可以吗",
    "逾期了几个小时",
    "利息一天是多少",
    "晚了半天",
    "每天打电话",
    "这两天很忙",
    "逾期***天",
    "没过一天算逾期吗",
    "前两天还的",
    "一天多少钱",
    "明天一天都有空",
    "催收电话一天几个",
    "还上了一个月都还没解冻",
    "上面说15天内要还",
    "三天以内还上",
    "七天之内",
    "一天会打几次",
    "一天到晚打电话",
    "三天没睡着",
    "借了5个月",
    "很久了",
    "好几个月",
    "一年期存款利息多少",
    "每个月最多能拿出一千五",
    "一个月顶多还得起三千",
    "2016年",
]

PLATFORMS = [
    ("好分期逾期了", "好分期"),
    ("花呗逾期", "花呗"),
    ("蚂蚁花呗", "花呗"),
    ("花贝逾期了", "花呗"),
    ("借唄逾期", "借呗"),
    ("蚂蚁借呗", "借呗"),
    ("微粒贷", "微粒贷"),
    ("微信微粒贷", "微粒贷"),
    ("京东白条", "京东白条"),
    ("白条逾期", "京东白条"),
    ("金条", "京东金条"),
    ("美团生活费", "美团借钱"),
    ("美团借钱", "美团借钱"),
    ("美团月付", "美团月付"),
    ("拿去花", "携程金融"),
    ("携程借钱", "携程金融"),
    ("好期贷", "招联金融"),
    ("招联", "招联金融"),
    ("分期乐", "分期乐"),
    ("安逸花", "安逸花"),
    ("马上消费金融", "安逸花"),
    ("360借条", "360借条"),
    ("奇富借条", "360借条"),
    ("在360借的钱", "360借条"),
    ("有钱花", "度小满"),
    ("百度有钱花", "度小满"),
    ("度小满", "度小满"),
    ("平安普惠", "平安普惠"),
    ("信用卡逾期", "信用卡"),
    ("招行信用卡", "招商银行"),
    ("招商信用卡", "招商银行"),
    ("建设信用卡", "建设银行"),
    ("建行卡", "建设银行"),
    ("招行的卡", "招商银行"),
    ("工行信用卡", "工商银行"),
    ("农行", "农业银行"),
    ("中行", "中国银行"),
    ("交通银行", "交通银行"),
    ("邮政银行", "邮储银行"),
    ("浦发", "浦发银行"),
    ("广发卡", "广发银行"),
    ("中信信用卡", "中信银行"),
    ("民生银行", "民生银行"),
    ("光大", "光大银行"),
    ("兴业银行", "兴业银行"),
    ("平安信用卡", "平安银行"),
    ("花呗借呗都逾期了", "花呗"),
    ("信用卡有逾期，花呗还能用吗", "信用卡"),
    ("招商銀行信用卡", "招商银行"),
    ("HUABEI", "花呗"),
    ("jiebei逾期", "借呗"),
    ("xyk逾期", "信用卡"),
    ("这张卡是招行的", "招商银行"),
    ("欠了三张卡", "信用卡"),
]

NOT_PLATFORM = [
    "征信怎么查",
    "百度一下逾期",
    "逾期360天",
    "银行卡被冻结了",
    "建设美好家园",
    "逾期会怎样",
    "找工作",
]

AMOUNTS = [
    ("欠了五千", 5000),
    ("两万", 20000),
    ("1.5万", 15000),
    ("3千块", 3000),
    ("三万多", 30000),
    ("借了两千一", 2100),
    ("欠5000块", 5000),
    ("借了5万元", 50000),
    ("630元", 630),
    ("一百元", 100),
    ("借1万", 10000),
    ("欠了8000", 8000),
    ("1000逾期一天多少罚息", 1000),
    ("欠款两千", 2000),
    ("十万块", 100000),
    ("欠了3w", 30000),
    ("一万五千元", 15000),
    ("五百块", 500),
    # 多万 / 十几万 / X万Y / X千Y (taxonomy; 十几万 accepts 110000–190000)
    ("信用卡欠了三十多万", 300000),
    ("欠了十几万", 150000),
    ("欠了1万2", 12000),
    ("8千5", 8500),
    ("二十多万", 200000),
    ("八十多万", 800000),
    ("1万5", 15000),
    ("欠了一万二", 12000),
    ("欠了分期乐6000", 6000),
    ("借了两千多", 2000),
    ("欠了3 wan", 30000),
]

NOT_AMOUNTS = [
    "额度一万五",
    "年利率24%",
    "万分之五",
    "打12378",
    "欠了***多",
    "还款日15号",
    "分12期",
    "晚上11点",
    "第3期",
    "逾期两天",
    "交两千就能消除逾期",
    "中介收费三千",
    "几万",
    "欠了好几百",
    "真想一了百了",
    "百行征信",
    "百分五十",
    "月付两千多",
    "每个月最多能拿出一千五",
    "一个月工资四千",
    "千万别",
    "欠了几万块",
]

BUDGETS = [
    ("每个月最多能拿出一千五", 1500),
    ("一个月顶多还得起三千", 3000),
    ("每月最多拿出1500", 1500),
    ("每月能还2000", 2000),
    ("每个月只有两千能还", 2000),
    ("一个月最多能还五百", 500),
    ("欠了十五万，每个月最多能拿出一千五", 1500),
]
NOT_BUDGETS = ["欠了一千五", "每个月都逾期", "一个月工资四千", "每月8号还款", "分12个月还"]


@pytest.mark.parametrize(("text", "days"), DAYS)
def test_days_overdue(bot: Bot, text: str, days: int) -> None:
    """Durations in digits, Chinese numerals and colloquial forms give days overdue."""
    assert bot.parse(text).slots.get("days_overdue") == days


@pytest.mark.parametrize("text", NOT_DAYS)
def test_not_days_overdue(bot: Bot, text: str) -> None:
    """Dates, times, rates, grace lengths, terms and vague counts are not days overdue."""
    assert "days_overdue" not in bot.parse(text).slots


@pytest.mark.parametrize(("text", "platform"), PLATFORMS)
def test_platform(bot: Bot, text: str, platform: str | None) -> None:
    """Aliases, typos, traditional characters and bank short names map to the canonical name."""
    assert bot.parse(text).slots.get("platform") == platform


@pytest.mark.parametrize("text", NOT_PLATFORM)
def test_not_platform(bot: Bot, text: str) -> None:
    """Alias-like text inside unrelated words is not a lender."""
    assert "platform" not in bot.parse(text).slots


@pytest.mark.parametrize(("text", "amount"), AMOUNTS)
def test_amount(bot: Bot, text: str, amount: int) -> None:
    """Money in digits, Chinese numerals, 万/千 units and colloquial forms."""
    assert bot.parse(text).slots.get("amount") == amount


@pytest.mark.parametrize("text", NOT_AMOUNTS)
def test_not_amount(bot: Bot, text: str) -> None:
    """Rates, limits, masked digits, phone numbers, dates and terms are not amounts."""
    assert "amount" not in bot.parse(text).slots


@pytest.mark.parametrize(("text", "budget"), BUDGETS)
def test_monthly_budget(bot: Bot, text: str, budget: int) -> None:
    """What the person can pay per month is its own slot, never the amount owed or days overdue."""
    slots = bot.parse(text).slots
    assert slots.get("monthly_budget") == budget
    assert slots.get("amount") != budget and "days_overdue" not in slots


@pytest.mark.parametrize("text", NOT_BUDGETS)
def test_not_monthly_budget(bot: Bot, text: str) -> None:
    assert "monthly_budget" not in bot.parse(text).slots


def test_several_lenders_in_one_message(bot: Bot) -> None:
    """Each lender keeps the values said of it; 都 says one duration of all of them."""
    a = bot.nlu.analyse("花呗欠了五千，借呗欠了一万")
    assert a.debts == ({"platform": "花呗", "amount": 5000}, {"platform": "借呗", "amount": 10000})
    a = bot.nlu.analyse("花呗借呗都逾期两个月了")
    assert [d.get("days_overdue") for d in a.debts] == [60, 60]
    a = bot.nlu.analyse("建行快贷和招行信用卡都逾期了")
    assert [(d["platform"], d.get("product")) for d in a.debts] == [
        ("建设银行", "loan"),
        ("招商银行", "card"),
    ]


def test_table_size() -> None:
    """The table keeps at least 100 cases, traps included."""
    assert (
        len(DAYS) + len(NOT_DAYS) + len(PLATFORMS) + len(NOT_PLATFORM) + len(AMOUNTS) + len(NOT_AMOUNTS)
        >= 100
    )


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("是借呗不是花呗", {"platform": "借呗"}),
        ("我记错了，是借呗不是花呗", {"platform": "借呗"}),
        ("是十五天，不是五天", {"days_overdue": 15}),
        ("欠了八千不是五千吧", {"amount": 8000}),
        ("不是花呗，是借呗", {"platform": "借呗"}),
    ],
)
def test_a_correction_either_way_round_keeps_the_value_meant(bot: Bot, text: str, slots: dict) -> None:
    a = bot.nlu.analyse(text)
    assert a.correction and a.slots == slots and len(a.debts) <= 1


@pytest.mark.parametrize("text", ["逾期不是我的错", "这是不是逾期了", "我不是故意逾期的，逾期三天了"])
def test_a_not_without_a_value_after_it_corrects_nothing(bot: Bot, text: str) -> None:
    assert not bot.nlu.analyse(text).correction
