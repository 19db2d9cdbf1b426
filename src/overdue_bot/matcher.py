"""Rank intents for a message: the only module that imports rapidfuzz.

A single fuzzy scorer ties dozens of examples at the top, so the ranking combines three kinds
of evidence, each aggregated per intent:

* nearest examples by IDF-weighted overlap of words, character bigrams and characters (which
  words matter is learnt from how rarely they occur across the examples);
* the intent's centroid over the same features (what the intent's examples share);
* rapidfuzz's normalised edit similarity of the whole masked text to the closest examples.

Slot values are masked and synonyms canonicalised before any of this (see nlu.py).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

# how much each kind of feature counts
_TYPE_WEIGHT = {"w": 1.0, "b": 1.0, "c": 0.4, "q": 0.6}
# how the three kinds of evidence are combined
WEIGHTS = (0.4, 0.4, 0.2)
STOPWORDS = frozenset("的 了 吗 呢 啊 吧 呀 哦 嘛 么 我 你 我的 是 在 就 都 也 和 跟 与 还是 那 这 请问 你好 一下 下".split())


@dataclass(frozen=True, slots=True)
class Example:
    """One example question, as the matcher sees it."""

    text: str  # the masked, canonical text
    intent: str


def features(text: str, tokens: Sequence[str], question: bool) -> set[str]:
    """The feature set of a masked, canonical text."""
    feats = {"w" + t for t in tokens if t not in STOPWORDS}
    # characters and bigrams only of Chinese text: Latin words are already whole tokens
    chars = "".join(ch for ch in text if ord(ch) > 0x2e80 or ch in "PDA")
    feats.update("b" + chars[i:i + 2] for i in range(len(chars) - 1))
    feats.update("c" + ch for ch in chars)
    feats.add("q?" if question else "q.")
    return feats


class Matcher:
    """Scores every intent for a message; built once from the examples."""

    def __init__(self, examples: Sequence[tuple[Example, set[str]]]) -> None:
        self.examples = [ex for ex, _ in examples]
        self.intents = sorted({ex.intent for ex in self.examples})
        n = len(examples)
        df: dict[str, int] = defaultdict(int)
        intent_df: dict[str, set[str]] = defaultdict(set)
        for ex, feats in examples:
            for f in feats:
                df[f] += 1
                intent_df[f].add(ex.intent)
        k = len(self.intents)
        # a feature is worth what it tells apart: rare across examples and, above all, across intents
        self.idf = {
            f: (0.5 * math.log((n + 1) / (d + 1)) + math.log((k + 1) / len(intent_df[f])) + 0.2)
            * _TYPE_WEIGHT[f[0]]
            for f, d in df.items()
        }
        self.oov = 0.5 * (0.5 * math.log(n + 1) + math.log(k + 1) + 0.2)
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        centroids: dict[str, dict[str, float]] = {i: defaultdict(float) for i in self.intents}
        for idx, (ex, feats) in enumerate(examples):
            norm = math.sqrt(sum(self.idf[f] ** 2 for f in feats)) or 1.0
            for f in feats:
                w = self.idf[f] / norm
                self.postings[f].append((idx, w))
                centroids[ex.intent][f] += w
        self.centroid_postings: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for intent, vec in centroids.items():
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for f, v in vec.items():
                self.centroid_postings[f].append((intent, v / norm))
        # the kNN part skips features found in more than a tenth of the examples: they hardly
        # separate examples but would make every message walk most of the index
        limit = max(20, n // 10)
        self.postings = {f: p for f, p in self.postings.items() if len(p) <= limit}
        self.texts = [ex.text for ex in self.examples]
        self.example_intent = [ex.intent for ex in self.examples]

    def rank(self, text: str, feats: set[str]) -> list[tuple[str, float]]:
        """Every intent with a score in [0, 1], best first."""
        qw = {f: self.idf[f] for f in feats if f in self.idf}
        # words never seen in any example still count in the norm: a message that is mostly
        # unknown (another topic, another language) must not look confident
        unseen = sum((self.oov * _TYPE_WEIGHT[f[0]]) ** 2 for f in feats if f not in self.idf)
        qnorm = math.sqrt(sum(w * w for w in qw.values()) + unseen) or 1.0
        dots: dict[int, float] = defaultdict(float)
        cent: dict[str, float] = defaultdict(float)
        for f, w in qw.items():
            w /= qnorm
            postings = self.postings.get(f)
            if postings is not None:  # features too common to tell examples apart are skipped
                for idx, ew in postings:
                    dots[idx] += w * ew
            for intent, cw in self.centroid_postings[f]:
                cent[intent] += w * cw
        best: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for idx, s in dots.items():
            top = best[self.example_intent[idx]]
            if s > top[0]:
                top[0], top[1] = s, top[0]
            elif s > top[1]:
                top[1] = s
        fz: dict[str, float] = {}
        for _, score, idx in process.extract(text, self.texts, scorer=fuzz.ratio, limit=30):
            intent = self.example_intent[idx]
            fz.setdefault(intent, score / 100.0)
        a, b, c = WEIGHTS
        scores = []
        for intent in self.intents:
            t1, t2 = best[intent] if intent in best else (0.0, 0.0)
            knn = 0.8 * t1 + 0.2 * t2
            scores.append((intent, a * knn + b * cent.get(intent, 0.0) + c * fz.get(intent, 0.0)))
        scores.sort(key=lambda x: -x[1])
        return scores
