"""The knowledge base checked against itself: which examples the bot misranks when left out.

Each example is held out once (in FOLDS rounds, so the index is built FOLDS times, not once per
example) and parsed by a matcher built from the others.  An example that then lands on another
intent is either phrased like that intent's examples or sits on the wrong side of the taxonomy:
both are worth a look.  Used by the test suite and by ``overdue-bot check``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..nlu.matcher import Example, Matcher
from ..records import Knowledge

#: rounds of the cross-validation; every example is held out in exactly one
FOLDS = 10


@dataclass(frozen=True, slots=True)
class Misranked:
    """An example that a bot built without it files under another intent."""

    text: str
    intent: str
    got: str
    top2: tuple[tuple[str, float], ...]


def misranked(
    kb: Knowledge,
    *,
    folds: int = FOLDS,
    understanding: object | None = None,
    on_fold: Callable[[int], None] | None = None,
) -> list[Misranked]:
    """Every example of ``kb`` that its held-out parse misranks, in knowledge-base order;
    ``on_fold`` is told how many folds are done after each (each builds an index: seconds)."""
    from ..model import load
    from ..nlu.pipeline import Understanding

    nlu = understanding if isinstance(understanding, Understanding) else load(kb).nlu
    analysed = [(text, intent, nlu.analyse(text)) for text, intent in nlu.examples]
    built = [(Example(a.canonical, intent), nlu._features(a)) for _, intent, a in analysed]
    out: list[Misranked] = []
    for fold in range(folds):
        keep = [b for i, b in enumerate(built) if i % folds != fold]
        matcher = Matcher(keep, background=frozenset({"out_of_scope"}), config=nlu.config)
        for i in range(fold, len(analysed), folds):
            text, intent, a = analysed[i]
            if not a.canonical:
                continue
            ranking = matcher.rank(a.canonical, nlu._features(a))
            got, _ = nlu.decide(ranking, a.evidence)
            if got != intent:
                out.append(Misranked(text, intent, got, tuple((n, round(s, 3)) for n, s in ranking[:2])))
        if on_fold is not None:
            on_fold(fold + 1)
    order = {text: i for i, (text, _) in enumerate(nlu.examples)}
    return sorted(out, key=lambda m: order[m.text])


def describe(found: Sequence[Misranked], total: int) -> str:
    lines = [f"{len(found)} of {total} examples are misranked when left out:"]
    lines += [
        f"  {m.intent} → {m.got}: {m.text}  (top-2: {', '.join(f'{n} {s:.2f}' for n, s in m.top2)})"
        for m in found
    ]
    return "\n".join(lines)
