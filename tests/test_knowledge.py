"""The knowledge base: schema errors, taxonomy coverage, trustworthy numbers, rendering."""

from __future__ import annotations

import itertools
import pathlib
import re
from typing import Any

import pytest

from overdue_bot import Bot, KnowledgeError, load_knowledge
from overdue_bot.dialogue.machine import Dialogue

from .conftest import ROOT
from .test_answer_checks import PHONES

TAXONOMY = """greet goodbye thanks help affirm deny inform human_agent out_of_scope distress
contact_emergency_contacts contact_workplace collection_process harassment_complaint verify_collector
credit_report credit_record_removal penalty_interest grace_period overdue_severity overdue_consequences
lawsuit_risk negotiate_repayment after_repayment what_to_do repaid_still_overdue account_restriction
how_to_repay minimum_payment court_papers family_liability interest_legality change_due_date
credit_report_query old_debt repayment_priority""".split()

#: the intents added with the 2026-12 taxonomy: each needs 40 varied examples
NEW_INTENTS = TAXONOMY[-7:]

#: every number an answer may print (facts.md §6, §13, §16, §17 and the credit centre)
PHONE_ALLOWLIST = PHONES


def test_every_taxonomy_intent_has_30_examples_and_an_answer() -> None:
    """Each intent of the contract exists with enough varied examples and at least one answer."""
    kb = load_knowledge()
    by_name = {it.name: it for it in kb.intents}
    for name in TAXONOMY:
        assert name in by_name, name
        assert len(_questions(by_name[name])) >= 30, name
        assert by_name[name].leads, name


def _questions(it: Any) -> set[str]:
    """A topic's standalone questions: its own examples and its points' (follow-ups need the topic)."""
    return {*it.examples, *(ex for p in it.points for ex in p.examples)}


def test_new_intents_have_40_examples() -> None:
    by_name = {it.name: it for it in load_knowledge().intents}
    for name in NEW_INTENTS:
        assert len(_questions(by_name[name])) >= 40, name


def test_phone_numbers_are_on_the_allowlist() -> None:
    """No answer invents a phone number: every number-like run is a verified hotline."""
    found = set()
    for f in (ROOT / "intents").glob("*.yaml"):
        # conditions (when: {days: [91, 180]}) hold stages, not numbers anyone is told to call
        text = "\n".join(line for line in f.read_text(encoding="utf-8").splitlines() if "when:" not in line)
        for m in re.finditer(
            r"(?<![\d.A-Za-z/-])(\d{3,4}-\d{3,4}-\d{4}|\d{3}-\d{5,8}|1\d{2,4}|9\d{4})(?![\d%年月日号天期万元个.-])",
            text,
        ):
            found.add(m.group(1))
    unknown = (
        found
        - PHONE_ALLOWLIST
        - {
            "2021",
            "2022",
            "2023",
            "2024",
            "2025",
            "2026",
            "2017",
            "2016",
            "2020",
            "2018",
            "2011",
            "2013",
            "1033",
            "1024",
            "1064",
            "1065",
            "45251",
            "100",
            "180",
        }
    )
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
            slots = {
                k: v for k, v in zip(SLOT_VALUES, (days, platform, amount), strict=True) if v is not None
            }
            text, _ = d.render(it.name, slots)
            assert text.strip(), (it.name, slots)
            assert not re.search(r"\{[^}]*\}", text), (it.name, slots, text)
            assert "None" not in text, (it.name, slots)


def test_variant_reachable_for_each_stage(bot: Bot) -> None:
    """Stage-aware intents choose a different variant at 2 days and at 3 months."""
    for name in [
        "contact_emergency_contacts",
        "collection_process",
        "credit_report",
        "overdue_severity",
        "overdue_consequences",
    ]:
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


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("intents:\n  credit_report:\n    answers: [hi]\n", "intent 'credit_report': 'examples'"),
        (
            "intents:\n  credit_report:\n    examples: [a]\n    answers: []\n",
            "intent 'credit_report': 'answers'",
        ),
        (
            "intents:\n  credit_report:\n    examples: [a, '']\n    answers: [x]\n",
            "item 2 must be a non-empty string",
        ),
        (
            "intents:\n  credit_report:\n    examples: [a]\n    answers:\n      - {when: {days: [1]}, text: x}\n      - x\n",
            "answers[0].when",
        ),
        (
            "intents:\n  credit_report:\n    examples: [a]\n    answers:\n      - {when: {weather: sunny}, text: x}\n      - x\n",
            "unknown condition 'weather'",
        ),
        (
            "intents:\n  credit_report:\n    examples: [a]\n    needs: [days_overdue]\n    answers: [x]\n",
            "'ask'",
        ),
        ("intents:\n  credit_report:\n    examples: [a]\n    answers: [x]\n    colour: red\n", "'colour'"),
        ("intents:\n  credit_report:\n    examples: [a\n", "invalid YAML at line"),
        (
            "intents:\n  credit_report:\n    examples: [a]\n    answers:\n      - {when: {days: [1, 7]}, text: x}\n",
            "the last answer must have no 'when'",
        ),
        ("- just a list\n", "the top level must be a mapping"),
        (
            "intents:\n  credit_report:\n    examples: [a]\n    answers:\n      - {when: {days: [7, 1]}, text: x}\n      - x\n",
            "range [7, 1] is reversed",
        ),
        (
            "intents:\n  credit_report:\n    examples: [a]\n    answers:\n      - {when: {platform: [花唄]}, text: x}\n      - x\n",
            "unknown platform '花唄'",
        ),
        (
            "intents:\n  credit_report:\n    examples: [a]\n    answers:\n      - {when: {platform_kind: [cards]}, text: x}\n"
            "      - x\n",
            "unknown kind 'cards'",
        ),
    ],
)
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
    f.write_text(
        "intents:\n  credit_report:\n    examples: [逾期会上征信吗, 影响信用吗]\n    answers: [会的]\n"
        "  out_of_scope:\n    examples: [天气怎么样, 讲个笑话]\n    answers: [不懂]\n",
        encoding="utf-8",
    )
    b = Bot.from_path(f)
    p = b.parse("花呗逾期会上征信吗")
    assert p.intent == "credit_report" and p.slots == {"platform": "花呗"}
    assert ("逾期会上征信吗", "credit_report") in b.examples


def test_malformed_snippet_names_bot_yaml(tmp_path: pathlib.Path) -> None:
    """Snippets in bot.yaml are checked at load time like answers are."""
    folder = _write(tmp_path, "intents:\n  credit_report:\n    examples: [a]\n    answers: [x]\n")
    bot_yaml = (folder / "bot.yaml").read_text(encoding="utf-8")
    (folder / "bot.yaml").write_text(
        bot_yaml.replace("snippets:\n", "snippets:\n  extra:\n    - {when: {mood: sad}, text: x}\n"),
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(folder)
    assert "bot.yaml" in str(err.value) and "unknown condition 'mood'" in str(err.value)


def test_malformed_dialogue_words_name_bot_yaml(tmp_path: pathlib.Path) -> None:
    folder = _write(tmp_path, "intents:\n  credit_report:\n    examples: [a]\n    answers: [x]\n")
    bot_yaml = (folder / "bot.yaml").read_text(encoding="utf-8")
    (folder / "bot.yaml").write_text(
        bot_yaml.replace("dialogue:\n", "dialogue:\n  extra: 3\n"), encoding="utf-8"
    )
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(folder)
    assert "bot.yaml" in str(err.value) and "dialogue.extra" in str(err.value)


def test_a_cue_may_name_a_shared_dialogue_list(tmp_path: pathlib.Path) -> None:
    """cues: {paid: dialogue.paid} takes bot.yaml's list; a name bot.yaml lacks names the intent."""
    body = "intents:\n  credit_report:\n    examples: [a]\n    cues: {paid: dialogue.%s}\n    answers: [x]\n"
    (tmp_path / "ok").mkdir()
    (tmp_path / "bad").mkdir()
    kb = load_knowledge(_write(tmp_path / "ok", body % "paid"))
    cues = next(it for it in kb.intents if it.name == "credit_report").cues
    assert "还清了" in cues["paid"] and cues["paid"] == kb.texts.dialogue["paid"]
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(_write(tmp_path / "bad", body % "nothing"))
    assert "credit_report" in str(err.value) and "cues.paid" in str(err.value)
    assert "dialogue.nothing" in str(err.value)


def test_malformed_reported_rule_names_its_field(tmp_path: pathlib.Path) -> None:
    """A rule's optional 'asked' is a yes or no; anything else names the rule and the field."""
    folder = _write(tmp_path, "intents:\n  credit_report:\n    examples: [a]\n    answers: [x]\n")
    bot_yaml = (folder / "bot.yaml").read_text(encoding="utf-8")
    assert "    asked: true\n" in bot_yaml
    (folder / "bot.yaml").write_text(
        bot_yaml.replace("    asked: true\n", "    asked: maybe\n"), encoding="utf-8"
    )
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(folder)
    assert "bot.yaml" in str(err.value) and ".asked" in str(err.value) and "maybe" in str(err.value)


@pytest.mark.parametrize(
    ("file", "edit", "expected"),
    [
        # bot.yaml is a record: a typo in a key is a load error naming the file and the key
        ("bot.yaml", ("disclaimer:", "disclaimar:"), "'disclaimar': unknown key; did you mean 'disclaimer'?"),
        ("bot.yaml", ("greeting:", "greeting: ''\nold_greeting:"), "unknown key"),
        ("bot.yaml", ("greeting:", "greeting: ''\n#"), "'greeting': a required text is missing or empty"),
        ("bot.yaml", ("empty:", "colour: red\nempty:"), "unknown key"),
        # platforms.yaml: kinds and lenders are checked field by field
        ("platforms.yaml", ("    complaint: 先向发卡行", "    complaints: 先向发卡行"), "kinds.credit_card"),
        ("platforms.yaml", ("kind: micro_loan,", "kind: payday,"), "kind 'payday' of 好分期"),
        (
            "platforms.yaml",
            ("loans: [招行闪电贷", "colour: [red], loans: [招行闪电贷"),
            "unknown key 'colour' of 招商银行",
        ),
    ],
)
def test_settings_files_are_validated_records(
    tmp_path: pathlib.Path, file: str, edit: tuple[str, str], expected: str
) -> None:
    folder = _write(tmp_path, "intents:\n  credit_report:\n    examples: [a]\n    answers: [x]\n")
    text = (folder / file).read_text(encoding="utf-8")
    assert edit[0] in text
    (folder / file).write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(folder)
    assert file in str(err.value) and expected in str(err.value)


def test_answer_cue_must_be_defined(tmp_path: pathlib.Path) -> None:
    folder = _write(
        tmp_path,
        "intents:\n  court_papers:\n    cues: {summons: [传票]}\n    examples: [a]\n"
        "    answers:\n      - {when: {cue: [payment_order]}, text: x}\n      - y\n",
    )
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(folder)
    assert "cue 'payment_order' is not defined" in str(err.value) and "answers[0].when.cue" in str(err.value)
