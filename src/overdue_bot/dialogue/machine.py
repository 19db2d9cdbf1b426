"""The conversation as a state machine: (session, understood message) → (session, answer).

Pure: no I/O, no clock, no store.  The whole behaviour is the TABLE below, read top to bottom:
for each message the first row whose state and mode match and whose event holds is taken, and
its handler answers and says where the conversation goes next.

States: ``idle``; ``awaiting:<slot>`` after the bot asked for a slot; ``clarify`` after it asked
which of two intents was meant; ``ended`` after goodbye (the next message starts afresh).
Mode: ``support`` after a distress turn, until the person clearly moves on to a practical question.
Facts: the debts heard of (one per lender, the focus on the one spoken of last) and the monthly
budget, see session.py.  Memory: digests of the lines already said, the lenders already described
and whether the disclaimer was given, so no paragraph is said twice.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from ..config import DEFAULT, MatcherConfig
from ..kb.loader import BANK_PRODUCTS
from ..nlu.numerals import MONEY_RUN, to_int
from ..nlu.roles import Number
from ..nlu.slots import MASK_CHARS
from ..plan import build as build_plan
from ..records import PLAN_PAPERS, Answer, Intent, Knowledge, Parse, Point
from .render import choose, duration, fill, matches, money
from .session import MAX_HAPPENED, MAX_HARDSHIP, MAX_PAPERS, Heard, Session, merge

log = logging.getLogger("overdue_bot.dialogue")
#: where a line splits into sentences (the mark stays with its sentence)
_SENTENCE = re.compile(r"(?<=[。！？])")
#: the label the point matcher reads everyday questions under (see nlu.pipeline)
_BACKGROUND = "out_of_scope/answer"
#: a sum written in a message (2000, 两千, 1.5万): the slot reader's own pattern
_BARE_NUMBER = re.compile(MONEY_RUN)
#: (state, mode, event, handler, next states), in the order events are tried: the first row whose
#: state and mode fit ("*": any) and whose event holds decides; the handler answers and leaves the
#: session in one of the next states (checked on every turn, see Dialogue.undeclared)
TABLE: tuple[tuple[str, str, str, str, str], ...] = (
    ("*", "*", "distress", "comfort", "idle"),  # crisis words: help lines; the session turns supportive
    # 帮我列个计划 / 给个计划 / 帮我总结一下: the plan (issue 27), after at most one question; the answer
    # to that question (or 不知道, or any fact) is the plan, only a question on a topic escapes it
    ("*", "*", "plan_request", "write_plan", "idle|awaiting"),
    ("*", "*", "plan_fact", "write_plan", "idle|awaiting"),
    # while in distress (the mode lasts): despair gets hope that is true, thanks a warm close with a
    # help line, 从哪开始 the first small step, and debts named are heard as debts, not comforted away
    ("*", "support", "despair", "hope", "idle"),  # 我是不是完了 / 没救了
    ("*", "support", "closing", "warm_close", "idle"),  # 谢谢你陪我说话 / 好 我试试
    ("*", "support", "where_start", "first_step", "idle"),  # 那我现在该从哪开始
    ("*", "support", "alone", "hear_alone", "idle"),  # 我也不知道该找谁说: listened to, and the lines again
    ("*", "support", "debts_told", "support_debts", "idle"),  # 我欠了微粒贷两万 信用卡三万
    (
        "*",
        "support",
        "practical",
        "answer_kindly",
        "idle",
    ),  # a clear practical question: answered, with one line of support
    ("*", "*", "human", "answer", "idle"),  # wants a person: also in distress, where it matters most
    ("*", "support", "any", "support", "idle"),  # anything else in distress is listened to, never asked about
    ("*", "*", "goodbye", "end", "ended"),
    ("clarify", "*", "choice", "answer_choice", "idle|awaiting"),  # 前者 / 第二个 / the intent's own words
    ("awaiting", "*", "slot_filled", "answer_pending", "idle"),
    ("awaiting", "*", "dont_know", "answer_general", "idle"),
    (
        "awaiting",
        "*",
        "vague",
        "ask_again_or_general",
        "idle|awaiting",
    ),  # 很久了 / 好几个月: no value yet, asked once more
    (
        "idle",
        "*",
        "what_now",
        "what_now",
        "idle",
    ),  # 那我该怎么办: what to do, unless the topic has its own steps
    ("idle", "*", "more", "go_on", "idle"),  # 然后呢 / 嗯 / 不知道 with nothing pending
    (
        "idle",
        "*",
        "same_topic",
        "answer_last",
        "idle|awaiting",
    ),  # 这样合法吗 / 真的吗: about what was just said
    ("idle", "*", "complain", "complain", "idle"),  # 去哪投诉: where, for the lender and topic at hand
    ("*", "*", "budget", "plan", "idle"),  # 每个月最多能拿出一千五: a plan for the debts heard of
    ("*", "*", "means_told", "note_means", "idle"),  # 房租六百 / 退休金两千八: noted, never a debt or a topic
    (
        "*",
        "*",
        "follow_up",
        "answer_last",
        "idle|awaiting",
    ),  # 花呗呢 / 不对，是十天 / 不是12天是42天: same topic, new facts
    ("*", "*", "ambiguous", "clarify", "clarify"),  # two intents too close to call
    ("*", "*", "question", "answer_or_ask", "idle|awaiting"),  # a topic question (asks for a needed slot)
    ("*", "*", "new_debt", "list_debts", "idle"),  # 花呗也欠了五千: a further lender, noted
    ("*", "*", "refined", "note_change", "idle"),  # 信用卡是建行的: the card heard of gets its bank
    (
        "*",
        "*",
        "update",
        "answer_last",
        "idle|awaiting",
    ),  # new facts after a topic: the topic again, for them
    ("*", "*", "worried", "reassure", "idle"),  # 我们老两口很害怕: calm first, then the next step
    ("*", "*", "hardship", "understand", "idle|awaiting"),  # 家里出了点事: heard, then what was asked
    ("awaiting", "*", "miss", "ask_again_or_general", "idle|awaiting"),
    ("*", "*", "lost", "lost", "idle"),  # not understood in a debt conversation: asked, not dismissed
    ("*", "*", "chat", "answer", "idle"),  # greet, thanks, inform, out of scope …
)


@dataclass(frozen=True, slots=True)
class Message:
    """What the dialogue reads of one message: the parse and what normalisation found."""

    parse: Parse
    text: str = ""  # the cleaned message (for cue words and reports of what happened)
    residue: str = ""  # the Chinese words and placeholders only (for elliptical follow-ups)
    question: bool = False
    product: str | None = None
    correction: bool = False
    debts: tuple[dict[str, Any], ...] = ()
    #: the days it says hold for every debt (都逾期一个多月了): decided once, in step()
    every: bool = False
    #: how well it asks for each point ("intent/point" → score; empty when not scored)
    points: Mapping[str, float] = field(default_factory=dict)
    #: the day of a deadline's window it says the person is on (第10天), for this message only
    elapsed: int | None = None
    #: it names another case of the topic in focus (不对，是仲裁裁决书 after 支付令): decided in step()
    recase: bool = False
    #: how plainly it is about a debt on its own (nlu: 2 strong, 1 weak, 0 none): a follow-up such as
    #: 多长时间内要弄 names no topic, however confidently a topic matcher reads it
    evidence: int = 2
    #: every number and its role (nlu.roles): income and living costs are kept, never a debt
    numbers: tuple[Number, ...] = ()
    #: a correction's wrong lender and values: 不是借呗是花呗 → 借呗; 是八万不是八千 → {amount: 8000}
    denied: str | None = None
    denied_values: Mapping[str, int] = field(default_factory=dict)
    #: each question of a message that asks several, read on its own: (intent, confidence)
    questions: tuple[tuple[str, float], ...] = ()
    #: the day the message came (the Bot's clock): a paper received 5天前 is kept as a date
    today: date | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """The dialogue's answer to one message."""

    text: str
    intent: str | None
    variant: str
    event: str
    #: the points of the topic this answer said ("intent/point")
    points: tuple[str, ...] = ()


#: what a handler is: the session and message in, the next session (its state set) and the turn out
Handler = Callable[["Session", "Message", str], "tuple[Session, Turn]"]


@dataclass(frozen=True, slots=True)
class _Said:
    """An answer being composed: its lines, and what the session should remember of it."""

    lines: list[str] = field(default_factory=list)
    noted: str | None = None
    disclaimed: bool = False


def debt_label(d: dict[str, Any]) -> str:
    """A debt as one phrase: 信用卡欠15万元，逾期半年 / 花呗欠5000元 / 借呗逾期12天 ("" for nothing known)."""
    said = [f"欠{money(d['amount'])}"] if isinstance(d.get("amount"), int) else []
    said += [f"逾期{duration(d['days_overdue'])}"] if isinstance(d.get("days_overdue"), int) else []
    name = (d.get("platform") or "") + {"card": "信用卡", "loan": "贷款"}.get(d.get("product") or "", "")
    return name + "，".join(said) if said or d.get("platform") else ""


def _named(m: Message) -> tuple[str, ...]:
    """The lenders one message named, in its order."""
    return tuple(str(d["platform"]) for d in m.debts if d.get("platform"))


def _bare(text: str) -> str:
    """A message without punctuation or spaces, for whole-message cue lists."""
    return re.sub(r"[\W_]+", "", text)


def _bigrams(text: str) -> set[str]:
    chars = re.sub(r"[\W_a-z\d]+", "", text)
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


def _several(s: Session) -> bool:
    """Whether the person has named more than one lender."""
    return sum(1 for d in s.debts if d.get("platform")) > 1


class Values(dict[str, Any]):
    """Template values that fill a named snippet the first time a template asks for it."""

    def __init__(self, known: dict[str, Any], snippet: Callable[[str, dict[str, Any]], str | None]) -> None:
        super().__init__(known)
        self._snippet = snippet
        self._asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self._asked:
            self._asked.add(key)  # once: also a snippet that names itself gets nothing
            if not dict.__contains__(self, key):
                value = self._snippet(key, self)
                if value is not None:
                    self[key] = value
        return dict.get(self, key, default)


class Dialogue:
    """Applies the table with the knowledge base's answers."""

    def __init__(self, kb: Knowledge, config: MatcherConfig = DEFAULT) -> None:
        self.kb = kb
        self.config = c = config
        roles = kb.texts.roles
        #: small talk, never a topic; intents not answered as practical in support mode; budget = plan
        self.chat, self.plan_intents, self.repeatable = roles["chat"], roles["plan"], roles["repeatable"]
        self.support_off = roles["no_support"] | roles["chat"]
        chat = self.chat
        self.intents: dict[str, Intent] = {it.name: it for it in kb.intents}
        self.kinds = {p.name: p.kind for p in kb.platforms}
        self.own_notes = {p.name: p.note for p in kb.platforms if p.note}
        self.texts = kb.texts
        words = kb.texts.dialogue

        def alternatives(key: str) -> str:
            items = sorted((str(w).lower() for w in words.get(key) or []), key=len, reverse=True)
            return "|".join(map(re.escape, items)) or "(?!)"

        self._first = re.compile(f"^(?:{alternatives('first_choice')})")
        self._second = re.compile(f"^(?:{alternatives('second_choice')})")
        self._dont_know = re.compile(alternatives("dont_know"))
        self._more = re.compile(f"^(?:{alternatives('more')})$")
        self._what_now_rx = re.compile(f"^(?:{alternatives('what_now')})$")
        self._own_steps = set(words.get("own_steps") or ())
        self._same = re.compile(f"^(?:{alternatives('same_topic')})$")
        self._worried = re.compile(alternatives("worried"))
        self._passed_away = tuple(str(w) for w in words.get("passed_away") or ())
        # 老伴前年走了: a death in the family is a hardship, whatever stands between the two words
        self._hardship = re.compile(
            f"{alternatives('hardship')}|(?:{alternatives('kin')})[^，。,.!！?？]{{0,4}}(?:{alternatives('passed_away')})"
        )
        self._every = re.compile(alternatives("every"))
        self._crisis = re.compile(alternatives("crisis"))
        self._person = re.compile(alternatives("person"))
        self._despair = re.compile(alternatives("despair"))
        self._paid = re.compile(alternatives("paid"))
        self._kin = re.compile(alternatives("kin"))
        self._budget_question = re.compile(alternatives("budget_question"))
        self._plan_request = re.compile(alternatives("plan_request"))
        self._contacted = re.compile(alternatives("contacted"))
        #: the topics with an answer for a monthly budget (a point or wording that needs one)
        self._budget_plans = frozenset(
            it.name
            for it in kb.intents
            for p in it.points
            if any("monthly_budget" in w.get("has", ()) for w in (p.when, *(v.when for v in p.variants)))
        )
        self._closing = re.compile(alternatives("closing"))
        self._start = re.compile(alternatives("start"))
        self._alone = re.compile(alternatives("alone"))
        self._complain_rx = re.compile(f"^(?:{alternatives('complain')})$")
        self._cue_words = [
            (it.name, [(c, tuple(w.lower() for w in ws)) for c, ws in it.cues.items()])
            for it in kb.intents
            if it.cues
        ]
        # what is left of an elliptical follow-up once slots are masked: 那P呢, D呢, 如果是P的话
        self._ellipsis = re.compile(f"^(?:{alternatives('follow_up_words')}|[{MASK_CHARS}])*$")
        self._will = re.compile(alternatives("will"))
        self._staged = {
            it.name
            for it in kb.intents
            if any("days" in p.when or any("days" in v.when for v in p.variants) for p in it.points)
        }
        #: per topic, the labels its points are scored under
        self._labels = {it.name: [f"{it.name}/{p.name}" for p in it.points] for it in kb.intents}

        def told(m: Message, i: str) -> bool:
            """A feeling or a hardship told rather than a topic asked, and no new fact in it."""
            return (i in chat or m.parse.confidence < c.vague) and not m.parse.slots

        self._events: dict[str, Callable[[Session, Message, str], bool]] = {
            # in support mode, a message the matcher reads as distress but with no crisis word in it
            # (感觉这辈子没救了, 谢谢你陪我) is answered by the support rows, not the help lines again
            "distress": lambda s, m, i: (
                i == "distress"
                and (s.mode != "support" or bool(self._crisis.search(m.text)) or not self._held(m))
            ),
            "despair": lambda s, m, i: bool(self._despair.search(m.text)),
            "plan_request": lambda s, m, i: bool(self._plan_request.search(m.text)),
            "plan_fact": self._plan_fact,
            "closing": lambda s, m, i: (
                i in ("thanks", "goodbye")
                or (bool(self._closing.search(m.text)) and not self._person.search(m.text) and not m.question)
            ),
            "where_start": lambda s, m, i: (
                bool(self._start.search(m.text)) or bool(self._what_now_rx.match(_bare(m.text)))
            ),
            "alone": lambda s, m, i: bool(self._alone.search(m.text)),
            "debts_told": lambda s, m, i: (bool(m.debts) or "amount" in m.parse.slots) and not m.question,
            "practical": self._practical,
            "any": lambda s, m, i: True,
            "human": lambda s, m, i: (
                i == "human_agent"
                and (s.mode != "support" or bool(self._person.search(m.text)))
                and not ("monthly_budget" in m.parse.slots and not self._person.search(m.text))
            ),
            # a goodbye says nothing else: 我老伴走了 退休金两千六 tells facts, and ends nothing
            "goodbye": lambda s, m, i: i == "goodbye" and not (m.debts or m.parse.slots or m.numbers),
            "choice": lambda s, m, i: self._choice(s, m.parse) is not None,
            "slot_filled": lambda s, m, i: s.state.split(":", 1)[1] in m.parse.slots,
            "dont_know": lambda s, m, i: bool(self._dont_know.search(m.text)),
            "vague": lambda s, m, i: not m.question and not m.parse.slots and m.parse.confidence < c.vague,
            "follow_up": self._follow_up,
            # two topics too close to call, unless a point of one of them is plainly asked (_pointed)
            "ambiguous": lambda s, m, i: (
                self._is_topic(i)
                and i == m.parse.intent
                and i != s.last_intent  # a close call that includes the topic in focus is that topic
                and self._reported(m, m.parse.intent) is None  # a report names its own case
                and not self._reports(m, i)
                and self._ambiguous(m.parse)
                and max(m.points.values(), default=0.0) < c.point_direct
                and self._pointed(m, i) == i
                and not self._settled(m)
            ),
            "question": lambda s, m, i: self._is_topic(i),
            "budget": lambda s, m, i: (
                "monthly_budget" in m.parse.slots
                and (
                    not m.question
                    or i in chat
                    or i in self.plan_intents
                    or bool(self._budget_question.search(m.text))  # 每个月拿出1500还 够不够
                )
            ),
            "new_debt": self._new_debt,
            "refined": self._refined,
            # only income, living costs or savings said, nothing asked, no debt fact
            "means_told": lambda s, m, i: (
                not m.question
                and not self._hardship.search(m.text)  # 老伴走了: heard first (the hardship row)
                and not m.debts
                and not set(m.parse.slots) & {"days_overdue", "amount", "monthly_budget"}
                and any(n.role in ("income", "living_cost", "savings") for n in m.numbers)
            ),
            "what_now": lambda s, m, i: (
                self._is_topic(s.last_intent) and bool(self._what_now_rx.match(_bare(m.text)))
            ),
            "more": lambda s, m, i: bool(self._more.match(_bare(m.text))),
            "same_topic": lambda s, m, i: (
                self._is_topic(s.last_intent) and bool(self._same.match(_bare(m.text)))
            ),
            "complain": lambda s, m, i: (
                s.last_intent not in (None, "harassment_complaint")
                and bool(self._complain_rx.match(_bare(m.text)))
            ),
            # 花呗怎么提额 names the lender but asks another thing, well understood: no update
            "update": lambda s, m, i: (
                bool(m.parse.slots)
                and self._is_topic(s.last_intent)
                and not (i == "out_of_scope" and m.question and m.parse.confidence >= c.vague)
            ),
            "worried": lambda s, m, i: told(m, i) and bool(self._worried.search(m.text)),
            # 住院费能报销吗 is another topic's question, not a hardship told
            "hardship": lambda s, m, i: told(m, i) and not m.question and bool(self._hardship.search(m.text)),
            "miss": lambda s, m, i: True,
            "lost": lambda s, m, i: (
                i == "out_of_scope"
                and self._is_topic(s.last_intent)
                and (m.parse.ranking[0][1] if m.parse.ranking else 0.0) < c.lost
            ),
            "chat": lambda s, m, i: True,
        }
        self._handlers = self._check_table()
        self._leaves = {(event, name): tuple(nxt.split("|")) for _, _, event, name, nxt in TABLE}
        #: transitions a handler made that its table row does not list (empty unless the code drifts)
        self.undeclared: list[tuple[str, str, str]] = []

    # ------------------------------------------------------------------ events
    def _is_topic(self, intent: str | None) -> bool:
        return intent is not None and intent in self.intents and intent not in self.chat

    def _practical(self, s: Session, m: Message, intent: str) -> bool:
        return (
            intent not in self.support_off
            and intent in self.intents
            and m.question
            and m.parse.confidence >= self.config.practical
        )

    def _follow_up(self, s: Session, m: Message, intent: str) -> bool:
        said_facts = bool(set(m.parse.slots) - {"monthly_budget"}) or bool(m.debts) or m.product is not None
        if m.correction and said_facts:
            return True  # 不是12天是42天: the last answer again (or the facts, if there was none)
        return self._is_topic(s.last_intent) and said_facts and bool(self._ellipsis.match(m.residue))

    def _new_debt(self, s: Session, m: Message, intent: str) -> bool:
        """A statement naming a lender not heard of before, while others are already known."""
        known = {d.get("platform") for d in s.debts}
        in_focus = self.kinds.get(s.focused.get("platform", ""))
        new = [
            d
            for d in m.debts
            if d["platform"] not in known
            and not (
                in_focus == "bank" and self.kinds.get(d["platform"]) == "credit_card"
            )  # 是信用卡: its card
            and not (
                in_focus == "credit_card" and self.kinds.get(d["platform"]) == "bank"
            )  # 是建行的: its bank
        ]
        new = [d for d in new if not self._refines(s, m)]  # 信用卡是建行的
        return (
            intent in self.chat
            and bool(new)
            and (any(d.get("platform") for d in s.debts) or len(m.debts) > 1)
        )

    def _plan_fact(self, s: Session, m: Message, intent: str) -> bool:
        """The answer to the one question asked before the plan: any fact, 不知道, anything but a
        question on a topic (answered as such), a goodbye or a request for a person."""
        if not s.plan.startswith("ask:") or intent in ("goodbye", "human_agent"):
            return False
        told = bool(m.parse.slots or m.debts or m.elapsed is not None or m.product)
        unknown = bool(self._dont_know.search(m.text))  # 记不清了: the plan without it
        return told or unknown or not (m.question and self._is_topic(intent))

    def _write_plan(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        """The plan (plan.py) for what the session knows now: rebuilt every time, so a correction
        changes it and asking twice gives the current one.  Before the first plan, one question
        where a missing fact changes it (a deadline's day, the monthly budget …); never again."""
        plan = build_plan(s, self.kb, m.today, words=self)
        topic = "repayment_priority" if "repayment_priority" in self.intents else None
        ask = plan.question if not s.plan else None
        # what the plan's turn leaves behind either way: no question pending, the plan's topic
        settled: dict[str, Any] = {
            "pending": None,
            "asks": 0,
            "options": (),
            "last_intent": topic or s.last_intent,
        }
        if ask is not None:
            focus = next(
                (i for i, d in enumerate(s.debts) if ask.lender and d.get("platform") == ask.lender), s.focus
            )
            after = replace(
                s.remember([ask.question]),
                state=f"awaiting:{ask.fact}",
                plan=f"ask:{ask.fact}",
                focus=focus,
                **settled,
            )
            return after, Turn(ask.question, topic, "plan_ask", event)
        # the budget's lines are said: the income line is not said again before the plan
        after = replace(s.remember(plan.budget.lines), state="idle", plan="done", disclaimed=True, **settled)
        return after, Turn(plan.text, topic, "plan", event)

    def _plan_answer(self, s: Session, m: Message) -> Message:
        """两千, said when the plan asked for the monthly budget: the budget, not an amount owed."""
        slots = m.parse.slots
        if s.plan != "ask:monthly_budget" or "monthly_budget" in slots or "amount" not in slots or m.debts:
            return m
        told = {k: v for k, v in slots.items() if k != "amount"} | {"monthly_budget": slots["amount"]}
        return replace(m, parse=replace(m.parse, slots=told))

    def _kept(self, s: Session, m: Message, intent: str, event: str, cues: Mapping[str, str]) -> Session:
        """What a plan needs that no slot holds: the papers received and on which day, what already
        happened (distress, harassment, family or work called), the hardship named."""
        will = bool(self._will.search(m.text)) and "已经" not in m.text  # 会不会收到支付令: nothing came
        papers = list(s.papers)
        received = (
            (m.today - timedelta(days=m.elapsed)).isoformat() if m.elapsed is not None and m.today else ""
        )
        paper = cues.get("court_papers")
        if paper == "arbitration" and "裁决" in m.text:
            paper = "award"  # an award runs its 3 months; a notice of arbitration does not
        named = _named(m)
        if paper in PLAN_PAPERS and intent == "court_papers" and not will:
            at = next((i for i, p in enumerate(papers) if p[0] == paper), -1)
            if at < 0:
                papers.append((str(paper), received, named[0] if named else ""))
            else:
                old = papers[at]
                papers[at] = (old[0], received or old[1], named[0] if named else old[2])
        elif received and papers and (s.last_intent == "court_papers" or s.plan == "ask:received"):
            # 3天前收到的, said after the paper: that paper's day (the last one without a day)
            at = next((i for i in range(len(papers) - 1, -1, -1) if not papers[i][1]), len(papers) - 1)
            papers[at] = (papers[at][0], received, papers[at][2])
        tags = list(s.happened)
        if event == "distress":
            tags.append("distress")
        if not will and intent == "harassment_complaint":
            tags += ["harassed", *(c for c in (cues.get("harassment_complaint"),) if c)]
        if (
            not will
            and intent in ("harassment_complaint", "family_liability", "contact_emergency_contacts")
            and self._kin.search(m.text)
            and self._contacted.search(m.text)
        ):
            tags.append("family")  # 催收打电话给我儿子了
        found = self._hardship.search(m.text)
        return replace(
            s,
            papers=tuple(papers[-MAX_PAPERS:]),
            happened=tuple(dict.fromkeys(tags))[-MAX_HAPPENED:],
            hardship=found.group(0)[:MAX_HARDSHIP] if found else s.hardship,
        )

    def _note_means(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        """The turn is the acknowledgement _means_noted puts first, and the next useful step."""
        step = self._next(s)
        return replace(s.remember([step]), state="idle"), Turn(step, "inform", "means", event)

    def _refines(self, s: Session, m: Message) -> bool:
        """信用卡是建行的 with a card of no bank heard of: that card's bank, not a further debt."""
        cards = any(self.kinds.get(d.get("platform", "")) == "credit_card" for d in s.debts)
        return (
            cards
            and len(m.debts) == 1
            and m.debts[0].get("product") == "card"
            and self.kinds.get(m.debts[0]["platform"]) == "bank"
            and all(d.get("platform") != m.debts[0]["platform"] for d in s.debts)
        )

    def _refined(self, s: Session, m: Message, intent: str) -> bool:
        return intent in self.chat and not m.question and self._refines(s, m)

    def _note_change(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        line = fill(self.texts.noted, {"debt_label": debt_label(s.focused)})
        text = f"{line}\n{self._next(s)}"
        return replace(s.remember([line]), state="idle"), Turn(text, "inform", "noted", event)

    def _ambiguous(self, parse: Parse) -> bool:
        topics = [(i, s) for i, s in parse.ranking if i not in self.chat]
        if len(topics) < 2 or parse.ranking[0][0] in self.chat:
            return False
        (_, s1), (_, s2) = topics[0], topics[1]
        return s1 < self.config.clarify_below and s1 - s2 < self.config.clarify_margin

    def _choice(self, session: Session, parse: Parse) -> str | None:
        text = parse.text.strip().lower()
        if len(session.options) < 2:
            return None
        if self._first.match(text):
            return session.options[0]
        if self._second.match(text):
            return session.options[1]
        if parse.intent in session.options:
            return parse.intent
        return None

    def resolve(self, m: Message, last: str | None = None) -> str:
        """The intent a message asks about, in this conversation.

        A report of what already happened is its own case: 催收打给我妈了 is not "will they call my
        mother?" but a complaint; 已经被起诉了 is court papers.  A message the matcher is unsure of
        stays on the conversation's topic when that topic is nearly as likely.
        """
        intent = m.parse.intent
        text = m.text.lower()
        if self._crisis.search(text):
            return "distress"  # 欠了十几个平台 我真的撑不下去了: a crisis word is answered first, whatever else is said
        if (
            intent == "distress"
            and m.parse.confidence < self.config.distress_floor
            and not (self._worried.search(text) or self._despair.search(text))
        ):
            # read as distress only faintly, and no word of it: the next reading, or not understood
            intent = next(
                (
                    i
                    for i, v in m.parse.ranking
                    if i != "distress" and self._is_topic(i) and v >= self.config.threshold
                ),
                "out_of_scope",
            )
        if intent == "distress" and self._worried.search(text) and not self._crisis.search(text):
            return "out_of_scope"  # afraid, not in crisis (我真的好怕 only looks like 我真的好想去死): calmed
        ranking = dict(m.parse.ranking)
        top = m.parse.ranking[0][1] if m.parse.ranking else 0.0
        best = m.parse.ranking[0][0] if m.parse.ranking else intent
        c = self.config
        if intent == "out_of_scope" and self._is_topic(last) and self._is_topic(best) and top >= c.in_context:
            intent = best
        if intent == "out_of_scope" and self._is_topic(best) and top >= c.in_context:
            # 老婆会不会被牵连: too little sign of a debt on its own, but words that plainly ask a case
            intent = self._reported(m, best, asked_only=True) or intent
            if intent == "out_of_scope" and self._reports(m, best):
                intent = best  # 他们说下周要上门: the report's own words confirm the best reading
        if (
            self._is_topic(last)
            and last != intent
            and top < c.sticky
            and last in ranking
            and ranking[last] >= top - c.sticky_margin
            and intent not in self.support_off - self.chat
        ):
            intent = str(last)
        if self._is_topic(last) and intent != last and self._follows(m, str(last), intent):
            intent = str(last)  # 去哪申请 / 他们能这样吗: a point of the topic in focus
        elif intent != last or not self._is_topic(last):
            intent = self._pointed(m, intent, focused=self._is_topic(last))
        return self._reported(m, intent) or intent

    def _reports(self, m: Message, target: str) -> bool:
        """The message says in a report's own words what happened in ``target``'s case."""
        return any(r.target == target and any(w in m.text for w in r.words) for r in self.texts.reported)

    def _reported(self, m: Message, intent: str, *, asked_only: bool = False) -> str | None:
        """The case a report of what already happened is (bot.yaml ``reported``), or None; with
        ``asked_only``, only the rules whose words plainly ask (牵连, 替我还)."""
        for rule in self.texts.reported:
            if asked_only and not rule.asked:
                continue
            if intent in rule.sources and any(w in m.text for w in rule.words):
                if not rule.asked and self._will.search(m.text) and "已经" not in m.text:
                    continue  # 会不会打给我妈: still a question about what may happen
                return rule.target
        return None

    def _pointed(self, m: Message, intent: str, *, focused: bool = False) -> str:
        """The topic of the one point a message plainly asks for, where the parse is unsure of it:
        招联的催收堵在我家门口不走 asks harassment_complaint's point on a visit, however it parses,
        and of two topics scored within a hair (信用卡欠了五万还不上会坐牢吗: negotiate 0.49, lawsuit
        0.47) the one whose point it asks."""
        c = self.config
        if intent in self.support_off - self.chat or not m.points:
            return intent
        ranked = [(i, v) for i, v in m.parse.ranking if i not in self.chat][:2]
        if len(ranked) == 2 and intent == ranked[0][0]:
            (first, s1), (second, s2) = ranked
            if self._ambiguous(m.parse) or s1 - s2 < c.point_margin:
                side = self._tie_break(m, first, second)
                if side is not None:
                    return side
        if m.parse.confidence >= c.point_switch:
            return intent
        label, score = max(
            ((k, v) for k, v in m.points.items() if k != _BACKGROUND), key=lambda kv: kv[1], default=("", 0.0)
        )
        topic = label.split("/", 1)[0]
        if (
            score >= (c.point_direct if focused else c.point_rescue)  # in a conversation, only plainly
            and score >= m.parse.confidence + c.point_lead
            and score >= m.points.get(_BACKGROUND, 0.0) + c.point_margin
            and self._is_topic(topic)
        ):
            return topic
        return intent

    def _settled(self, m: Message) -> bool:
        """The points settle a close call between the two best topics: no need to ask which."""
        ranked = [i for i, _ in m.parse.ranking if i not in self.chat][:2]
        return len(ranked) == 2 and self._tie_break(m, ranked[0], ranked[1]) is not None

    def _tie_break(self, m: Message, first: str, second: str) -> str | None:
        """Of two topics scored within a hair, the one whose point the message plainly asks for."""
        c = self.config
        a, b = self._best(m, first), self._best(m, second)
        if abs(a - b) >= c.point_lead and max(a, b) >= c.point_rescue:
            return first if a > b else second
        return None

    def _best(self, m: Message, topic: str) -> float:
        """How well the message asks for the topic's best point (0 when points were not scored)."""
        scores = m.points
        return max((scores.get(label, 0.0) for label in self._labels.get(topic, ())), default=0.0)

    def _follows(self, m: Message, focus: str, intent: str) -> bool:
        """Whether a message asks for a point of the topic in focus rather than what it parses as.

        A message that clearly names another topic moves the focus: understood confidently, and
        its best point scoring as well as the focus' best.  Small talk, a request for a person and
        distress are never read as a follow-up.
        """
        c = self.config
        if intent in self.support_off - self.chat:
            return False
        if not self._is_topic(intent) and intent not in ("out_of_scope", "inform"):
            if m.parse.confidence >= c.point_switch:
                return False  # 谢谢 / 好的 / 再见, understood as such
        here = self._best(m, focus)
        if here < c.point_follow or here < m.points.get(_BACKGROUND, 0.0) + c.point_margin:
            return False  # an everyday question (车辆年检要带什么) that only looks like a follow-up
        if self._is_topic(intent):
            there = self._best(m, intent)
            if m.parse.confidence >= c.point_switch and m.evidence:
                return here + c.point_margin >= there  # named clearly: moves unless the focus fits as well
            return here + c.point_focus >= there  # the conversation counts for the topic in focus
        return True

    def classify(self, session: Session, message: Message) -> tuple[str, str]:
        """The event a message is and the handler the table gives it: the first row that fits."""
        intent = self.resolve(message, session.last_intent)
        state = session.state.split(":")[0]
        for row_state, row_mode, event, handler, _ in TABLE:
            if row_state not in ("*", state) or row_mode not in ("*", session.mode):
                continue
            if self._events[event](session, message, intent):
                return event, handler
        raise AssertionError("the table ends with a row for every message")  # pragma: no cover

    def _check_table(self) -> dict[str, Handler]:
        """Every event the table names has a test and every handler exists: checked once, at start."""
        handlers: dict[str, Handler] = {}
        for _, _, event, name, _ in TABLE:
            if event not in self._events:
                raise AssertionError(f"the dialogue table names an unknown event {event!r}")
            handler = getattr(self, "_" + name, None)
            if not callable(handler):
                raise AssertionError(f"the dialogue table names an unknown handler {name!r}")
            handlers[name] = handler
        return handlers

    # ------------------------------------------------------------------ step
    def step(self, session: Session, message: Message | Parse) -> tuple[Session, Turn]:
        """Advance one message."""
        if isinstance(message, Parse):
            message = Message(message, message.text.lower())
        if session.state == "ended":
            session = Session()
        message = self._plan_answer(session, self._bare_correction(session, message))
        event, handler = self.classify(session, message)
        heard = self._heard(message, event)
        # a topic's cues hold for the conversation (还清了 said once); a statement's for itself alone
        kept = {k: v for k, v in session.cues.items() if k not in self.chat}
        said = self._cues(message.text)
        cues = {**kept, **said}
        topic = session.last_intent or ""
        message = replace(
            message, every=heard.every, recase=topic in said and kept.get(topic) not in (None, said[topic])
        )
        owed = {d.get("platform") for d in session.debts}
        intent = self.resolve(message, session.last_intent)
        session = self._kept(
            replace(merge(session, heard, self.kinds), cues=cues), message, intent, event, said
        )
        after, turn = self._handlers[handler](session, message, event)
        if handler != "write_plan" and after.plan.startswith("ask:"):
            after = replace(after, plan="done")  # the question before the plan was asked: never again
        gone = [p for p in heard.paid if p in owed and all(d.get("platform") != p for d in session.debts)]
        if gone and turn.event != "distress":
            line = fill(self.texts.paid_noted, {"platform": "、".join(gone)})
            after, turn = after.remember([line]), replace(turn, text=f"{line}\n{turn.text}")
        after, turn = self._calm_first(after, message, turn)
        after, turn = self._loss_heard(after, message, turn)
        after, turn = self._means_noted(after, message, turn)
        allowed = self._leaves[(event, handler)]
        if after.state.split(":")[0] not in allowed:  # the table would not tell the truth: say so, answer
            self.undeclared.append((event, handler, after.state))
            log.error(
                "dialogue: %s/%s left the state %r, the table allows %s", event, handler, after.state, allowed
            )
        return after, turn

    def _own(self, m: Message, role: str) -> list[Number]:
        """The person's own numbers of a role: 我爸退休金两千六 is the father's, not theirs."""
        return [
            n
            for n in m.numbers
            if n.role == role and n.value and not self._kin.search(m.text[max(0, n.start - 10) : n.start])
        ]

    def _loss_heard(self, s: Session, m: Message, turn: Turn) -> tuple[Session, Turn]:
        """我老伴前年走了 留下一张信用卡欠了三万多: a hardship said with the debt's facts is heard
        before they are noted, and a death in the family before any answer (said alone, the
        hardship row answers it)."""
        if turn.event in ("hardship", "distress") or turn.intent in self.chat - {"inform"}:
            return s, turn
        found = self._hardship.search(m.text)
        if not found:
            return s, turn
        loss = any(w in found.group(0) for w in self._passed_away)
        if not loss and turn.intent != "inform":
            return s, turn  # 失业了 with a question: the answer is the kindness (the hardship row otherwise)
        heard = (
            self.texts.condolence
            if loss and not s.has_said(self.texts.condolence)
            else next((t for t in self.texts.hardship if not s.has_said(t)), "")
        )
        if not heard:
            return s, turn
        return s.remember([heard]), replace(turn, text=f"{heard}\n{turn.text}")

    def _means_noted(self, s: Session, m: Message, turn: Turn) -> tuple[Session, Turn]:
        """工资6000 房租1500: income and living costs said are acknowledged as what they are, in one
        line before the answer (a plan states them itself; a crisis answer is left alone)."""
        said = {
            "income": next((n.value for n in self._own(m, "income")), None),
            "costs": {n.word: n.value for role in ("living_cost", "savings") for n in self._own(m, role)},
        }
        facts = s.facts
        income, budget = facts.get("income"), facts.get("monthly_budget")
        if turn.event == "distress":
            return s, turn  # the crisis answer is left as it is
        if turn.intent in self.plan_intents and isinstance(income, int) and isinstance(budget, int):
            # a plan with a budget: what the income leaves after the costs, and whether the budget fits
            left = income - sum((facts.get("costs") or {}).values())
            values = {
                "means_label": self._means(facts),
                "left_money": money(max(0, left - budget)),
                "budget_money": money(budget),
            }
            line = fill(self.texts.means_over if budget > left else self.texts.means_left, values)
        else:
            label = self._means(said)
            line = fill(self.texts.means_noted, {"means_label": label}) if label else ""
        if not line or s.has_said(line):
            return s, turn
        if turn.intent == "out_of_scope" and s.debts:
            # 一个月只有2千块工资: a fact of the person's means in a debt conversation, not off topic
            step = self._next(s)
            return s.remember([line, step]), replace(
                turn, text=f"{line}\n{step}", intent="inform", variant="means"
            )
        if turn.event == "hardship":  # 老伴走了: the kind line first, then the facts noted
            kind, _, rest = turn.text.partition("\n")
            return s.remember([line]), replace(turn, text="\n".join(x for x in (kind, line, rest) if x))
        return s.remember([line]), replace(turn, text=f"{line}\n{turn.text}")

    def _calm_first(self, s: Session, m: Message, turn: Turn) -> tuple[Session, Turn]:
        """我好慌，花呗和借呗都逾期了: fear said with a question or a fact is answered, and heard
        first, once a conversation, with a calming line (alone, it is the reassure turn itself)."""
        lines = self.texts.reassure
        if (
            not lines
            or not turn.text
            or turn.intent == "distress"
            or s.mode == "support"
            or not self._worried.search(m.text)
            or any(s.has_said(t) for t in lines)
        ):
            return s, turn
        return s.remember([lines[0]]), replace(turn, text=f"{lines[0]}\n{turn.text}")

    def _heard(self, m: Message, event: str) -> Heard:
        slots = m.parse.slots
        values: dict[str, int] = (
            {} if m.debts else {k: slots[k] for k in ("days_overdue", "amount") if k in slots}
        )
        return Heard(
            values,
            tuple(m.debts),
            m.product if not m.debts else None,
            slots.get("monthly_budget"),
            m.correction,
            elliptical=event == "follow_up",
            every=bool(values) and bool(self._every.search(m.text)),
            income=next((n.value for n in self._own(m, "income")), None),
            costs=tuple((n.word, n.value) for n in self._own(m, "living_cost") if n.value is not None),
            denied=m.denied,
            denied_values=dict(m.denied_values),
            # 微粒贷已经还清了: that debt is no longer owed (a part paid, 还了一半, names an amount)
            paid=tuple(
                d["platform"]
                for d in m.debts
                if "amount" not in d and not m.question and self._paid.search(m.text)
            ),
        )

    def _bare_correction(self, s: Session, m: Message) -> Message:
        """其实是2000 / 不对 是两千 after 每个月能拿出1000: a correction with one bare number and no
        word for what it is corrects the number the person stated last; it is heard as that fact
        told again (an inform), so the reply says what was changed."""
        slot = s.last_number
        if not (m.correction and slot) or m.debts or m.parse.slots or m.question or m.numbers:
            return m  # a number with a word of its own (房租其实是两千) is that, not a correction
        found = [run for run in _BARE_NUMBER.findall(m.text) if to_int(run)]
        value = to_int(found[0]) if len(found) == 1 else None
        if not value:
            return m
        parse = replace(
            m.parse, intent="inform", confidence=max(m.parse.confidence, 0.5), slots={slot: value}
        )
        return replace(m, parse=parse)

    def _cues(self, text: str) -> dict[str, str]:
        """For each intent with cues, the first of its cases the text names."""
        found = {}
        for name, cues in self._cue_words:
            for cue, words in cues:
                if any(w in text for w in words):
                    found[name] = cue
                    break
        return found

    # ------------------------------------------------------------------ handlers
    def _answer(
        self, s: Session, m: Message, event: str, intent: str | None = None, *, general: bool = False
    ) -> tuple[Session, Turn]:
        name = intent or self.resolve(m, s.last_intent)
        name = name if name in self.intents else "out_of_scope"
        facts = s.facts
        if m.elapsed is not None:
            facts["elapsed"] = m.elapsed  # 今天已经第10天了: this answer's, never a debt's
        if name == "out_of_scope" and "platform" not in m.parse.slots:
            # 今天天气怎么样 after a 花呗 question is no question for 花呗's customer service
            facts = {k: v for k, v in facts.items() if k != "platform"}
        if general:
            facts = {k: v for k, v in facts.items() if k not in self.intents[name].needs}
        s, text, variant, said = self.compose(
            s,
            name,
            facts,
            m.text,
            event,
            every=m.every,
            named=_named(m),
            told=not m.question,
            scores=m.points,
            pick=self._leads(self.intents[name], facts, s.cues.get(name)) if m.recase else (),
            confidence=m.parse.confidence if name != m.parse.intent else 1.0,
        )
        last = name if name not in self.chat else s.last_intent
        return (
            replace(s, state="idle", pending=None, asks=0, options=(), last_intent=last),
            Turn(text, name, variant, event, said),
        )

    def _comfort(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        s, text, variant, _ = self.compose(s, "distress", s.facts)
        if variant in ("again", "beyond", "next"):  # the help lines were given: listen, and keep one in reach
            return self._support(replace(s, mode="support"), m, event)
        return (
            replace(s, state="idle", pending=None, asks=0, options=(), mode="support"),
            Turn(text, "distress", variant, event),
        )

    def _support(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        lines = [t for t in self.texts.support if not s.has_said(t)] or list(self.texts.support)
        text = lines[0] if lines else self.texts.support_line
        s = s.remember([text])
        return (
            replace(s, state="idle", pending=None, asks=0, options=(), mode="support"),
            Turn(text, "distress", "support", event),
        )

    def _answer_kindly(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        s, turn = self._answer(s, m, event, general=True)
        return self._kindly(s, turn)

    def _held(self, m: Message) -> bool:
        """The message is one the support rows answer: despair, a close, where to start, debts."""
        return bool(
            self._despair.search(m.text)
            or self._alone.search(m.text)
            or self._closing.search(m.text)
            or self._start.search(m.text)
            or m.debts
        )

    def _kindly(self, s: Session, turn: Turn, *, always: bool = False) -> tuple[Session, Turn]:
        """The turn with the line of support after it (once a conversation, or ``always``); the
        session stays in support mode: a person in distress is held to the end."""
        tail = self.texts.support_line
        text = turn.text if s.has_said(tail) and not always else f"{turn.text}\n{tail}"
        state = replace(s.remember([tail]), state="idle", pending=None, asks=0, options=(), mode="support")
        return state, replace(turn, text=text)

    def _debts_text(self, s: Session) -> str:
        return "、".join(debt_label(d) for d in s.debts if d.get("platform") or d.get("amount"))

    def _hope(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        return self._kindly(s, Turn(self.texts.support_hope, "distress", "hope", event), always=True)

    def _hear_alone(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        return self._kindly(s, Turn(self.texts.support_alone, "distress", "alone", event), always=True)

    def _warm_close(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        return self._kindly(s, Turn(self.texts.support_close, "distress", "close", event), always=True)

    def _first_step(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        debts = self._debts_text(s)
        text = fill(
            self.texts.support_start_debts if debts else self.texts.support_start, {"debts_text": debts}
        )
        return self._kindly(s.remember([text]), Turn(text, "distress", "first_step", event))

    def _support_debts(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        total = sum(d["amount"] for d in s.debts if isinstance(d.get("amount"), int))
        values = {"debts_text": self._debts_text(s), "total_money": money(total) if total else ""}
        text = fill(self.texts.support_debts, values)
        return self._kindly(s.remember([text]), Turn(text, "distress", "debts", event))

    def _end(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        text, variant = self.render("goodbye", s.facts)
        if s.debts and s.plan != "done" and self.kb.plan is not None:
            # a conversation that named a debt ends with the plan to take away, unless it was given
            plan = build_plan(s, self.kb, m.today, words=self)
            text = f"{self.kb.plan.headings['farewell']}\n{plan.text}\n\n{text}"
            variant = "plan"
        return Session(state="ended"), Turn(text, "goodbye", variant, event)

    def _answer_choice(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        chosen = self._choice(s, m.parse) or s.options[0]
        return self._answer_or_ask(replace(s, options=()), m, event, chosen)

    def _answer_pending(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        return self._answer(s, m, event, s.pending or s.last_intent or "inform")

    def _answer_general(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        s, turn = self._answer(s, m, event, s.pending or "inform", general=True)
        return s, replace(turn, text=f"{self.texts.forget_slot}\n{turn.text}")

    def _ask_again_or_general(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        """No answer to a question the bot asked (很久了, 嗯): asked once more, in other words; the
        next time the general answer, never the same question again."""
        if s.asks >= 2 or s.pending not in self.intents:
            return self._answer_general(s, m, event)
        return replace(s, asks=s.asks + 1), Turn(self.texts.ask_again, s.pending, "ask", event)

    def _answer_or_ask(
        self, s: Session, m: Message, event: str, intent: str | None = None
    ) -> tuple[Session, Turn]:
        it = self.intents[intent or self.resolve(m, s.last_intent)]
        missing = [slot for slot in it.needs if s.facts.get(slot) is None]
        if missing:
            ask = it.ask
            platform = s.facts.get("platform")
            if platform and _several(s):
                ask = fill(self.texts.ask_about, {"platform": platform}) + ask  # 招商银行那笔，逾期几天了？
            if s.has_said(ask):
                # asked already, and asked about again instead of answered: the general answer now
                return self._answer(s, m, event, it.name, general=True)
            return (
                replace(
                    s.remember([ask]),
                    state=f"awaiting:{missing[0]}",
                    pending=it.name,
                    asks=1,
                    last_intent=it.name,
                    options=(),
                ),
                Turn(ask, it.name, "ask", event),
            )
        s, turn = self._answer(s, m, event, it.name)
        return self._also(s, m, turn)

    def _also(self, s: Session, m: Message, turn: Turn) -> tuple[Session, Turn]:
        """会上征信吗 会起诉吗: a second question of the message on another topic is answered too,
        by that topic's first point; the shorter answer goes first and the disclaimer stays last."""
        other = next(
            (
                i
                for i, score in m.questions
                if i != turn.intent and self._is_topic(i) and score >= self.config.second_question
            ),
            None,
        )
        if other is None or turn.variant == "ask" or not self._is_topic(turn.intent):
            return s, turn
        it = self.intents[other]
        leads = self._leads(it, s.facts, s.cues.get(other))[:1]
        s2, text, _, said = self.compose(s, other, s.facts, pick=leads)
        if not text:
            return s, turn
        tail = self.texts.disclaimer
        first = turn.text.replace(f"\n{tail}", "")
        # the disclaimer is said once, after both; the short tag only where it was said before
        tag = self.texts.tag if not (tail in turn.text or tail in text) else ""
        second = text.replace(f"\n{tail}", "").replace(self.texts.tag, tag).removeprefix("· ")
        parts = sorted((first, second), key=len)
        joined = "\n".join(parts) + (f"\n{tail}" if tail in turn.text or tail in text else "")
        s2 = replace(s2, last_intent=turn.intent)  # the topic asked first stays the one in focus
        return s2, replace(turn, text=joined, points=(*turn.points, *said))

    def _answer_last(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        if not self._is_topic(s.last_intent):
            return self._answer(s, m, event, "inform")
        it = self.intents[s.last_intent or ""]
        if event == "update" and any(s.facts.get(slot) is None for slot in it.needs):
            # 那张欠了三万: facts about another debt, not an answer to a question; noted, not asked about
            values = self.values(s.facts)
            lines = [self._noted(s, values, _named(m)) if values.get("debt_label") else "", self._next(s)]
            text = "\n".join(line for line in lines if line)
            return s.remember(lines), Turn(text, "inform", "noted", event)
        s, turn = self._answer_or_ask(s, m, event, s.last_intent)
        noted = self._noted(s, self.values(s.facts, snippets=False), _named(m))
        if m.correction and turn.variant not in ("repeat", "ask") and noted not in turn.text:
            # 不是一万，是一万二 answered by the rest of the topic: the corrected fact comes first
            turn = replace(turn, text=f"{noted}\n{turn.text}")
            s = s.remember([noted])
        return s, turn

    def _clarify(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        topics = [i for i, _ in m.parse.ranking if i not in self.chat][:2]
        labels = [self.intents[i].label for i in topics]
        text = fill(self.texts.clarify, {"first": f"“{labels[0]}”", "second": f"“{labels[1]}”"})
        return (
            replace(s, state="clarify", options=tuple(topics), pending=None),
            Turn(text, None, "clarify", event),
        )

    def _reassure(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        calm = (
            next((t for t in self.texts.reassure if not s.has_said(t)), self.texts.reassure[-1])
            if self.texts.reassure
            else ""
        )
        lines = [line for line in (calm, self._next(s)) if line]
        return s.remember(lines), Turn("\n".join(lines), s.last_intent, "reassure", event)

    def _understand(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        """家里出了点事 / 失业了: said kindly once, then the question the bot was waiting on (or the next step)."""
        heard = next((t for t in self.texts.hardship if not s.has_said(t)), "")
        pending = self.intents.get(s.pending or "") if s.state.startswith("awaiting") else None
        ask = pending.ask if pending is not None and pending.ask and not s.has_said(pending.ask) else ""
        days = self.texts.next_days
        if not ask and s.debts and s.facts.get("days_overdue") is None and not s.has_said(days):
            ask = days  # a lender named, the days not yet: those first
        lines = [line for line in (heard, ask or self._next(s)) if line]
        return s.remember(lines), Turn("\n".join(lines), s.last_intent, "understand", event)

    def _lost(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        it = self.intents[s.last_intent or ""]
        text = fill(self.texts.lost, {"label": it.label})
        if s.has_said(text):
            text = self._next(s)
        return s.remember([text]), Turn(text, None, "lost", event)

    def _complain(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        text = fill(self.texts.complain, self.values(s.facts))
        return s.remember([text]), Turn(text, s.last_intent, "complain", event)

    def _plan(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        several = sum(1 for d in s.debts if d.get("platform")) > 1
        asked = self.resolve(m, s.last_intent) if m.question else None
        name = (
            asked  # 欠了三家 每月能拿出两千 先还哪个: the plan the message asks for
            if asked in self.plan_intents and asked in self._budget_plans
            else "repayment_priority"
            if several or s.last_intent == "repayment_priority"
            else "negotiate_repayment"
        )
        return self._answer(s, m, event, name if name in self.intents else None)

    def _list_debts(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        lines = [self._snippet("debts_lead", s.facts) or ""]
        lines += [self._snippet("debt_line", d) or "" for d in s.debts if d.get("platform")]
        lines.append(self._next(s))
        text = "\n".join(line for line in lines if line)
        return s.remember(lines[-1:]), Turn(text, "inform", "debts", event)

    def _what_now(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        it = self.intents[s.last_intent or ""]
        point, score = self._asked(s, m.points, it, s.facts, self.config.point_follow)
        if point is not None and f"{it.name}/{point.name}" not in s.told:
            return self._answer_last(s, m, event)  # the topic's own next step (收到支付令 → 怎么办)
        unsaid = [
            p
            for p, label in zip(it.points, self._labels.get(it.name, ()), strict=False)
            if label not in s.told and self._wording(p, s.facts, s.cues.get(it.name)) is not None
        ]
        if (
            point is not None
            and not unsaid
            and s.last_intent != "what_to_do"
            and "what_to_do" in self.intents
        ):
            # the topic's steps were all said: what to do about the debt itself, for the facts known
            return self._answer(s, m, event, "what_to_do")
        if (
            s.last_intent in self._own_steps
            or s.last_intent == "what_to_do"
            or "what_to_do" not in self.intents
        ):
            return self._go_on(s, m, event)
        return self._answer(s, m, event, "what_to_do")

    def _go_on(self, s: Session, m: Message, event: str) -> tuple[Session, Turn]:
        """然后呢 / 还有呢: the topic's next point not yet said (in the order written), else the next step."""
        it = self.intents.get(s.last_intent or "")
        if it is not None and it.name not in self.chat:
            facts = s.facts
            cue = s.cues.get(it.name)
            for p in it.points:
                if f"{it.name}/{p.name}" in s.told or self._wording(p, facts, cue) is None:
                    continue
                after, text, variant, said = self.compose(s, it.name, facts, m.text, event, pick=(p,))
                if said:
                    return replace(after, state="idle"), Turn(text, it.name, variant, event, said)
        text = self._next(s)
        return s.remember([text]), Turn(text, s.last_intent, "next", event)

    def _next(self, s: Session) -> str:
        """The next useful step for what the person has said so far."""
        facts = s.facts
        steps = []
        if _several(s) and s.budget is None:
            steps.append(self.texts.next_budget)
        if s.last_intent in self._staged and facts.get("days_overdue") is None:
            steps.append(self.texts.next_days)
        if not s.debts:
            steps.append(self.texts.next_situation)
        steps.append(self.texts.next_topic)
        return next((step for step in steps if not s.has_said(step)), self.texts.next_idle)

    # ------------------------------------------------------------------ answers
    def kind(self, slots: dict[str, Any]) -> str | None:
        """The kind of lender the slots speak of; a bank is its card or its loan once that is known."""
        platform = slots.get("platform")
        kind = self.kinds.get(platform) if platform else None
        if kind == "bank":
            return BANK_PRODUCTS.get(slots.get("product") or "", "bank")
        return kind

    def _snippet(self, name: str, slots: dict[str, Any]) -> str | None:
        variants = self.kb.snippets.get(name)
        if not variants:
            return None
        chosen = choose(variants, slots, self.kind(slots))
        return fill(chosen.text, self.values(slots, snippets=False)) if chosen else None

    def values(self, slots: dict[str, Any], *, snippets: bool = True) -> dict[str, Any]:
        """Template values: the slots, derived phrases, and the snippets of bot.yaml."""
        kind = self.kind(slots)
        values: dict[str, Any] = {k: v for k, v in slots.items() if v is not None and k != "debts"}
        if isinstance(slots.get("elapsed"), int):
            values["days_left"] = max(0, 15 - slots["elapsed"])  # of the 15 days of 支付令 and 答辩
        if isinstance(slots.get("days_overdue"), int):
            values["duration"] = duration(slots["days_overdue"])
        if isinstance(slots.get("amount"), int):
            values["money"] = money(slots["amount"])
        budget = slots.get("monthly_budget", slots.get("budget"))
        if isinstance(budget, int) and budget > 0:
            values["budget_money"] = money(budget)
            debts = [d for d in slots.get("debts") or () if isinstance(d.get("amount"), int)]
            total = sum(d["amount"] for d in debts) if len(debts) > 1 else slots.get("amount")
            if isinstance(total, int):
                values["total_money"] = money(total)
                months = math.ceil(total / budget)
                values["months"] = months
                values["months_text"] = f"{months}个月" if months < 24 else duration(months * 30)
                values["plan_total"] = fill(self.texts.plan_total, values)
        values["debt_label"] = debt_label(slots)
        # who to call: the bank or lender by name, 发卡行 for a card of no named bank, else 平台
        platform = slots.get("platform")
        generic_card = kind == "credit_card" and self.kinds.get(platform or "") == "credit_card"
        values["lender"] = "发卡行" if generic_card else (platform or "平台")
        complaint = self.kb.kinds[kind].complaint if kind else self.texts.complaint
        values["complaint"] = fill(complaint, values)
        if not snippets:
            return values
        # the snippets of bot.yaml are filled only when a template names one: a reply uses two or
        # three of them, and filling all of them was most of the cost of composing an answer

        def snippet(name: str, known: dict[str, Any]) -> str | None:
            if name == "plan":
                if not (slots.get("debts") and "plan_line" in self.kb.snippets):
                    return None
                lines = [
                    self._snippet("plan_line", {**d, "monthly_budget": budget}) or ""
                    for d in slots["debts"]
                    if d.get("platform")
                ]
                return "\n".join(line for line in lines if line)
            variants = self.kb.snippets.get(name)
            chosen = choose(variants, slots, kind) if variants else None
            return fill(chosen.text, known) if chosen is not None else None

        return Values(values, snippet)

    @staticmethod
    def _means(slots: Mapping[str, Any]) -> str:
        """每月收入6000元、房租1500元: the income and living costs heard of, as said."""
        parts = [f"每月收入{money(slots['income'])}"] if isinstance(slots.get("income"), int) else []
        parts += [f"{name}{money(v)}" for name, v in (slots.get("costs") or {}).items()]
        return "、".join(parts)

    def note(self, slots: dict[str, Any]) -> str:
        """What the bot says of the lender in focus: its own note, its kind's, or its product's."""
        platform = slots.get("platform")
        if not platform:
            return ""
        text = self.own_notes.get(platform) or self.kb.kinds[self.kind(slots) or "bank"].note
        return fill(text, {"platform": platform})

    def _wording(self, p: Point, facts: Mapping[str, Any], cue: str | None) -> Answer | None:
        """The point's wording for these facts, or None where the point does not apply."""
        kind = self.kind(dict(facts))
        if p.when and not matches(p.when, facts, kind, cue):
            return None
        if p.unless and matches(p.unless, facts, kind, cue):
            return None
        return choose(p.variants, facts, kind, cue)

    def _leads(self, it: Intent, facts: Mapping[str, Any], cue: str | None) -> tuple[Point, ...]:
        """The points of the topic's first answer for these facts."""
        kind = self.kind(dict(facts))
        return tuple(
            p
            for p in it.leads
            if (not p.lead_when or matches(p.lead_when, facts, kind, cue))
            and self._wording(p, facts, cue) is not None
        )

    def _asked(
        self,
        s: Session,
        scores: Mapping[str, float],
        it: Intent,
        facts: Mapping[str, Any],
        floor: float = 0.0,
    ) -> tuple[Point | None, float]:
        """The point of a topic the message asks for best, among those that apply and score at
        least ``floor``, and its score; a point said already ranks ``point_said`` lower, so a close
        point not yet said goes first."""
        if not scores:
            return None, 0.0
        cue = s.cues.get(it.name)
        best: Point | None = None
        top = rank = 0.0
        for p, label in zip(it.points, self._labels[it.name], strict=True):
            score = scores.get(label)
            if score is None or score < floor or self._wording(p, facts, cue) is None:
                continue
            ranked = score - (self.config.point_said if label in s.told else 0.0)
            if ranked > rank:
                best, top, rank = p, score, ranked
        return best, top

    def _legal(self, it: Intent, points: tuple[Point, ...]) -> bool:
        return any(it.legal if p.legal is None else p.legal for p in points)

    def render(self, intent: str, slots: dict[str, Any], cue: str | None = None) -> tuple[str, str]:
        """The topic's first answer for these facts (its lead points), and the wordings' names.

        The answer comes first; the lender's note and, for a legal answer, the disclaimer follow.
        """
        it = self.intents.get(intent) or self.intents.get("out_of_scope")
        if it is None:
            return "", "none"
        chosen = [
            (p, w) for p in self._leads(it, slots, cue) if (w := self._wording(p, slots, cue)) is not None
        ]
        values = self.values(slots)
        parts = [fill(w.text, values) for _, w in chosen]
        if self._legal(it, tuple(p for p, _ in chosen)):
            parts += [self.note(slots), self.texts.disclaimer]
        return "\n".join(p for p in parts if p), "+".join(w.name for _, w in chosen) or "none"

    def render_point(
        self, intent: str, point: str, slots: dict[str, Any], cue: str | None = None
    ) -> str | None:
        """One point as said for these facts, or None where it does not apply (tests, the lint)."""
        it = self.intents[intent]
        p = it.point(point)
        w = self._wording(p, slots, cue) if p is not None else None
        return fill(w.text, self.values(slots)) if w is not None else None

    def compose(
        self,
        s: Session,
        intent: str,
        facts: dict[str, Any],
        asked: str = "",
        event: str = "",
        *,
        every: bool = False,
        named: tuple[str, ...] = (),
        told: bool = False,
        scores: Mapping[str, float] | None = None,
        pick: tuple[Point, ...] = (),
        confidence: float = 1.0,
    ) -> tuple[Session, str, str, tuple[str, ...]]:
        """The answer as this conversation needs it: the point asked for, nothing said twice.

        On a topic new to the conversation the answer is its lead points, or the one point the
        message plainly asks for; on the topic in focus, the point the message asks for best.  A
        point already said is not said again: its short ``again`` line, else what is not known
        and where to ask, else the next useful step.  The lender's note comes once per lender, the
        disclaimer once per session and, after it, a short tag on every legal answer.
        Returns the session, the text, the wordings' names and the points said.
        """
        it = self.intents.get(intent) or self.intents["out_of_scope"]
        cue = s.cues.get(it.name)
        c = self.config
        chosen = pick
        if event in ("follow_up", "update") and told:
            scores = None  # 不是花呗是借呗 / 安逸花八千: new facts, the topic's answer again for them
        if not chosen:
            focus = it.name == s.last_intent
            point, score = self._asked(s, scores or {}, it, facts, c.point_follow if focus else 0.0)
            # a first question on the topic: its point when it plainly asks one (or when the parse
            # was unsure and the point is what named the topic, see _pointed); a first statement
            # (被限高了) gets the topic's first answer for its case
            direct = min(c.point_direct, max(c.point_rescue, confidence + c.point_lead))
            if point is not None and score >= (c.point_follow if focus else direct) and (focus or not told):
                # the topic's own question again (美团那笔会坐牢吗) is its whole first answer, for
                # the facts now known: what it says anew is said, the rest is not repeated
                chosen = self._leads(it, facts, cue) if point is it.leads[0] else (point,)
        unasked = not chosen and it.name == s.last_intent  # on the topic, but no point of it asked for
        if not chosen:
            chosen = self._leads(it, facts, cue)
        worded = [(p, w) for p in chosen if (w := self._wording(p, facts, cue)) is not None]
        values = self.values(facts)
        body = [line for _, w in worded for line in fill(w.text, values).split("\n") if line.strip()]
        # a line not said whole may still hold a sentence that was (你说欠约1.2万元，先算算…): left out
        fresh = [kept for line in body if not s.has_said(line) and (kept := self._unsaid(s, line))]
        name = "+".join(w.name for _, w in worded)
        labels = tuple(f"{it.name}/{p.name}" for p, _ in worded)
        platform = facts.get("platform")
        legal = self._legal(it, tuple(p for p, _ in worded))
        stated = bool(fresh)  # a rule is stated in this reply (it carries the tag)
        if body and not fresh and it.name not in self.chat:
            new_lender = legal and platform and platform not in s.noted
            if every and _several(s) and "duration" in values:
                lead = fill(self.texts.noted_every, values)  # 都逾期一个多月了: said of every debt
            elif (event == "update" or (event == "follow_up" and told)) and values.get("debt_label"):
                # 安逸花八千，逾期二十天 / 不是五万是八万: the facts told, acknowledged
                lead = self._noted(s, values, named)
            elif new_lender:
                lead = fill(self.texts.same, {"platform": platform})  # 那花呗呢: the same holds
            elif event == "follow_up" and values.get("debt_label"):
                lead = self._noted(s, values, named)  # 不对，是十天: the fact, acknowledged
            else:
                lead = ""
            if lead:
                fresh, name, labels = [lead, self._next(s)], "noted", ()
            else:
                # asked for again: its short line; asked for nothing this topic holds: where to ask
                fresh, name = self._once_more(s, it, [] if unasked else [p for p, _ in worded], values)
                stated = name == "again"
                labels = labels if stated else ()
        elif not fresh:
            # a greeting or a thank-you may be said again; a statement's acknowledgement is not
            fresh = body if it.name in self.repeatable else [self._next(s)]
        if legal and stated and fresh and s.disclaimed:
            fresh[-1] = f"{fresh[-1]}{self.texts.tag}"
        if legal and platform and platform not in s.noted:
            fresh.append(self.note(facts))
            s = replace(s, noted=(*s.noted, platform))
        if legal and not s.disclaimed:
            fresh.append(self.texts.disclaimer)
            s = replace(s, disclaimed=True)
        s = s.remember([*fresh, *(p for line in fresh for p in _SENTENCE.split(line))]).tell(labels)
        text = "\n".join(line for line in fresh if line)
        if len(worded) == 1:
            text = text.removeprefix("· ")  # a point said on its own is no item of a list
        return s, text, name, labels

    def _once_more(
        self, s: Session, it: Intent, points: list[Point], values: Mapping[str, Any]
    ) -> tuple[list[str], str]:
        """A point asked for again: its own short line (once), or plainly what is not known here
        and where to ask (once), or the next useful step; never the point itself again."""
        for p in points:
            if p.again:
                line = fill(p.again, values)
                if not s.has_said(line):
                    return [line], "again"
        beyond = fill(it.beyond or self.texts.beyond, values)
        if not s.has_said(beyond):
            return [beyond], "beyond"
        return [self._next(s)], "next"

    def _noted(self, s: Session, values: dict[str, Any], named: tuple[str, ...]) -> str:
        """记下了：… for the debt in focus, or for each debt the message named (花呗欠了八千多，借呗两万)."""
        if len(named) > 1:
            labels = [label for d in s.debts if d.get("platform") in named and (label := debt_label(d))]
            if len(labels) > 1:
                return fill(self.texts.noted, {**values, "debt_label": "；".join(labels)})
        return fill(self.texts.noted, values)

    @staticmethod
    def _unsaid(s: Session, line: str) -> str:
        parts = _SENTENCE.split(line)
        if len(parts) < 2:
            return line
        return "".join(p for p in parts if len(p.strip()) < 8 or not s.has_said(p))
