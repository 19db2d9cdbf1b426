"""What the bot remembers of one conversation, and how a message changes it.

A person may owe several lenders: the session keeps one record per lender (its days overdue,
amount and, for a bank, card or loan) and a focus, the debt spoken of last.  The public slots
``platform``/``days_overdue``/``amount`` are the focused debt's.  Sessions hold facts, never
the messages: what the bot already said is kept only as short digests of its lines.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

#: the facts a debt record may hold
DEBT_FIELDS = ("platform", "days_overdue", "amount", "product")
#: how many digests of said lines a session keeps (the oldest go first)
MAX_SAID = 80
#: messages a desk (a person after a hand-off) wrote into a session that are kept for the page
#: to fetch; ``desk_seq`` counts them all, so the page asks only for what it has not shown
MAX_DESK = 20
MAX_DESK_TEXT = 2000
#: how many living costs a session keeps by name (房租, 生活费 …; the oldest go first)
MAX_COSTS = 8
#: how many court or arbitration papers, and how many tags of what happened, a session keeps
MAX_PAPERS = 8
MAX_HAPPENED = 16
#: the longest hardship a session keeps (a word of bot.yaml's list, or 老伴前年走了)
MAX_HARDSHIP = 16


_STATE = re.compile(r"idle|ended|clarify|awaiting:[a-z_]+")
#: where the plan stands: never asked for, one question before it pending, or asked or written
_PLAN = re.compile(r"|done|ask:[a-z_]+")
_DATE = re.compile(r"|\d{4}-\d{2}-\d{2}")


def _typed(data: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{key} must be {kind.__name__} (got {type(value).__name__})")
    return value


def _number(data: Mapping[str, Any], key: str) -> float:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(f"{key} must be a number (got {type(value).__name__})")
    return float(value)


def digest(line: str) -> str:
    """A short, stable name for a line the bot said (the line itself is never stored)."""
    return hashlib.blake2s(line.strip().encode("utf-8"), digest_size=5).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """One conversation: its state, the debts heard of, and what was already said."""

    state: str = "idle"
    debts: tuple[dict[str, Any], ...] = ()
    #: index of the debt in focus, or -1 before any
    focus: int = -1
    #: what the person can pay per month, in yuan
    budget: int | None = None
    #: what they said they earn a month (工资, 退休金), and their monthly living costs by name
    #: (房租 → 1500): never a debt, they make a plan honest
    income: int | None = None
    costs: tuple[tuple[str, int], ...] = ()
    last_intent: str | None = None
    pending: str | None = None
    asks: int = 0
    options: tuple[str, ...] = ()
    #: per intent, the case of it the person last described (court_papers: payment_order …)
    cues: dict[str, str] = field(default_factory=dict)
    #: "support" after a distress turn, until the person clearly moves on
    mode: str = ""
    #: digests of the lines already said (see ``digest``)
    said: tuple[str, ...] = ()
    #: lenders whose note was already given
    noted: tuple[str, ...] = ()
    #: the points already said ("intent/point"), so a point asked for again is not said again
    told: tuple[str, ...] = ()
    disclaimed: bool = False
    #: messages in a row not understood (for a hand-off after several)
    misses: int = 0
    #: while handed to a person: until when (epoch seconds) and why; 0 when the bot has it
    handed_until: float = 0.0
    handoff_reason: str = ""
    #: the desk gave it back: the next reply starts with the hand-back line
    returned: bool = False
    #: what a person at the desk wrote into the conversation (the last MAX_DESK), and how many
    desk: tuple[str, ...] = ()
    desk_seq: int = 0
    #: the slot of the number the person stated last (amount, days_overdue, monthly_budget): what
    #: a bare number in a correction (其实是2000) corrects
    last_number: str = ""
    #: the court and arbitration papers the person said they received, as (paper, the day it came
    #: as an ISO date or "", the lender it is from or ""): a plan's deadlines count from that day,
    #: so the day is kept, never "5 days ago" (which is wrong tomorrow)
    papers: tuple[tuple[str, str, str], ...] = ()
    #: what already happened, as tags (distress, harassed, family, workplace, visit, exposure): a
    #: plan says where to complain for it and gives the help lines after distress
    happened: tuple[str, ...] = ()
    #: the hardship the person named (失业, 生病住院 …, as they said it): the reason in the plan's
    #: written request, instead of a blank
    hardship: str = ""
    #: the plan (issue 27): "" never asked for; "ask:<fact>" the one question asked before it;
    #: "done" once asked or written (a plan asked for again is written, never asked about again)
    plan: str = ""

    # ------------------------------------------------------------------ views
    @property
    def focused(self) -> dict[str, Any]:
        return dict(self.debts[self.focus]) if 0 <= self.focus < len(self.debts) else {}

    @property
    def slots(self) -> dict[str, Any]:
        """The public slots: the focused debt, the monthly budget, and every debt heard of."""
        out = {k: v for k, v in self.focused.items() if k in ("platform", "days_overdue", "amount")}
        if self.budget is not None:
            out["monthly_budget"] = self.budget
        if self.debts:
            out["debts"] = [dict(d) for d in self.debts]
        return out

    @property
    def facts(self) -> dict[str, Any]:
        """What answers are rendered from: the focused debt (with its product), budget and debts."""
        out = self.focused
        if self.budget is not None:
            out["monthly_budget"] = self.budget
        if self.income is not None:
            out["income"] = self.income
        if self.costs:
            out["costs"] = dict(self.costs)
        out["debts"] = [dict(d) for d in self.debts]
        return out

    def remember(self, lines: Sequence[str]) -> Session:
        said = list(self.said) + [digest(line) for line in lines if len(line.strip()) >= 8]
        return replace(self, said=tuple(dict.fromkeys(said))[-MAX_SAID:])

    def has_said(self, line: str) -> bool:
        return digest(line) in self.said

    def tell(self, labels: Sequence[str]) -> Session:
        """The session once these points were said (the oldest forgotten past MAX_SAID)."""
        told = tuple(dict.fromkeys((*self.told, *labels)))[-MAX_SAID:]
        return replace(self, told=told)

    # ------------------------------------------------------------------ storage
    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "debts": [dict(d) for d in self.debts],
            "focus": self.focus,
            "budget": self.budget,
            "income": self.income,
            "costs": dict(self.costs),
            "last_intent": self.last_intent,
            "pending": self.pending,
            "asks": self.asks,
            "options": list(self.options),
            "cues": dict(self.cues),
            "mode": self.mode,
            "said": list(self.said),
            "noted": list(self.noted),
            "told": list(self.told),
            "disclaimed": self.disclaimed,
            "misses": self.misses,
            "handed_until": self.handed_until,
            "handoff_reason": self.handoff_reason,
            "returned": self.returned,
            "last_number": self.last_number,
            "desk": list(self.desk),
            "desk_seq": self.desk_seq,
            "papers": [list(p) for p in self.papers],
            "happened": list(self.happened),
            "hardship": self.hardship,
            "plan": self.plan,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Session:
        """A session from its stored form; raises ValueError on a record that is not one.

        A store may hand back anything (a truncated write, another program's key): every field is
        checked, so a bad record never reaches the dialogue.
        """
        if not data:
            return cls()
        if not isinstance(data, Mapping):
            raise ValueError(f"a session record is a mapping (got {type(data).__name__})")
        state = _typed(data, "state", str, "idle")
        if not _STATE.fullmatch(state):
            raise ValueError(f"unknown state {state!r}")
        debts = []
        for d in _typed(data, "debts", list, []):
            if not isinstance(d, Mapping):
                raise ValueError("a debt is a mapping")
            debt = {k: v for k, v in d.items() if k in DEBT_FIELDS}
            for key in ("days_overdue", "amount"):
                if key in debt and (not isinstance(debt[key], int) or isinstance(debt[key], bool)):
                    raise ValueError(f"a debt's {key} is a number")
            if not isinstance(debt.get("platform", ""), str) or debt.get("product") not in (
                None,
                "card",
                "loan",
            ):
                raise ValueError("a debt's platform is a name and its product card or loan")
            debts.append(debt)
        focus = _typed(data, "focus", int, -1)
        if not -1 <= focus < max(1, len(debts)):
            raise ValueError(f"focus {focus} is not one of the {len(debts)} debts")
        budget = data.get("budget")
        if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool)):
            raise ValueError("budget is a number")
        income = data.get("income")
        if income is not None and (not isinstance(income, int) or isinstance(income, bool)):
            raise ValueError("income is a number")
        costs = _typed(data, "costs", dict, {})
        if len(costs) > MAX_COSTS or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in costs.items()
        ):
            raise ValueError(f"costs map at most {MAX_COSTS} names to numbers")
        strings = [_typed(data, key, list, []) for key in ("options", "said", "noted", "told", "desk")]
        cues = _typed(data, "cues", dict, {})
        if not all(isinstance(x, str) for xs in (*strings, list(cues), list(cues.values())) for x in xs):
            raise ValueError("options, said, noted, told, desk and cues hold text")
        papers = []
        for item in _typed(data, "papers", list, [])[-MAX_PAPERS:]:
            if (
                not isinstance(item, (list, tuple))
                or len(item) != 3
                or not all(isinstance(x, str) for x in item)
                or not _DATE.fullmatch(item[1])
            ):
                raise ValueError("a paper is [paper, ISO date or '', lender or '']")
            papers.append((str(item[0]), str(item[1]), str(item[2])))
        happened = _typed(data, "happened", list, [])
        if not all(isinstance(x, str) for x in happened):
            raise ValueError("happened holds text")
        plan = _typed(data, "plan", str, "")
        if not _PLAN.fullmatch(plan):
            raise ValueError(f"unknown plan state {plan!r}")
        last, pending = data.get("last_intent"), data.get("pending")
        if not all(v is None or isinstance(v, str) for v in (last, pending)):
            raise ValueError("last_intent and pending are intent names")
        return cls(
            state=state,
            debts=tuple(debts),
            focus=focus,
            budget=budget,
            income=income,
            costs=tuple(costs.items()),
            last_intent=last,
            pending=pending,
            asks=_typed(data, "asks", int, 0),
            options=tuple(strings[0]),
            cues=dict(cues),
            mode=_typed(data, "mode", str, ""),
            said=tuple(strings[1]),
            noted=tuple(strings[2]),
            told=tuple(strings[3][-MAX_SAID:]),
            disclaimed=bool(data.get("disclaimed")),
            misses=_typed(data, "misses", int, 0),
            handed_until=float(_number(data, "handed_until")),
            handoff_reason=_typed(data, "handoff_reason", str, ""),
            last_number=_last_number(data),
            returned=bool(data.get("returned")),
            desk=tuple(strings[4][-MAX_DESK:]),
            desk_seq=_typed(data, "desk_seq", int, 0),
            papers=tuple(papers),
            happened=tuple(happened[-MAX_HAPPENED:]),
            hardship=_typed(data, "hardship", str, "")[:MAX_HARDSHIP],
            plan=plan,
        )


# ---------------------------------------------------------------------- merging a message
@dataclass(frozen=True, slots=True)
class Heard:
    """The facts one message states, as the session merges them."""

    values: Mapping[str, int] = field(default_factory=dict)  # days_overdue, amount said of no lender
    debts: tuple[
        Mapping[str, Any], ...
    ] = ()  # per lender named: {platform, days_overdue?, amount?, product?}
    product: str | None = None  # a product said of no lender: 是信用卡 / 是贷款
    budget: int | None = None
    correction: bool = False
    #: an elliptical follow-up (花呗呢): a new lender takes the days of the one before
    elliptical: bool = False
    #: the days said hold for every debt (都逾期一个多月了, said of no lender)
    every: bool = False
    income: int | None = None
    costs: tuple[tuple[str, int], ...] = ()
    #: a correction's wrong lender (不是借呗是花呗 → 借呗) and wrong values ({"amount": 8000})
    denied: str | None = None
    denied_values: Mapping[str, int] = field(default_factory=dict)
    #: lenders said to be repaid in full (微粒贷已经还清了): their debts are no longer owed
    paid: tuple[str, ...] = ()


#: the slots a bare correction may set (Session.last_number)
NUMBER_FACTS = ("amount", "days_overdue", "monthly_budget")


def _last_number(data: Mapping[str, Any]) -> str:
    value = _typed(data, "last_number", str, "")
    if value and value not in NUMBER_FACTS:
        raise ValueError(f"last_number is one of {', '.join(NUMBER_FACTS)}")
    return str(value)


def _stated(heard: Heard) -> str:
    """The slot of the number a message stated, money first (a bare number is rarely days)."""
    said = {k for d in heard.debts for k in d} | set(heard.values)
    if heard.budget is not None:
        said.add("monthly_budget")
    return next((name for name in ("monthly_budget", "amount", "days_overdue") if name in said), "")


def merge(session: Session, heard: Heard, kinds: Mapping[str, str]) -> Session:
    """The session after a message: new values replace old ones of the debt they belong to.

    * lenders named become debts (or update theirs); the first named takes the focus;
    * values said of no lender go to the debt in focus (a first one is opened if need be);
    * "是信用卡" after a bank's name is that bank's card, not a new lender, and a bank named after
      a card of no bank (信用卡逾期了 → 是建行的) is that card's bank;
    * a correction (不是借呗是花呗, 不是12天是42天) replaces the focused debt's value, adding nothing;
    * days said of every debt (都逾期一个多月了) go to each of them.
    """
    debts = [dict(d) for d in session.debts]
    focus = session.focus
    before = dict(debts[focus]) if 0 <= focus < len(debts) else {}

    def find(platform: str) -> int:
        return next((i for i, d in enumerate(debts) if d.get("platform") == platform), -1)

    named = list(heard.debts)
    if heard.correction:
        # 是八万不是八千: the debt that held the wrong value; 不是借呗是花呗: the debt misnamed
        wrong = next(
            (i for i, d in enumerate(debts) for k, v in heard.denied_values.items() if d.get(k) == v), -1
        )
        if wrong < 0 and heard.denied:
            wrong = find(heard.denied)
        if wrong >= 0:
            focus = wrong
            before = dict(debts[focus])
    # a generic card after a bank in focus: which product of that bank (信用卡 → card)
    if (
        named
        and len(named) == 1
        and kinds.get(named[0]["platform"]) == "credit_card"
        and kinds.get(before.get("platform", "")) == "bank"
    ):
        extra = {k: v for k, v in named[0].items() if k not in ("platform", "product")}
        named = []
        debts[focus] = {**debts[focus], **extra, "product": "card"}
    card = next((i for i, d in enumerate(debts) if kinds.get(d.get("platform", "")) == "credit_card"), -1)
    if kinds.get(before.get("platform", "")) == "credit_card":
        card = focus
    if (
        named
        and len(named) == 1
        and kinds.get(named[0]["platform"]) == "bank"
        and card >= 0
        and (card == focus or named[0].get("product") == "card")
        and find(named[0]["platform"]) < 0
    ):
        # 信用卡逾期了 → 是建行的, or after five debts 信用卡是建行的: the card spoken of is that
        # bank's, not a further debt
        debts[card] = {**debts[card], **named[0], "product": "card"}
        focus = card
        named = []
    if (
        named
        and heard.correction
        and before
        and find(named[0]["platform"]) < 0
        and (heard.denied or not heard.denied_values)  # 借呗是八千不是八百 corrects a value, not a name
    ):
        # 不是借呗，是花呗: the debt in focus was misnamed
        first = dict(named[0])
        debts[focus] = {k: v for k, v in {**before, **first}.items() if k != "product" or "product" in first}
        named = named[1:]
    new_focus = focus
    for i, item in enumerate(named):
        idx = find(item["platform"])
        if idx < 0 and 0 <= focus < len(debts) and "platform" not in debts[focus]:
            idx = focus  # the unnamed debt spoken of so far is this lender's
        if idx < 0:
            debts.append({})
            idx = len(debts) - 1
        old = debts[idx]
        record = {**old, **item}
        if old.get("platform") not in (None, item["platform"]):
            record.pop("product", None)
        if heard.elliptical and "days_overdue" not in record and "days_overdue" in before:
            record["days_overdue"] = before["days_overdue"]
        debts[idx] = record
        if i == 0:
            new_focus = idx
    focus = new_focus
    if heard.values:
        if not (0 <= focus < len(debts)):
            debts.append({})
            focus = len(debts) - 1
        debts[focus] = {**debts[focus], **heard.values}
        if heard.every and "days_overdue" in heard.values:
            debts = [{**d, "days_overdue": heard.values["days_overdue"]} for d in debts]
    if heard.product and 0 <= focus < len(debts) and kinds.get(debts[focus].get("platform", "")) == "bank":
        debts[focus] = {**debts[focus], "product": heard.product}
    if heard.paid and len(debts) > 1:
        # 微粒贷已经还清了: the plan is for what is still owed (a single debt stays: it is the topic)
        focused = debts[focus] if 0 <= focus < len(debts) else None
        debts = [d for d in debts if d.get("platform") not in heard.paid] or debts
        focus = next((i for i, d in enumerate(debts) if d is focused), -1)  # none, if it was the one repaid
    budget = heard.budget if heard.budget is not None else session.budget
    income = heard.income if heard.income is not None else session.income
    costs = dict(session.costs)
    for name, value in heard.costs:
        costs.pop(name, None)
        costs[name] = value  # 房租一千五 said again, or corrected: the newest value, once
    return replace(
        session,
        debts=tuple(debts),
        focus=focus,
        budget=budget,
        income=income,
        costs=tuple(list(costs.items())[-MAX_COSTS:]),
        last_number=_stated(heard) or session.last_number,
    )
