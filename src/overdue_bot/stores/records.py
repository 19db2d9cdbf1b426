"""Reading what a store holds: a record that is not a session is dropped, logged once."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

log = logging.getLogger("overdue_bot.stores")
_reported: dict[str, None] = {}


def decode(raw: str | bytes | None, session_id: str, where: str) -> dict[str, Any] | None:
    """The JSON object a store holds for a session, or None when there is none or it is not one."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        data, problem = None, f"invalid JSON ({exc})"
    else:
        problem = "" if isinstance(data, dict) else f"a {type(data).__name__}, not an object"
    if problem:
        who = hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()[:12]
        if who not in _reported:
            _reported[who] = None
            if len(_reported) > 1000:
                _reported.pop(next(iter(_reported)))
            log.warning("%s: dropped a malformed session record (session %s): %s", where, who, problem)
        return None
    return dict(data)


def encode(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)
