"""The Bot facade: understanding, dialogue and a session store wired together."""

from __future__ import annotations

import asyncio
import copy
import functools
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import model
from .config import DEFAULT, MatcherConfig
from .dialogue.machine import Message, Turn
from .dialogue.session import MAX_DESK, MAX_DESK_TEXT, Session
from .errors import SessionIdError
from .kb import loader as knowledge
from .model import Model
from .nlu.pipeline import Analysis
from .plan import Plan
from .plan import build as build_plan
from .records import Knowledge, Parse, Reply
from .stores import MemoryStore, SessionStore


@dataclass(frozen=True, slots=True)
class Observed:
    """One turn as an observer sees it: for counting and reviewing, never kept with the session."""

    session_id: str
    text: str
    reply: Reply
    event: str
    #: why the bot was unsure ("out_of_scope", "clarify", "low_margin", "correction"), or ""
    unsure: str
    seconds: float


def unsure(
    parse: Parse,
    intent: str | None,
    event: str,
    variant: str,
    *,
    corrected: bool,
    contextual: bool,
    low_margin: float = DEFAULT.low_margin,
) -> str:
    """Why a turn is worth a person's review, or "" when the bot understood it plainly.

    A correction right after an answer (不是…是…) often means the answer was for the wrong facts.
    """
    if variant == "clarify" or event == "ambiguous":
        return "clarify"
    if intent in (None, "out_of_scope") or event == "lost":
        return "out_of_scope"
    if corrected:
        return "correction"
    ranking = parse.ranking
    if not contextual and len(ranking) > 1 and ranking[0][1] - ranking[1][1] < low_margin:
        return "low_margin"
    return ""


class Bot:
    """A Chinese assistant for people who are overdue on a loan or a credit card.

    Safe to share between threads and asyncio tasks: the understanding is immutable, and the
    messages of one session are applied one at a time under the store's per-session lock.
    """

    def __init__(
        self,
        kb: Model | Knowledge | str | Path | None = None,
        *,
        store: SessionStore | None = None,
        threshold: float | None = None,
        config: MatcherConfig = DEFAULT,
    ) -> None:
        if threshold is not None:
            config = config.with_(threshold=threshold)
        self.model = kb if isinstance(kb, Model) else model.load(kb, config)
        self.knowledge = self.model.knowledge
        self.config = self.model.config
        self.nlu = self.model.nlu
        self.dialogue = self.model.dialogue
        self.store: SessionStore = store if store is not None else MemoryStore()
        #: called after every turn with an Observed record (see observe())
        self.observers: list[Callable[[Observed], None]] = []
        #: whether a person can take a conversation over here: a server with no desk to tell
        #: (no hand-off webhook) must not promise one, whatever bot.yaml says
        self.desk = True

    @classmethod
    def from_path(cls, path: str | Path, **kwargs: Any) -> Bot:
        """A bot from a folder of YAML files, or one intents file."""
        return cls(knowledge.load(path), **kwargs)

    def with_store(self, store: SessionStore) -> Bot:
        """A bot sharing this one's built knowledge (no rebuild) but keeping sessions in ``store``."""
        other = copy.copy(self)
        other.store = store
        return other

    @property
    def examples(self) -> list[tuple[str, str]]:
        """The (text, intent) pairs the matcher was built from."""
        return list(self.nlu.examples)

    @property
    def greeting(self) -> str:
        return self.knowledge.texts.greeting

    def parse(self, text: str) -> Parse:
        """What one message means, with no conversation around it."""
        return self.nlu.parse(_as_text(text))

    def reply(self, text: str, *, session_id: str, delivery: str = "") -> Reply:
        """Answer one message of a session, remembering its slots and state.

        ``session_id`` is required: every conversation is its own, there is no shared default.
        ``delivery`` names a platform's message (its id): the reply is then kept in the session's
        own record, for ``delivered`` to give a retry of that message, and forgotten with it.
        """
        started, sid, text, parse, analysis = self._understood(text, session_id)
        with self.store.lock(sid):
            reply, event, doubt = self._turn(sid, parse, analysis, delivery)
        return self._observed(sid, text, reply, event, doubt, started)

    def delivered(self, session_id: str, delivery: str) -> tuple[str, str] | None:
        """The reply (text, hand-off reason) the session's last turn gave to ``delivery``; None when
        its last turn answered another message (or none)."""
        data = self.store.get(session_key(session_id)) or {}
        kept = data.get("delivery") if isinstance(data, dict) else None
        if not isinstance(kept, dict) or kept.get("id") != _delivery_id(delivery):
            return None
        return str(kept.get("text") or ""), str(kept.get("handoff") or "")

    def reply_now(self, text: str, *, session_id: str) -> Reply | None:
        """reply(), if it can run without waiting: None when the session's lock is taken (another
        turn of it is running) or the store cannot say so without a round trip (Redis).

        An asyncio host runs a turn that cannot wait right in the event loop and sends only the
        others to a thread (areply): on a local store the hop costs more than the turn itself.
        """
        lock_now = getattr(self.store, "lock_now", None)
        if lock_now is None:
            return None
        started, sid, text, parse, analysis = self._understood(text, session_id)
        with lock_now(sid) as held:
            if not held:
                return None
            reply, event, doubt = self._turn(sid, parse, analysis)
        return self._observed(sid, text, reply, event, doubt, started)

    def _understood(self, text: str, session_id: str) -> tuple[float, str, str, Parse, Analysis]:
        """What a turn starts from, before any lock: the clock, the session key, the text and its parse."""
        started = time.perf_counter()
        sid = session_key(session_id)
        text = _as_text(text)
        return (started, sid, text, *self.nlu.understand(text))

    def _turn(self, sid: str, parse: Parse, analysis: Analysis, delivery: str = "") -> tuple[Reply, str, str]:
        """The turn under the session's lock: the reply, its event and why the bot was unsure."""
        session = self._session(sid)
        if session.handed_until:
            if session.handed_until > time.time():  # a person has it: the bot stays silent
                return (
                    Reply("", None, 0.0, dict(session.slots), HANDED_OFF, HANDED_OFF, parse),
                    HANDED_OFF,
                    "",
                )
            session = replace(session, handed_until=0.0, handoff_reason="", returned=True)
        if not analysis.cleaned or not analysis.canonical:
            key = "empty" if not analysis.cleaned else "not_text"
            # nothing said, nothing shown: an empty message must not read back a session's debts
            # (whoever guessed its id would otherwise see them, issue 25)
            reply = Reply(
                getattr(self.knowledge.texts, key),
                None,
                0.0,
                {},
                session.state,
                key,
                parse,
            )
            return reply, key, ""
        message = Message(
            parse=parse,
            text=analysis.cleaned,
            residue=analysis.residue,
            question=analysis.question,
            product=analysis.product,
            correction=analysis.correction,
            debts=analysis.debts,
            points=self.nlu.point_scores(analysis),
            elapsed=analysis.elapsed,
            evidence=analysis.evidence,
            numbers=analysis.numbers,
            questions=self.nlu.questions(parse.text, analysis),
            denied=analysis.denied,
            denied_values=dict(analysis.denied_values),
            today=self.nlu.slots.today(),
        )
        before = session.last_intent
        session, turn = self.dialogue.step(session, message)
        session, turn, handoff = self._hand_off(session, turn)
        record = session.to_dict()
        if delivery:
            record["delivery"] = {"id": _delivery_id(delivery), "text": turn.text, "handoff": handoff}
        self.store.set(sid, record)
        # an intent taken from the conversation (a filled slot, a choice) is not a guess
        contextual = turn.event in ("slot_filled", "choice", "follow_up", "dont_know", "miss")
        confidence = 1.0 if contextual else parse.confidence
        reply = Reply(
            text=turn.text,
            intent=turn.intent,
            confidence=confidence,
            slots=dict(session.slots),
            state=HANDED_OFF if handoff else session.state,
            variant=turn.variant,
            parse=parse,
            handoff=handoff,
            points=turn.points,
        )
        if not self.observers:
            return reply, turn.event, ""
        doubt = unsure(
            parse,
            turn.intent,
            turn.event,
            turn.variant,
            corrected=analysis.correction and self.dialogue._is_topic(before),
            contextual=contextual,
            low_margin=self.config.low_margin,
        )
        return reply, turn.event, doubt

    def plan(self, session_id: str) -> Plan:
        """The plan for what the session knows now (plan.py): its debts, deadlines, the order of
        contact, the arithmetic with the budget, what to say, a written request and the facts
        still missing.  Built afresh on every call, so it follows every correction; the session
        is read, never changed.  ``plan(...).to_dict()`` is its JSON, ``.text`` the chat's words.
        """
        session = self._session(session_key(session_id))
        return build_plan(session, self.knowledge, self.nlu.slots.today(), words=self.dialogue)

    def observe(self, observer: Callable[[Observed], None]) -> None:
        """Call ``observer`` after every turn (metrics, the review queue); its errors are logged, never raised."""
        self.observers = [*self.observers, observer]

    def _observed(self, sid: str, text: str, reply: Reply, event: str, doubt: str, started: float) -> Reply:
        if self.observers:
            seen = Observed(sid, text, reply, event, doubt, time.perf_counter() - started)
            for observer in self.observers:
                try:
                    observer(seen)
                except Exception:  # an observer must never cost a person their answer
                    log.exception("a turn observer failed")
        return reply

    def _hand_off(self, session: Session, turn: Turn) -> tuple[Session, Turn, str]:
        """The turn as the hand-off settings change it: counted misses, a hand-off, a hand-back line."""
        cfg = self.knowledge.texts.handoff
        misses = session.misses + 1 if turn.intent in (None, "out_of_scope") else 0
        session = replace(session, misses=misses)
        if session.returned:
            turn = replace(turn, text=f"{cfg.back_text}\n\n{turn.text}")
            session = replace(session, returned=False)
        reason = cfg.reason(turn.intent, turn.event, misses) if self.desk else ""
        if not reason:
            return session, turn, ""
        # distress keeps its help lines; a request for a person or repeated misses get the hand-off text
        text = f"{turn.text}\n\n{cfg.text}" if reason == "distress" else cfg.text
        session = replace(
            session, handed_until=time.time() + cfg.ttl_minutes * 60, handoff_reason=reason, misses=0
        )
        return session, replace(turn, text=text, variant="handed_off"), reason

    def hand_off(self, session_id: str, reason: str = "desk") -> None:
        """Give a session to a person now (a desk taking over on its own initiative)."""
        sid = session_key(session_id)
        minutes = self.knowledge.texts.handoff.ttl_minutes
        with self.store.lock(sid):
            session = replace(
                self._session(sid), handed_until=time.time() + minutes * 60, handoff_reason=reason
            )
            self.store.set(sid, session.to_dict())

    def release(self, session_id: str) -> bool:
        """Give a handed-over session back to the bot; False when it was not handed over."""
        sid = session_key(session_id)
        with self.store.lock(sid):
            session = self._session(sid)
            if not session.handed_until:
                return False
            self.store.set(
                sid, replace(session, handed_until=0.0, handoff_reason="", returned=True).to_dict()
            )
            return True

    def handed_off(self, session_id: str) -> bool:
        """Whether a person has this session now."""
        sid = session_key(session_id)
        return self._session(sid).handed_until > time.time()

    def desk_reply(self, session_id: str, text: str) -> int | None:
        """A person at the desk writes into a handed-off session: kept for the person's page or
        channel to fetch (``desk_messages``), and the hand-off runs on from now.  Returns the
        message's number, or None when the session is not handed off (the bot has it)."""
        sid = session_key(session_id)
        text = _as_text(text).strip()[:MAX_DESK_TEXT]
        minutes = self.knowledge.texts.handoff.ttl_minutes
        with self.store.lock(sid):
            session = self._session(sid)
            if session.handed_until <= time.time() or not text:
                return None
            session = replace(
                session,
                desk=(*session.desk, text)[-MAX_DESK:],
                desk_seq=session.desk_seq + 1,
                handed_until=time.time() + minutes * 60,
            )
            self.store.set(sid, session.to_dict())
        return session.desk_seq

    def desk_messages(self, session_id: str, after: int = 0) -> tuple[list[tuple[int, str]], bool]:
        """What the desk wrote after message number ``after`` (at most the last MAX_DESK), and
        whether a person still has the session."""
        session = self._session(session_key(session_id))
        first = session.desk_seq - len(session.desk) + 1
        messages = [(first + n, text) for n, text in enumerate(session.desk) if first + n > after]
        return messages, session.handed_until > time.time()

    async def areply(self, text: str, *, session_id: str) -> Reply:
        """reply() for asyncio hosts; runs in a worker thread so the event loop never blocks."""
        sid = session_key(session_id)
        return await asyncio.to_thread(functools.partial(self.reply, text, session_id=sid))

    def reset(self, session_id: str) -> None:
        """Forget a session."""
        sid = session_key(session_id)
        with self.store.lock(sid):
            self.store.delete(sid)

    def _session(self, sid: str) -> Session:
        """The stored session; a malformed record is dropped (logged once) and the session starts afresh."""
        data = self.store.get(sid)
        try:
            return Session.from_dict(data)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            who = hashlib.sha256(sid.encode("utf-8")).hexdigest()[:12]
            if who not in _REPORTED:
                _REPORTED[who] = None
                if len(_REPORTED) > 1000:
                    _REPORTED.pop(next(iter(_REPORTED)))
                log.warning("dropped a malformed session record (session %s): %s", who, exc)
            return Session()


#: Reply.state while a person has the session
HANDED_OFF = "handed_off"
#: session ids longer than this are refused (a hash or a platform's user id is far shorter)
MAX_SESSION_ID = 256
_REPORTED: dict[str, None] = {}
log = logging.getLogger("overdue_bot")


def _delivery_id(delivery: str) -> str:
    return hashlib.sha256(delivery.encode("utf-8", "replace")).hexdigest()[:24]


def session_key(session_id: object) -> str:
    """A session id as the stores keep it; anything no conversation can live under raises."""
    if isinstance(session_id, int) and not isinstance(session_id, bool):
        session_id = str(session_id)
    if not isinstance(session_id, str):
        raise SessionIdError(
            f"session_id must be a string (got {type(session_id).__name__}): every "
            "conversation needs its own id, there is no shared default session"
        )
    if not session_id.strip():
        raise SessionIdError("session_id must not be empty")
    if len(session_id) > MAX_SESSION_ID:
        raise SessionIdError(f"session_id is longer than {MAX_SESSION_ID} characters")
    try:
        session_id.encode("utf-8")
    except UnicodeEncodeError:
        raise SessionIdError("session_id is not valid text (it holds a lone surrogate)") from None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in session_id):
        raise SessionIdError("session_id must not hold control characters")
    return session_id


def _as_text(text: object) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return text if isinstance(text, str) else str(text)
