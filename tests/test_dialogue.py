"""The conversation: context, follow-ups, asking for slots, interrupts, threads."""

from __future__ import annotations

import asyncio
import threading

from overdue_bot import Bot


def test_seed_conversation(fresh_bot: Bot) -> None:
    """The five-turn seed conversation keeps context and follows corrections."""
    b, s = fresh_bot, "seed"
    r = b.reply("好分期逾期两天会联系我和我的联系人吗?", session_id=s)
    assert (r.intent, r.state) == ("contact_emergency_contacts", "idle")
    assert r.slots == {
        "platform": "好分期",
        "days_overdue": 2,
        "debts": [{"platform": "好分期", "days_overdue": 2}],
    }
    r = b.reply("那会上征信吗", session_id=s)
    assert r.intent == "credit_report" and r.slots["platform"] == "好分期"
    r = b.reply("花呗呢", session_id=s)
    assert r.intent == "credit_report" and (r.slots["platform"], r.slots["days_overdue"]) == ("花呗", 2)
    assert [d["platform"] for d in r.slots["debts"]] == ["好分期", "花呗"], (
        "花呗呢 adds a debt and moves the focus"
    )
    r = b.reply("不对，我其实逾期十天了", session_id=s)
    assert r.intent == "credit_report" and r.slots["days_overdue"] == 10
    r = b.reply("我这算严重吗", session_id=s)
    assert r.intent == "overdue_severity" and "中度逾期" in r.text


def test_asks_for_missing_slot_then_answers(fresh_bot: Bot) -> None:
    r = fresh_bot.reply("逾期算严重吗", session_id="a")
    assert r.state == "awaiting:days_overdue" and r.intent == "overdue_severity"
    r = fresh_bot.reply("三个月", session_id="a")
    assert r.state == "idle" and r.intent == "overdue_severity" and "重度逾期" in r.text


def test_dont_know_gives_general_answer(fresh_bot: Bot) -> None:
    fresh_bot.reply("我这种情况严重吗", session_id="k")
    r = fresh_bot.reply("不记得了", session_id="k")
    assert (
        r.state == "idle" and r.intent == "overdue_severity" and r.variant.split("+")[0] == "opening.default"
    )


def test_second_miss_gives_general_answer(fresh_bot: Bot) -> None:
    fresh_bot.reply("逾期算严重吗", session_id="m")
    r = fresh_bot.reply("嗯", session_id="m")
    assert r.state == "awaiting:days_overdue"
    r = fresh_bot.reply("好吧", session_id="m")
    assert r.state == "idle" and r.variant.split("+")[0] == "opening.default"


def test_new_question_while_waiting(fresh_bot: Bot) -> None:
    fresh_bot.reply("逾期算严重吗", session_id="n")
    r = fresh_bot.reply("会被起诉吗", session_id="n")
    assert r.intent == "lawsuit_risk" and r.state == "idle"


def test_distress_interrupts_waiting(fresh_bot: Bot) -> None:
    fresh_bot.reply("逾期算严重吗", session_id="x")
    r = fresh_bot.reply("我真的撑不下去了想死", session_id="x")
    assert r.intent == "distress" and "12356" in r.text


def test_goodbye_ends_and_next_starts_afresh(fresh_bot: Bot) -> None:
    fresh_bot.reply("花呗逾期五天会上征信吗", session_id="g")
    r = fresh_bot.reply("好的再见", session_id="g")
    assert r.state == "ended" and r.slots == {}
    r = fresh_bot.reply("会上征信吗", session_id="g")
    assert r.slots == {} and r.state == "idle"


def test_reset_forgets(fresh_bot: Bot) -> None:
    fresh_bot.reply("花呗逾期五天了", session_id="r")
    fresh_bot.reset("r")
    assert fresh_bot.reply("会上征信吗", session_id="r").slots == {}


def test_sessions_do_not_store_messages(fresh_bot: Bot) -> None:
    fresh_bot.reply("花呗逾期五天了，我的手机号13812345678", session_id="p")
    stored = fresh_bot.store.get("p")
    assert stored is not None and "13812345678" not in repr(stored) and "手机号" not in repr(stored)


def test_bad_input_never_raises(fresh_bot: Bot) -> None:
    for text in [
        "",
        "   ",
        "\x00\x01\x1b[31m",
        "😭😭😭",
        "a" * 1_000_000,
        "逾期" * 100_000,
        None,
        12345,
        "How long until my credit report is updated?",
        "ありがとう",
    ]:
        r = fresh_bot.reply(text, session_id="bad")  # type: ignore[arg-type]
        assert r.text.strip()


def test_threads_never_see_each_others_slots(fresh_bot: Bot) -> None:
    """8 threads × many sessions replying at once: every session keeps exactly its own slots."""
    b = fresh_bot
    platforms = ["花呗", "借呗", "好分期", "微粒贷", "京东白条", "美团借钱", "分期乐", "安逸花"]
    errors: list[str] = []

    def worker(k: int) -> None:
        for i in range(40):
            sid = f"t{k}-{i % 5}"
            days = k * 100 + i % 5 + 1
            r = b.reply(f"{platforms[k]}逾期{days}天了", session_id=sid)
            r2 = b.reply("会上征信吗", session_id=sid)
            for got in (r.slots, r2.slots):
                if got.get("platform") != platforms[k] or got.get("days_overdue") != days:
                    errors.append(f"{sid}: {got}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]


def test_areply_in_many_tasks(fresh_bot: Bot) -> None:
    async def main() -> list[dict]:
        replies = await asyncio.gather(
            *(fresh_bot.areply(f"花呗逾期{i + 1}天了", session_id=f"a{i}") for i in range(20))
        )
        return [r.slots for r in replies]

    slots = asyncio.run(main())
    assert [s["days_overdue"] for s in slots] == list(range(1, 21))


def test_close_call_asks_which_one_and_understands_the_choice(bot: Bot) -> None:
    """Two intents too close to call: the bot asks, then answers the one chosen (前者/后者)."""
    from overdue_bot.dialogue.session import Session
    from overdue_bot.records import Parse

    d = bot.dialogue
    close = Parse(
        "嗯那个逾期的事",
        "credit_report",
        0.25,
        {},
        [("credit_report", 0.25), ("penalty_interest", 0.245), ("inform", 0.1)],
    )
    s, turn = d.step(Session(), close)
    assert s.state == "clarify" and turn.intent is None
    assert "会不会上征信" in turn.text and "罚息怎么算" in turn.text
    s2, turn2 = d.step(s, Parse("后者", "deny", 0.2, {}, [("deny", 0.2)]))
    assert turn2.intent == "penalty_interest" and s2.state == "idle"
    s3, turn3 = d.step(s, Parse("第一个", "inform", 0.2, {}, [("inform", 0.2)]))
    assert turn3.intent == "credit_report"


def test_clarify_never_loops(bot: Bot) -> None:
    """An answer that is no choice is handled as a new message, not asked again."""
    from overdue_bot.dialogue.session import Session
    from overdue_bot.records import Parse

    s = Session(state="clarify", options=("credit_report", "penalty_interest"))
    s2, turn = bot.dialogue.step(
        s, Parse("会被起诉吗", "lawsuit_risk", 0.7, {}, [("lawsuit_risk", 0.7), ("credit_report", 0.2)])
    )
    assert turn.intent == "lawsuit_risk" and s2.state == "idle"


def test_the_table_is_the_behaviour(bot: Bot) -> None:
    """Every row's event has a test and its handler exists; the last row takes any message."""
    from overdue_bot.dialogue.machine import TABLE

    d = bot.dialogue
    for state, mode, event, handler, nxt in TABLE:
        assert event in d._events, event
        assert callable(getattr(d, "_" + handler)), handler
        assert state in ("*", "idle", "awaiting", "clarify") and mode in ("*", "support")
        assert set(nxt.split("|")) <= {"idle", "awaiting", "clarify", "ended"}, nxt
    assert TABLE[-1][:3] == ("*", "*", "chat")
    # support mode is declared before everything that could ask; only a plain request for a person
    # (人工, 客服: its event checks the words in support mode) comes first
    events = [row[2] for row in TABLE]
    assert events.index("human") < events.index("any") < events.index("question")


def test_session_round_trips_through_a_dict() -> None:
    from overdue_bot.dialogue.session import Session

    s = Session(
        state="awaiting:days_overdue",
        debts=({"platform": "花呗", "amount": 5000}, {"platform": "招商银行", "product": "card"}),
        focus=1,
        budget=1500,
        last_intent="lawsuit_risk",
        pending="overdue_severity",
        asks=1,
        cues={"court_papers": "summons"},
        mode="support",
        said=("abc",),
        noted=("花呗",),
        disclaimed=True,
    )
    assert Session.from_dict(s.to_dict()) == s
    assert s.slots == {
        "platform": "招商银行",
        "monthly_budget": 1500,
        "debts": [{"platform": "花呗", "amount": 5000}, {"platform": "招商银行", "product": "card"}],
    }


def test_merge_keeps_one_record_per_lender() -> None:
    from overdue_bot.dialogue.session import Heard, Session, merge

    kinds = {
        "花呗": "consumer_finance",
        "借呗": "online_lending",
        "招商银行": "bank",
        "信用卡": "credit_card",
    }
    s = merge(Session(), Heard(debts=({"platform": "信用卡", "days_overdue": 180, "amount": 150000},)), kinds)
    s = merge(s, Heard(debts=({"platform": "花呗", "amount": 5000},)), kinds)
    assert [d["platform"] for d in s.debts] == ["信用卡", "花呗"] and s.focused["platform"] == "花呗"
    s = merge(s, Heard(budget=1500), kinds)
    assert s.budget == 1500 and s.focused == {"platform": "花呗", "amount": 5000}, "a budget is no amount"
    s = merge(s, Heard(values={"days_overdue": 40}), kinds)
    assert s.debts[0]["days_overdue"] == 180 and s.focused["days_overdue"] == 40
    # a correction renames the debt in focus instead of adding one
    s = merge(s, Heard(debts=({"platform": "借呗"},), correction=True), kinds)
    assert [d["platform"] for d in s.debts] == ["信用卡", "借呗"] and s.focused["amount"] == 5000
    # 是信用卡 after a bank: that bank's card
    b = merge(Session(), Heard(debts=({"platform": "招商银行"},)), kinds)
    b = merge(b, Heard(debts=({"platform": "信用卡"},)), kinds)
    assert b.debts == ({"platform": "招商银行", "product": "card"},)


def test_reported_contact_is_a_complaint_not_a_question(fresh_bot: Bot) -> None:
    r = fresh_bot.reply("催收打给我妈了", session_id="rep")
    assert r.intent == "harassment_complaint"
    r = fresh_bot.reply("逾期三天会不会打给我妈", session_id="rep2")
    assert r.intent == "contact_emergency_contacts"


def test_support_mode_lasts_and_eases_off(fresh_bot: Bot) -> None:
    b, s = fresh_bot, "sup"
    assert b.reply("不想活了", session_id=s).intent == "distress"
    r = b.reply("我也不知道该跟谁说", session_id=s)
    assert r.variant == "support" and "逾期几天" not in r.text
    r = b.reply("我这算严重吗", session_id=s)  # a practical question: answered without asking for days
    assert r.state == "idle" and r.intent == "overdue_severity" and "12356" in r.text
    r = b.reply("会被起诉吗", session_id=s)
    assert r.intent == "lawsuit_risk" and "12356" not in r.text, "support eases off after a practical answer"


def test_no_line_is_said_twice(fresh_bot: Bot) -> None:
    b, s = fresh_bot, "rep-lines"
    seen: set[str] = set()
    for text in ["花呗逾期十天会上征信吗", "会上征信吗", "会上征信吗", "然后呢", "还有呢", "嗯"]:
        r = b.reply(text, session_id=s)
        for line in r.text.split("\n"):
            if len(line) >= 20:
                assert line not in seen, line
                seen.add(line)


def test_every_transition_is_one_the_table_declares() -> None:
    """Replaying every scripted conversation, no handler leaves a state its row does not list."""
    from overdue_bot.testing.dialogues import run_paths

    from .conftest import ROOT

    bot = Bot()
    results = run_paths([ROOT / "tests" / "dialogues"], bot)
    assert len(results) >= 60
    assert bot.dialogue.undeclared == []
