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
_INNER_SPACE = re.compile(r"(?<=[\u4e00-\u9fff\d])\s+(?=[\u4e00-\u9fff\d])")

_CJK = re.compile(r"[\u4e00-\u9fff]")
_RESIDUE = re.compile(f"[^\u4e00-\u9fff{MASK_CHARS}]")

#: below this score nothing is understood and the intent is out_of_scope
THRESHOLD = 0.15
#: what a debt intent must score when the message shows only weak evidence of a debt (利息, 额度,
#: a lender's name), or none at all (腿抽筋了怎么办); calibrated by benchmarks/ood.py
WEAK_THRESHOLD = 0.25
NONE_THRESHOLD = 0.45
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
        self.synonyms = Replacer(kb.synonyms)
        self.clause_end = Replacer(kb.clause_end, suffix=r"(?=[?？。!！,，;；~\s]|$)")
        self.after_number = Replacer(kb.after_number, prefix=r"(?<=\d)\s*", suffix=r"(?![a-z])")
        self._strong = _any_of(kb.domain.get("strong", ()))
        self._weak = _any_of(kb.domain.get("weak", ()))
        self.politeness = Replacer(dict.fromkeys(kb.politeness, ""))
        self.slots = SlotExtractor(kb.platforms, kb.not_lender_after, kb.products)
        words = [*kb.words, *sorted(set(kb.synonyms.values())), *MASKS.values()]
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
                           sorted(kb.after_number.items()), sorted(kb.domain.items()), kb.politeness, sorted(kb.products.items()), _code_version())
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
        canonical = strip_noise(self.synonyms(masked))
        tokens = tuple(self.tokenizer.cut(canonical)) if canonical else ()
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
        need = self.threshold if intent in _SOCIAL or intent == "out_of_scope" else \
            (WEAK_THRESHOLD if evidence == 1 else NONE_THRESHOLD)
        return (intent, score) if score >= need else ("out_of_scope", score)

    def parse(self, text: str) -> Parse:
        return self.understand(text)[0]

    def understand(self, text: str) -> tuple[Parse, Analysis]:
        """The parse and the analysis it came from."""
        a = self.analyse(text)
        if not a.canonical or not any(ch.isalnum() for ch in a.canonical):
            ranking = [("out_of_scope", 1.0)] + [(i, 0.0) for i in self.matcher.intents if i != "out_of_scope"]
            return Parse(text, "out_of_scope", 1.0, a.slots, ranking[:5]), a
        ranking = self.matcher.rank(a.canonical, self._features(a))
        intent, score = self.decide(ranking, a.evidence)
        confidence = max(0.0, min(1.0, score))
        ranking5 = [(i, round(s, 4)) for i, s in ranking[:5]]
        return Parse(text, intent, round(confidence, 4), a.slots, ranking5), a
