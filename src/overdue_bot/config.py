"""Every number that tunes how the bot understands a message, in one recorded configuration.

The matcher's scorers, its limits, the thresholds that live on its score scale (in the NLU's
decision and in the dialogue's reading of a ranking) and the dictionary cut-off all sit on one
frozen record, so a tuning run can sweep them, the index cache can key on them, and a result can
be reproduced from ``benchmarks/tune.py`` (its last run: benchmarks/results/tune.md).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .errors import OverdueBotError


@dataclass(frozen=True, slots=True)
class MatcherConfig:
    """The defaults are what benchmarks/tune.py measured best on the dev split (see its table)."""

    # ---- the four scorers, summed per intent (ablation: benchmarks/results/tune.md)
    #: nearest examples by IDF-weighted overlap of words, bigrams and characters
    knn_weight: float = 0.4
    #: of the kNN score, the share that the second-best example of the intent carries
    knn_second: float = 0.2
    #: the intent's centroid over the same features
    centroid_weight: float = 0.4
    #: rapidfuzz's edit similarity of the masked text to the closest candidates
    fuzzy_weight: float = 0.2
    #: the averaged perceptron's vote (a softmax probability at ``temperature``)
    learned_weight: float = 0.05
    temperature: float = 3.0
    #: a trained linear scorer (fastText-style softmax regression over the mean of the message's
    #: feature rows, nlu/linear.py), trained with numpy when the index is built: ``linear_epochs``
    #: SGD passes at a rate falling from ``linear_rate``; its vote is a softmax at
    #: ``linear_temperature``.  Off as shipped: benchmarks/tune.py measured it (see its table)
    linear_weight: float = 0.0
    linear_temperature: float = 8.0
    linear_epochs: int = 10
    linear_rate: float = 20.0
    #: passes over the examples, and shuffled orders averaged, when training the perceptron
    epochs: int = 8
    seeds: int = 6
    #: intents the vote is computed for (and each example trained against): the best by kNN and centroid
    shortlist: int = 8
    # ---- features
    #: how much a word, a character bigram, a single character and the question mark feature count
    word_weight: float = 1.0
    bigram_weight: float = 1.0
    char_weight: float = 0.4
    question_weight: float = 0.6
    #: a feature's IDF: df_share × log(n/df) + log(k/intents with it) + idf_floor
    df_share: float = 0.5
    idf_floor: float = 0.2
    #: a word no example has counts this share of the largest possible IDF in the message's norm
    oov_share: float = 0.5
    # ---- limits that keep the cost per message flat
    #: examples the fuzzy scorer compares with (the best by feature overlap), at most per_intent of one intent
    candidates: int = 60
    per_intent: int = 8
    #: examples kept per feature in the kNN index
    postings: int = 64
    #: features in more than this share of the examples (and at least knn_min_limit) skip the kNN index
    knn_df_share: float = 0.05
    knn_min_limit: int = 20
    #: intents kept per feature in the centroid index (the best-weighted): 吗 or 逾 must not make
    #: every message read every intent
    centroid_intents: int = 32
    # ---- the decision (nlu)
    #: below this nothing is understood
    threshold: float = 0.15
    #: what a debt intent must score with only weak evidence of a debt, or none
    weak_threshold: float = 0.25
    none_threshold: float = 0.45
    #: and by how much it must beat out_of_scope then (0.15 until the tuning run of 2026-12-02 took 0.2:
    #: +2 dev cases, test and real questions unchanged)
    out_margin: float = 0.2
    #: in a message of several clauses, the share of the score the asking clause carries
    question_share: float = 0.3
    #: inform only states facts: a message that asks something is the best topic within this of it
    inform_asked: float = 0.05
    #: below this, distress is taken only with a word of distress in the message (bot.yaml crisis,
    #: worried, despair): a low reading alone is too weak to answer with help lines
    distress_floor: float = 0.3
    #: a second question in the same message (会上征信吗 会起诉吗) is answered too when its clause,
    #: read alone, names another topic this well
    second_question: float = 0.3
    # ---- the dialogue's reading of a ranking
    #: two topics this close, the best under clarify_below, are asked about (你是想问A还是B)
    clarify_below: float = 0.32
    clarify_margin: float = 0.015
    #: a practical question in support mode must be understood this well
    practical: float = 0.3
    #: while waiting for a slot, a statement understood less well is no new question
    vague: float = 0.4
    #: a message understood less well stays on the conversation's topic when it scores within sticky_margin
    sticky: float = 0.3
    sticky_margin: float = 0.08
    #: out of scope on its own, but a debt question in a debt conversation when a topic scores this
    in_context: float = 0.25
    #: in a debt conversation, below this the person is asked, not dismissed
    lost: float = 0.3
    #: a turn whose best two intents are closer than this goes to the review queue
    low_margin: float = 0.05
    # ---- topics made of points
    #: a point's standalone questions also train its topic's matcher (its follow-ups never do): off,
    #: the real questions read 499 of 561 with them and 515 without (benchmarks/tune_points.py)
    point_examples: bool = False
    #: a message that asks for a point of the topic in focus this well (and point_margin better
    #: than the everyday questions of out_of_scope) is a follow-up on that topic, and gets that point
    point_follow: float = 0.2
    point_margin: float = 0.05
    #: unless it names another topic at least this confidently, whose best point scores as well; an
    #: unsure parse moves the focus only to a topic whose best point beats the focus' by point_focus
    point_switch: float = 0.45
    point_focus: float = 0.1
    #: a parse this unsure gives way to the topic of the point the message asks for, when that point
    #: scores at least point_rescue and point_lead above the parse
    point_rescue: float = 0.3
    point_lead: float = 0.15
    #: the point matcher also reads the words a synonym group rewrote (执行 and 仲裁, both 起诉)
    point_raw_words: bool = True
    #: the point matcher's perceptron: shuffled orders averaged and passes (the topics' are seeds and
    #: epochs); 1 × 4 reads the conversations as 6 × 8 does and builds in 10 s, not 25 (tune_points.py)
    point_seeds: int = 1
    point_epochs: int = 4
    #: a first question on a topic answered by one point, not the topic's lead, when it asks for it this well
    point_direct: float = 0.5
    #: a point already said counts this much less (another close point is said rather than it again)
    point_said: float = 0.08
    # ---- the dictionary
    #: jieba words rarer than this are left out (0.912 vs 0.910 with all 349k; 100k entries not 498k)
    min_freq: int = 20

    def digest(self) -> str:
        """A stable text of every value, for cache keys and result tables."""
        return json.dumps(asdict(self), sort_keys=True)

    def with_(self, **changes: Any) -> MatcherConfig:
        """A copy with some values changed; an unknown name is an error, not a silent no-op."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise OverdueBotError(f"MatcherConfig has no setting {unknown[0]!r}")
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatcherConfig:
        return cls().with_(**data)


DEFAULT = MatcherConfig()
