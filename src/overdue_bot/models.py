"""Frozen records passed between the modules."""

from __future__ import annotations

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
