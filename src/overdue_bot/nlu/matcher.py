"""Rank intents for a message: the only module that imports rapidfuzz.

A single fuzzy scorer ties dozens of examples at the top, so the ranking combines four kinds
of evidence, each aggregated per intent:

* nearest examples by IDF-weighted overlap of words, character bigrams and characters (which
  words matter is learnt from how rarely they occur across the examples);
* the intent's centroid over the same features (what the intent's examples share);
* rapidfuzz's normalised edit similarity of the whole masked text to the closest examples;
* (off as shipped) a fastText-style linear model's vote over every intent (nlu/linear.py);
* a small vote of an averaged perceptron trained on the examples, which learns which features
  separate intents that share most of their words (还清后能用吗 / 逾期了还能用吗).  It decides
  only among the few intents the first two find closest (``MatcherConfig.shortlist``): each
  example is trained against its own shortlist and each message's vote is read for its own, so
  neither the build nor a message reads every intent's weights.

Slot values are masked and synonyms canonicalised before any of this (see nlu/pipeline.py).
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from sys import intern
from typing import Any

from rapidfuzz import fuzz, process

from ..config import DEFAULT, MatcherConfig
from . import linear
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
    """The feature set of a masked, canonical text (``stopwords``: lexicon.yaml's, left out).

    Features are interned: every table and weight dict then holds one object per feature, and a
    lookup ends at an identity check instead of comparing strings in memory the cache no longer
    holds (training 8× the intents went from 250 to 130 ns a lookup).  marshal keeps the mark,
    so an index read from the cache is interned too.
    """
    feats = {intern("w" + t) for t in tokens if t not in stopwords}
    # characters and bigrams only of Chinese text: Latin words are already whole tokens
    chars = "".join(_CHARS.findall(text))
    feats.update(intern("b" + chars[i : i + 2]) for i in range(len(chars) - 1))
    feats.update(intern("c" + ch) for ch in chars)
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
        # per feature, what the first stage reads: idf, kNN postings and centroid weights, with
        # intents as list positions so one pass fills plain lists; a feature that most intents
        # share (逾, 吗, the question mark) keeps only its centroid_intents best-weighted intents,
        # so the cost per message stays flat however many intents there are
        cent: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, vec in enumerate(centroids):
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for f, v in vec.items():
                cent[f].append((i, v / norm))
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

        def centroid(f: str) -> list[tuple[int, float]]:
            row = cent[f]
            return (
                row
                if len(row) <= c.centroid_intents
                else heapq.nlargest(c.centroid_intents, row, key=lambda p: p[1])
            )

        # the lists hold weight × the feature's idf, the product the ranking sums
        self.table: dict[str, tuple[float, list[tuple[int, float]], list[tuple[int, float]]]] = {
            f: (w, [(i, w * v) for i, v in knn(f)], [(i, w * v) for i, v in centroid(f)])
            for f, w in idf.items()
        }
        self.texts = [ex.text for ex in exs]
        self.linear: linear.Table = (
            linear.train(
                [(feats, index[ex.intent]) for ex, feats in examples],
                k,
                epochs=c.linear_epochs,
                rate=c.linear_rate,
            )
            if c.linear_weight
            else {}
        )
        #: per intent, the perceptron's weight of each feature: it is read only for a message's
        #: shortlist, and trained only against each example's shortlist (see ``train``)
        self.learned: list[dict[str, float]] = [{} for _ in self.intents]
        if c.learned_weight and c.seeds:
            data = [
                (
                    tuple(sorted(feats)),
                    self.example_intent[n],
                    self._shortlist(self._first(feats, n)[0], self.example_intent[n]),
                )
                for n, (_, feats) in enumerate(examples)
            ]
            self.learned = train(data, k, c)

    def state(self) -> tuple[Any, ...]:
        """Everything ranking needs, as plain data (for the on-disk cache)."""
        return (
            self.intents,
            self.oov,
            self.example_intent,
            self.texts,
            self.table,
            self.learned,
            self.linear,
        )

    @classmethod
    def from_state(cls, state: Any, config: MatcherConfig = DEFAULT) -> Matcher:
        """A matcher from ``state()``, without analysing or training anything (built with ``config``)."""
        intents, oov, example_intent, texts, table, learned, linear_table = state
        if not (
            len(example_intent) == len(texts)
            and isinstance(table, dict)
            and isinstance(intents, list)
            and isinstance(learned, list)
            and len(learned) == len(intents)
            and isinstance(linear_table, dict)
        ):
            raise ValueError("not a matcher state")
        m = cls.__new__(cls)
        m.intents, m.oov, m.example_intent, m.texts, m.table, m.learned = (
            intents,
            float(oov),
            example_intent,
            texts,
            table,
            learned,
        )
        m.linear = linear_table
        m.config, m.type_weight = config, _type_weights(config)
        return m

    def _first(self, feats: set[str], itself: int | None = None) -> tuple[list[float], dict[int, float]]:
        """The first stage: every intent's kNN and centroid score (cosine-normalised), and the
        message's overlap with each example it shares an indexed feature with (in training,
        without the example ``itself``: a message is never its own neighbour).

        The lists hold intents as positions: for a few hundred intents, plain lists beat dicts of
        the intents touched (measured about 20 % slower), and every row read is capped (postings,
        centroid_intents), so the cost follows the message, not the knowledge base."""
        k = len(self.intents)
        dots: dict[int, float] = defaultdict(float)
        cent = [0.0] * k
        sq = 0.0
        table = self.table
        for f in feats:
            row = table.get(f)
            if row is None:
                # words never seen in any example still count in the norm: a message that is
                # mostly unknown (another topic, another language) must not look confident
                sq += (self.oov * self.type_weight[f[0]]) ** 2
                continue
            w, postings, centroid = row
            sq += w * w
            for idx, v in postings:
                dots[idx] += v
            for i, v in centroid:
                cent[i] += v
        if itself is not None:
            dots.pop(itself, None)
        top1 = [0.0] * k
        top2 = [0.0] * k
        intent_of = self.example_intent
        for idx, s in dots.items():
            i = intent_of[idx]
            if s > top1[i]:
                top1[i], top2[i] = s, top1[i]
            elif s > top2[i]:
                top2[i] = s
        c = self.config
        scale = 1.0 / (math.sqrt(sq) or 1.0)
        # the weights folded into three factors: one pass over a few hundred intents per message
        a = c.knn_weight * (1 - c.knn_second) * scale
        b = c.knn_weight * c.knn_second * scale
        d = c.centroid_weight * scale
        first = [a * t1 + b * t2 + d * ce for t1, t2, ce in zip(top1, top2, cent, strict=True)]
        return first, dots

    def _shortlist(self, first: list[float], gold: int | None = None) -> tuple[int, ...]:
        """The intents the perceptron's vote is computed for: the best ``shortlist`` by the first
        stage (and, in training, the example's own), in intent order."""
        # (sorted()[:n] is what heapq.nlargest promises, at C speed for a few hundred items)
        best = sorted(range(len(first)), key=first.__getitem__, reverse=True)[: self.config.shortlist]
        if gold is not None and gold not in best:
            best.append(gold)
        return tuple(sorted(best))

    def rank(self, text: str, feats: set[str], top: int | None = None) -> list[tuple[str, float]]:
        """Every intent (or the ``top`` best) with a score in [0, 1], best first (ties in intent order)."""
        return ranked(self.intents, self.scores(text, feats), top)

    def scores(self, text: str, feats: set[str]) -> list[float]:
        """Every intent's score in [0, 1], in the order of ``intents``: a caller that needs only
        the best few, or mixes two messages' scores, sorts once and names only those."""
        first, dots = self._first(feats)
        k = len(self.intents)
        intent_of = self.example_intent
        # edit similarity only against the closest candidates by overlap: a cheap filter that
        # keeps the cost flat however many examples the knowledge base grows to
        # and at most PER_INTENT of one intent, so that one crowded intent (the many everyday
        # questions of out_of_scope) cannot push every other intent's examples out
        c = self.config
        candidates = []
        taken = [0] * k
        for idx in sorted(dots, key=dots.__getitem__, reverse=True)[: c.candidates * 3]:
            i = intent_of[idx]
            if taken[i] < c.per_intent:
                taken[i] += 1
                candidates.append(idx)
                if len(candidates) == c.candidates:
                    break
        short = self._shortlist(first) if c.learned_weight else ()
        scores = first
        for _, score, idx in process.extract(
            text, {i: self.texts[i] for i in candidates}, scorer=fuzz.ratio, limit=None
        ):
            i = intent_of[idx]
            if taken[i] >= 0:
                taken[i] = -1  # the closest example of the intent counts, once
                scores[i] += c.fuzzy_weight * score / 100.0
        # the linear model's vote, a softmax over every intent
        if c.linear_weight and self.linear:
            vote = linear.vote(self.linear, feats, k, c.linear_temperature)
            if vote is not None:
                for i, p in enumerate(vote):
                    scores[i] += c.linear_weight * p
        # the perceptron's vote, a softmax over the shortlist (the others get no vote)
        if short:
            order = sorted(feats)
            raw = [sum(map(self.learned[i].get, order, repeat(0.0))) for i in short]
            top = max(raw)
            exp = [math.exp((v - top) / c.temperature) for v in raw]
            z = sum(exp)
            for i, e in zip(short, exp, strict=True):
                scores[i] += c.learned_weight * e / z
        return scores


def ranked(
    names: Sequence[str], scores: list[float], top: int | None = None, *, order: Sequence[int] | None = None
) -> list[tuple[str, float]]:
    """Intents best first, ties in ``order`` (by default intent order): a stable C sort, and the
    (name, score) pairs built only for the ``top`` asked for."""
    best = sorted(order if order is not None else range(len(scores)), key=scores.__getitem__, reverse=True)
    return [(names[i], scores[i]) for i in (best if top is None else best[:top])]


def _type_weights(c: MatcherConfig) -> dict[str, float]:
    return {"w": c.word_weight, "b": c.bigram_weight, "c": c.char_weight, "q": c.question_weight}


def train(
    data: Sequence[tuple[tuple[str, ...], int, tuple[int, ...]]],
    intents: int,
    config: MatcherConfig = DEFAULT,
) -> list[dict[str, float]]:
    """Averaged multiclass perceptrons over ``(features, intent, shortlist)``, averaged again over
    ``seeds`` orders; one weight table per intent.

    Each example competes only against its shortlist (the intents the first stage finds closest,
    which is where the vote is read at run time), so training costs examples × shortlist, not
    examples × intents.  One perceptron depends on the order it sees the examples in; the mean of a
    few fixed orders is steadier, and the result is deterministic for a given knowledge base.
    """
    seeds = config.seeds
    total: list[dict[str, float]] = [defaultdict(float) for _ in range(intents)]
    for seed in range(seeds):
        for i, ws in enumerate(_perceptron(data, intents, seed, config.epochs)):
            t = total[i]
            for f, w in ws.items():
                t[f] += w / seeds
    return [{f: round(w, 4) for f, w in ws.items() if abs(w) > 1e-4} for ws in total]


def _perceptron(
    data: Sequence[tuple[tuple[str, ...], int, tuple[int, ...]]], intents: int, seed: int, epochs: int
) -> list[dict[str, float]]:
    import random

    weights: list[dict[str, float]] = [{} for _ in range(intents)]
    totals: list[dict[str, float]] = [{} for _ in range(intents)]
    order = list(data)
    rng = random.Random(seed)
    zero = repeat(0.0)
    step = 1
    for _ in range(epochs):
        rng.shuffle(order)
        for feats, gold, shortlist in order:
            # the first intent (in intent order) with the best score
            best, pred = -math.inf, gold
            for i in shortlist:
                s = sum(map(weights[i].get, feats, zero))
                if s > best:
                    best, pred = s, i
            if pred != gold:
                wg, wp, tg, tp = weights[gold], weights[pred], totals[gold], totals[pred]
                for f in feats:
                    wg[f] = wg.get(f, 0.0) + 1.0
                    wp[f] = wp.get(f, 0.0) - 1.0
                    tg[f] = tg.get(f, 0.0) + step
                    tp[f] = tp.get(f, 0.0) - step
            step += 1
    return [{f: w - totals[i].get(f, 0.0) / step for f, w in ws.items()} for i, ws in enumerate(weights)]
