"""The conversation as a state machine: (session, understood message) → (session, answer).

Pure: no I/O, no clock, no store.  The whole behaviour is the TRANSITIONS table below; each
event is recognised by ``classify`` and handled by one small method.

States: ``idle``; ``awaiting:<slot>`` after the bot asked for a slot; ``clarify`` after it
asked which of two intents was meant; ``ended`` after goodbye (the next message starts afresh).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from .knowledge import BANK_PRODUCTS, Intent, Knowledge
from .models import Parse
from .render import choose, duration, fill, money

#: (state, event) → handler; "*" is any state.  The first match wins.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("*", "interrupt"): "answer",             # distress, human agent: always, in any state
    ("*", "goodbye"): "end",
    ("clarify", "choice"): "answer_choice",    # 前者 / 第二个 / the intent's own words
    ("awaiting", "slot_filled"): "answer_pending",
    ("awaiting", "dont_know"): "answer_general",
    ("awaiting", "miss"): "ask_again_or_general",
    ("*", "ambiguous"): "clarify",             # two intents too close to call
    ("*", "question"): "answer_or_ask",        # a topic question (asks for a needed slot)
    ("*", "follow_up"): "answer_last",         # 花呗呢 / 不对，是十天: same topic, new slots
    ("*", "chat"): "answer",                   # greet, thanks, inform …
    ("*", "unknown"): "answer",
}

CHAT = frozenset({"greet", "goodbye", "thanks", "help", "affirm", "deny", "inform", "out_of_scope"})
INTERRUPT = frozenset({"distress", "human_agent"})


@dataclass(frozen=True, slots=True)
class Session:
    """What the bot remembers of one conversation: slots and state, never the messages."""

    state: str = "idle"
    slots: dict[str, Any] = field(default_factory=dict)
    last_intent: str | None = None
    pending: str | None = None
    asks: int = 0
    options: tuple[str, ...] = ()
    #: per intent, the case of it the person last described (court_papers: payment_order …)
    cues: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "slots": dict(self.slots), "last_intent": self.last_intent,
                "pending": self.pending, "asks": self.asks, "options": list(self.options),
                "cues": dict(self.cues)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Session:
        if not data:
            return cls()
        return cls(str(data.get("state") or "idle"), dict(data.get("slots") or {}),
                   data.get("last_intent"), data.get("pending"), int(data.get("asks") or 0),
                   tuple(data.get("options") or ()), dict(data.get("cues") or {}))


@dataclass(frozen=True, slots=True)
class Turn:
    """The dialogue's answer to one message."""

    text: str
    intent: str | None
    variant: str
    event: str


class Dialogue:
    """Applies the transition table with the knowledge base's answers."""

    def __init__(self, kb: Knowledge) -> None:
        self.kb = kb
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
        # what is left of an elliptical follow-up once slots are masked: 那P呢, D呢, 如果是P的话
        self._cue_words = [(it.name, [(c, tuple(w.lower() for w in ws)) for c, ws in it.cues.items()])
                           for it in kb.intents if it.cues]
        self._ellipsis = re.compile(f"^(?:{alternatives('follow_up_words')}|[PDA])*$")

    # ------------------------------------------------------------------ events
    def classify(self, session: Session, parse: Parse, residue: str) -> str:
        """Name the event a message is, given where the conversation stands."""
        intent = parse.intent
        state = session.state.split(":")[0]
        if intent in INTERRUPT:
            return "interrupt"
        if intent == "goodbye":
            return "goodbye"
        if state == "clarify" and self._choice(session, parse) is not None:
            return "choice"
        if state == "awaiting":
            slot = session.state.split(":", 1)[1]
            if slot in parse.slots:
                return "slot_filled"
            if self._dont_know.search(parse.text):
                return "dont_know"
        elliptical = bool(parse.slots) and bool(self._ellipsis.match(residue))
        if elliptical and session.last_intent in self.intents and session.last_intent not in CHAT:
            return "follow_up"
        if intent not in CHAT and intent in self.intents:
            if self._ambiguous(parse):
                return "ambiguous"
            return "question"
        if parse.slots and session.last_intent in self.intents and session.last_intent not in CHAT:
            return "follow_up"
        if state == "awaiting":
            return "miss"
        return "chat" if intent in self.intents else "unknown"

    def _ambiguous(self, parse: Parse) -> bool:
        topics = [(i, s) for i, s in parse.ranking if i not in CHAT]
        if len(topics) < 2 or parse.ranking[0][0] in CHAT:
            return False
        (_, s1), (_, s2) = topics[0], topics[1]
        return s1 < 0.32 and s1 - s2 < 0.015

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

    # ------------------------------------------------------------------ step
    def merge(self, slots: dict[str, Any], new: dict[str, Any], product: str | None) -> dict[str, Any]:
        """The session's slots after a message: new values replace old, a bank keeps its product.

        "是信用卡" after a bank's name is that bank's card, not another lender; a new lender
        forgets the old one's product.
        """
        old = slots.get("platform")
        new = dict(new)
        if self.kinds.get(new.get("platform")) == "credit_card" and self.kinds.get(old) == "bank":
            new.pop("platform")
            product = "card"
        merged = {**slots, **new}
        if new.get("platform", old) != old:
            merged.pop("product", None)
        if product and self.kinds.get(merged.get("platform")) == "bank":
            merged["product"] = product
        return merged

    def step(self, session: Session, parse: Parse, residue: str = "",
             product: str | None = None, text: str = "") -> tuple[Session, Turn]:
        """Advance one message (``text`` is the cleaned message, read for intents' cues)."""
        if session.state == "ended":
            session = Session()
        event = self.classify(session, parse, residue)
        cues = {**session.cues, **self._cues(text)}
        session = replace(session, slots=self.merge(session.slots, parse.slots, product), cues=cues)
        state = session.state.split(":")[0]
        handler = TRANSITIONS.get((state, event)) or TRANSITIONS[("*", event)]
        new, turn = getattr(self, "_" + handler)(session, parse, event)
        return new, turn

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
    def _answer(self, s: Session, p: Parse, event: str) -> tuple[Session, Turn]:
        name = p.intent if p.intent in self.intents else "out_of_scope"
        text, variant = self.render(name, s.slots, s.cues.get(name))
        last = name if name not in CHAT else s.last_intent
        return (replace(s, state="idle", pending=None, asks=0, options=(), last_intent=last),
                Turn(text, name, variant, event))

    def _end(self, s: Session, p: Parse, event: str) -> tuple[Session, Turn]:
        text, variant = self.render("goodbye", s.slots)
        return Session(state="ended"), Turn(text, "goodbye", variant, event)

    def _answer_choice(self, s: Session, p: Parse, event: str) -> tuple[Session, Turn]:
        chosen = self._choice(s, p) or s.options[0]
        return self._answer_or_ask(replace(s, options=()), replace(p, intent=chosen), event)

    def _answer_pending(self, s: Session, p: Parse, event: str) -> tuple[Session, Turn]:
        name = s.pending or s.last_intent or "inform"
        text, variant = self.render(name, s.slots, s.cues.get(name))
        return (replace(s, state="idle", pending=None, asks=0, last_intent=name),
                Turn(text, name, variant, event))

    def _answer_general(self, s: Session, p: Parse, event: str) -> tuple[Session, Turn]:
        name = s.pending or "inform"
        missing = set(self.intents[name].needs) if name in self.intents else set()
        slots = {k: v for k, v in s.slots.items() if k not in missing}
        text, variant = self.render(name, slots, s.cues.get(name))
        return (replace(s, state="idle", pending=None, asks=0, last_intent=name),
                Turn(f"{self.texts.forget_slot}\n{text}", name, variant, event))

    def _ask_again_or_general(self, s: Session, p: Parse, event: str) -> tuple[Session, Turn]:
        if s.asks >= 2 or s.pending not in self.intents:
            return self._answer_general(s, p, event)
        it = self.intents[s.pending]
        return replace(s, asks=s.asks + 1), Turn(it.ask, it.name, "ask", event)

    def _answer_or_ask(self, s: Session, p: Parse, event: str) -> tuple[Session, Turn]:
        it = self.intents[p.intent]
        missing = [slot for slot in it.needs if s.slots.get(slot) is None]
        if missing:
            return (replace(s, state=f"awaiting:{missing[0]}", pending=it.name, asks=1,
                            last_intent=it.name, options=()),
                    Turn(it.ask, it.name, "ask", event))
        return self._answer(s, p, event)

    def _answer_last(self, s: Session, p: Parse, event: str) -> tuple[Session, Turn]:
        return self._answer_or_ask(s, replace(p, intent=s.last_intent or p.intent), event)

    def _clarify(self, s: Session, p: Parse, event: str) -> tuple[Session, Turn]:
        topics = [i for i, _ in p.ranking if i not in CHAT][:2]
        labels = [self.intents[i].label for i in topics]
        text = fill(self.texts.clarify, {"first": f"“{labels[0]}”", "second": f"“{labels[1]}”"})
        return (replace(s, state="clarify", options=tuple(topics), pending=None),
                Turn(text, None, "clarify", event))

    # ------------------------------------------------------------------ answers
    def kind(self, slots: dict[str, Any]) -> str | None:
        """The kind of lender the slots speak of; a bank is its card or its loan once that is known."""
        platform = slots.get("platform")
        kind = self.kinds.get(platform) if platform else None
        if kind == "bank":
            return BANK_PRODUCTS.get(slots.get("product") or "", "bank")
        return kind

    def values(self, slots: dict[str, Any]) -> dict[str, Any]:
        """Template values: the slots, derived phrases, and the snippets of bot.yaml."""
        kind = self.kind(slots)
        values: dict[str, Any] = {k: v for k, v in slots.items() if v is not None}
        if isinstance(slots.get("days_overdue"), int):
            values["duration"] = duration(slots["days_overdue"])
        if isinstance(slots.get("amount"), int):
            values["money"] = money(slots["amount"])
        # who to call: the bank or lender by name, 发卡行 for a card of no named bank, else 平台
        platform = slots.get("platform")
        generic_card = kind == "credit_card" and self.kinds.get(platform) == "credit_card"
        values["lender"] = "发卡行" if generic_card else (platform or "平台")
        complaint = self.kb.kinds[kind].complaint if kind else self.texts.complaint
        values["complaint"] = fill(complaint, values)
        for name, variants in self.kb.snippets.items():
            snippet = choose(variants, slots, kind)
            if snippet is not None:
                values[name] = fill(snippet.text, values)
        return values

    def note(self, slots: dict[str, Any]) -> str:
        """What the bot says of the lender in focus: its own note, its kind's, or its product's."""
        platform = slots.get("platform")
        if not platform:
            return ""
        text = self.own_notes.get(platform) or self.kb.kinds[self.kind(slots) or "bank"].note
        return fill(text, {"platform": platform})

    def render(self, intent: str, slots: dict[str, Any], cue: str | None = None) -> tuple[str, str]:
        """The answer of an intent for these slots, and the variant chosen.

        The answer comes first; the lender's note and, for a legal answer, the disclaimer follow.
        """
        it = self.intents.get(intent) or self.intents.get("out_of_scope")
        if it is None:
            return "", "none"
        variant = choose(it.answers, slots, self.kind(slots), cue) or it.answers[-1]
        parts = [fill(variant.text, self.values(slots))]
        if it.legal:
            parts += [self.note(slots), self.texts.disclaimer]
        return "\n".join(p for p in parts if p), variant.name
