"""The matcher on our own held-out questions: a floor that catches regressions."""

from __future__ import annotations

from overdue_bot import Bot
from overdue_bot.testing.evaluate import evaluate, load_cases

from .conftest import ROOT


def test_heldout_accuracy_floor(bot: Bot) -> None:
    """Questions written apart from intents/ are understood (measured 2026-11-28: see the report)."""
    report = evaluate(load_cases(ROOT / "tests/data/heldout.yaml"), bot.parse)
    assert report.accuracy >= 0.8, [(m.case.text, m.parse.intent) for m in report.misses]
    assert report.slot_accuracy >= 0.9, [(m.case.text, m.parse.slots) for m in report.misses]


def test_masked_slots_match_the_same_examples(bot: Bot) -> None:
    """Different lenders and durations do not change the intent."""
    a = bot.parse("好分期逾期两天会联系我的联系人吗")
    b = bot.parse("花呗逾期三个月会联系我的联系人吗")
    assert a.intent == b.intent == "contact_emergency_contacts"
