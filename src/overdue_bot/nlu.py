"""From raw text to a Parse: normalise, extract and mask slots, canonicalise, match."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .knowledge import Knowledge
from .matcher import Example, Matcher, features
from .models import Parse
from .slots import MASK_CHARS, MASKS, SlotExtractor
from .text import Replacer, clean, has_question, strip_noise
from .tokenizer import Tokenizer

# spaces inside Chinese text or between a number and its unit carry nothing: 逾期 7 天
_INNER_SPACE = re.compile(r"(?<=[\u4e00-\u9fff\d])\s+(?=[\u4e00-\u9fff\d])(?<![\d零一二两三四五六七八九十百千万]\s)"
                          r"|(?<=[\u4e00-\u9fff\d])\s+(?=[^\d零一二两三四五六七八九十百千万\s])(?=[\u4e00-\u9fff])")

_CJK = re.compile(r"[\u4e00-\u9fff]")
_RESIDUE = re.compile(f"[^\u4e00-\u9fff{MASK_CHARS}]")

#: below this score nothing is understood and the intent is out_of_scope
THRESHOLD = 0.15
#: what a debt intent must score when the message shows only weak evidence of a debt (利息, 额度,
#: a lender's name), or none at all (腿抽筋了怎么办); calibrated by benchmarks/ood.py
WEAK_THRESHOLD = 0.25
NONE_THRESHOLD = 0.45
#: and, without strong evidence, by at least this much more than out_of_scope
OUT_MARGIN = 0.15
#: in a message of several clauses, the share of the score that the (last) asking clause carries
QUESTION_WEIGHT = 0.3
_CLAUSE = re.compile(r"[，,。.！!？?；;~…\s]+")
#: intents that need no evidence of a debt: greetings, thanks, crisis words, a request for a person
_SOCIAL = frozenset({"greet", "goodbye", "thanks", "help", "affirm", "deny", "inform", "distress", "human_agent"})


def _any_of(words: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    ordered = sorted((w.lower() for w in words), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)) or "(?!)")


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the pipeline read off one message (for parse(), debugging and tests)."""

    cleaned: str
    canonical: str
    tokens: tuple[str, ...]
    slots: dict
    question: bool
    #: which product of a bank the message means ("card", "loan") or None; not a public slot
    product: str | None = None
    #: the message corrects a value said before (不是A是B, 说错了…)
    correction: bool = False
    #: per lender named, what the message says of it
    debts: tuple[dict, ...] = ()
    #: evidence that the message is about an overdue debt: 2 strong, 1 weak, 0 none
    evidence: int = 0

    @property
    def residue(self) -> str:
        """The Chinese words and slot placeholders only: what is left of 那P呢 is 那P呢."""
        return _RESIDUE.sub("", self.canonical)


def _code_version() -> str:
    """A digest of the modules that turn text into features."""
    here = Path(__file__).resolve().parent
    return cache.digest(*(
        (here / name).read_bytes() for name in ("text.py", "slots.py", "nlu.py", "matcher.py", "numerals.py",
                                                "tokenizer.py")
    ))


class Understanding:
    """The pure NLU pipeline built from a knowledge base."""

    def __init__(self, kb: Knowledge, *, threshold: float = THRESHOLD) -> None:
        self.kb = kb
        self.threshold = threshold
        self.typos = Replacer(kb.typos)
        # synonyms rewrite whole words only: Latin phrases at letter boundaries before punctuation
        # goes, Chinese ones as jieba tokens (男朋友 is no 男+朋友 → 联系人, 亲戚 no 亲+戚)
        latin = {k: v for k, v in kb.synonyms.items() if re.search(r"[a-z]", k)}
        self.latin_synonyms = Replacer({**dict.fromkeys(kb.latin_stopwords, " "), **latin},
                                       prefix=r"(?<![a-z'])", suffix=r"(?![a-z'])")
        self.synonyms = {k: v for k, v in kb.synonyms.items() if k not in latin}
        self.clause_end = Replacer(kb.clause_end, suffix=r"(?=[?？。!！,，;；~\s]|$)")
        self.after_number = Replacer(kb.after_number, prefix=r"(?<=\d)\s*", suffix=r"(?![a-z])")
        self._strong = _any_of(kb.domain.get("strong", ()))
        self._weak = _any_of(kb.domain.get("weak", ()))
        self.politeness = Replacer(dict.fromkeys(kb.politeness, ""))
        self.slots = SlotExtractor(kb.platforms, kb.not_lender_after, kb.products, kb.domain.get("strong", ()))
        words = [*kb.words, *sorted(set(kb.synonyms.values())), *sorted(self.synonyms), *MASKS.values()]
        words += [a for p in kb.platforms for a in (p.name, *p.aliases, *p.loans)]
        self.tokenizer = Tokenizer(words)
        self.examples: list[tuple[str, str]] = [(ex, it.name) for it in kb.intents for ex in it.examples]
        self.matcher = self._build()

    def _build(self) -> Matcher:
        """Analyse every example and train the matcher, or reuse what an earlier start built.

        The cache key covers the examples, the language data and this package's matching code,
        so an edited knowledge base or a new version never reads a stale index.
        """
        kb = self.kb
        key = cache.digest(self.examples, sorted(kb.typos.items()), sorted(kb.synonyms.items()), kb.words,
                           kb.platforms, sorted(kb.not_lender_after.items()), sorted(kb.clause_end.items()),
                           sorted(kb.after_number.items()), sorted(kb.domain.items()), sorted(kb.not_before.items()), kb.latin_stopwords, kb.politeness, sorted(kb.products.items()), _code_version())
        name = f"overdue_bot-index-{key}.cache"
        try:
            matcher = Matcher.from_state(cache.load(name))
            if len(matcher.texts) == len(self.examples):
                return matcher
        except (TypeError, ValueError, KeyError, AttributeError):
            pass  # no cache, or one from something else: build afresh
        built = []
        for text, intent in self.examples:
            a = self.analyse(text)
            built.append((Example(a.canonical, intent), self._features(a)))
        matcher = Matcher(built, background=frozenset({"out_of_scope"}))
        cache.save(name, matcher.state(), family="overdue_bot-index-")
        return matcher

    def analyse(self, text: str) -> Analysis:
        cleaned = _INNER_SPACE.sub("", self.after_number(self.typos(clean(text))))
        found = self.slots.extract(cleaned)
        masked = self.clause_end(found.masked(cleaned))
        polite_free = self.politeness(masked)
        # 你好，逾期会上征信吗 / …，谢谢: keep only what asks; but 好的谢谢你 is a thank-you, and
        # 师傅您好 a greeting: courtesy words go only where the rest carries a question of its own
        rest = _CJK.findall(polite_free)
        if len(rest) >= 5 or (len(rest) >= 2 and has_question(polite_free)):
            masked = polite_free
        text = strip_noise(self.latin_synonyms(masked))
        tokens = self._canonical(self.tokenizer.cut(text)) if text else ()
        canonical = "".join(tokens)
        if set(found.slots) & {"days_overdue", "amount", "monthly_budget"} or self._strong.search(cleaned):
            evidence = 2
        elif found.slots or self._weak.search(cleaned):
            evidence = 1
        else:
            evidence = 0
        return Analysis(cleaned, canonical, tokens, found.slots, has_question(cleaned), found.product,
                        found.correction, found.debts, evidence)

    @staticmethod
    def _features(a: Analysis) -> set[str]:
        return features(a.canonical, a.tokens, a.question)

    def _canonical(self, tokens: list[str]) -> tuple[str, ...]:
        """Each token that is a synonym becomes its group's word, unless the next word says otherwise."""
        keep = self.kb.not_before
        out = []
        for i, t in enumerate(tokens):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            out.append(t if nxt and nxt in keep.get(t, ()) else self.synonyms.get(t, t))
        return tuple(out)

    def rank(self, a: Analysis) -> list[tuple[str, float]]:
        """The intents ranked for a message; in a story with a question, the question counts more.

        花呗逾期十天了，老公也不知道，会不会打电话给我家人: the clause that asks carries
        QUESTION_WEIGHT of the score, the whole message the rest.
        """
        ranking = self.matcher.rank(a.canonical, self._features(a))
        clauses = [c for c in _CLAUSE.split(a.cleaned) if c.strip()]
        if len(clauses) < 2 or not a.question:
            return ranking
        asking = [c for c in clauses if has_question(c)]
        if not asking or asking[-1] == a.cleaned:
            return ranking
        q = self.analyse(asking[-1])
        if not q.canonical:
            return ranking
        part = dict(self.matcher.rank(q.canonical, self._features(q)))
        mixed = [(i, (1 - QUESTION_WEIGHT) * s + QUESTION_WEIGHT * part.get(i, 0.0)) for i, s in ranking]
        return sorted(mixed, key=lambda x: -x[1])

    def decide(self, ranking: list[tuple[str, float]], evidence: int) -> tuple[str, float]:
        """The intent of a ranking, given how much the message shows it is about a debt at all.

        With strong evidence (逾期, 征信, a number of days …) the message is a debt question and the
        best debt intent answers it; with weak or no evidence a debt intent has to score higher,
        else the message is out of scope (一年期存款利息多少, 腿抽筋了怎么办).
        """
        if evidence == 2:
            best = next(((i, s) for i, s in ranking if i != "out_of_scope"), ranking[0])
            return best if best[1] >= self.threshold else ("out_of_scope", best[1])
        intent, score = ranking[0]
        if intent in _SOCIAL or intent == "out_of_scope":
            return (intent, score) if score >= self.threshold else ("out_of_scope", score)
        need = WEAK_THRESHOLD if evidence == 1 else NONE_THRESHOLD
        background = dict(ranking).get("out_of_scope", 0.0)
        return (intent, score) if score >= need and score - background >= OUT_MARGIN else ("out_of_scope", score)

    def parse(self, text: str) -> Parse:
        return self.understand(text)[0]

    def understand(self, text: str) -> tuple[Parse, Analysis]:
        """The parse and the analysis it came from."""
        a = self.analyse(text)
        if not a.canonical or not any(ch.isalnum() for ch in a.canonical):
            ranking = [("out_of_scope", 1.0)] + [(i, 0.0) for i in self.matcher.intents if i != "out_of_scope"]
            return Parse(text, "out_of_scope", 1.0, a.slots, ranking[:5]), a
        ranking = self.rank(a)
        intent, score = self.decide(ranking, a.evidence)
        confidence = max(0.0, min(1.0, score))
        ranking5 = [(i, round(s, 4)) for i, s in ranking[:5]]
        return Parse(text, intent, round(confidence, 4), a.slots, ranking5), a
