"""Rank intents for a message: the only module that imports rapidfuzz.

A single fuzzy scorer ties dozens of examples at the top, so the ranking combines four kinds
of evidence, each aggregated per intent:

* nearest examples by IDF-weighted overlap of words, character bigrams and characters (which
  words matter is learnt from how rarely they occur across the examples);
* the intent's centroid over the same features (what the intent's examples share);
* rapidfuzz's normalised edit similarity of the whole masked text to the closest examples;
* a small vote of an averaged perceptron trained on the examples, which learns which features
  separate intents that share most of their words (还清后能用吗 / 逾期了还能用吗).

Slot values are masked and synonyms canonicalised before any of this (see nlu.py).
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from ..config import DEFAULT, MatcherConfig
from .slots import MASK_CHARS
from .text import CJK

_CHARS = re.compile(f"[{CJK}{MASK_CHARS}]")


@dataclass(frozen=True, slots=True)
class Example:
    """One example question, as the matcher sees it."""

    text: str  # the masked, canonical text
    intent: str


def features(
    text: str, tokens: Sequence[str], question: bool, stopwords: frozenset[str] = frozenset()
) -> set[str]:
    """The feature set of a masked, canonical text (``stopwords``: lexicon.yaml's, left out)."""
    feats = {"w" + t for t in tokens if t not in stopwords}
    # characters and bigrams only of Chinese text: Latin words are already whole tokens
    chars = "".join(_CHARS.findall(text))
    feats.update("b" + chars[i : i + 2] for i in range(len(chars) - 1))
    feats.update("c" + ch for ch in chars)
    feats.add("q?" if question else "q.")
    return feats


class Matcher:
    """Scores every intent for a message; built once from the examples."""

    def __init__(
        self,
        examples: Sequence[tuple[Example, set[str]]],
        *,
        background: frozenset[str] = frozenset(),
        config: MatcherConfig = DEFAULT,
    ) -> None:
        """Index the examples and train the perceptron (see ``state`` to skip this next time).

        ``background`` intents (out_of_scope) are ranked like any other, but their examples do not
        count in how much a word tells the other intents apart: 怎么办 in 腿抽筋了怎么办 must not make
        怎么办 a weaker sign of what_to_do.
        """
        self.config = c = config
        self.type_weight = _type_weights(c)
        exs = [ex for ex, _ in examples]
        self.intents = sorted({ex.intent for ex in exs})
        n = len(examples)
        df: dict[str, int] = defaultdict(int)
        intent_df: dict[str, set[str]] = defaultdict(set)
        for ex, feats in examples:
            for f in feats:
                if ex.intent in background:
                    intent_df[f]  # noqa: B018  (known, but no evidence for the intents' weights)
                    continue
                df[f] += 1
                intent_df[f].add(ex.intent)
        k = len(self.intents)
        # a feature is worth what it tells apart: rare across examples and, above all, across intents
        tw = self.type_weight
        idf = {
            f: (
                c.df_share * math.log((n + 1) / (df[f] + 1))
                + math.log((k + 1) / max(1, len(intent_df[f])))
                + c.idf_floor
            )
            * tw[f[0]]
            for f in intent_df
        }
        self.oov = c.oov_share * (c.df_share * math.log(n + 1) + math.log(k + 1) + c.idf_floor)
        index = {intent: i for i, intent in enumerate(self.intents)}
        self.example_intent = [index[ex.intent] for ex in exs]
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        centroids: list[dict[str, float]] = [defaultdict(float) for _ in self.intents]
        for idx, (ex, feats) in enumerate(examples):
            norm = math.sqrt(sum(idf[f] ** 2 for f in feats)) or 1.0
            for f in feats:
                w = idf[f] / norm
                postings[f].append((idx, w))
                centroids[index[ex.intent]][f] += w
        # per feature, everything the ranking reads: idf, kNN postings, centroid weights, and the
        # perceptron's weights, with intents as list positions so one pass fills plain lists
        cent: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, vec in enumerate(centroids):
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for f, v in vec.items():
                cent[f].append((i, v / norm))
        learned = train(examples, self.intents, c)
        # the kNN part skips single characters and features found in more than a twentieth of
        # the examples: they hardly separate examples (the centroid still counts them) but would
        # make every message walk most of the index
        # and each list keeps only its POSTINGS best-weighted examples, so the cost per message
        # stays flat however large the knowledge base grows
        # (counted without the background examples, whose everyday words must not push a
        # feature such as 怎么办 out of the index)
        limit = max(
            c.knn_min_limit, int(sum(1 for e in exs if e.intent not in background) * c.knn_df_share + 1e-9)
        )

        def knn(f: str) -> list[tuple[int, float]]:
            if df[f] > limit or f[0] == "c":
                return []
            return heapq.nlargest(c.postings, postings[f], key=lambda p: p[1])

        self.table: dict[
            str, tuple[float, list[tuple[int, float]], list[tuple[int, float]], list[tuple[int, float]]]
        ] = {
            f: (weight, knn(f), cent[f], [(index[i], w) for i, w in learned.get(f, {}).items()])
            for f, weight in idf.items()
        }
        self.texts = [ex.text for ex in exs]

    def state(self) -> tuple[Any, ...]:
        """Everything ranking needs, as plain data (for the on-disk cache)."""
        return (self.intents, self.oov, self.example_intent, self.texts, self.table)

    @classmethod
    def from_state(cls, state: Any, config: MatcherConfig = DEFAULT) -> Matcher:
        """A matcher from ``state()``, without analysing or training anything (built with ``config``)."""
        intents, oov, example_intent, texts, table = state
        if not (len(example_intent) == len(texts) and isinstance(table, dict) and isinstance(intents, list)):
            raise ValueError("not a matcher state")
        m = cls.__new__(cls)
        m.intents, m.oov, m.example_intent, m.texts, m.table = (
            intents,
            float(oov),
            example_intent,
            texts,
            table,
        )
        m.config, m.type_weight = config, _type_weights(config)
        return m

    def rank(self, text: str, feats: set[str]) -> list[tuple[str, float]]:
        """Every intent with a score in [0, 1], best first."""
        k = len(self.intents)
        dots: dict[int, float] = defaultdict(float)
        cent = [0.0] * k
        raw = [0.0] * k
        sq = 0.0
        table = self.table
        for f in feats:
            row = table.get(f)
            if row is None:
                # words never seen in any example still count in the norm: a message that is
                # mostly unknown (another topic, another language) must not look confident
                sq += (self.oov * self.type_weight[f[0]]) ** 2
                continue
            w, postings, centroid, learned = row
            sq += w * w
            for idx, ew in postings:
                dots[idx] += w * ew
            for i, cw in centroid:
                cent[i] += w * cw
            for i, lw in learned:
                raw[i] += lw
        qnorm = math.sqrt(sq) or 1.0
        top1 = [0.0] * k
        top2 = [0.0] * k
        intent_of = self.example_intent
        for idx, s in dots.items():
            i = intent_of[idx]
            if s > top1[i]:
                top1[i], top2[i] = s, top1[i]
            elif s > top2[i]:
                top2[i] = s
        # edit similarity only against the closest candidates by overlap: a cheap filter that
        # keeps the cost flat however many examples the knowledge base grows to
        # and at most PER_INTENT of one intent, so that one crowded intent (the many everyday
        # questions of out_of_scope) cannot push every other intent's examples out
        c = self.config
        candidates = []
        taken = [0] * k
        for idx in heapq.nlargest(c.candidates * 3, dots, key=dots.__getitem__):
            i = intent_of[idx]
            if taken[i] < c.per_intent:
                taken[i] += 1
                candidates.append(idx)
                if len(candidates) == c.candidates:
                    break
        fz = [0.0] * k
        for _, score, idx in process.extract(
            text, {i: self.texts[i] for i in candidates}, scorer=fuzz.ratio, limit=None
        ):
            i = intent_of[idx]
            if fz[i] == 0.0:
                fz[i] = score / 100.0
        top = max(raw)
        exp = [math.exp((v - top) / c.temperature) for v in raw]
        z = sum(exp)
        second = c.knn_second
        scores = [
            (
                intent,
                (c.knn_weight * ((1 - second) * top1[i] + second * top2[i]) + c.centroid_weight * cent[i])
                / qnorm
                + c.fuzzy_weight * fz[i]
                + c.learned_weight * exp[i] / z,
            )
            for i, intent in enumerate(self.intents)
        ]
        scores.sort(key=lambda x: -x[1])
        return scores


def _type_weights(c: MatcherConfig) -> dict[str, float]:
    return {"w": c.word_weight, "b": c.bigram_weight, "c": c.char_weight, "q": c.question_weight}


def train(
    examples: Sequence[tuple[Example, set[str]]], intents: Sequence[str], config: MatcherConfig = DEFAULT
) -> dict[str, dict[str, float]]:
    """Averaged multiclass perceptrons over the example features, averaged again over ``seeds`` orders.

    One perceptron depends on the order it sees the examples in; the mean of a few fixed orders
    is steadier, and the result is deterministic for a given knowledge base.
    """
    total: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    seeds = config.seeds
    if config.learned_weight == 0 or seeds == 0:
        return {}  # the vote is switched off (an ablation): nothing to learn
    for seed in range(seeds):
        for f, ws in _perceptron(examples, intents, seed, config.epochs).items():
            for i, w in ws.items():
                total[f][i] += w / seeds
    return {f: {i: round(w, 4) for i, w in ws.items() if abs(w) > 1e-4} for f, ws in total.items()}


def _perceptron(
    examples: Sequence[tuple[Example, set[str]]], intents: Sequence[str], seed: int, epochs: int
) -> dict[str, dict[str, float]]:
    import random

    weights: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    data = [(sorted(feats), ex.intent) for ex, feats in examples]
    order = {intent: n for n, intent in enumerate(intents)}
    rng = random.Random(seed)
    step = 1
    for _ in range(epochs):
        rng.shuffle(data)
        for feats, gold in data:
            score: dict[str, float] = defaultdict(float)
            for f in feats:
                for intent, w in weights[f].items():
                    score[intent] += w
            # the first intent (in sorted order) with the best score; unseen intents score 0
            top = max(score.values(), default=0.0)
            if len(score) < len(intents):
                top = max(top, 0.0)
            if top == 0.0 and len(score) < len(intents):
                pred = next(i for i in intents if score.get(i, 0.0) == 0.0)
            else:
                pred = min((i for i, v in score.items() if v == top), key=order.__getitem__)
            if pred != gold:
                for f in feats:
                    weights[f][gold] += 1.0
                    weights[f][pred] -= 1.0
                    totals[f][gold] += step
                    totals[f][pred] -= step
            step += 1
    return {f: {i: w - totals[f][i] / step for i, w in ws.items()} for f, ws in weights.items()}
