"""The plan to take away (issue 27): the person's debts, deadlines and next steps, what to say to
each lender, as a typed record built from what a conversation knows.

People who are overdue want, at the end, something they can act on tomorrow morning: which lender
first and why, what to ask each for, the dates that cannot slip, the arithmetic with what they can
pay, what to say and a written request they can copy.  The session already holds the facts (every
debt, the budget, the papers received and when, what happened); this module puts them together.

Pure: ``build(session, knowledge, today)`` reads no clock, no store and no file.  Every word comes
from the knowledge base: plan.yaml's pieces (each naming the facts.md sections it rests on), the
points of the topics (the stage's next risk is overdue_severity's own), bot.yaml's texts and the
lender kinds' complaint channels.  Code only chooses which piece goes where and does the
arithmetic, so a plan never states what no point states (tests/test_plan.py checks every line).

``Plan.to_dict()`` is the JSON an embedding team or the HTTP route gets.  Its shape is stable:
keys are added, never renamed or removed (``version`` changes only if one ever must be)::

    {
      "version": 1,
      "today": "2026-12-10" | null,              # the day deadlines were counted from
      "debts": [{
        "lender": "招商银行",                     # the platform ("" for a debt of no lender named)
        "label": "招商银行（信用卡）",             # as the plan names it
        "kind": "card" | "loan" | "unknown",      # unknown: a bank, card or loan not said
        "lender_kind": "credit_card",             # platforms.yaml's kind ("" when no lender)
        "days": 40 | null, "stage": "重度逾期" | "", "bucket": "M2" | "",
        "amount": 8000 | null,
        "next_risk": "征信上会有较重的逾期记录…" | "",
        "facts": ["2", "7", "4"]                  # facts.md sections the line rests on
      }],
      "deadlines": [{                             # most urgent first
        "paper": "payment_order" | "summons" | "award" | "arbitration" | "enforcement",
        "name": "支付令", "lender": "招联金融" | "",
        "received": "2026-12-05" | null, "by": "2026-12-20" | null,
        "days_left": 10 | null, "passed": false,
        "text": "· 支付令（招联金融）：…", "facts": ["13"]
      }],
      "steps": [{                                 # the order of contact, then what holds for all
        "order": 1, "lender": "招联金融" | "", "label": "招联金融（消费金融）" | "",
        "action": "找招联金融的官方客服…", "why": "这一笔有法院或仲裁的材料…" | "",
        "share": 229 | null,                      # the monthly sum to propose, from the budget
        "facts": ["5", "13"]
      }],
      "budget": {
        "monthly": 2000 | null, "total": 105000 | null, "complete": true,
        "months": 53 | null,                      # at that budget, penalties not counted
        "minimum": 1750 | null,                   # a month, spread over the longest term (60)
        "shortfall": 0 | null,                    # how much the budget falls short of it
        "shares": [{"lender": "招联金融", "monthly": 229}],
        "lines": ["· 一共欠约10.5万元；…"], "facts": ["3", "5"]
      },
      "script": [{"kind": "card" | "bank_loan" | "bank" | "online", "lenders": ["招商银行"],
                  "text": "“您好，…”", "facts": ["5"]}],
      "letter": {"to": "招联金融", "text": "协商还款申请\\n…", "blanks": ["name", …],
                 "warning": "· 不要把钱交给任何“债务优化”…", "facts": ["5", "19", "2"]} | null,
      "complaints": [{"lender": "工商银行" | "", "text": "…", "facts": ["16", "6"]}],
      "missing": [{"fact": "received" | "debts" | "platform" | "product" | "monthly_budget"
                           | "days_overdue" | "amount",
                   "lender": "" , "question": "每个月最多能拿出多少钱来还？…", "asks": true}],
      "help_lines": ["撑不住的时候，可以打心理援助热线12356…"],
      "disclaimer": "以上是一般性信息，不构成法律意见；…",
      "sections": [{"name": "debts", "title": "【你的欠款】", "lines": ["· …"]}],
      "text": "你的计划（…）\\n【你的欠款】\\n…"   # the sections as the chat says them
    }

``blanks`` name what the written request leaves for the person to fill: name, id_number, phone,
account_number, signature_date, and hardship, days, amount, monthly where the conversation did not
say them.  ``missing`` lists the facts that would change the plan; ``asks`` marks those worth one
question before the plan is written (the chat asks at most one).
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from .dialogue.render import duration, fill, matches, money
from .dialogue.session import Session
from .records import Knowledge, PlanTexts

if TYPE_CHECKING:
    from .dialogue.machine import Dialogue

#: a frame's {name}: filled as written, with no tidying (a frame's leading ，is part of it)
_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
#: the JSON's version (Plan.to_dict): raised only if a key ever has to change meaning
VERSION = 1
#: the longest instalment term the facts support: a card's 个性化分期, at most 5 years (facts §5)
LONGEST_TERM = 60
#: days from receipt: a payment order's objection and a complaint's answer (facts §13)
PAPER_DAYS = {"payment_order": 15, "summons": 15}
#: months from receipt to ask to set an arbitration award aside, from 2026-03-01 (facts §13)
AWARD_MONTHS = 3
#: a card's principal and days from which the 恶意透支 line may come near (facts §4)
CARD_LINE = (50000, 91)
#: the steps after the lenders, in this order (plan.yaml says each where it applies)
GENERAL_STEPS = ("step_living", "step_record", "step_proof")
#: what happened that a complaint is for; and the tags whose own point is said under it
COMPLAINED = frozenset({"harassed", "family", "workplace", "visit", "exposure"})
HAPPENED_POINTS = ("family", "workplace", "exposure", "visit")
#: which script a lender's kind gets (plan.yaml ``script`` has a wording for each)
SCRIPT_KINDS = {"credit_card": "card", "bank_loan": "bank_loan", "bank": "bank"}
#: the order missing facts are asked in: a deadline first, then what changes the plan most
ASK_ORDER = ("received", "debts", "platform", "product", "monthly_budget", "days_overdue", "amount")


@dataclass(frozen=True, slots=True)
class Debt:
    """One debt as the plan states it: who, which kind, how late and at which stage, how much,
    and what it may face next at that stage."""

    lender: str
    label: str
    kind: str
    lender_kind: str
    days: int | None
    stage: str
    bucket: str
    amount: int | None
    next_risk: str
    facts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "lender": self.lender,
            "label": self.label,
            "kind": self.kind,
            "lender_kind": self.lender_kind,
            "days": self.days,
            "stage": self.stage,
            "bucket": self.bucket,
            "amount": self.amount,
            "next_risk": self.next_risk,
            "facts": list(self.facts),
        }


@dataclass(frozen=True, slots=True)
class Deadline:
    """A paper received and what must be done by when (the day where the conversation said when
    it came)."""

    paper: str
    name: str
    lender: str
    received: date | None
    by: date | None
    days_left: int | None
    text: str
    facts: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "paper": self.paper,
            "name": self.name,
            "lender": self.lender,
            "received": self.received.isoformat() if self.received else None,
            "by": self.by.isoformat() if self.by else None,
            "days_left": self.days_left,
            "passed": self.passed,
            "text": self.text,
            "facts": list(self.facts),
        }


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to do, in order: a lender to contact (what to ask for, why it comes here, what
    to propose a month), or what holds for all of them."""

    order: int
    lender: str
    label: str
    action: str
    why: str = ""
    share: int | None = None
    facts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "lender": self.lender,
            "label": self.label,
            "action": self.action,
            "why": self.why,
            "share": self.share,
            "facts": list(self.facts),
        }


@dataclass(frozen=True, slots=True)
class Budget:
    """The arithmetic: what is owed, what the person can pay a month, how long that takes, how it
    splits between the lenders, and how far it falls short of even the longest term."""

    monthly: int | None = None
    total: int | None = None
    complete: bool = False
    months: int | None = None
    minimum: int | None = None
    shortfall: int | None = None
    shares: tuple[tuple[str, int], ...] = ()
    lines: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "monthly": self.monthly,
            "total": self.total,
            "complete": self.complete,
            "months": self.months,
            "minimum": self.minimum,
            "shortfall": self.shortfall,
            "shares": [{"lender": lender, "monthly": share} for lender, share in self.shares],
            "lines": list(self.lines),
            "facts": list(self.facts),
        }


@dataclass(frozen=True, slots=True)
class Script:
    """What to say on the phone to one kind of lender (the same words fit each of ``lenders``)."""

    kind: str
    lenders: tuple[str, ...]
    text: str
    facts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lenders": list(self.lenders),
            "text": self.text,
            "facts": list(self.facts),
        }


@dataclass(frozen=True, slots=True)
class Letter:
    """A written 协商还款申请 to the lender contacted first, filled in with what the conversation
    said and blanks for the rest, and the warning never to pay an agent to do it."""

    to: str
    text: str
    blanks: tuple[str, ...]
    warning: str
    facts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "text": self.text,
            "blanks": list(self.blanks),
            "warning": self.warning,
            "facts": list(self.facts),
        }


@dataclass(frozen=True, slots=True)
class Complaint:
    """Where to complain for what already happened (by the lender's kind), or what the rules say
    of it (family called, the workplace, a visit)."""

    lender: str
    text: str
    facts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"lender": self.lender, "text": self.text, "facts": list(self.facts)}


@dataclass(frozen=True, slots=True)
class Missing:
    """A fact that would change the plan, and how to ask for it; ``asks``: worth asking before
    the plan is written."""

    fact: str
    lender: str
    question: str
    asks: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"fact": self.fact, "lender": self.lender, "question": self.question, "asks": self.asks}


@dataclass(frozen=True, slots=True)
class Section:
    """One section of the plan as text: its name (debts, deadlines …), title and lines."""

    name: str
    title: str
    lines: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "lines": list(self.lines)}


@dataclass(frozen=True, slots=True)
class Plan:
    """The plan as a record (see the module's docstring for its JSON)."""

    today: date | None
    debts: tuple[Debt, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    steps: tuple[Step, ...] = ()
    budget: Budget = field(default_factory=Budget)
    script: tuple[Script, ...] = ()
    letter: Letter | None = None
    complaints: tuple[Complaint, ...] = ()
    missing: tuple[Missing, ...] = ()
    help_lines: tuple[str, ...] = ()
    disclaimer: str = ""
    sections: tuple[Section, ...] = ()

    @property
    def text(self) -> str:
        """The plan as the chat and the REPL say it: the sections, the disclaimer once."""
        lines = [line for s in self.sections for line in ((s.title,) if s.title else ()) + s.lines]
        return "\n".join([*lines, self.disclaimer] if self.disclaimer else lines)

    @property
    def question(self) -> Missing | None:
        """The one missing fact worth asking for before the plan, if any."""
        return next((m for m in self.missing if m.asks), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "today": self.today.isoformat() if self.today else None,
            "debts": [d.to_dict() for d in self.debts],
            "deadlines": [d.to_dict() for d in self.deadlines],
            "steps": [s.to_dict() for s in self.steps],
            "budget": self.budget.to_dict(),
            "script": [s.to_dict() for s in self.script],
            "letter": self.letter.to_dict() if self.letter else None,
            "complaints": [c.to_dict() for c in self.complaints],
            "missing": [m.to_dict() for m in self.missing],
            "help_lines": list(self.help_lines),
            "disclaimer": self.disclaimer,
            "sections": [s.to_dict() for s in self.sections],
            "text": self.text,
        }


def build(
    session: Session, kb: Knowledge, today: date | None = None, *, words: Dialogue | None = None
) -> Plan:
    """The plan for what ``session`` knows, in ``kb``'s words; deadlines count from ``today``
    (None: their dates are given, the days left are not).  ``words`` is the dialogue that renders
    the topics' points (the Bot's own; one is made from ``kb`` when not given)."""
    if words is None:
        from .dialogue.machine import Dialogue

        words = Dialogue(kb)
    if kb.plan is None:
        return Plan(today=today, disclaimer=kb.texts.disclaimer)
    return _Writer(session, kb, kb.plan, words, today).plan()


def _union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f for g in groups for f in g))


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


class _Writer:
    """One plan being written: the session's facts, plan.yaml's words, the topics' points."""

    def __init__(self, s: Session, kb: Knowledge, t: PlanTexts, words: Dialogue, today: date | None) -> None:
        self.s, self.kb, self.t, self.words, self.today = s, kb, t, words, today
        self.debts = [
            dict(d) for d in s.debts if d.get("platform") or d.get("amount") or d.get("days_overdue")
        ]
        self.budget = s.budget
        #: the debt to contact first (set once the order is known)
        self.first: dict[str, Any] | None = None

    # ------------------------------------------------------------------ words
    def facts(self, debt: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What a piece's conditions and a point's wording read: one debt, the budget, all debts."""
        out = {k: v for k, v in (debt or {}).items() if v is not None}
        if self.budget is not None:
            out["monthly_budget"] = self.budget
        out["debts"] = [dict(d) for d in self.debts]
        return out

    def say(
        self, piece: str, facts: dict[str, Any], cue: str | None = None, **extra: Any
    ) -> tuple[str, tuple[str, ...]] | None:
        """A piece's first wording that holds for these facts, filled, and the sections it rests
        on; None where none holds (or its point is not in this knowledge base)."""
        kind = self.words.kind(facts)
        for v in self.t.pieces.get(piece, ()):
            if not matches(v.when, facts, kind, cue):
                continue
            if v.point:
                intent, name = v.point.split("/", 1)
                it = self.words.intents.get(intent)
                p = it.point(name) if it is not None else None
                text = self.words.render_point(intent, name, facts, cue) if p is not None else None
                if p is None or not text:
                    continue
                return text, p.facts
            values = self.words.values(facts)
            values.update({k: v for k, v in extra.items() if v is not None})
            return fill(v.text, values), v.facts
        return None

    def frame(self, name: str, **values: Any) -> str:
        """A frame filled as written (a frame's leading ，or its spaces are part of it)."""
        return _FIELD.sub(lambda m: str(values.get(m.group(1)) or ""), self.t.frames[name])

    def when(self, day: date) -> str:
        if self.today is not None and day.year == self.today.year:
            return self.frame("date", month=day.month, day=day.day)
        return self.frame("date_year", year=day.year, month=day.month, day=day.day)

    def label(self, debt: Mapping[str, Any]) -> str:
        """How the plan names a debt: 花呗（消费金融）, 信用卡 (a card of no bank), 没说平台的那笔."""
        platform = debt.get("platform")
        if not platform:
            return self.t.frames["lender_unnamed"]
        if self.words.kinds.get(platform) == "credit_card":
            return str(platform)  # 信用卡 needs no kind said twice
        kind = self.say("kind_label", self.facts(debt))
        return self.frame("lender_label", platform=platform, kind_label=kind[0]) if kind else str(platform)

    # ------------------------------------------------------------------ the plan
    def plan(self) -> Plan:
        order = self.order()
        self.first = order[0][0] if order else None
        shares = self.shares()
        debts = tuple(self.debt(d) for d, _ in order)
        deadlines = self.deadlines()
        steps = self.steps(order, shares)
        # each lender's share, said in the order of contact
        shares = {i: shares[i] for i in (self.debts.index(d) for d, _ in order) if i in shares}
        budget = self.arithmetic(shares)
        scripts = self.scripts(order, shares)
        letter = self.letter(order, shares)
        complaints = self.complaints()
        texts = self.kb.texts
        held = "distress" in self.s.happened or self.s.mode == "support"
        help_lines = (texts.support_line,) if held else ()
        missing = self.missing()
        sections = self.sections(
            debts, deadlines, steps, budget, scripts, letter, complaints, help_lines, missing
        )
        return Plan(
            today=self.today,
            debts=debts,
            deadlines=deadlines,
            steps=steps,
            budget=budget,
            script=scripts,
            letter=letter,
            complaints=complaints,
            missing=missing,
            help_lines=help_lines,
            disclaimer=texts.disclaimer,
            sections=sections,
        )

    def debt(self, d: dict[str, Any]) -> Debt:
        facts = self.facts(d)
        lender_kind = self.words.kind(facts) or ""
        kind = (
            "card" if lender_kind == "credit_card" else "unknown" if lender_kind in ("bank", "") else "loan"
        )
        stage, bucket, risk = (self.say(p, facts) for p in ("stage", "bucket", "next_risk"))
        return Debt(
            lender=str(d.get("platform") or ""),
            label=self.label(d),
            kind=kind,
            lender_kind=lender_kind,
            days=d.get("days_overdue"),
            stage=stage[0] if stage else "",
            bucket=bucket[0] if bucket else "",
            amount=d.get("amount"),
            next_risk=risk[0].removeprefix("· ") if risk else "",
            facts=_union(*(x[1] for x in (stage, bucket, risk) if x)),
        )

    def order(self) -> list[tuple[dict[str, Any], str | None]]:
        """The debts in the order to contact them, each with why it comes there (a ``why`` cue):
        a paper's lender first (its deadline), then a card near the 恶意透支 line, then the rest,
        the longest overdue first (repayment_priority's order)."""
        papered = {lender for _, _, lender in self.s.papers if lender}
        big, late = CARD_LINE

        def rank(d: dict[str, Any]) -> tuple[int, int, int]:
            days, amount = d.get("days_overdue"), d.get("amount")
            if d.get("platform") in papered:
                first = 0
            elif (
                self.words.kind(self.facts(d)) == "credit_card"
                and isinstance(amount, int)
                and amount >= big
                and isinstance(days, int)
                and days >= late
            ):
                first = 1
            else:
                first = 2
            return (
                first,
                -(days if isinstance(days, int) else -1),
                -(amount if isinstance(amount, int) else 0),
            )

        ranked = sorted(self.debts, key=rank)
        out: list[tuple[dict[str, Any], str | None]] = []
        several = len(ranked) > 1
        most = max(
            (d["days_overdue"] for d in ranked if isinstance(d.get("days_overdue"), int)), default=None
        )
        rest = False
        for d in ranked:
            first = rank(d)[0]
            days = d.get("days_overdue")
            if first == 0:
                cue: str | None = "paper"
            elif first == 1:
                cue = "card_line"
            elif isinstance(days, int) and 1 <= days <= 7:
                cue = "light"
            elif not several:
                cue = None
            elif not rest and isinstance(days, int) and days == most:
                cue = "longest"  # only the one overdue longest of all is said to be
            else:
                cue = "reported"
            rest = rest or first == 2
            out.append((d, cue))
        return out

    def shares(self) -> dict[int, int]:
        """The budget split between the debts by what each owes (by the debt's place in the list)."""
        known = [(i, d["amount"]) for i, d in enumerate(self.debts) if isinstance(d.get("amount"), int)]
        total = sum(a for _, a in known)
        if not self.budget or total <= 0:
            return {}
        return {i: max(1, round(self.budget * a / total)) for i, a in known if a > 0}

    def deadlines(self) -> tuple[Deadline, ...]:
        out = []
        for paper, received_on, lender in self.s.papers:
            received = date.fromisoformat(received_on) if received_on else None
            by: date | None = None
            if received is not None and paper in PAPER_DAYS:
                by = received + timedelta(days=PAPER_DAYS[paper])
            elif received is not None and paper == "award":
                by = _add_months(received, AWARD_MONTHS)
            left = (by - self.today).days if by is not None and self.today is not None else None
            cue = paper if by is None else f"{paper}_{'passed' if left is not None and left < 0 else 'dated'}"
            debt = next(
                (d for d in self.debts if d.get("platform") == lender), {"platform": lender} if lender else {}
            )
            said = self.say(
                "deadline",
                self.facts(debt),
                cue,
                of_lender=self.frame("of_lender", platform=lender) if lender else "",
                received=self.when(received) if received else None,
                by=self.when(by) if by else None,
                days_left=left if left is not None and left >= 0 else None,
            )
            if said is None:
                continue
            out.append(
                Deadline(paper, self.t.papers.get(paper, paper), lender, received, by, left, said[0], said[1])
            )
        # most urgent first: the fewest days left, then those of no known day, passed ones last
        return tuple(
            sorted(
                out,
                key=lambda d: (d.passed, d.days_left is None, d.days_left if d.days_left is not None else 0),
            )
        )

    def steps(
        self, order: list[tuple[dict[str, Any], str | None]], shares: dict[int, int]
    ) -> tuple[Step, ...]:
        out = []
        for n, (d, cue) in enumerate(order, 1):
            facts = self.facts(d)
            share = shares.get(self.debts.index(d))
            share_part = self.frame("share_part", share_money=money(share)) if share else ""
            ask = self.say("ask", facts, share_part=share_part)
            why = self.say("why", facts, cue) if cue else None
            out.append(
                Step(
                    order=n,
                    lender=str(d.get("platform") or ""),
                    label=self.label(d),
                    action=ask[0] if ask else "",
                    why=why[0] if why else "",
                    share=share,
                    facts=_union(*(x[1] for x in (ask, why) if x)),
                )
            )
        first = self.facts(order[0][0]) if order else self.facts()
        for piece in GENERAL_STEPS:
            said = self.say(piece, first)
            if said is not None:
                out.append(Step(len(out) + 1, "", "", said[0].removeprefix("· "), facts=said[1]))
        return tuple(out)

    def arithmetic(self, shares: dict[int, int]) -> Budget:
        amounts = [d["amount"] for d in self.debts if isinstance(d.get("amount"), int)]
        total = sum(amounts) if amounts else None
        monthly = self.budget
        facts = self.facts(self.debts[0] if len(self.debts) == 1 else None)
        lines: list[str] = []
        grounds: list[tuple[str, ...]] = []
        texts = self.kb.texts
        income = self.s.income
        if isinstance(income, int) and isinstance(monthly, int):
            # what the income leaves, as the dialogue says it (bot.yaml means_left / means_over)
            left = income - sum(dict(self.s.costs).values())
            values = {
                "means_label": self.words._means(self.s.facts),
                "left_money": money(max(0, left - monthly)),
                "budget_money": money(monthly),
            }
            lines.append(fill(texts.means_over if monthly > left else texts.means_left, values))
            grounds.append(("5",))
        months = minimum = shortfall = None
        if total:
            minimum = math.ceil(total / LONGEST_TERM)
            partial = (
                self.frame("partial", known=len(amounts), unknown=len(self.debts) - len(amounts))
                if len(amounts) < len(self.debts)
                else ""
            )
            extra: dict[str, Any] = {"total_money": money(total), "partial": partial}
            if monthly:
                months = math.ceil(total / monthly)
                extra["months_text"] = f"{months}个月" if months < 24 else duration(months * 30)
                extra["budget_money"] = money(monthly)
            said = self.say("budget_total", facts, **extra)
            if said:
                lines.append(said[0])
                grounds.append(said[1])
            if monthly and len(shares) > 1:
                items = [
                    self.frame("share_item", lender_label=self.label(self.debts[i]), share_money=money(share))
                    for i, share in shares.items()
                ]
                said = self.say("budget_shares", facts, budget_money=money(monthly), shares="、".join(items))
                if said:
                    lines.append(said[0])
                    grounds.append(said[1])
            if monthly is not None:
                shortfall = max(0, minimum - monthly)
                if shortfall:
                    for piece in ("budget_short", "budget_short_next"):
                        said = self.say(
                            piece,
                            facts,
                            minimum_money=money(minimum),
                            budget_money=money(monthly),
                            shortfall_money=money(shortfall),
                        )
                        if said:
                            lines.append(said[0])
                            grounds.append(said[1])
        return Budget(
            monthly=monthly,
            total=total,
            complete=bool(self.debts) and len(amounts) == len(self.debts),
            months=months,
            minimum=minimum,
            shortfall=shortfall,
            shares=tuple((str(self.debts[i].get("platform") or ""), share) for i, share in shares.items()),
            lines=tuple(lines),
            facts=_union(*grounds),
        )

    def hardship(self) -> str:
        return self.s.hardship or self.t.frames["hardship_blank"]

    def scripts(
        self, order: list[tuple[dict[str, Any], str | None]], shares: dict[int, int]
    ) -> tuple[Script, ...]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for d, _ in order:
            kind = self.words.kind(self.facts(d)) or ""
            groups.setdefault(SCRIPT_KINDS.get(kind, "online"), []).append(d)
        out = []
        for kind, debts in groups.items():
            share = shares.get(self.debts.index(debts[0])) if len(debts) == 1 else None
            said = self.say(
                "script",
                self.facts(debts[0]),
                blank=self.t.frames["blank"],
                hardship_text=self.hardship(),
                share_text=money(share) if share else self.t.frames["share_blank"],
            )
            if said:
                out.append(Script(kind, tuple(str(d.get("platform") or "") for d in debts), said[0], said[1]))
        return tuple(out)

    def letter(self, order: list[tuple[dict[str, Any], str | None]], shares: dict[int, int]) -> Letter | None:
        if not order:
            return None
        d = order[0][0]
        facts = self.facts(d)
        blank = self.t.frames["blank"]
        share = shares.get(self.debts.index(d))
        days, amount = d.get("days_overdue"), d.get("amount")
        account = self.say("account", facts, blank=blank)
        proposal = self.say("proposal", facts)
        said = self.say(
            "letter",
            facts,
            blank=blank,
            account=account[0] if account else blank,
            proposal=proposal[0] if proposal else blank,
            duration_text=duration(days) if isinstance(days, int) else blank,
            money_text=money(amount) if isinstance(amount, int) else self.t.frames["money_blank"],
            hardship_text=self.hardship(),
            share_text=money(share) if share else self.t.frames["money_blank"],
        )
        warning = self.say("warning", facts)
        if said is None:
            return None
        blanks = ["name", "id_number", "phone", "account_number", "signature_date"]
        blanks += ["hardship"] if not self.s.hardship else []
        blanks += ["days"] if not isinstance(days, int) else []
        blanks += ["amount"] if not isinstance(amount, int) else []
        blanks += ["monthly"] if not share else []
        return Letter(
            to=str(d.get("platform") or ""),
            text=said[0],
            blanks=tuple(blanks),
            warning=warning[0] if warning else "",
            facts=_union(said[1], *(x[1] for x in (account, proposal, warning) if x)),
        )

    def complaints(self) -> tuple[Complaint, ...]:
        happened = set(self.s.happened)
        if not happened & COMPLAINED:
            return ()
        out = []
        evidence = self.say("complaint_evidence", self.facts())
        if evidence:
            out.append(Complaint("", evidence[0], evidence[1]))
        seen: set[str] = set()
        for d in self.debts or [{}]:
            facts = self.facts(d)
            complaint = str(self.words.values(facts).get("complaint") or "")
            if not complaint or complaint in seen:
                continue
            seen.add(complaint)
            lender = str(d.get("platform") or "")
            label = self.label(d) if lender else ""
            text = self.frame("complaint", lender_label=label, complaint=complaint)
            out.append(Complaint(lender, text, ("16", "6")))
        for tag in HAPPENED_POINTS:
            if tag in happened:
                said = self.say(tag, self.facts(self.debts[0] if self.debts else None))
                if said:
                    out.append(Complaint("", said[0], said[1]))
        return tuple(out)

    def missing(self) -> tuple[Missing, ...]:
        q = self.t.questions
        found: list[Missing] = []
        for paper, received_on, _ in self.s.papers:
            if not received_on and paper in (*PAPER_DAYS, "award"):
                name = self.t.papers.get(paper, paper)
                found.append(Missing("received", "", fill(q["received"], {"paper": name}), asks=True))
        if not self.debts:
            found.append(Missing("debts", "", q["debts"], asks=True))
        for d in self.debts:
            platform = str(d.get("platform") or "")
            if not platform:  # a card, a bank loan and an online loan are negotiated differently
                found.append(Missing("platform", "", q["platform"], asks=True))
            if platform and self.words.kind(self.facts(d)) == "bank":
                found.append(
                    Missing("product", platform, fill(q["product"], {"platform": platform}), asks=True)
                )
        late = any(isinstance(d.get("days_overdue"), int) and d["days_overdue"] >= 8 for d in self.debts)
        if self.debts and self.budget is None and (len(self.debts) > 1 or late):
            # a day or two late, the budget changes nothing: pay it; later, the plan is its arithmetic
            found.append(Missing("monthly_budget", "", q["monthly_budget"], asks=len(self.debts) > 1))
        for fact in ("days_overdue", "amount"):
            for d in self.debts:
                if not isinstance(d.get(fact), int):
                    platform = str(d.get("platform") or "")
                    question = fill(q[fact], {"lender_label": platform})
                    asks = fact == "days_overdue" and len(self.debts) == 1
                    found.append(Missing(fact, platform, question, asks=asks))
        return tuple(sorted(found, key=lambda m: ASK_ORDER.index(m.fact)))

    # ------------------------------------------------------------------ the text
    def sections(
        self,
        debts: tuple[Debt, ...],
        deadlines: tuple[Deadline, ...],
        steps: tuple[Step, ...],
        budget: Budget,
        scripts: tuple[Script, ...],
        letter: Letter | None,
        complaints: tuple[Complaint, ...],
        help_lines: tuple[str, ...],
        missing: tuple[Missing, ...],
    ) -> tuple[Section, ...]:
        h = self.t.headings
        out = [Section("title", h["title"], ())]
        lines: list[str] = []
        for d in debts:
            frame = (
                "debt_full"
                if d.days is not None and d.amount is not None
                else "debt_days"
                if d.days is not None
                else "debt_amount"
                if d.amount is not None
                else "debt_bare"
            )
            lines.append(
                self.frame(
                    frame,
                    lender_label=d.label,
                    duration=duration(d.days) if d.days is not None else None,
                    stage=d.stage,
                    bucket=d.bucket,
                    money=money(d.amount) if d.amount is not None else None,
                )
            )
            risk = self.frame("risk", next_risk=d.next_risk) if d.next_risk else ""
            if risk and risk not in lines:  # the same stage's risk is said once
                lines.append(risk)
        staged = next((self.debts[i] for i, d in enumerate(debts) if d.days is not None), None)
        note = self.say("scale_note", self.facts(staged)) if staged is not None else None
        if note:
            lines.append(note[0])
        out.append(Section("debts", h["debts"], tuple(lines)))
        if deadlines:
            lines = [d.text for d in deadlines]
            if any(d.paper == "payment_order" and not d.passed for d in deadlines):
                objection = self.say("objection", self.facts(), "payment_order")
                lines += [objection[0]] if objection else []
            verify = self.say("verify", self.facts())
            lines += [verify[0]] if verify else []
            out.append(Section("deadlines", h["deadlines"], tuple(lines)))
        lines = []
        for st in steps:
            if st.label:
                lines.append(self.frame("step", n=st.order, lender_label=st.label, ask=st.action))
                why = self.frame("why", why=st.why) if st.why else ""
                if why and why not in lines:  # 持牌机构的欠款都报送征信: said of the first such lender
                    lines.append(why)
            else:
                lines.append(self.frame("general_step", n=st.order, text=st.action))
        if lines:
            out.append(Section("steps", h["steps"], tuple(lines)))
        if budget.lines:
            out.append(Section("budget", h["budget"], budget.lines))
        if scripts:
            lines = []
            for sc in scripts:
                named = [lender for lender in sc.lenders if lender]
                lines += [self.frame("script_for", lenders="、".join(named))] if named else []
                lines.append(sc.text)
            tip = self.say("script_tip", self.facts(self.first))
            lines += [tip[0]] if tip else []
            out.append(Section("script", h["script"], tuple(lines)))
        worth = any(d.days is not None and d.days >= 8 for d in debts) or bool(budget.monthly and debts)
        if letter is not None and worth:
            out.append(Section("letter", h["letter"], (*letter.text.split("\n"), letter.warning)))
        if complaints:
            out.append(Section("complaints", h["complaints"], tuple(c.text for c in complaints)))
        if help_lines:
            out.append(Section("help", h["help"], help_lines))
        if missing:
            out.append(
                Section(
                    "missing",
                    h["missing"],
                    tuple(self.frame("missing", question=m.question) for m in missing),
                )
            )
        return tuple(s for s in out if s.lines or s.name == "title")
