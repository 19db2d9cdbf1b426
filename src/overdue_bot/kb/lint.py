"""``overdue-bot check``: the knowledge base read the way the bot reads it, for the mistakes an
author cannot see by looking at one file.

The loader already refuses what cannot work at all (a broken file, an unknown slot or
placeholder).  What it cannot refuse is what loads but misleads: two intents claiming the same
sentence, an example the bot files elsewhere once it has not seen it, an answer variant no
conversation reaches, stages of days that overlap or leave holes, a ``{duration}`` printed
empty, a word list entry nothing ever uses.  Errors make the command fail (for CI); warnings
are worth a look.  The checks judge by the bot's own normalisation and scorer, so "the same
sentence" means what it means to the matcher: 逾期3天 and 逾期5天 are one example.

The left-out test (``folds``) is a measure, not a list of mistakes: about a fifth of any
intent's examples land elsewhere once the bot has not seen them, and that share is the number to
watch.  Its findings are notes, so that ``check`` and ``review`` (which skips the test) count the
same warnings, and each report names the checks it ran.  The slow parts (the index, asking every
point's forms, the folds) tell a ``progress`` callback how far they are.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from ..dialogue.render import fill, matches
from ..errors import KnowledgeError
from ..records import Answer, Knowledge, Point
from ..testing import crossval
from . import loader as knowledge
from .loader import _PLACEHOLDER, _TEXT_KEYS, BANK_PRODUCTS, TEMPLATE_VALUES

ERROR = "error"
WARNING = "warning"
#: a finding that measures rather than faults (the left-out test): listed, never counted as a warning
NOTE = "note"

#: told what the lint is doing: (step, done, total); total 0 for a step that is not counted
Progress = Callable[[str, int, int], None]

#: what each kind of finding means, said once above its findings
KINDS: Mapping[str, str] = {
    "load": "the knowledge base does not load",
    "duplicate": "the same example (to the matcher) under two intents",
    "near_duplicate": "near-same examples under two intents",
    "repeated": "an example that reads as another of its own intent",
    "few_examples": "intents with too few examples",
    "little_variety": "intents whose examples say one thing many times",
    "unreachable": "answer variants that no case reaches",
    "unfilled": "placeholders a reachable case prints empty between two words",
    "overlap": "stages of days or amounts that overlap",
    "gap": "stages that leave a hole",
    "never_filled": "placeholders the bot never fills in that text",
    "idle_rule": "lexicon rules that touch no example",
    "synonyms_merge": "synonym groups that erase a distinction between intents",
    "no_points": "topics still written as one block of answers",
    "few_forms": "points with few question forms",
    "no_facts": "points naming no facts.md section",
    "again_repeats": "again lines repeating their point",
    "long_lead": "first answers over the length limit",
    "unreached": "points no question form reaches after the topic's first answer",
    "left_out": "examples a bot built without them takes for another intent (a measure: watch the share)",
}


def _quiet(step: str, done: int, total: int) -> None:
    """No progress shown (the library's default: a caller that wants it passes its own)."""


@dataclass(frozen=True, slots=True)
class LintConfig:
    """Every threshold of the lint, in one place."""

    #: examples of two intents at or above this fuzz.ratio of their canonical forms are "near-same"
    near_duplicate: float = 90.0
    #: an intent with fewer examples than this is thin (the matcher learns little from it)
    min_examples: int = 10
    #: and one whose examples use fewer distinct content words than this says one thing many times
    min_words: int = 15
    #: or whose examples are on average this similar to each other (fuzz.ratio, 0–100)
    max_similarity: float = 50.0
    #: cross-validation rounds for the left-out check (0 skips it: it builds the index this often)
    folds: int = 5
    #: a point with fewer question forms than this is hard to reach by a question
    min_forms: int = 5
    #: a topic's first answer (its lead points, before the note and disclaimer) is at most this long
    max_lead: int = 350
    #: an ``again`` line sharing a stretch this long with its point repeats it instead of saying it anew
    span: int = 20
    #: whether to ask every form of every point as a follow-up (``routes``: a few seconds)
    routes: bool = True
    #: a word of a synonym group tells an intent apart when at least this many topic examples use
    #: it and at least this share of them are that intent's (two such words of two intents in one
    #: group: the group erases a distinction of the taxonomy)
    synonym_support: int = 4
    synonym_share: float = 0.6


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, located as precisely as the knowledge base allows."""

    level: str
    kind: str
    message: str
    file: str = ""
    intent: str = ""
    field: str = ""
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def describe(self) -> str:
        where = Path(self.file).name if self.file else ""
        if self.intent:
            where += f" · {self.intent}" if where else self.intent
        if self.field:
            where += f" · {self.field}"
        return f"[{self.kind}] {where}: {self.message}" if where else f"[{self.kind}] {self.message}"


@dataclass(frozen=True, slots=True)
class Report:
    path: str
    findings: tuple[Finding, ...]
    figures: Mapping[str, Any]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == WARNING]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if f.level == NOTE]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "notes": len(self.notes),
            "figures": dict(self.figures),
            "findings": [asdict(f) for f in self.findings],
        }

    def grouped(self, *, limit: int | None = 3) -> list[str]:
        """Errors, warnings and notes, each kind under a line with its count and meaning, the first
        ``limit`` findings of each kind listed (all with None): a kind found 400 times reads as one
        kind, not as 400 lines to scroll past."""
        lines = []
        for level, found in ((ERROR, self.errors), (WARNING, self.warnings), (NOTE, self.notes)):
            if not found:
                continue
            lines.append(f"\n{level}s ({len(found)})")
            by_kind: dict[str, list[Finding]] = defaultdict(list)
            for f in found:
                by_kind[f.kind].append(f)
            for kind, items in by_kind.items():
                meaning = KINDS.get(kind, "")
                lines.append(f"  {kind} ({len(items)})" + (f": {meaning}" if meaning else ""))
                shown = items if limit is None else items[:limit]
                lines += [f"    {f.describe()}" for f in shown]
                if len(items) > len(shown):
                    lines.append(f"    … and {len(items) - len(shown)} more [{kind}] (--all lists them)")
        return lines

    def ran(self) -> str:
        """Which checks ran and which were skipped (and how to run them): two reports agree only
        when they ran the same checks, and a reader should not have to guess which."""
        ran = ", ".join(self.figures.get("checks", ()))
        skipped = "; ".join(self.figures.get("skipped", ()))
        return f"checks run: {ran or 'none'}" + (f"; skipped: {skipped}" if skipped else "")

    def summary(self) -> str:
        """``N errors, M warnings``: notes are a measure and not counted (the left-out share is
        said on a line of its own)."""
        return f"{len(self.errors)} errors, {len(self.warnings)} warnings"

    def describe(self, *, limit: int | None = 3) -> str:
        """The report for a person: errors first, then warnings, then notes, each kind counted and
        capped at ``limit``; the checks run; the counts last."""
        fig = self.figures
        lines = [
            f"overdue-bot check: {self.path} ({fig.get('intents', 0)} intents, "
            f"{fig.get('examples', 0)} examples)",
            *self.grouped(limit=limit),
        ]
        pairs = Counter((f.intent, f.detail.get("got")) for f in self.findings if f.kind == "left_out")
        if pairs:
            lines.append(
                "\nmost often confused when left out: "
                + ", ".join(f"{a} → {b} ({n})" for (a, b), n in pairs.most_common(8))
            )
        lines.append("")
        if "left_out_share" in fig:
            lines.append(
                f"left out: {fig['misranked']} of {fig['examples']} examples misranked "
                f"({fig['left_out_share']:.1%}, {fig['folds']} folds; notes, not warnings)"
            )
        lines += [self.ran(), self.summary()]
        return "\n".join(lines)


def check(
    path: str | Path | None = None, config: LintConfig = LintConfig(), *, progress: Progress | None = None
) -> Report:
    """Lint the knowledge base at ``path`` (the shipped one by default)."""
    shown = str(path) if path is not None else str(knowledge.default_path())
    (progress or _quiet)("reading the knowledge base", 0, 0)
    try:
        kb = knowledge.load(path)
    except KnowledgeError as exc:
        found = Finding(ERROR, "load", str(exc).split(": ")[-1], exc.file, exc.intent or "", exc.field or "")
        return Report(shown, (found,), {"intents": 0, "examples": 0, "checks": ["load"]})
    return lint(kb, config, path=shown, progress=progress)


def lint(
    kb: Knowledge, config: LintConfig = LintConfig(), *, path: str = "", progress: Progress | None = None
) -> Report:
    """Every check on a loaded knowledge base; ``progress`` is told each step as it starts."""
    from .. import model

    say = progress or _quiet
    say("building the matcher's index" if model.needs_build(kb) else "loading the matcher's index", 0, 0)
    built = model.load(kb)
    nlu, dialogue = built.nlu, built.dialogue
    analysed = {(text, intent): nlu.analyse(text) for text, intent in nlu.examples}
    # a lexicon rule is in use when any question the bot is built from uses it, a point's forms too
    forms = {(text, label): nlu.analyse(text) for text, label in nlu.point_examples}
    quick: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("duplicates", lambda: _duplicates(kb, analysed, config)),
        ("thin intents", lambda: _thin(kb, analysed, config)),
        ("answer variants", lambda: _variants(kb, dialogue)),
        ("stages", lambda: _stages(kb)),
        ("bot.yaml texts", lambda: _unfilled_texts(kb)),
        ("lexicon rules", lambda: _idle_lexicon(kb, nlu, {**forms, **analysed})),
        ("points", lambda: _topic_points(kb, dialogue, config)),
        ("synonym groups", lambda: _merged_synonyms(kb, nlu, config)),
    ]
    findings: list[Finding] = []
    checks = ["load"]
    skipped = []
    for n, (name, run) in enumerate(quick):
        say(f"checking {name}", n, len(quick))
        findings += run()
        checks.append(name)
    if config.routes:
        findings += _unreached(kb, built, say)
        checks.append("point routes")
    else:
        skipped.append("point routes")
    figures: dict[str, Any] = {
        "intents": len(kb.intents),
        "examples": len(nlu.examples),
        "points": sum(len(it.points) for it in _topics(kb)),
    }
    if config.folds > 1:
        source = {it.name: it.source for it in kb.intents}
        step = "left-out test, folds done"
        say(step, 0, config.folds)
        missed = crossval.misranked(
            kb, folds=config.folds, understanding=nlu, on_fold=lambda done: say(step, done, config.folds)
        )
        checks.append(f"left-out test ({config.folds} folds)")
        for m in missed:
            top2 = ", ".join(f"{n} {s:.2f}" for n, s in m.top2)
            findings.append(
                Finding(
                    NOTE,
                    "left_out",
                    f"“{m.text}” is taken for {m.got} when left out (top-2: {top2})",
                    source.get(m.intent, ""),
                    m.intent,
                    "examples",
                    {"text": m.text, "got": m.got, "top2": [list(t) for t in m.top2]},
                )
            )
        figures.update(
            misranked=len(missed),
            folds=config.folds,
            left_out_share=round(len(missed) / max(1, len(nlu.examples)), 4),
        )
    else:
        skipped.append(f"left-out test (--folds {config.folds}; `overdue-bot check` runs it with 5)")
    figures.update(checks=checks, skipped=skipped)
    order = {ERROR: 0, WARNING: 1, NOTE: 2}
    findings.sort(key=lambda f: order[f.level])
    return Report(path, tuple(findings), figures)


# ---------------------------------------------------------------------------- examples


def _duplicates(kb: Knowledge, analysed: Mapping[tuple[str, str], Any], config: LintConfig) -> list[Finding]:
    """The same example (to the matcher) under two intents is an error; near-same is a warning;
    the same twice in one intent adds nothing."""
    source = {it.name: it.source for it in kb.intents}
    items = [(text, intent, a.canonical) for (text, intent), a in analysed.items() if a.canonical]
    out: list[Finding] = []
    first: dict[tuple[str, str], str] = {}
    for text, intent, canon in items:
        key = (intent, canon)
        if key in first:
            out.append(
                Finding(
                    WARNING,
                    "repeated",
                    f"“{text}” reads as “{first[key]}” (same canonical form {canon!r}): it adds nothing",
                    source[intent],
                    intent,
                    "examples",
                )
            )
        else:
            first[key] = text
    texts = [canon for _, _, canon in items]
    for i, (text, intent, canon) in enumerate(items):
        for _, score, j in process.extract(
            canon, texts, scorer=fuzz.ratio, score_cutoff=config.near_duplicate, limit=None
        ):
            other_text, other, _ = items[j]
            if j <= i or other == intent:
                continue
            same = score >= 100.0
            level, kind = (ERROR, "duplicate") if same else (WARNING, "near_duplicate")
            how = "the same example" if same else f"near-same ({score:.0f})"
            out.append(
                Finding(
                    level,
                    kind,
                    f"“{text}” and {other}'s “{other_text}” are {how} to the matcher",
                    source[intent],
                    intent,
                    "examples",
                    {"text": text, "other_intent": other, "other_text": other_text, "score": round(score, 1)},
                )
            )
    return out


def _thin(kb: Knowledge, analysed: Mapping[tuple[str, str], Any], config: LintConfig) -> list[Finding]:
    """Too few examples, or many examples saying one thing, teach the matcher one sentence."""
    out: list[Finding] = []
    for it in kb.intents:
        canon = [analysed[(ex, it.name)].canonical for ex in it.examples]
        words = {t for ex in it.examples for t in analysed[(ex, it.name)].tokens if t not in kb.stopwords}
        if len(it.examples) < config.min_examples:
            out.append(
                Finding(
                    WARNING,
                    "few_examples",
                    f"only {len(it.examples)} examples (at least "
                    f"{config.min_examples} let the matcher tell it from its neighbours)",
                    it.source,
                    it.name,
                    "examples",
                )
            )
            continue
        n = len(canon)
        total = sum(s for c in canon for _, s, _ in process.extract(c, canon, scorer=fuzz.ratio, limit=None))
        similarity = (total - 100.0 * n) / (n * n - n)
        if len(words) < config.min_words or similarity > config.max_similarity:
            out.append(
                Finding(
                    WARNING,
                    "little_variety",
                    f"{n} examples but {len(words)} distinct words, "
                    f"{similarity:.0f}% alike on average: add other ways people ask",
                    it.source,
                    it.name,
                    "examples",
                    {"words": len(words), "similarity": round(similarity, 1)},
                )
            )
    return out


# ---------------------------------------------------------------------------- answers

#: placeholders and the slots they need: without the slot they print nothing
_NEEDS = {
    "days_overdue": ("days_overdue",),
    "duration": ("days_overdue",),
    "amount": ("amount",),
    "money": ("amount",),
    "platform": ("platform",),
    "monthly_budget": ("monthly_budget",),
    "budget_money": ("monthly_budget",),
    "total_money": ("monthly_budget", "amount"),
    "months": ("monthly_budget", "amount"),
    "months_text": ("monthly_budget", "amount"),
    "plan_total": ("monthly_budget", "amount"),
}


#: a placeholder between two word characters: empty, it glues them (只晚了的话, 欠了的钱); next to
#: punctuation or a line end it just drops out (信用卡逾期，…)
_GLUED = re.compile(r"(?<=\w)\{([a-z_]+)\}(?=\w)")


def _grid(variants: Sequence[Answer], kb: Knowledge, cues: Iterable[str]) -> Iterable[dict[str, Any]]:
    """Slot combinations that visit every region the variants' conditions draw.

    Only the dimensions the conditions name vary; numbers are tried at and around every bound.
    """
    keys = {k for v in variants for k in v.when}

    def numbers(key: str, default: int) -> list[int | None]:
        marks = {default, 1}
        for v in variants:
            lo, hi = v.when.get(key, (None, None))
            marks.update(x for b in (lo, hi) if b is not None for x in (b - 1, b, b + 1) if x >= 0)
        marks.add(max(marks) * 10 + 1)
        return [None, *sorted(marks)]

    days = numbers("days", 30) if keys & {"days", "has", "missing"} else [None]
    amounts = numbers("amount", 5000) if keys & {"amount", "has", "missing"} else [None]
    budgets: list[int | None] = [None, 3000] if keys & {"has", "missing"} else [None]
    lenders: list[tuple[str | None, str | None]] = [(None, None)]
    if keys & {"platform", "platform_kind", "has", "missing"}:
        named = {p for v in variants for p in v.when.get("platform", ())}
        by_kind: dict[str, str] = {}
        for p in kb.platforms:
            by_kind.setdefault(p.kind, p.name)
        for name in sorted(named | set(by_kind.values())):
            kind = next(p.kind for p in kb.platforms if p.name == name)
            products = [None, *BANK_PRODUCTS] if kind == "bank" else [None]
            lenders += [(name, product) for product in products]
    cue_values: list[str | None] = [None, *cues] if "cue" in keys else [None]
    debt_counts = [0, 1, 2, 3] if "debts" in keys else [0]
    tested = {name for v in variants for k in ("has", "missing") for name in v.when.get(k, ())}
    elapsed: list[int | None] = [None, 10] if "elapsed" in tested else [None]
    for d, a, b, (lender, product), cue, n, e in itertools.product(
        days, amounts, budgets, lenders, cue_values, debt_counts, elapsed
    ):
        slots: dict[str, Any] = {
            "days_overdue": d,
            "amount": a,
            "monthly_budget": b,
            "platform": lender,
            "product": product,
            "debts": [{"platform": f"p{i}"} for i in range(n)],
            "elapsed": e,
        }
        yield {"slots": slots, "cue": cue}


def _variants(kb: Knowledge, dialogue: Any) -> list[Finding]:
    """Variants that no slot combination reaches, and placeholders a reachable case prints empty."""
    out: list[Finding] = []
    places: list[tuple[str, str, tuple[Answer, ...], tuple[str, ...], bool, str, Point | None]] = [
        (it.source, it.name, p.variants, tuple(it.cues), _legacy(p), _where(p), p)
        for it in kb.intents
        for p in it.points
    ]
    bot_file = kb.sources.get("bot", "bot.yaml")
    all_cues = {c for it in kb.intents for c in it.cues}
    places += [
        (bot_file, f"snippet {name}", variants, tuple(all_cues), False, "answers", None)
        for name, variants in kb.snippets.items()
    ]
    for file, owner, variants, cues, fallback, where, point in places:
        reached: dict[int, list[dict[str, Any]]] = defaultdict(list)
        gates = [Answer("", point.when), Answer("", point.unless)] if point is not None else []
        for case in _grid([*variants, *gates], kb, cues):
            slots = case["slots"]
            kind = dialogue.kind(slots)
            if point is not None and (
                (point.when and not matches(point.when, slots, kind, case["cue"]))
                or (point.unless and matches(point.unless, slots, kind, case["cue"]))
            ):
                continue  # outside where the point applies at all
            for i, v in enumerate(variants):
                if matches(v.when, slots, kind, case["cue"]):
                    reached[i].append(slots)
                    break
        for i, v in enumerate(variants):
            if i not in reached:
                earlier = [variants[j].name for j in range(i) if j in reached]
                out.append(
                    Finding(
                        ERROR,
                        "unreachable",
                        f"variant {v.name!r} ({dict(v.when)}) is never chosen: "
                        f"earlier variants ({', '.join(earlier) or 'none'}) take every case it covers",
                        file,
                        owner,
                        f"{where}[{i}]",
                    )
                )
                continue
            if not fallback:
                continue  # a snippet without its slot is left out whole, by design
            for name in sorted(set(_GLUED.findall(v.text))):
                needed = _NEEDS.get(name, ())
                empty = [s for s in reached[i] if any(s.get(slot) is None for slot in needed)]
                if empty:
                    missing = sorted({slot for s in empty for slot in needed if s.get(slot) is None})
                    out.append(
                        Finding(
                            WARNING,
                            "unfilled",
                            f"{{{name}}} prints nothing when "
                            f"{' and '.join(missing)} is unknown, and variant {v.name!r} is chosen then: "
                            f"add when: {{has: [{', '.join(needed)}]}} or leave the placeholder out",
                            file,
                            owner,
                            f"{where}[{i}].text",
                        )
                    )
    return out


def _topics(kb: Knowledge) -> list[Any]:
    """The intents answered by points: every one but small talk and the crisis answer."""
    roles = kb.texts.roles
    chat = roles.get("chat", frozenset()) | roles.get("no_support", frozenset()) | {knowledge.SAFETY_INTENT}
    return [it for it in kb.intents if it.name not in chat]


def _shares_span(a: str, b: str, n: int) -> bool:
    return any(a[i : i + n] in b for i in range(len(a) - n + 1))


def _topic_points(kb: Knowledge, dialogue: Any, config: LintConfig) -> list[Finding]:
    """Points that are hard to reach (too few forms), rest on no facts.md section, repeat
    themselves when asked again, and first answers longer than a phone screen."""
    out: list[Finding] = []
    for it in _topics(kb):
        if all(_legacy(p) or not p.forms for p in it.points):
            out.append(
                Finding(
                    WARNING,
                    "no_points",
                    "the topic is one block of answers: write it as points (docs/points.md), so "
                    "a second question on it finds its answer",
                    it.source,
                    it.name,
                    "answers",
                )
            )
            continue
        for p in it.points:
            where = f"points.{p.name}"
            if len(p.forms) < config.min_forms:
                out.append(
                    Finding(
                        WARNING,
                        "few_forms",
                        f"{len(p.forms)} question forms (examples + follow_ups); give at least "
                        f"{config.min_forms}, varied, so people's own wording reaches it",
                        it.source,
                        it.name,
                        where,
                    )
                )
            if not p.facts:
                out.append(
                    Finding(
                        WARNING,
                        "no_facts",
                        "names no facts.md section: add facts: [N] for the section it rests on",
                        it.source,
                        it.name,
                        f"{where}.facts",
                    )
                )
            if p.again and any(_shares_span(p.again, v.text, config.span) for v in p.variants):
                out.append(
                    Finding(
                        WARNING,
                        "again_repeats",
                        f"the again line repeats {config.span}+ characters of the point: say it anew",
                        it.source,
                        it.name,
                        f"{where}.again",
                    )
                )
        for case in _grid([w for _, w in knowledge.wordings(it)], kb, it.cues):
            slots = {k: v for k, v in case["slots"].items() if v is not None}
            chosen = dialogue._leads(it, slots, case["cue"])
            text = "\n".join(
                fill(w.text, dialogue.values(slots))
                for p in chosen
                if (w := dialogue._wording(p, slots, case["cue"]))
            )
            if len(text) > config.max_lead:
                out.append(
                    Finding(
                        WARNING,
                        "long_lead",
                        f"the first answer is {len(text)} characters (over {config.max_lead}) for "
                        f"{_case(slots, case['cue'])}: leave a lead point for a follow-up",
                        it.source,
                        it.name,
                        "points",
                    )
                )
                break
    return out


def _case(slots: Mapping[str, Any], cue: str | None) -> str:
    shown = {k: v for k, v in slots.items() if k != "debts"}
    return (
        ", ".join([*(f"{k}={v}" for k, v in shown.items()), *([f"cue={cue}"] if cue else [])]) or "no facts"
    )


def _unreached(kb: Knowledge, built: Any, say: Progress = _quiet) -> list[Finding]:
    """Points that none of their forms reach when asked right after the topic's first answer."""
    from ..bot import Bot
    from ..testing.points import routes

    topics = {it.name for it in _topics(kb)}
    points = sum(len(it.points) for it in _topics(kb))
    reached: dict[tuple[str, str], bool] = {}
    for r in routes(Bot(built), sorted(topics)):
        key = (r.intent, r.point)
        if key not in reached:
            say("asking each point's question forms, points done", len(reached), points)
        reached[key] = reached.get(key, False) or r.reached
    source = {it.name: it.source for it in kb.intents}
    return [
        Finding(
            WARNING,
            "unreached",
            "no question form of this point gets it as the answer after the topic's first answer "
            "(python -m overdue_bot.testing.points shows where each goes)",
            source[intent],
            intent,
            f"points.{point}",
        )
        for (intent, point), hit in reached.items()
        if not hit
    ]


def _legacy(p: Point) -> bool:
    """A point that is an intent's plain ``answers`` (its last wording is the general answer)."""
    return p.name == "answer" and not p.facts and not p.forms


def _where(p: Point) -> str:
    return "answers" if _legacy(p) else f"points.{p.name}.variants"


def _stages(kb: Knowledge) -> list[Finding]:
    """Stages of days (or amounts) under the same other conditions: overlaps and holes.

    The first variant whose conditions hold wins, so an overlap silently gives the shared days to
    the earlier stage, and a hole sends them to whatever general answer follows.
    """
    out: list[Finding] = []
    for it, p in ((topic, p) for topic in kb.intents for p in topic.points):
        where = _where(p)
        for key, unit in (("days", "days"), ("amount", "yuan")):
            groups: dict[str, list[tuple[int, Answer]]] = defaultdict(list)
            for i, a in enumerate(p.variants):
                if key in a.when:
                    rest = {k: v for k, v in a.when.items() if k != key}
                    groups[repr(sorted(rest.items()))].append((i, a))
            for staged in groups.values():
                if len(staged) < 2:
                    continue
                ranges = sorted(
                    ((a.when[key][0] or 0, a.when[key][1], i, a) for i, a in staged),
                    key=lambda r: (r[0], r[1] if r[1] is not None else float("inf")),
                )
                for (lo1, hi1, i1, a1), (lo2, hi2, i2, a2) in itertools.pairwise(ranges):
                    if hi1 is None or hi1 >= lo2:
                        (elo, ehi), (llo, lhi) = (
                            ((lo1, hi1), (lo2, hi2)) if i1 < i2 else ((lo2, hi2), (lo1, hi1))
                        )
                        if llo >= elo and (ehi is None or (lhi is not None and lhi <= ehi)):
                            continue  # the later stage is inside the earlier one: reported as unreachable
                        top = hi1 if hi1 is not None and (hi2 is None or hi1 <= hi2) else hi2
                        shared = f"{lo2}–{top if top is not None else '∞'}"
                        out.append(
                            Finding(
                                ERROR,
                                "overlap",
                                f"stages {a1.name!r} {list(a1.when[key])} and "
                                f"{a2.name!r} {list(a2.when[key])} share {shared} {unit}: the earlier "
                                "one in the file takes them",
                                it.source,
                                it.name,
                                f"{where}[{max(i1, i2)}].when.{key}",
                            )
                        )
                    elif lo2 > hi1 + 1:
                        out.append(
                            Finding(
                                WARNING,
                                "gap",
                                f"no stage covers {hi1 + 1}–{lo2 - 1} {unit} (between "
                                f"{a1.name!r} and {a2.name!r}): those get the general answer",
                                it.source,
                                it.name,
                                f"{where}[{i2}].when.{key}",
                            )
                        )
    return out


#: what each bot.yaml text is filled with when the bot says it (every other text is said as written)
_FILLED_WITH: Mapping[str, frozenset[str]] = {
    "clarify": frozenset({"first", "second"}),
    "lost": frozenset({"label"}),
    "same": frozenset({"platform"}),
    "ask_about": frozenset({"platform"}),
    "noted": TEMPLATE_VALUES,
    "noted_every": TEMPLATE_VALUES,
    "complain": TEMPLATE_VALUES,
    "plan_total": TEMPLATE_VALUES,
    "beyond": TEMPLATE_VALUES,
    "means_noted": frozenset({"means_label"}),
    "paid_noted": frozenset({"platform"}),
    "means_left": frozenset({"means_label", "budget_money", "left_money"}),
    "means_over": frozenset({"means_label", "budget_money", "left_money"}),
    "support_start_debts": frozenset({"debts_text"}),
    "support_debts": frozenset({"debts_text", "total_money"}),
}


def _unfilled_texts(kb: Knowledge) -> list[Finding]:
    """A placeholder in a bot.yaml text that the bot never fills there is printed as it stands."""
    out = []
    bot_file = kb.sources.get("bot", "bot.yaml")
    for key in _TEXT_KEYS:
        allowed = _FILLED_WITH.get(key, frozenset())
        for name in _PLACEHOLDER.findall(getattr(kb.texts, key)):
            if name not in allowed:
                can = (
                    ", ".join(f"{{{n}}}" for n in sorted(allowed)) if len(allowed) < 5 else "the slot values"
                )
                out.append(
                    Finding(
                        ERROR,
                        "never_filled",
                        f"{{{name}}} is never filled in this text (it may use {can or 'no placeholder'})",
                        bot_file,
                        "",
                        key,
                    )
                )
    for name, kind in kb.kinds.items():
        for fld, allowed in (("note", frozenset({"platform"})), ("complaint", TEMPLATE_VALUES)):
            for ph in _PLACEHOLDER.findall(getattr(kind, fld)):
                if ph not in allowed:
                    out.append(
                        Finding(
                            ERROR,
                            "never_filled",
                            f"{{{ph}}} is never filled in a kind's {fld}",
                            kb.sources.get("platforms", "platforms.yaml"),
                            name,
                            fld,
                        )
                    )
    return out


# ---------------------------------------------------------------------------- lexicon


def _merged_synonyms(kb: Knowledge, nlu: Any, config: LintConfig) -> list[Finding]:
    """A synonym group whose words tell different intents apart erases the taxonomy's distinction
    (法院 and 坐牢 both read as 起诉: court papers and a lawsuit's risk look alike to the matcher)."""
    chat = set(kb.texts.roles.get("chat", ())) | set(kb.texts.roles.get("social", ()))
    texts = [(text.lower(), intent) for text, intent in nlu.examples if intent not in chat]
    groups: dict[str, list[str]] = {}
    for word, canonical in kb.synonyms.items():
        if len(word) > 1 and not re.search(r"[a-z]", word):
            groups.setdefault(canonical, []).append(word)
    out = []
    lex_file = kb.sources.get("lexicon", "lexicon.yaml")
    for canonical, words in sorted(groups.items()):
        marks: dict[str, tuple[str, int, int]] = {}  # intent → (word, its examples, all with the word)
        for word in words:
            found = Counter(intent for text, intent in texts if word in text)
            total = sum(found.values())
            if total < config.synonym_support:
                continue
            intent, n = found.most_common(1)[0]
            if n / total >= config.synonym_share and n > marks.get(intent, ("", 0, 0))[1]:
                marks[intent] = (word, n, total)
        if len(marks) > 1:
            told = "; ".join(f"{w} ({i}: {n} of {t})" for i, (w, n, t) in sorted(marks.items()))
            out.append(
                Finding(
                    WARNING,
                    "synonyms_merge",
                    f"the group {canonical} joins words that tell intents apart: {told}",
                    lex_file,
                    "",
                    f"synonyms.{canonical}",
                )
            )
    return out


def _idle_lexicon(kb: Knowledge, nlu: Any, analysed: Mapping[tuple[str, str], Any]) -> list[Finding]:
    """Language rules that connect nothing a person writes to any example.

    A rule earns its place when what it reads occurs in some example or what it writes does
    (a typo's fix, a synonym group's word): then a user's variant reaches that example.  A rule
    whose input and output both never occur changes text no example is matched on.
    """
    lex = kb.sources.get("lexicon", "lexicon.yaml")
    raw = " ".join(text.lower() for text, _ in analysed)
    cleaned = " ".join(a.cleaned for a in analysed.values())
    tokens = Counter(t for a in analysed.values() for t in a.tokens)
    out: list[Finding] = []
    lenders = {a.lower() for p in kb.platforms for a in (p.name, *p.aliases, *p.loans)}

    def used(phrase: str) -> bool:
        """``phrase`` names a lender (the slot reads it), occurs in an example, or one of its words, as
        the bot segments and canonicalises it, is a word of some example."""
        if phrase.lower() in lenders or phrase.lower() in cleaned:
            return True
        words = nlu._canonical(nlu.tokenizer.cut(phrase.lower()))
        return any(tokens[t] for t in words if t not in kb.stopwords)

    def idle(message: str, fld: str, file: str = lex) -> None:
        out.append(Finding(WARNING, "idle_rule", message, file, "", fld))

    for typo, fix in kb.typos.items():
        if typo not in raw and not used(fix):
            idle(f"typo {typo!r} → {fix!r}: neither occurs in any example", f"typos.{typo}")
    for head in sorted(set(kb.synonyms.values())):
        if tokens[head] == 0:
            group = sorted(w for w, h in kb.synonyms.items() if h == head)
            idle(
                f"synonym group {head!r} ({', '.join(group[:5])}): no example has the word after normalisation",
                f"synonyms.{head}",
            )
    for word, after in kb.not_before.items():
        if tokens[word] == 0:
            idle(f"not_before {word!r}: no example has the word", f"not_before.{word}")
        for nxt in after:
            if tokens[nxt] == 0 and nxt not in raw:
                idle(f"not_before {word!r} → {nxt!r}: no example has {nxt!r}", f"not_before.{word}")
    for phrase, rewrite in kb.clause_end.items():
        if phrase not in raw and not used(rewrite):
            idle(
                f"clause_end {phrase!r} → {rewrite!r}: neither occurs in any example", f"clause_end.{phrase}"
            )
    for unit, rewrite in kb.after_number.items():
        if not re.search(rf"\d\s*{re.escape(unit)}", raw) and rewrite.lower() not in cleaned:
            idle(f"after_number {unit!r}: never follows a number in an example", f"after_number.{unit}")
    for word in kb.words:
        if tokens[word] == 0 and not used(word):
            idle(f"dictionary word {word!r}: no example uses it", "words")
    names = {it.name for it in kb.intents}
    bot_file = kb.sources.get("bot", "bot.yaml")
    for i, rule in enumerate(_raw_reported(bot_file)):
        for intent in [rule.get("to"), *(rule.get("from") or [])]:
            if intent not in names:
                idle(
                    f"reported rule names {intent!r}, which this knowledge base does not have: the rule is skipped",
                    f"reported[{i}]",
                    bot_file,
                )
    return out


def _raw_reported(bot_file: str) -> list[dict[str, Any]]:
    """bot.yaml's reported rules as written (the loader drops the ones about missing intents)."""
    try:
        data = knowledge._read(Path(bot_file))
    except (OSError, KnowledgeError):
        return []
    rules = data.get("reported") if isinstance(data, dict) else None
    return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
