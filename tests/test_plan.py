"""The plan to take away (issue 27): bot.plan(), 帮我列个计划 in the chat and the REPL's /plan.

The three plans the issue asks to show, a correction changing the plan, a plan of nothing saying
what is missing, the JSON, plan.yaml's checks, and every line of a plan traced to the knowledge
base's YAML (a plan never states what no point or piece with its facts.md sections states).
"""

from __future__ import annotations

import io
import json
import math
import pathlib
import re
import shutil
from datetime import date, timedelta

import pytest

from overdue_bot import Bot, KnowledgeError
from overdue_bot.dialogue.session import Session
from overdue_bot.kb import loader
from overdue_bot.plan import Plan
from overdue_bot.records import Knowledge
from overdue_bot.repl import run

from .conftest import ROOT

CARD_2_DAYS = ["信用卡逾期两天了", "帮我列个计划"]
FIVE_DEBTS = [
    "我欠了五笔：招行信用卡6万逾期4个月，招联1万2逾期100天，花呗8000逾期40天，借呗2万逾期35天，美团借钱5000逾期20天",
    "5天前收到了招联的支付令",
    "我每个月最多能拿出2000",
    "帮我列个计划",
]
SIXTY = [
    "我今年60岁了，工行信用卡欠了2万，逾期两个月，建行快贷欠5万，逾期一个月",
    "催收打电话给我儿子了，说要让他还",
    "我每个月退休金三千，最多拿一千出来还",
    "给我个计划",
]


def talk(bot: Bot, sid: str, lines: list[str]) -> str:
    """The conversation's last reply."""
    text = ""
    for line in lines:
        text = bot.reply(line, session_id=sid).text
    return text


def today(bot: Bot) -> date:
    return bot.nlu.slots.today()


# ---------------------------------------------------------------------- the three plans
def test_one_card_two_days_late(fresh_bot: Bot) -> None:
    said = talk(fresh_bot, "card2", CARD_2_DAYS)
    plan = fresh_bot.plan("card2")
    assert said == plan.text, "the chat says the plan the record holds"
    (debt,) = plan.debts
    assert (debt.lender, debt.kind, debt.days, debt.stage, debt.bucket) == (
        "信用卡",
        "card",
        2,
        "轻度逾期",
        "M1",
    )
    assert debt.amount is None and "多数只是提醒" in debt.next_risk  # overdue_severity's own point
    assert plan.steps[0].action.startswith("今天能还就今天还")
    assert "现在处理影响最小" in plan.steps[0].why
    assert not plan.deadlines and plan.budget.total is None
    assert [s.kind for s in plan.script] == ["card"]
    # two days late: no written request in the chat, no budget asked for; what it lacks is listed
    assert "【书面协商申请" not in plan.text and plan.letter is not None
    assert [m.fact for m in plan.missing] == ["amount"] and not plan.question
    assert plan.text.count(fresh_bot.knowledge.texts.disclaimer) == 1


def test_five_debts_a_budget_and_a_payment_order_5_days_ago(fresh_bot: Bot) -> None:
    said = talk(fresh_bot, "five", FIVE_DEBTS)
    plan = fresh_bot.plan("five")
    assert said == plan.text
    assert len(plan.debts) == 5
    (order,) = plan.deadlines
    received = today(fresh_bot) - timedelta(days=5)
    assert (order.paper, order.lender, order.received) == ("payment_order", "招联金融", received)
    assert order.by == received + timedelta(days=15) and order.days_left == 10 and not order.passed
    assert f"{order.by.month}月{order.by.day}日" in said and "还剩10天" in said
    # the order of contact: the paper's lender, the card near the 恶意透支 line, then the rest
    lenders = [s.lender for s in plan.steps if s.lender]
    assert lenders[:2] == ["招联金融", "招商银行"]
    assert "期限最急" in plan.steps[0].why and "恶意透支" in plan.steps[1].why
    assert set(lenders) == {"招联金融", "招商银行", "花呗", "借呗", "美团借钱"}
    card = plan.steps[1]
    assert "个性化分期（最长5年、60期）" in card.action
    assert all("个性化分期" not in s.action for s in plan.steps if s.lender not in ("招商银行", ""))
    budget = plan.budget
    assert (budget.monthly, budget.total, budget.complete) == (2000, 105000, True)
    assert budget.months == math.ceil(105000 / 2000) and budget.minimum == 1750 and budget.shortfall == 0
    assert abs(sum(share for _, share in budget.shares) - 2000) <= 5
    assert plan.letter is not None and plan.letter.to == "招联金融"
    assert "异议要针对债务本身" in said and "12368" in said
    assert "债务优化" in plan.letter.warning and "【书面协商申请" in said


def test_sixty_year_old_bank_card_and_bank_loan_son_called(fresh_bot: Bot) -> None:
    said = talk(fresh_bot, "sixty", SIXTY)
    plan = fresh_bot.plan("sixty")
    assert said == plan.text
    kinds = {d.lender: d.kind for d in plan.debts}
    assert kinds == {"工商银行": "card", "建设银行": "loan"}
    steps = {s.lender: s for s in plan.steps if s.lender}
    assert "个性化分期" in steps["工商银行"].action
    loan = steps["建设银行"].action
    assert "延期、展期或调整还款计划" in loan and "个性化分期（最长5年" not in loan  # no card rule for a loan
    assert [s.kind for s in plan.script] == ["card", "bank_loan"]
    complaints = " ".join(c.text for c in plan.complaints)
    assert "家人不是欠款人" in complaints and "12378" in complaints
    # 1000 a month cannot clear 7万 even over 60 periods: said plainly
    assert plan.budget.shortfall == math.ceil(70000 / 60) - 1000
    assert "说实话，这个数不够" in said and "法律援助" in said
    assert "每月收入3000元" in said  # the pension and what is left of it
    assert "family" in fresh_bot._session("sixty").happened


# ---------------------------------------------------------------------- it follows the conversation
def test_a_correction_changes_the_plan_and_asking_twice_gives_the_current_one(fresh_bot: Bot) -> None:
    talk(fresh_bot, "c", ["花呗欠8000逾期40天，借呗欠2万逾期10天", "每个月能拿出1500"])
    first = fresh_bot.reply("帮我列个计划", session_id="c").text
    assert "欠8000元" in first and fresh_bot.plan("c").budget.total == 28000
    fresh_bot.reply("不对，花呗是欠一万二", session_id="c")
    second = fresh_bot.reply("帮我列个计划", session_id="c").text
    assert "欠1.2万元" in second and "欠8000元" not in second
    assert fresh_bot.plan("c").budget.total == 32000 and second == fresh_bot.plan("c").text
    assert fresh_bot.reply("帮我总结一下", session_id="c").text == second


def test_one_question_at_most_then_the_plan(fresh_bot: Bot) -> None:
    talk(fresh_bot, "q", ["花呗欠8000逾期40天，借呗欠2万逾期10天"])
    r = fresh_bot.reply("给个计划", session_id="q")
    assert r.state == "awaiting:monthly_budget" and "每个月最多能拿出多少钱" in r.text
    r = fresh_bot.reply("列个计划", session_id="q")  # asked again instead of answered: the plan
    assert r.state == "idle" and "【你的欠款】" in r.text and "【还缺这些" in r.text
    assert fresh_bot.plan("q").question is not None  # still missing, no longer asked


def test_a_topic_question_instead_of_the_answer_is_answered(fresh_bot: Bot) -> None:
    talk(fresh_bot, "t", ["花呗欠8000逾期40天，借呗欠2万逾期10天", "给个计划"])
    r = fresh_bot.reply("逾期会坐牢吗", session_id="t")
    assert r.intent == "lawsuit_risk" and "【你的欠款】" not in r.text
    assert fresh_bot._session("t").plan == "done"


def test_a_plan_of_nothing_says_what_is_missing(fresh_bot: Bot) -> None:
    plan = fresh_bot.plan("nobody")
    assert not plan.debts and not plan.steps and plan.letter is None
    assert [m.fact for m in plan.missing] == ["debts"] and plan.question is plan.missing[0]
    assert plan.missing[0].question in plan.text
    assert plan.text.endswith(fresh_bot.knowledge.texts.disclaimer)
    assert fresh_bot._session("nobody") == Session()  # reading a plan stores nothing


def test_the_repl_prints_the_plan(fresh_bot: Bot) -> None:
    out = io.StringIO()
    run(fresh_bot, stdin=io.StringIO("花呗欠五千 逾期两个月\n/plan\n"), stdout=out, interactive=False)
    assert "【你的欠款】" in out.getvalue() and "花呗（消费金融）：逾期2个月" in out.getvalue()


def test_help_lines_after_distress(fresh_bot: Bot) -> None:
    talk(fresh_bot, "d", ["欠了好多网贷 我真的撑不下去了", "花呗欠五千 逾期两个月"])
    plan = fresh_bot.plan("d")
    assert plan.help_lines == (fresh_bot.knowledge.texts.support_line,)
    assert not fresh_bot.plan("five-none").help_lines


def test_the_json_shape_is_stable(fresh_bot: Bot) -> None:
    talk(fresh_bot, "j", FIVE_DEBTS[:3])
    data = fresh_bot.plan("j").to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert set(data) == {
        "version",
        "today",
        "debts",
        "deadlines",
        "steps",
        "budget",
        "script",
        "letter",
        "complaints",
        "missing",
        "help_lines",
        "disclaimer",
        "sections",
        "text",
    }
    assert data["version"] == 1 and data["today"] == today(fresh_bot).isoformat()
    assert set(data["debts"][0]) == {
        "lender",
        "label",
        "kind",
        "lender_kind",
        "days",
        "stage",
        "bucket",
        "amount",
        "next_risk",
        "facts",
    }
    assert set(data["deadlines"][0]) == {
        "paper",
        "name",
        "lender",
        "received",
        "by",
        "days_left",
        "passed",
        "text",
        "facts",
    }
    assert set(data["steps"][0]) == {"order", "lender", "label", "action", "why", "share", "facts"}
    assert set(data["budget"]) == {
        "monthly",
        "total",
        "complete",
        "months",
        "minimum",
        "shortfall",
        "shares",
        "lines",
        "facts",
    }
    assert set(data["letter"]) == {"to", "text", "blanks", "warning", "facts"}
    assert set(data["script"][0]) == {"kind", "lenders", "text", "facts"}
    assert {s["name"] for s in data["sections"]} >= {"title", "debts", "deadlines", "steps", "budget"}
    assert "name" in data["letter"]["blanks"] and "hardship" in data["letter"]["blanks"]


def test_a_paper_is_kept_as_the_day_it_came(fresh_bot: Bot) -> None:
    talk(fresh_bot, "p", ["收到仲裁裁决书了 是分期乐的", "10天前收到的"])
    s = fresh_bot._session("p")
    received = today(fresh_bot) - timedelta(days=10)
    assert s.papers == (("award", received.isoformat(), "分期乐"),)
    (award,) = fresh_bot.plan("p").deadlines
    assert award.by is not None and award.by.month != received.month  # three months on
    again = Session.from_dict(s.to_dict())
    assert again.papers == s.papers
    with pytest.raises(ValueError):
        Session.from_dict({"papers": [["payment_order", "5 days ago", ""]]})


# ---------------------------------------------------------------------- every line from the YAML
_DATA = r"[^，。；！？\n“”【】（）]{0,40}?"
_MONEY = r"\d+(?:\.\d+)?万?元"
_NUMBER = r"\d+"
#: what each value a template names may be: a sum, a number, a duration, a date … (anything else,
#: a lender's name, the hardship said, is a short run of text without punctuation)
_VALUES = {
    **dict.fromkeys(
        (
            "money",
            "total_money",
            "budget_money",
            "share_money",
            "minimum_money",
            "shortfall_money",
            "left_money",
        ),
        _MONEY,
    ),
    **dict.fromkeys(("n", "days_left", "known", "unknown", "month", "day", "year", "elapsed"), _NUMBER),
    "duration": r"约?\d+(?:天|个月|年多?)|半年",
    "months_text": r"\d+个月|约?\d+年多?",
    **dict.fromkeys(("received", "by"), r"(?:\d{4}年)?\d{1,2}月\d{1,2}日"),
}


def _alternatives(kb: Knowledge) -> dict[str, list[str]]:
    """Every template a placeholder may be filled with: plan.yaml's pieces (a point's wordings for
    a point), its frames, bot.yaml's snippets, the kinds' complaint channels."""
    plan = kb.plan
    assert plan is not None
    intents = {it.name: it for it in kb.intents}

    def wordings(piece: str) -> list[str]:
        out = []
        for v in plan.pieces[piece]:
            if v.text:
                out.append(v.text)
            else:
                intent, name = v.point.split("/")
                point = intents[intent].point(name)
                assert point is not None
                out += [w.text for w in point.variants]
        return out + [w.removeprefix("· ") for w in out]

    alt: dict[str, list[str]] = {name: wordings(name) for name in plan.pieces}
    alt |= {name: [a.text for a in variants] for name, variants in kb.snippets.items()}
    alt["complaint"] = [kind.complaint for kind in kb.kinds.values()] + [kb.texts.complaint]
    alt["text"] = [w for name in plan.pieces if name.startswith("step_") for w in wordings(name)]
    alt["question"] = list(plan.questions.values())
    for name in ("share_part", "of_lender", "partial"):
        alt[name] = [plan.frames[name], ""]  # or nothing, where the value is not known
    alt["lender_label"] = [plan.frames["lender_label"], "{platform}", plan.frames["lender_unnamed"]]
    blanks = [plan.frames[k] for k in ("blank", "hardship_blank", "share_blank", "money_blank")]
    alt["hardship_text"] = [*blanks, "DATA"]
    alt["share_text"] = alt["money_text"] = [*blanks, "{money}"]
    alt["duration_text"] = [*blanks, "{duration}"]
    names = [p.name for p in kb.platforms]
    alt["platform"] = alt["lender"] = [*names, "发卡行", "平台"]
    alt["lenders"] = [
        "(?:" + "|".join(map(re.escape, names)) + ")(?:、(?:" + "|".join(map(re.escape, names)) + "))*"
    ]
    alt["paper"] = list(plan.papers.values())
    return alt


def _pattern(template: str, alt: dict[str, list[str]], depth: int = 0) -> str:
    """A template as a regular expression: its words as written, each {name} any of its
    alternatives (themselves templates) or, for a value (a lender, a sum, a date), a short run of
    text without punctuation."""
    out = []
    pos = 0
    for m in re.finditer(r"\{([a-z_]+)\}", template):
        out.append(re.escape(template[pos : m.start()]))
        name = m.group(1)
        if name in alt and depth < 4:
            options = [
                _DATA if a == "DATA" else a if name in ("shares", "lenders") else _pattern(a, alt, depth + 1)
                for a in alt[name]
            ]
            out.append("(?:" + "|".join(options) + ")")
        else:
            out.append(f"(?:{_VALUES.get(name, _DATA)})")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return "".join(out)


def _templates(kb: Knowledge) -> list[re.Pattern[str]]:
    plan = kb.plan
    assert plan is not None
    alt = _alternatives(kb)
    item = _pattern(plan.frames["share_item"], alt)
    alt["shares"] = [f"{item}(?:、{item})*"]  # a regular expression already
    whole = [
        *plan.headings.values(),
        *plan.frames.values(),
        *(w for name in plan.pieces for w in alt[name]),
        kb.texts.disclaimer,
        kb.texts.support_line,
        kb.texts.means_left,
        kb.texts.means_over,
    ]
    lines = {line for template in whole for line in template.split("\n")}
    return [re.compile(_pattern(line, alt)) for line in sorted(lines)]


def _untraced(plan: Plan, templates: list[re.Pattern[str]]) -> list[str]:
    return [line for line in plan.text.split("\n") if not any(t.fullmatch(line) for t in templates)]


def test_every_line_of_a_plan_comes_from_the_yaml(fresh_bot: Bot) -> None:
    """Each line of a written plan is a template of the knowledge base filled with values: a piece
    of plan.yaml (which names its facts.md sections), a topic's point, or bot.yaml's text."""
    templates = _templates(fresh_bot.knowledge)
    conversations = {
        "card2": CARD_2_DAYS,
        "five": FIVE_DEBTS,
        "sixty": SIXTY,
        "undated": ["收到支付令了", "借呗欠了两万 逾期一个月"],
        "short": ["网贷欠了20万 逾期半年", "每个月最多拿1000"],
        "bank": ["建行欠了两万逾期两个月", "我失业了"],
        "sad": ["欠了好多网贷 我真的撑不下去了", "花呗欠五千 逾期两个月"],
        "work": ["借呗逾期三个月 欠了三万", "催收已经打到我单位去了"],
        "summons": ["信用卡欠5万逾期半年", "前天收到了法院的起诉状"],
    }
    for sid, lines in conversations.items():
        talk(fresh_bot, sid, lines)
        plan = fresh_bot.plan(sid)
        assert plan.debts or plan.deadlines, sid
        assert _untraced(plan, templates) == [], sid
    assert _untraced(fresh_bot.plan("empty"), templates) == []


def test_the_traceability_check_catches_a_line_of_its_own(fresh_bot: Bot) -> None:
    """The check is no tautology: a line no template holds is caught."""
    from dataclasses import replace

    from overdue_bot.plan import Section

    talk(fresh_bot, "x", CARD_2_DAYS)
    plan = fresh_bot.plan("x")
    forged = replace(plan, sections=(*plan.sections, Section("extra", "", ("· 逾期两天一定会被起诉。",))))
    assert _untraced(forged, _templates(fresh_bot.knowledge)) == ["· 逾期两天一定会被起诉。"]


def test_every_piece_rests_on_facts_and_every_point_exists(bot: Bot) -> None:
    plan = bot.knowledge.plan
    assert plan is not None and plan.source.endswith("plan.yaml")
    points = {f"{it.name}/{p.name}" for it in bot.knowledge.intents for p in it.points}
    for name, variants in plan.pieces.items():
        for v in variants:
            assert v.facts or v.point in points, (name, v)
            assert all(re.fullmatch(r"\d{1,2}|seed|crisis", f) for f in v.facts), (name, v.facts)


# ---------------------------------------------------------------------- plan.yaml is checked
def _kb_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    folder = tmp_path / "kb"
    shutil.copytree(ROOT / "intents", folder)
    return folder


def test_a_wording_without_facts_is_refused(tmp_path: pathlib.Path) -> None:
    folder = _kb_copy(tmp_path)
    path = folder / "plan.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("        facts: [13, 4]\n", "", 1), encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        loader.load(folder)
    assert "plan.yaml" in str(err.value) and "pieces.deadline" in str(err.value) and "facts" in str(err.value)


def test_an_unknown_placeholder_or_point_is_refused(tmp_path: pathlib.Path) -> None:
    folder = _kb_copy(tmp_path)
    path = folder / "plan.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("{days_left}", "{days_lft}", 1), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="days_left"):
        loader.load(folder)
    path.write_text(
        text.replace("overdue_severity/stage_effect", "overdue_severity/stage_efect"), encoding="utf-8"
    )
    with pytest.raises(KnowledgeError, match="no such point"):
        loader.load(folder)


def test_a_knowledge_base_without_plan_yaml_gets_the_shipped_one(tmp_path: pathlib.Path) -> None:
    folder = _kb_copy(tmp_path)
    for f in folder.glob("*.yaml"):
        if f.stem not in ("platforms", "lexicon", "bot", "credit"):
            f.unlink()
    kb = loader.load(folder)
    assert kb.plan is not None and kb.plan.source == str(loader.default_path() / "plan.yaml")


def test_a_conversation_that_named_a_debt_ends_with_the_plan(fresh_bot: Bot) -> None:
    """Issue 27, point 1: at the end of a conversation that named a debt, the plan to take away;
    not again when it was given, and not for a conversation that named none."""
    bot = fresh_bot
    bot.reply("花呗逾期三天欠五千", session_id="bye-1")
    bye = bot.reply("好的再见", session_id="bye-1")
    farewell = bot.knowledge.plan.headings["farewell"]
    assert bye.intent == "goodbye" and bye.text.startswith(farewell) and "【你的欠款】" in bye.text
    assert "花呗" in bye.text and bye.text.rstrip().endswith("再见！")

    bot.reply("借呗逾期十天欠两万", session_id="bye-2")
    bot.reply("帮我列个计划", session_id="bye-2")
    assert farewell not in bot.reply("再见", session_id="bye-2").text  # it was given already

    bot.reply("逾期会上征信吗", session_id="bye-3")
    assert farewell not in bot.reply("拜拜", session_id="bye-3").text  # no debt was named
