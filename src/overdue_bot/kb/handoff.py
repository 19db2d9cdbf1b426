"""When a conversation goes to a person, as bot.yaml's ``handoff`` section says.

Off unless the deployment turns it on: a bot with no people behind it must never go silent.
While a session is handed over, the bot says nothing to it until the TTL runs out or the desk
gives it back (``Bot.release``).  Pure: the channels act on ``Reply.handoff``.
"""

from __future__ import annotations

import difflib
from typing import Any

from ..errors import KnowledgeError
from ..records import Handoff

_KEYS = {"enabled", "on_human_agent", "after_misses", "on_distress", "ttl_minutes", "text", "back_text"}


def parse(data: Any, file: str) -> Handoff:
    if data is None:
        return Handoff()
    if not isinstance(data, dict):
        raise KnowledgeError(
            file, "must be a mapping (enabled, on_human_agent, after_misses, …)", field="handoff"
        )
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), _KEYS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise KnowledgeError(
            file, f"unknown key; {hint}known: {', '.join(sorted(_KEYS))}", field=f"handoff.{unknown[0]}"
        )
    out: dict[str, Any] = {}
    for key, kind in (
        ("enabled", bool),
        ("on_human_agent", bool),
        ("on_distress", bool),
        ("after_misses", int),
        ("ttl_minutes", int),
        ("text", str),
        ("back_text", str),
    ):
        if key not in data:
            continue
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise KnowledgeError(
                file, f"must be {kind.__name__} (got {type(value).__name__})", field=f"handoff.{key}"
            )
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= 10_000:
            raise KnowledgeError(file, f"must be between 0 and 10000 (got {value})", field=f"handoff.{key}")
        if isinstance(value, str):
            if not value.strip():
                raise KnowledgeError(file, "must not be empty", field=f"handoff.{key}")
            value = value.strip()
        out[key] = value
    if out.get("ttl_minutes") == 0:
        raise KnowledgeError(file, "must be at least 1", field="handoff.ttl_minutes")
    return Handoff(**out)
