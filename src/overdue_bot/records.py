"""Every record the package's layers pass each other, in one place: what a message means (Parse),
what the bot answers (Reply), and the knowledge base as frozen records (Knowledge and its parts).

Records only: no I/O and no behaviour beyond a method that reads the record itself.  The loader
(kb/loader.py) makes the knowledge records; the pipeline (nlu/) and the dialogue read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Parse:
    """What one message means, without any conversation around it."""

    text: str
    intent: str
    confidence: float
    slots: dict[str, Any] = field(default_factory=dict)
    ranking: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says to one message of a session, and what it now knows."""

    text: str
    intent: str | None
    confidence: float
    slots: dict[str, Any]
    state: str
    variant: str = ""
    parse: Parse | None = None
    #: why this turn handed the session to a person ('' when it did not): channels act on it
    handoff: str = ""
    #: the points of the topic this reply said ("intent/point"), for tests and review
    points: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The public fields as JSON-ready data."""
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "slots": dict(self.slots),
            "state": self.state,
            **({"handoff": self.handoff} if self.handoff else {}),
        }


# ---------------------------------------------------------------- the knowledge base
#: the word lists of lexicon.yaml's ``contexts`` (what each means: the comments there)
CONTEXTS = (
    "overdue_verbs",
    "filler",
    "not_days_before",
    "not_days_after",
    "amount_before",
    "amount_after",
    "not_amount_before",
    "not_amount_after",
)
#: the roles a number has that fill no slot (lexicon.yaml ``number_roles``), tried in this order:
#: a word right after the number first (19年在…, 5笔, 60期, 十几次), then one right before it
NUMBER_ROLES = (
    "date",
    "rate",
    "term",
    "count",
    "frequency",
    "income",
    "living_cost",
    "credit_limit",
    "savings",
    "price",
)


@dataclass(frozen=True, slots=True)
class Platform:
    """One lender of the catalogue."""

    name: str
    kind: str
    aliases: tuple[str, ...]
    prefixes: tuple[str, ...] = ()
    #: a bank's own loan products (建行快贷): naming one names the bank and says "a loan, not a card"
    loans: tuple[str, ...] = ()
    #: what the bot says of this lender, where the kind's general note is not enough
    note: str = ""


@dataclass(frozen=True, slots=True)
class Handoff:
    enabled: bool = False
    #: the person asks for a human (intent human_agent)
    on_human_agent: bool = True
    #: this many messages in a row not understood; 0 turns it off
    after_misses: int = 2
    #: a distress turn also goes to a person (the help lines are still given first)
    on_distress: bool = False
    #: a handed-over session comes back to the bot after this long
    ttl_minutes: int = 30
    #: what the person is told at the hand-off
    text: str = "我已经请人工客服来接手，稍后会有工作人员在这里回复你。在这期间我先不说话了。"
    #: the first line after the desk gives the conversation back
    back_text: str = "人工客服已结束接待，接下来由我继续回答。还有什么想问的？"

    def reason(self, intent: str | None, event: str, misses: int) -> str:
        """Why this turn goes to a person, or ''."""
        if not self.enabled:
            return ""
        if self.on_human_agent and intent == "human_agent":
            return "human_agent"
        if self.on_distress and intent == "distress":
            return "distress"
        if self.after_misses and misses >= self.after_misses:
            return "misses"
        return ""


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer variant and the slot conditions under which it is the right one."""

    text: str
    when: Mapping[str, Any] = field(default_factory=dict)
    name: str = "default"


@dataclass(frozen=True, slots=True)
class Point:
    """One short answer unit of a topic: what it says (the first wording whose conditions hold),
    where it applies, the questions that ask for it, and the facts.md sections it rests on.

    People ask about one point of a topic at a time, mostly without repeating the topic's word
    (去哪申请, 能查吗): a point's ``follow_ups`` are read only while its topic is in focus, its
    ``examples`` also stand alone.  ``lead`` points make the topic's first answer.
    """

    name: str
    variants: tuple[Answer, ...]
    facts: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    follow_ups: tuple[str, ...] = ()
    #: where the point applies at all (each variant may narrow it further), and where it does not
    when: Mapping[str, Any] = field(default_factory=dict)
    unless: Mapping[str, Any] = field(default_factory=dict)
    lead: bool = False
    #: where it is part of the first answer, when only in some cases (``lead: {days: [1, 30]}``)
    lead_when: Mapping[str, Any] = field(default_factory=dict)
    #: the one short line said when the point is asked for again (instead of the point again)
    again: str = ""
    #: whether it states a legal rule (None: as its topic)
    legal: bool | None = None

    @property
    def forms(self) -> tuple[str, ...]:
        """Every question form that asks for this point."""
        return self.examples + self.follow_ups


@dataclass(frozen=True, slots=True)
class Intent:
    """An intent: what users say to mean it, and how the bot answers.

    A topic is answered by its points (``points``); an intent written with plain ``answers`` (the
    small talk, or an older knowledge base) has one lead point, ``answer``, whose wordings they are.
    """

    name: str
    examples: tuple[str, ...]
    points: tuple[Point, ...]
    needs: tuple[str, ...] = ()
    ask: str = ""
    legal: bool = False
    label: str = ""
    source: str = ""
    #: words that tell which case of the intent a message is (支付令 vs 传票), for ``when: {cue: …}``
    cues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: what the bot does not know of this topic and where to ask (the contract, 12368, a lawyer)
    beyond: str = ""

    @property
    def leads(self) -> tuple[Point, ...]:
        return tuple(p for p in self.points if p.lead)

    def point(self, name: str) -> Point | None:
        return next((p for p in self.points if p.name == name), None)


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of lender: what the bot says of it once, and where its customers complain."""

    name: str
    label: str
    note: str
    complaint: str


@dataclass(frozen=True, slots=True)
class Reported:
    """A report of what already happened, read as the case it is, not as "will they?".

    催收打给我妈了 parses like 会打给我妈吗; with one of ``words`` in it, an answer ``from`` one of
    these intents is given as ``to`` instead (the complaint case, the court papers …).  A rule
    that is ``asked`` holds for a question too: 老婆会不会被牵连 asks about liability, not contact.
    """

    sources: tuple[str, ...]
    target: str
    words: tuple[str, ...]
    asked: bool = False


@dataclass(frozen=True, slots=True)
class Texts:
    """bot.yaml: what the bot says that belongs to no single intent (every field required)."""

    greeting: str
    disclaimer: str
    clarify: str
    empty: str
    not_text: str
    forget_slot: str
    #: where to complain when no lender is known (a known lender's kind says it more precisely)
    complaint: str
    #: a point asked for again that has no short line of its own, where the topic says nothing of
    #: what it does not know: which part is not known here and where to ask ({lender})
    beyond: str
    #: after a legal answer once the full disclaimer was given (at most 12 characters)
    tag: str
    #: the same question for another lender, where the answer is the same ({platform})
    same: str
    #: before a question about one of several debts: which one ({platform})
    ask_about: str
    #: a new fact after a topic whose points were made ({debt_label})
    noted: str
    #: days said of every debt at once ({duration})
    noted_every: str
    #: a vague answer to a question the bot asked: asked once more, in other words
    ask_again: str
    #: where to complain, for the lender and topic at hand ({complaint})
    complain: str
    #: a message not understood in a debt conversation ({label}: the topic so far)
    lost: str
    #: the next useful step when nothing is pending: ask the days, ask the budget, or ask the situation
    next_days: str
    next_budget: str
    next_situation: str
    next_topic: str
    next_idle: str
    #: a plan's arithmetic: {total_money}, {months}
    plan_total: str
    #: income and living costs said, acknowledged ({means_label}: 每月收入6000元、房租1500元)
    means_noted: str
    #: a death in the family said with the debt's facts (老伴前年走了 留下…): heard before they are noted
    condolence: str
    #: in a plan: what is left of the income after the costs ({income_money}, {cost_label},
    #: {left_money}), and the same when the budget said is more than that ({budget_money})
    means_left: str
    means_over: str
    #: a debt said to be repaid in full, taken out of the plan ({platform})
    paid_noted: str
    #: the line of support that stays in reach after a distress turn
    support_line: str
    #: in distress: hope that is true (我是不是完了), a warm close (谢谢你陪我说话), the first small
    #: step (从哪开始; with the debts heard of: {debts_text}), and debts named heard as debts
    #: ({debts_text}, {total_money})
    support_hope: str
    support_alone: str
    support_close: str
    support_start: str
    support_start_debts: str
    support_debts: str
    quick_replies: tuple[str, ...]
    dialogue: Mapping[str, tuple[str, ...]]
    #: what the bot says, kindly and in turn, while the person is in distress
    support: tuple[str, ...] = ()
    #: a calm first line, in turn, for someone frightened but not in crisis
    reassure: tuple[str, ...] = ()
    #: a first line, in turn, for someone who says what went wrong (家里出了点事, 失业了)
    hardship: tuple[str, ...] = ()
    reported: tuple[Reported, ...] = ()
    handoff: Handoff = field(default_factory=Handoff)
    #: intent roles: chat, social, no_support, plan, repeatable (bot.yaml ``roles``)
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)


# ---------------------------------------------------------------- the plan (plan.yaml)
#: the plan's sections, in the order the text shows them (their titles are plan.yaml ``headings``)
PLAN_HEADINGS = (
    "title",
    "debts",
    "deadlines",
    "steps",
    "budget",
    "script",
    "letter",
    "complaints",
    "help",
    "missing",
    "farewell",
)
#: how the plan's lines are put together (plan.yaml ``frames``: no statement of their own)
PLAN_FRAMES = (
    "debt_full",
    "debt_days",
    "debt_amount",
    "debt_bare",
    "risk",
    "lender_label",
    "lender_unnamed",
    "of_lender",
    "step",
    "why",
    "general_step",
    "share_part",
    "share_item",
    "partial",
    "script_for",
    "complaint",
    "missing",
    "blank",
    "hardship_blank",
    "share_blank",
    "money_blank",
    "date",
    "date_year",
)
#: what the plan states (plan.yaml ``pieces``: each wording names its facts.md sections)
PLAN_PIECES = (
    "kind_label",
    "stage",
    "bucket",
    "next_risk",
    "scale_note",
    "deadline",
    "objection",
    "verify",
    "ask",
    "why",
    "step_living",
    "step_record",
    "step_proof",
    "budget_total",
    "budget_shares",
    "budget_short",
    "budget_short_next",
    "script",
    "script_tip",
    "account",
    "proposal",
    "letter",
    "warning",
    "complaint_evidence",
    "family",
    "workplace",
    "exposure",
    "visit",
)
#: the facts a plan asks for when they are missing (plan.yaml ``questions``)
PLAN_QUESTIONS = ("debts", "platform", "days_overdue", "amount", "monthly_budget", "product", "received")
#: the court and arbitration papers a session keeps (plan.yaml ``papers`` names them)
PLAN_PAPERS = ("payment_order", "summons", "award", "arbitration", "enforcement")
#: the cases the code tells a piece it is in (``when: {cue: [...]}``): a deadline's paper and
#: whether its day is known or has passed; why a lender comes where it does
PLAN_CUES = (
    *PLAN_PAPERS,
    *(f"{p}_{s}" for p in ("payment_order", "summons", "award") for s in ("dated", "passed")),
    "paper",
    "card_line",
    "light",
    "longest",
    "reported",
)
#: the values the plan fills into its frames, pieces and questions (besides the answers' own)
PLAN_VALUES = frozenset(
    {
        "platform",
        "lender",
        "lender_label",
        "lenders",
        "kind_label",
        "duration",
        "money",
        "stage",
        "bucket",
        "next_risk",
        "n",
        "ask",
        "why",
        "text",
        "share_money",
        "share_part",
        "shares",
        "total_money",
        "budget_money",
        "months_text",
        "minimum_money",
        "shortfall_money",
        "partial",
        "known",
        "unknown",
        "paper",
        "of_lender",
        "received",
        "by",
        "days_left",
        "complaint",
        "question",
        "hardship_text",
        "share_text",
        "account",
        "proposal",
        "duration_text",
        "money_text",
        "blank",
        "month",
        "day",
        "year",
    }
)


@dataclass(frozen=True, slots=True)
class PlanPiece:
    """One wording of a piece of the plan: said where ``when`` holds, as its own ``text`` (resting
    on the facts.md sections ``facts``) or as a topic's ``point`` ("intent/point") says it."""

    text: str = ""
    point: str = ""
    when: Mapping[str, Any] = field(default_factory=dict)
    facts: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True, slots=True)
class PlanTexts:
    """plan.yaml: every word of the plan (issue 27), so nothing it states is prose in code."""

    headings: Mapping[str, str]
    frames: Mapping[str, str]
    pieces: Mapping[str, tuple[PlanPiece, ...]]
    questions: Mapping[str, str]
    papers: Mapping[str, str]
    #: where it was read from (errors name it; the shipped one serves a knowledge base without one)
    source: str = ""


@dataclass(frozen=True, slots=True)
class Knowledge:
    """The whole knowledge base as frozen records."""

    intents: tuple[Intent, ...]
    platforms: tuple[Platform, ...]
    kinds: Mapping[str, Kind]
    not_lender_after: Mapping[str, tuple[str, ...]]
    typos: Mapping[str, str]
    synonyms: Mapping[str, str]
    words: tuple[str, ...]
    texts: Texts
    snippets: Mapping[str, tuple[Answer, ...]] = field(default_factory=dict)
    clause_end: Mapping[str, str] = field(default_factory=dict)
    politeness: tuple[str, ...] = ()
    #: words that say which product of a bank a message means: {"card": (...), "loan": (...)}
    products: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: units rewritten only right after a number: 3 days → 3天
    after_number: Mapping[str, str] = field(default_factory=dict)
    #: words that show a message is about an overdue debt at all: {"strong": (...), "weak": (...)}
    domain: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: a synonym stays as it is when the next word is one of these (还了 before 几百)
    not_before: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: English words that carry nothing for the matcher
    latin_stopwords: tuple[str, ...] = ()
    #: where platforms, lexicon and bot came from (a small knowledge base may use the shipped ones)
    sources: Mapping[str, str] = field(default_factory=dict)
    #: words the matcher ignores; words that make a message a question (Chinese anywhere, English first)
    stopwords: frozenset[str] = frozenset()
    question_words: tuple[str, ...] = ()
    question_words_en: tuple[str, ...] = ()
    #: the words around a number that decide whether it is days overdue or an amount (CONTEXTS)
    contexts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: per role of NUMBER_ROLES, the words before and after a number that give it that role
    number_roles: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    #: the plan's words (plan.yaml); None only for a knowledge base built in code without one
    plan: PlanTexts | None = None
