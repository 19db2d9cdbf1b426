"""A fastText-style linear scorer: softmax regression over the mean of a message's feature rows.

Trained once, when the index is built, by plain SGD with numpy (the ``train`` extra); read at parse
time in pure Python from a feature → [(intent, weight)] table, so a message costs only its own
features' rows and the core never imports numpy.

Why the mean and not the sum: a long story and a short question then speak with the same
strength, which is what lets the vote sit beside the other scorers at one weight.  Token bigrams
(fastText's n-grams) were measured and left out: the matcher's character bigrams already carry
them (dev 0.9354 either way; benchmarks/tune.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import MissingExtraError

#: feature → [(intent position, weight)], only the weights that matter (see ``train``)
Table = dict[str, list[tuple[int, float]]]


def train(
    rows: Sequence[tuple[set[str], int]],
    intents: int,
    *,
    epochs: int,
    rate: float,
    seed: int = 0,
    keep: float = 1e-3,
) -> Table:
    """Weights for ``(features, intent)`` rows: ``epochs`` shuffled passes (one fixed seed) with a
    learning rate falling linearly from ``rate`` to 0, as fastText does.

    Deterministic: features are numbered in sorted order, the passes' orders come from ``seed``,
    and weights are rounded to 4 places (``keep``: smaller ones are dropped), so the same knowledge
    and config give the same table, byte for byte, on one platform."""
    try:
        import numpy as np
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("the linear scorer (MatcherConfig.linear_weight > 0)", "train") from e
    vocab = {f: n for n, f in enumerate(sorted({f for feats, _ in rows for f in feats}))}
    if not vocab or intents < 2:
        return {}
    ids = [np.array(sorted(vocab[f] for f in feats), dtype=np.int64) for feats, _ in rows]
    gold = [y for _, y in rows]
    weights = np.zeros((len(vocab), intents))
    rng = np.random.default_rng(seed)
    steps, step = max(1, epochs * len(rows)), 0
    for _ in range(epochs):
        for j in rng.permutation(len(rows)):
            r = ids[j]
            if not len(r):
                step += 1
                continue
            z = weights[r].mean(axis=0)
            z = np.exp(z - z.max())
            grad = z / z.sum()
            grad[gold[j]] -= 1.0
            weights[r] -= (rate * (1.0 - step / steps) / len(r)) * grad
            step += 1
    names = sorted(vocab, key=vocab.__getitem__)
    table: Table = {}
    for f, row in zip(names, np.round(weights, 4).tolist(), strict=True):
        kept = [(i, w) for i, w in enumerate(row) if abs(w) >= keep]
        if kept:
            table[f] = kept
    return table


def vote(table: Table, feats: set[str], intents: int, temperature: float) -> list[float] | None:
    """Each intent's probability (softmax at ``temperature`` of the mean row), or None when the
    message has no feature the table knows."""
    z = [0.0] * intents
    known = 0
    for f in feats:
        row = table.get(f)
        if row is None:
            continue
        known += 1
        for i, w in row:
            z[i] += w
    if not known:
        return None
    scale = 1.0 / (known * temperature)
    top = max(z)
    exp = [math.exp((v - top) * scale) for v in z]
    total = sum(exp)
    return [e / total for e in exp]
