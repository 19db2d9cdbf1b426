"""From raw text to a Parse: normalise, extract and mask slots, canonicalise, match."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from sys import intern
from typing import Any

from ..config import DEFAULT, MatcherConfig
from ..records import Knowledge, Parse
from .matcher import Example, Matcher, features, ranked
from .roles import Number
from .slots import MASK_CHARS, MASKS, SlotExtractor
from .text import CJK, CJK_CHAR, QuestionTest, Replacer, clean, strip_noise
from .tokenizer import Tokenizer

# spaces inside Chinese text or between a number and its unit carry nothing: 逾期 7 天
_INNER_SPACE = re.compile(
    rf"(?<=[{CJK}\d])\s+(?=[{CJK}\d])(?<![\d零一二两三四五六七八九十百千万]\s)"
    rf"|(?<=[{CJK}\d])\s+(?=[^\d零一二两三四五六七八九十百千万\s])(?=[{CJK}])"
)

_RESIDUE = re.compile(f"[^{CJK}{MASK_CHARS}]")

#: intents a parse ranks by name: the five it reports and one more, the best that is not
#: out_of_scope when out_of_scope leads (naming all of a few hundred intents costs more than the rest)
RANKED = 6
_MASK_RUN = re.compile(f"[{MASK_CHARS}]{{2,}}")
#: the questions of one message read on their own (more are read as one: a pasted list costs no more)
MAX_QUESTIONS = 3
#: the text a message's questions are looked for in (a question is short; the rest is a story)
MAX_TEXT = 400
#: a question particle ends a clause when more follows (会上征信吗会起诉吗)
_ASKED = re.compile(r"([吗呢么嘛])(?=[\u4e00-\u9fff])")
_CLAUSE = re.compile(r"[，,。.！!？?；;~…\s]+")


def _any_of(words: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    ordered = sorted((w.lower() for w in words), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)) or "(?!)")


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the pipeline read off one message (for parse(), debugging and tests)."""

    cleaned: str
    canonical: str
    tokens: tuple[str, ...]
    slots: dict[str, Any]
    question: bool
    #: which product of a bank the message means ("card", "loan") or None; not a public slot
    product: str | None = None
    #: the message corrects a value said before (不是A是B, 说错了…)
    correction: bool = False
    #: per lender named, what the message says of it
    debts: tuple[dict[str, Any], ...] = ()
    #: evidence that the message is about an overdue debt: 2 strong, 1 weak, 0 none
    evidence: int = 0
    #: the day of a deadline's window the person says they are on (今天已经第10天了)
    elapsed: int | None = None
    #: the words a synonym group rewrote, as said (执行, 仲裁 under 起诉): points tell them apart
    rewritten: tuple[str, ...] = ()
    #: every number of the message and its role (income, living_cost, count … and the slots')
    numbers: tuple[Number, ...] = ()
    #: a correction's wrong lender and values (不是借呗是花呗 → 借呗)
    denied: str | None = None
    denied_values: Mapping[str, int] = field(default_factory=dict)

    @property
    def residue(self) -> str:
        """The Chinese words and slot placeholders only: what is left of 那P呢 is 那P呢."""
        return _RESIDUE.sub("", self.canonical)


def dictionary_words(kb: Knowledge) -> list[str]:
    """The words the segmenter must never split: the domain's, the synonyms', the masks, the lenders'."""
    synonyms = {k for k in kb.synonyms if not re.search(r"[a-z]", k)}
    words = [*kb.words, *sorted(set(kb.synonyms.values())), *sorted(synonyms), *MASKS.values()]
    return words + [a for p in kb.platforms for a in (p.name, *p.aliases, *p.loans)]


class Understanding:
    """The pure NLU pipeline built from a knowledge base."""

    def __init__(self, kb: Knowledge, *, config: MatcherConfig = DEFAULT, state: Any | None = None) -> None:
        self.kb = kb
        self.config = config
        # a typo is corrected only where it is whole words (点算 is 怎么办, not in 几点算逾期)
        self.typos = Replacer(kb.typos, words=lambda text: self.tokenizer.cut(text))
        # synonyms rewrite whole words only: Latin phrases at letter boundaries before punctuation
        # goes, Chinese ones as jieba tokens (男朋友 is no 男+朋友 → 联系人, 亲戚 no 亲+戚)
        latin = {k: v for k, v in kb.synonyms.items() if re.search(r"[a-z]", k)}
        self.latin_synonyms = Replacer(
            {**dict.fromkeys(kb.latin_stopwords, " "), **latin}, prefix=r"(?<![a-z'])", suffix=r"(?![a-z'])"
        )
        self.synonyms = {k: v for k, v in kb.synonyms.items() if k not in latin}
        self.clause_end = Replacer(kb.clause_end, suffix=r"(?=[?？。!！,，;；~\s]|$)")
        self.after_number = Replacer(kb.after_number, prefix=r"(?<=\d)\s*", suffix=r"(?![a-z])")
        self._strong = _any_of(kb.domain.get("strong", ()))
        self._weak = _any_of(kb.domain.get("weak", ()))
        self.politeness = Replacer(
            dict.fromkeys(kb.politeness, ""), words=lambda text: self.tokenizer.cut(text)
        )
        self.slots = SlotExtractor(
            kb.platforms,
            kb.not_lender_after,
            kb.products,
            kb.domain.get("strong", ()),
            kb.contexts,
            kb.number_roles,
        )
        self.tokenizer = Tokenizer(dictionary_words(kb), config.min_freq)
        self.has_question = QuestionTest(kb.question_words, kb.question_words_en)
        # a point's standalone questions are its topic's questions too; its follow-ups (去哪申请)
        # mean something only while the topic is in focus, so only the point matcher reads them
        self.examples: list[tuple[str, str]] = [(ex, it.name) for it in kb.intents for ex in it.examples]
        if config.point_examples:
            self.examples += [
                (ex, it.name)
                for it in kb.intents
                for p in it.points
                for ex in p.examples
                if ex not in it.examples
            ]
        #: (form, "intent/point") for every question form of every point; a topic's own examples
        #: ask its general question, whose answer is the first answer: they stand for its first
        #: lead point, so 会坐牢吗 finds the lead and only a pointed question a point
        self.point_examples: list[tuple[str, str]] = [
            (form, f"{it.name}/{p.name}") for it in kb.intents for p in it.points for form in p.forms
        ]
        # (an example that is also one of the topic's points' forms stands for that point alone)
        self.point_examples += [
            (ex, f"{it.name}/{it.leads[0].name}")
            for it in kb.intents
            if any(p.forms for p in it.points)
            for ex in it.examples
            if not any(ex in p.forms for p in it.points)
        ]
        if self.point_examples:
            # everyday questions (要带什么 of a car inspection) are the background a follow-up is
            # read against: a form's surface must not make them look like a point
            self.point_examples += [
                (ex, "out_of_scope/answer")
                for it in kb.intents
                if it.name == "out_of_scope"
                for ex in it.examples
            ]
        #: whether the matchers were trained here (True) or taken from ``state``
        self.built = False
        #: examples analysed while building (a topic's examples train both matchers), then dropped
        self._analysed: dict[str, Analysis] = {}
        saved = state if isinstance(state, tuple) and len(state) == 2 else (None, None)
        self.matcher = self._build(saved[0], self.examples, frozenset({"out_of_scope"}))
        self.points = (
            self._build(saved[1], self.point_examples, frozenset({"out_of_scope/answer"}), points=True)
            if self.point_examples
            else None
        )
        self._analysed = {}
        intents = self.matcher.intents
        self._background = intents.index("out_of_scope") if "out_of_scope" in intents else None

    def state(self) -> tuple[Any, Any]:
        """Both matchers as plain data (for the on-disk cache)."""
        return (self.matcher.state(), self.points.state() if self.points is not None else None)

    def _build(
        self,
        state: Any | None,
        examples: list[tuple[str, str]],
        background: frozenset[str] = frozenset(),
        *,
        points: bool = False,
    ) -> Matcher:
        """A matcher from a saved state, or trained afresh from the analysed examples (pure: the
        caller decides where a state comes from and where a new one goes, see ``model.load``)."""
        if state is not None:
            try:
                matcher = Matcher.from_state(state, self.config)
                if len(matcher.texts) == len(examples):
                    return matcher
            except (TypeError, ValueError, KeyError, AttributeError):
                pass  # a state of something else: build afresh
        built = []
        for text, label in examples:
            a = self._analysed.get(text) or self._analysed.setdefault(text, self.analyse(text))
            built.append(
                (Example(a.canonical, label), self._point_features(a) if points else self._features(a))
            )
        self.built = True
        config = self.config
        if points:
            # the points' perceptron: its own rounds (training it as the topics' costs seconds a build)
            config = config.with_(seeds=config.point_seeds, epochs=config.point_epochs)
        return Matcher(built, background=background, config=config)

    def point_scores(self, a: Analysis) -> dict[str, float]:
        """How well the message asks for each point ("intent/point" → score on the matcher's scale)."""
        if self.points is None or not a.canonical:
            return {}
        return dict(
            zip(self.points.intents, self.points.scores(a.canonical, self._point_features(a)), strict=True)
        )

    def analyse(self, text: str) -> Analysis:
        cleaned = _INNER_SPACE.sub("", self.after_number(self.typos(clean(text))))
        found = self.slots.extract(cleaned)
        masked = self.clause_end(found.masked(cleaned))
        polite_free = self.politeness(masked)
        # 你好，逾期会上征信吗 / …，谢谢: keep only what asks; but 好的谢谢你 is a thank-you, and
        # 师傅您好 a greeting, 谢谢你，讲得很清楚 thanks with praise: courtesy words go only where the
        # rest asks something or tells of a debt
        rest = CJK_CHAR.findall(polite_free)
        if len(rest) >= 2 and (
            self.has_question(polite_free)
            or (
                len(rest) >= 5
                and (found.slots or self._strong.search(polite_free) or self._weak.search(polite_free))
            )
        ):
            masked = polite_free
        text = strip_noise(self.latin_synonyms(masked))
        # placeholders never glue into one unseen token (花呗3000 is P A, not PA)
        cut = (
            [p for w in self.tokenizer.cut(text) for p in (w if _MASK_RUN.fullmatch(w) else (w,))]
            if text
            else []
        )
        tokens = self._canonical(cut)
        canonical = "".join(tokens)
        if set(found.slots) & {"days_overdue", "amount", "monthly_budget"} or self._strong.search(cleaned):
            evidence = 2
        elif found.slots or self._weak.search(cleaned) or any(n.role == "frequency" for n in found.numbers):
            # 一天打十几个: calls counted are a collector's calls
            evidence = 1
        else:
            evidence = 0
        return Analysis(
            cleaned,
            canonical,
            tokens,
            found.slots,
            self.has_question(cleaned),
            found.product,
            found.correction,
            found.debts,
            evidence,
            found.elapsed,
            tuple(t for t, c in zip(cut, tokens, strict=True) if t != c),
            found.numbers,
            found.denied,
            found.denied_values,
        )

    def _features(self, a: Analysis) -> set[str]:
        return features(a.canonical, a.tokens, a.question, self.kb.stopwords)

    def _point_features(self, a: Analysis) -> set[str]:
        """The matcher's features and the words the synonyms rewrote: within a topic 执行 and 仲裁
        are different points, though both are 起诉 to tell the topics apart."""
        feats = self._features(a)
        if self.config.point_raw_words:
            feats.update(intern("w" + t) for t in a.rewritten if t not in self.kb.stopwords)
        return feats

    def _canonical(self, tokens: list[str]) -> tuple[str, ...]:
        """Each token that is a synonym becomes its group's word, unless the next word says otherwise."""
        keep = self.kb.not_before
        out = []
        for i, t in enumerate(tokens):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            out.append(t if nxt and nxt in keep.get(t, ()) else self.synonyms.get(t, t))
        return tuple(out)

    def rank(self, a: Analysis, top: int | None = None) -> list[tuple[str, float]]:
        """The intents ranked for a message (the ``top`` best, and out_of_scope wherever it is);
        in a story with a question, the question counts more.

        花呗逾期十天了，老公也不知道，会不会打电话给我家人: the clause that asks carries
        ``question_share`` of the score, the whole message the rest.
        """
        m = self.matcher
        scores = m.scores(a.canonical, self._features(a))
        mixed = self._mixed(a, scores)
        if mixed is None:
            ranking = ranked(m.intents, scores, top)
        else:
            # ties keep the whole message's order, as they did when the mix was sorted from its ranking
            ranking = ranked(
                m.intents, mixed, top, order=sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
            )
            scores = mixed
        if top is not None and self._background is not None and all(i != "out_of_scope" for i, _ in ranking):
            ranking.append(("out_of_scope", scores[self._background]))  # decide() weighs the best against it
        return ranking

    def _mixed(self, a: Analysis, scores: list[float]) -> list[float] | None:
        """The scores with the asking clause's share mixed in, or None when there is no such clause."""
        clauses = [c for c in _CLAUSE.split(a.cleaned) if c.strip()]
        if len(clauses) < 2 or not a.question:
            return None
        asking = [c for c in clauses if self.has_question(c)]
        if not asking or asking[-1] == a.cleaned:
            return None
        q = self.analyse(asking[-1])
        if not q.canonical:
            return None
        part = self.matcher.scores(q.canonical, self._features(q))
        share = self.config.question_share
        return [(1 - share) * s + share * p for s, p in zip(scores, part, strict=True)]

    def decide(self, ranking: list[tuple[str, float]], evidence: int) -> tuple[str, float]:
        """The intent of a ranking, given how much the message shows it is about a debt at all.

        With strong evidence (逾期, 征信, a number of days …) the message is a debt question and the
        best debt intent answers it; with weak or no evidence a debt intent has to score higher,
        else the message is out of scope (一年期存款利息多少, 腿抽筋了怎么办).
        """
        if evidence == 2:
            best = next(((i, s) for i, s in ranking if i != "out_of_scope"), ranking[0])
            return best if best[1] >= self.config.threshold else ("out_of_scope", best[1])
        intent, score = ranking[0]
        if intent in self.kb.texts.roles["social"] or intent == "out_of_scope":
            return (intent, score) if score >= self.config.threshold else ("out_of_scope", score)
        c = self.config
        need = c.weak_threshold if evidence == 1 else c.none_threshold
        background = dict(ranking).get("out_of_scope", 0.0)
        return (
            (intent, score)
            if score >= need and score - background >= c.out_margin
            else ("out_of_scope", score)
        )

    def parse(self, text: str) -> Parse:
        return self.understand(text)[0]

    def questions(self, text: str, a: Analysis) -> tuple[tuple[str, float], ...]:
        """Each question of a message that asks several (会上征信吗 会起诉吗): the intent of every
        asking clause, read on its own, in order; empty when it asks one thing or none.  Clauses
        end at punctuation, at a space the person typed, and after a question particle."""
        if not a.question:
            return ()
        parts = _CLAUSE.split(_ASKED.sub(r"\1 ", clean(text)[:MAX_TEXT]))
        clauses = [c for c in parts if len(CJK_CHAR.findall(c)) >= 3]
        asking = [c for c in clauses if self.has_question(c)][:MAX_QUESTIONS]
        if len(asking) < 2:
            return ()
        return tuple((p.intent, p.confidence) for p in map(self.parse, asking))

    def understand(self, text: str) -> tuple[Parse, Analysis]:
        """The parse and the analysis it came from."""
        a = self.analyse(text)
        if not a.canonical or not any(ch.isalnum() for ch in a.canonical):
            rest = [(i, 0.0) for i in self.matcher.intents[:5] if i != "out_of_scope"]
            return Parse(text, "out_of_scope", 1.0, a.slots, [("out_of_scope", 1.0), *rest[:4]]), a
        ranking = self.rank(a, top=RANKED)
        intent, score = self.decide(ranking, a.evidence)
        if intent == "inform" and a.question:
            # 借呗逾期40天了 接下来催收是啥流程: the facts come with a question, and the question is the intent
            chat = self.kb.texts.roles.get("chat", frozenset()) | self.kb.texts.roles.get(
                "no_support", frozenset()
            )
            asked = next(((i, s) for i, s in ranking if i not in chat), None)
            if asked and asked[1] >= self.config.threshold and score - asked[1] <= self.config.inform_asked:
                intent, score = asked
        confidence = max(0.0, min(1.0, score))
        ranking5 = [(i, round(s, 4)) for i, s in ranking[:5]]
        return Parse(text, intent, round(confidence, 4), a.slots, ranking5), a
