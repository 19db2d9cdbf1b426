"""The matcher on our own held-out questions: a floor that catches regressions."""

from __future__ import annotations

import pytest

from overdue_bot import Bot
from overdue_bot.testing.evaluate import evaluate, load_cases

from .conftest import ROOT


@pytest.mark.parametrize("name", ["heldout.yaml", "heldout_users.yaml", "heldout_web.yaml"])
def test_heldout_accuracy_floor(bot: Bot, name: str) -> None:
    """Questions written apart from intents/ are understood: the team's (2026-11-28), users' own
    phrasing, young and old, and titles of web pages (2026-12-07, written by a helper who saw
    neither intents/ nor the bot; at first 0.92 and 0.97)."""
    report = evaluate(load_cases(ROOT / "tests/data" / name), bot.parse)
    assert report.accuracy >= 0.8, [(m.case.text, m.parse.intent) for m in report.misses]
    assert report.slot_accuracy >= 0.9, [(m.case.text, m.parse.slots) for m in report.misses]


def test_masked_slots_match_the_same_examples(bot: Bot) -> None:
    """Different lenders and durations do not change the intent."""
    a = bot.parse("好分期逾期两天会联系我的联系人吗")
    b = bot.parse("花呗逾期三个月会联系我的联系人吗")
    assert a.intent == b.intent == "contact_emergency_contacts"


def test_training_and_ranking_read_only_a_shortlist_of_intents(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: the perceptron is trained, and its vote read, only for the intents the first
    stage finds closest, so neither grows with the number of intents; the centroid index keeps
    only the best-weighted intents of a feature that most intents share."""
    from overdue_bot.nlu import matcher as m

    c = bot.nlu.matcher.config
    assert 1 < c.shortlist < len(bot.nlu.matcher.intents)
    assert max(len(centroid) for _, _, centroid in bot.nlu.matcher.table.values()) <= c.centroid_intents
    assert len(bot.nlu.matcher.table["q?"][2]) == c.centroid_intents  # every intent has questions

    seen: list[tuple[int, tuple[int, ...]]] = []
    real = m._perceptron

    def spy(data, intents, seed, epochs):  # type: ignore[no-untyped-def]
        seen.extend((gold, shortlist) for _, gold, shortlist in data)
        return real(data, intents, seed, epochs)

    monkeypatch.setattr(m, "_perceptron", spy)
    analysed = []
    for text, intent in bot.nlu.examples:
        a = bot.nlu.analyse(text)
        analysed.append((m.Example(a.canonical, intent), bot.nlu._features(a)))
    built = m.Matcher(analysed, background=frozenset({"out_of_scope"}), config=c.with_(seeds=1))
    assert len(seen) == len(analysed)
    assert all(gold in short and len(short) <= c.shortlist + 1 for gold, short in seen)
    assert any(len(short) == c.shortlist + 1 for _, short in seen)  # its own intent added to the best

    reads = []

    class Counting(dict):  # type: ignore[type-arg]
        def get(self, *args):  # type: ignore[no-untyped-def]
            reads.append(args[0])
            return super().get(*args)

    built.learned = [Counting(ws) for ws in built.learned]
    example, feats = analysed[0]
    ranking = built.rank(example.text, feats)
    assert len(ranking) == len(built.intents)  # every intent is still ranked
    assert len(reads) == c.shortlist * len(feats)  # but only the shortlist's weights were read


def test_a_parse_names_only_the_best_intents_and_out_of_scope(bot: Bot) -> None:
    """Issue 17: naming and sorting a few hundred intents per message cost more than the rest,
    so a parse ranks the best few by name and out_of_scope wherever it is, which decide() weighs
    the best against; the order and the scores are those of the full ranking."""
    import sys

    from overdue_bot.nlu.pipeline import RANKED

    nlu = bot.nlu
    for text in ["花呗逾期十天了，老公也不知道，会不会打电话给我家人", "今天天气怎么样", "逾期会上征信吗"]:
        a = nlu.analyse(text)
        full, top = nlu.rank(a), nlu.rank(a, top=RANKED)
        assert top[:RANKED] == full[:RANKED]
        assert dict(top)["out_of_scope"] == dict(full)["out_of_scope"]
        assert len(top) <= RANKED + 1 and len(full) == len(nlu.matcher.intents)
    a = nlu.analyse("逾期会上征信吗")
    assert "out_of_scope" not in dict(nlu.rank(a)[:RANKED])  # so it was appended above
    # features are interned: the index's keys and a message's are one object, not equal strings
    key = next(f for f in nlu._features(a) if f in nlu.matcher.table)
    assert any(k is key for k in nlu.matcher.table) and sys.intern(key) is key


def test_the_linear_scorer_is_trained_deterministically_and_votes_only_when_on() -> None:
    """Off as shipped (benchmarks/tune.py measures it); when on, two builds give the same table,
    a message scores higher for the intent whose words it shares, and the cache keeps it."""
    pytest.importorskip("numpy")
    from overdue_bot.config import MatcherConfig
    from overdue_bot.nlu import matcher as m

    rows = [
        ("逾期会上征信吗", "credit_report"),
        ("征信会有记录吗", "credit_report"),
        ("会起诉我吗", "lawsuit_risk"),
        ("会被法院起诉吗", "lawsuit_risk"),
    ]
    examples = [(m.Example(t, i), m.features(t, list(t), True)) for t, i in rows]
    on = MatcherConfig().with_(linear_weight=0.3, linear_temperature=1.0, seeds=0, learned_weight=0.0)
    a, b = m.Matcher(examples, config=on), m.Matcher(examples, config=on)
    assert a.linear == b.linear and a.linear
    assert list(a.linear) == sorted(a.linear)  # numbered in sorted order: the same bytes each build
    off = m.Matcher(examples, config=on.with_(linear_weight=0.0))
    assert off.linear == {}
    text = "征信会受影响吗"
    feats = m.features(text, list(text), True)
    with_linear = dict(zip(a.intents, a.scores(text, feats), strict=True))
    without = dict(zip(off.intents, off.scores(text, feats), strict=True))
    assert (
        with_linear["credit_report"] - without["credit_report"]
        > with_linear["lawsuit_risk"] - without["lawsuit_risk"] + 0.05
    )
    again = m.Matcher.from_state(a.state(), on)
    assert again.scores(text, feats) == a.scores(text, feats)
    # a message with no feature the table knows gets no vote at all
    assert m.linear.vote(a.linear, {"wzzz"}, len(a.intents), 1.0) is None
