"""The knowledge base: schema errors, taxonomy coverage, trustworthy numbers, rendering."""

from __future__ import annotations

import itertools
import pathlib
import re

import pytest

from overdue_bot import Bot, KnowledgeError, load_knowledge
from overdue_bot.dialogue import Dialogue

from .conftest import ROOT

TAXONOMY = """greet goodbye thanks help affirm deny inform human_agent out_of_scope distress
contact_emergency_contacts contact_workplace collection_process harassment_complaint verify_collector
credit_report credit_record_removal penalty_interest grace_period overdue_severity overdue_consequences
lawsuit_risk negotiate_repayment after_repayment what_to_do repaid_still_overdue account_restriction
how_to_repay minimum_payment""".split()

#: every number an answer may print, from ../shared/knowledge/facts.md section 6 and the credit centre
PHONE_ALLOWLIST = {"12356", "400-161-9995", "010-82951332", "12378", "12321", "110", "96110",
                   "400-810-8866", "12363", "010-12321"}


def test_every_taxonomy_intent_has_30_examples_and_an_answer() -> None:
    """Each intent of the contract exists with enough varied examples and at least one answer."""
    kb = load_knowledge()
    by_name = {it.name: it for it in kb.intents}
    for name in TAXONOMY:
        assert name in by_name, name
        assert len(set(by_name[name].examples)) >= 30, name
        assert by_name[name].answers, name


def test_phone_numbers_are_on_the_allowlist() -> None:
    """No answer invents a phone number: every number-like run is a verified hotline."""
    found = set()
    for f in (ROOT / "intents").glob("*.yaml"):
        text = f.read_text(encoding="utf-8")
        for m in re.finditer(r"(?<![\d.A-Za-z/-])(\d{3,4}-\d{3,4}-\d{4}|\d{3}-\d{5,8}|1\d{2,4}|9\d{4})(?![\d%年月日号天期万元个.-])", text):
            found.add(m.group(1))
    unknown = found - PHONE_ALLOWLIST - {"2021", "2022", "2023", "2024", "2025", "2026", "2017", "2016", "2020", "2018",
                                         "2011", "2013", "1033", "1024", "45251", "120", "100"}
    assert not unknown, f"numbers not on the allowlist: {sorted(unknown)}"


SLOT_VALUES = {
    "days_overdue": [None, 1, 2, 7, 8, 15, 30, 31, 60, 90, 91, 365],
    "platform": [None, "好分期", "花呗", "微粒贷", "招联金融", "信用卡", "招商银行", "美团借钱"],
    "amount": [None, 3000, 50000, 200000],
}


def test_every_answer_renders_for_every_slot_combination(bot: Bot) -> None:
    """No combination of slots leaves a {field} or an empty answer in any intent."""
    d: Dialogue = bot.dialogue
    for it in bot.knowledge.intents:
        for days, platform, amount in itertools.product(*SLOT_VALUES.values()):
            slots = {k: v for k, v in zip(SLOT_VALUES, (days, platform, amount), strict=True) if v is not None}
            text, _ = d.render(it.name, slots)
            assert text.strip(), (it.name, slots)
            assert not re.search(r"\{[^}]*\}", text), (it.name, slots, text)
            assert "None" not in text, (it.name, slots)


def test_variant_reachable_for_each_stage(bot: Bot) -> None:
    """Stage-aware intents choose a different variant at 2 days and at 3 months."""
    for name in ["contact_emergency_contacts", "collection_process", "credit_report", "overdue_severity",
                 "overdue_consequences"]:
        a, va = bot.dialogue.render(name, {"days_overdue": 2})
        b, vb = bot.dialogue.render(name, {"days_overdue": 90})
        assert va != vb and a != b, name


def _write(tmp_path: pathlib.Path, body: str) -> pathlib.Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    for name in ("platforms.yaml", "lexicon.yaml", "bot.yaml"):
        (folder / name).write_text((ROOT / "intents" / name).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "credit.yaml").write_text(body, encoding="utf-8")
    return folder


@pytest.mark.parametrize(("body", "expected"), [
    ("intents:\n  credit_report:\n    answers: [hi]\n", "intent 'credit_report': 'examples'"),
    ("intents:\n  credit_report:\n    examples: [a]\n    answers: []\n", "intent 'credit_report': 'answers'"),
    ("intents:\n  credit_report:\n    examples: [a, '']\n    answers: [x]\n", "item 2 must be a non-empty string"),
    ("intents:\n  credit_report:\n    examples: [a]\n    answers:\n      - {when: {days: [1]}, text: x}\n      - x\n",
     "answers[0].when"),
    ("intents:\n  credit_report:\n    examples: [a]\n    answers:\n      - {when: {weather: sunny}, text: x}\n      - x\n",
     "unknown condition 'weather'"),
    ("intents:\n  credit_report:\n    examples: [a]\n    needs: [days_overdue]\n    answers: [x]\n", "'ask'"),
    ("intents:\n  credit_report:\n    examples: [a]\n    answers: [x]\n    colour: red\n", "'colour'"),
    ("intents:\n  credit_report:\n    examples: [a\n", "invalid YAML at line"),
    ("intents:\n  credit_report:\n    examples: [a]\n    answers:\n      - {when: {days: [1, 7]}, text: x}\n",
     "the last answer must have no 'when'"),
    ("- just a list\n", "the top level must be a mapping"),
])
def test_malformed_file_names_file_intent_and_field(tmp_path: pathlib.Path, body: str, expected: str) -> None:
    """A malformed intents file raises KnowledgeError naming the file and what is wrong."""
    folder = _write(tmp_path, body)
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(folder)
    assert "credit.yaml" in str(err.value)
    assert expected in str(err.value)


def test_knowledge_error_is_a_value_error(tmp_path: pathlib.Path) -> None:
    """Callers may catch the builtin it resembles."""
    folder = _write(tmp_path, "intents: 3\n")
    with pytest.raises(ValueError):
        Bot.from_path(folder)


def test_single_intents_file_uses_shipped_catalogue(tmp_path: pathlib.Path) -> None:
    """Bot.from_path accepts one file; the platform catalogue and lexicon come from the package."""
    f = tmp_path / "mini.yaml"
    f.write_text("intents:\n  credit_report:\n    examples: [逾期会上征信吗, 影响信用吗]\n    answers: [会的]\n"
                 "  out_of_scope:\n    examples: [天气怎么样, 讲个笑话]\n    answers: [不懂]\n", encoding="utf-8")
    b = Bot.from_path(f)
    p = b.parse("花呗逾期会上征信吗")
    assert p.intent == "credit_report" and p.slots == {"platform": "花呗"}
    assert ("逾期会上征信吗", "credit_report") in b.examples


def test_malformed_snippet_names_bot_yaml(tmp_path: pathlib.Path) -> None:
    """Snippets in bot.yaml are checked at load time like answers are."""
    folder = _write(tmp_path, "intents:\n  credit_report:\n    examples: [a]\n    answers: [x]\n")
    (folder / "bot.yaml").write_text("snippets:\n  amount_plan_line:\n    - {when: {mood: sad}, text: x}\n",
                                     encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(folder)
    assert "bot.yaml" in str(err.value) and "unknown condition 'mood'" in str(err.value)


def test_malformed_dialogue_words_name_bot_yaml(tmp_path: pathlib.Path) -> None:
    folder = _write(tmp_path, "intents:\n  credit_report:\n    examples: [a]\n    answers: [x]\n")
    (folder / "bot.yaml").write_text("dialogue:\n  dont_know: 3\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(folder)
    assert "bot.yaml" in str(err.value) and "dialogue.dont_know" in str(err.value)
