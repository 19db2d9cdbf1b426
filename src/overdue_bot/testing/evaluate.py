"""NLU evaluation on a labelled utterance file: intent accuracy, per-intent P/R/F1, slots."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import KnowledgeError
from ..records import Parse


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled utterance."""

    text: str
    intent: str
    slots: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Miss:
    """A case the bot got wrong, and how."""

    case: Case
    parse: Parse
    wrong_intent: bool
    wrong_slots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """The figures of one evaluation run."""

    total: int
    intent_correct: int
    slot_correct: int
    slot_values_correct: int
    slot_values_total: int
    per_intent: dict[str, tuple[float, float, float, int]]
    confusions: list[tuple[tuple[str, str], int]]
    misses: list[Miss] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.intent_correct / self.total if self.total else 0.0

    @property
    def slot_accuracy(self) -> float:
        return self.slot_correct / self.total if self.total else 0.0

    @property
    def slot_value_accuracy(self) -> float:
        return self.slot_values_correct / self.slot_values_total if self.slot_values_total else 1.0


def load_cases(path: str | Path) -> list[Case]:
    """Read a YAML list of {text, intent, slots}."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(str(path), f"cannot read the evaluation file: {exc}") from exc
    if not isinstance(data, list):
        raise KnowledgeError(str(path), "must be a YAML list of {text, intent, slots}")
    cases = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item.get("intent"):
            raise KnowledgeError(str(path), f"item {i + 1} needs 'text' and 'intent'")
        cases.append(Case(item["text"], str(item["intent"]), dict(item.get("slots") or {})))
    return cases


def slot_ok(expected: Any, got: Any) -> bool:
    """A days value may be a list of acceptable values."""
    if isinstance(expected, list):
        return got in expected
    return bool(expected == got)


def evaluate(cases: Sequence[Case], parse: Callable[[str], Parse]) -> Report:
    """Parse every case and compare; slots must match exactly (no missing, no extra)."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    support: Counter[str] = Counter()
    confusions: Counter[tuple[str, str]] = Counter()
    misses = []
    intent_ok = slots_ok = values_ok = values_total = 0
    for case in cases:
        p = parse(case.text)
        support[case.intent] += 1
        good = p.intent == case.intent
        if good:
            intent_ok += 1
            tp[case.intent] += 1
        else:
            fp[p.intent] += 1
            fn[case.intent] += 1
            confusions[(case.intent, p.intent)] += 1
        wrong = []
        for name in sorted(set(case.slots) | set(p.slots)):
            values_total += 1
            if name in case.slots and name in p.slots and slot_ok(case.slots[name], p.slots[name]):
                values_ok += 1
            else:
                wrong.append(name)
        if not wrong:
            slots_ok += 1
        if not good or wrong:
            misses.append(Miss(case, p, not good, tuple(wrong)))
    per_intent = {}
    for name in sorted(set(support) | set(fp)):
        prec = tp[name] / (tp[name] + fp[name]) if tp[name] + fp[name] else 0.0
        rec = tp[name] / support[name] if support[name] else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_intent[name] = (prec, rec, f1, support[name])
    return Report(
        len(cases), intent_ok, slots_ok, values_ok, values_total, per_intent, confusions.most_common(), misses
    )


def format_report(report: Report, *, misses: bool = True) -> str:
    """The report as text for the terminal."""
    lines = [
        f"intent accuracy: {report.accuracy:.4f} ({report.intent_correct}/{report.total})",
        f"slot accuracy: {report.slot_accuracy:.4f} (utterances with every slot right, "
        f"{report.slot_correct}/{report.total}); per slot value: {report.slot_value_accuracy:.4f}",
        f"macro f1: {sum(v[2] for v in report.per_intent.values()) / max(1, len(report.per_intent)):.4f}",
        "",
        f"{'intent':<28}{'precision':>10}{'recall':>8}{'f1':>7}{'n':>5}",
    ]
    for name, (p, r, f, n) in report.per_intent.items():
        lines.append(f"{name:<28}{p:>10.2f}{r:>8.2f}{f:>7.2f}{n:>5}")
    if report.confusions:
        lines += ["", "most frequent confusions (expected → got):"]
        lines += [f"  {a} → {b}: {n}" for (a, b), n in report.confusions[:15]]
    if misses and report.misses:
        lines += ["", f"misses ({len(report.misses)}):"]
        for m in report.misses:
            what = []
            if m.wrong_intent:
                what.append(f"intent {m.case.intent} → {m.parse.intent} ({m.parse.confidence:.2f})")
            if m.wrong_slots:
                what.append(f"slots {m.case.slots} → {m.parse.slots}")
            lines.append(f"  {m.case.text}  |  {'; '.join(what)}")
    return "\n".join(lines)
