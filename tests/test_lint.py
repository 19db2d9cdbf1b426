"""``overdue-bot check`` (issue 15): a knowledge base with each kind of problem is caught, each
finding where it is, and the shipped knowledge base has none but the left-out examples."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from overdue_bot.kb.lint import Finding, LintConfig, Report, check
from overdue_bot.kb.loader import default_path

BROKEN = """
intents:
  credit_report:
    examples: [逾期会上征信吗, 晚还一天影响征信吗, 花呗逾期影响芝麻分吗, 征信什么时候更新, 上了征信怎么办,
               逾期多久会上征信, 逾期会不会影响贷款, 征信会留多久, 会影响我的信用记录吗, 影响征信不]
    answers:
      - when: {days: [1, 30]}
        name: early
        text: 逾期{duration}，通常会在下一次报送时上征信。
      - when: {days: [5, 10]}
        name: shadowed
        text: 这一段永远轮不到。
      - text: 逾期一般会上征信。
  lawsuit_risk:
    examples: [逾期会上征信吗, 会被起诉吗, 会不会坐牢, 欠钱不还会被告吗, 法院会找我吗, 平台会起诉我吗,
               逾期多久会被起诉, 欠多少会被起诉, 起诉了怎么办, 会判刑吗, 会被起诉吗？]
    answers:
      - when: {days: [1, 7]}
        name: short
        text: 晚了几天一般不会起诉。
      - when: {days: [5, 30]}
        name: overlapping
        text: 一个月以内一般先催收。
      - when: {days: [40, null]}
        name: late
        text: 拖得久了可能被起诉。
      - text: 只晚了{duration}的话一般不会起诉。
  penalty_interest:
    examples: [罚息怎么算, 罚息多少, 违约金怎么算]
    answers: 罚息按合同算。
  grace_period:
    examples: [宽限期几天, 宽限期几天呢, 宽限期几天啊, 宽限期是几天, 宽限期有几天, 宽限期多少天, 宽限期几天吗,
               宽限期是多少天, 有宽限期几天, 宽限期有多少天]
    answers: 多数产品有一到三天宽限期，以合同为准。
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "intents.yaml").write_text(BROKEN, encoding="utf-8")
    shutil.copy(default_path() / "platforms.yaml", kb)
    lexicon = (default_path() / "lexicon.yaml").read_text(encoding="utf-8")
    (kb / "lexicon.yaml").write_text(
        lexicon.replace("typos:\n", "typos:\n  鹦鹉螺: 潜水艇\n", 1), encoding="utf-8"
    )
    bot = (default_path() / "bot.yaml").read_text(encoding="utf-8")
    (kb / "bot.yaml").write_text(
        bot.replace("greeting: 你好，", "greeting: 你好{platform}，", 1), encoding="utf-8"
    )
    return kb


def _kinds(findings, kind: str) -> list:
    return [f for f in findings if f.kind == kind]


def test_each_kind_of_problem_is_found_where_it_is(broken: Path) -> None:
    report = check(broken, LintConfig(folds=2))
    f = report.findings
    dup = _kinds(f, "duplicate")
    assert [(d.intent, d.detail["other_intent"]) for d in dup] == [("credit_report", "lawsuit_risk")]
    assert dup[0].level == "error" and dup[0].file.endswith("intents.yaml")
    assert any(d.detail["other_intent"] == "credit_report" for d in _kinds(f, "near_duplicate")) or any(
        "会被起诉吗？" in d.message for d in _kinds(f, "repeated")
    )
    assert [x.intent for x in _kinds(f, "few_examples")] == ["penalty_interest"]
    assert [x.intent for x in _kinds(f, "little_variety")] == ["grace_period"]
    unreachable = _kinds(f, "unreachable")
    assert [(u.intent, u.field) for u in unreachable] == [("credit_report", "answers[1]")]
    assert "shadowed" in unreachable[0].message and unreachable[0].level == "error"
    overlap = _kinds(f, "overlap")
    assert [(o.intent, o.level) for o in overlap] == [("lawsuit_risk", "error")]
    assert "5–7" in overlap[0].message
    gap = _kinds(f, "gap")
    assert [(g.intent, g.level) for g in gap] == [("lawsuit_risk", "warning")] and "31–39" in gap[0].message
    unfilled = _kinds(f, "unfilled")
    assert [(u.intent, u.field) for u in unfilled] == [("lawsuit_risk", "answers[3].text")]
    assert "{duration}" in unfilled[0].message
    never = _kinds(f, "never_filled")
    assert [(n.field, n.level) for n in never] == [("greeting", "error")]
    idle = [x for x in _kinds(f, "idle_rule") if "鹦鹉螺" in x.message]
    assert len(idle) == 1 and idle[0].field == "typos.鹦鹉螺"
    # bot.yaml's reported rules name intents this small knowledge base lacks: listed, not silent
    assert any(x.field.startswith("reported[") for x in _kinds(f, "idle_rule"))
    left = _kinds(f, "left_out")
    assert left and all(x.detail["top2"] for x in left)
    assert report.figures["misranked"] == len(left)
    # issue 26: the left-out test measures; its findings are notes, so the warnings are the same
    # with and without it (review skips it), and each report names the checks it ran
    assert {x.level for x in left} == {"note"} and left == report.notes
    skipped = check(broken, LintConfig(folds=0))
    assert skipped.summary() == report.summary() and not skipped.notes
    assert "left-out test (2 folds)" in report.ran() and "skipped" not in report.ran()
    assert "skipped: left-out test" in skipped.ran()


def test_cli_exits_non_zero_on_errors_and_speaks_json(broken: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "overdue_bot",
            "check",
            "--intents",
            str(broken),
            "--folds",
            "0",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    data = json.loads(run.stdout)
    assert data["errors"] >= 4 and data["warnings"] >= 3
    assert {"duplicate", "unreachable", "overlap", "never_filled"} <= {x["kind"] for x in data["findings"]}
    text = subprocess.run(
        [sys.executable, "-m", "overdue_bot", "check", "--intents", str(broken), "--folds", "0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert text.returncode == 1
    assert "[unreachable] intents.yaml · credit_report · answers[1]" in text.stdout
    assert text.stdout.rstrip().endswith("warnings") and "Traceback" not in text.stderr
    # issue 26: the slow steps are said on stderr as they start, as plain lines off a terminal
    steps = text.stderr.splitlines()
    assert steps[0].startswith("check: reading the knowledge base")
    assert any(line.startswith("check: checking synonym groups (7/8)") for line in steps)
    assert steps[-1].startswith("check: done in") and "\r" not in text.stderr
    assert "checks run: load, duplicates" in text.stdout and "skipped: left-out test" in text.stdout


def _finding(kind: str, n: int) -> Finding:
    return Finding("warning", kind, f"number {n}", "intents.yaml", "greet", "examples")


def test_the_report_groups_each_kind_with_its_count_and_shows_the_first_few() -> None:
    findings = tuple(_finding("idle_rule", n) for n in range(5)) + (_finding("gap", 9),)
    report = Report("kb", findings, {"checks": ["load"], "skipped": []})
    text = report.describe()
    assert "warnings (6)" in text
    assert "  idle_rule (5): lexicon rules that touch no example" in text and "  gap (1): " in text
    assert "number 2" in text and "number 3" not in text
    assert "… and 2 more [idle_rule] (--all lists them)" in text and "number 9" in text
    every = report.describe(limit=None)
    assert all(f"number {n}" in every for n in range(5)) and "more [" not in every
    assert text.splitlines()[-1] == "0 errors, 6 warnings"


def test_a_knowledge_base_that_does_not_load_is_one_error(tmp_path: Path) -> None:
    bad = tmp_path / "intents.yaml"
    bad.write_text("intents:\n  greet:\n    examples: 你好\n", encoding="utf-8")
    report = check(bad, LintConfig(folds=0))
    assert [(f.kind, f.level, f.intent) for f in report.findings] == [("load", "error", "greet")]


def test_the_shipped_knowledge_base_is_clean() -> None:
    """Only the left-out examples remain (a measure, not a mistake); everything else was fixed."""
    report = check(None, LintConfig(folds=0))
    assert [f.describe() for f in report.findings] == []


def test_a_synonym_group_that_erases_a_distinction_is_reported(tmp_path: Path) -> None:
    """法院 (court papers) and 坐牢 (a lawsuit's risk) in one group: the taxonomy's two intents merge."""
    kb = tmp_path / "kb"
    shutil.copytree(default_path(), kb)
    lex = kb / "lexicon.yaml"
    text = lex.read_text(encoding="utf-8")
    text = text.replace("  法院: [法院,", "  法院: [坐牢, 判刑, 刑事, 法院,", 1).replace(
        "  坐牢: [坐牢, 判刑, 刑事,", "  坐牢: [", 1
    )
    lex.write_text(text, encoding="utf-8")
    report = check(kb, LintConfig(folds=0, routes=False))
    merged = [f for f in report.findings if f.kind == "synonyms_merge"]
    assert merged and merged[0].field.startswith("synonyms.") and "court_papers" in merged[0].message
