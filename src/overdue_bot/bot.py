"""The Bot facade: understanding, dialogue and a session store wired together."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

from . import knowledge
from .dialogue import Dialogue, Message
from .knowledge import Knowledge
from .models import Parse, Reply
from .nlu import THRESHOLD, Understanding
from .session import Session
from .stores import MemoryStore, SessionStore


class Bot:
    """A Chinese assistant for people who are overdue on a loan or a credit card.

    Safe to share between threads and asyncio tasks: the understanding is immutable, and the
    messages of one session are applied one at a time under the store's per-session lock.
    """

    def __init__(self, kb: Knowledge | str | Path | None = None, *, store: SessionStore | None = None,
                 threshold: float = THRESHOLD) -> None:
        if not isinstance(kb, Knowledge):
            kb = knowledge.load(kb)
        self.knowledge = kb
        self.nlu = Understanding(kb, threshold=threshold)
        self.dialogue = Dialogue(kb)
        self.store: SessionStore = store if store is not None else MemoryStore()

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

    def reply(self, text: str, session_id: str = "default") -> Reply:
        """Answer one message of a session, remembering its slots and state."""
        text = _as_text(text)
        sid = str(session_id)
        parse, analysis = self.nlu.understand(text)
        with self.store.lock(sid):
            session = Session.from_dict(self.store.get(sid))
            if not analysis.cleaned or not analysis.canonical:
                key = "empty" if not analysis.cleaned else "not_text"
                return Reply(getattr(self.knowledge.texts, key), None, 0.0,
                             dict(session.slots), session.state, key, parse)
            message = Message(parse, analysis.cleaned, analysis.residue, analysis.question, analysis.product,
                              analysis.correction, analysis.debts)
            session, turn = self.dialogue.step(session, message)
            self.store.set(sid, session.to_dict())
        # an intent taken from the conversation (a filled slot, a choice) is not a guess
        contextual = turn.event in ("slot_filled", "choice", "follow_up", "dont_know", "miss")
        confidence = 1.0 if contextual else parse.confidence
        return Reply(turn.text, turn.intent, confidence, dict(session.slots), session.state,
                     turn.variant, parse)

    async def areply(self, text: str, session_id: str = "default") -> Reply:
        """reply() for asyncio hosts; runs in a worker thread so the event loop never blocks."""
        return await asyncio.to_thread(self.reply, text, session_id)

    def reset(self, session_id: str) -> None:
        """Forget a session."""
        with self.store.lock(str(session_id)):
            self.store.delete(str(session_id))


def _as_text(text: object) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return text if isinstance(text, str) else str(text)
