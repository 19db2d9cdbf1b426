"""Choose the answer variant that fits the slots, and fill it in safely.

Templates only substitute ``{name}`` with a value from a plain dict: no attribute access, no
indexing, no eval.  A missing value becomes an empty string, never a literal ``{...}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_TIDY = [(re.compile(r"（\s*）|\(\s*\)"), ""), (re.compile(r"[ \t]+\n"), "\n"), (re.compile(r"\n{3,}"), "\n\n"),
         (re.compile(r"[ \t]{2,}"), " "), (re.compile(r"^[，,；;]\s*", re.M), "")]


class Variant(Protocol):
    text: str
    when: Mapping[str, Any]
    name: str


def matches(when: Mapping[str, Any], slots: Mapping[str, Any], kind: str | None) -> bool:
    """Whether a variant's conditions hold for these slots."""
    for key, cond in when.items():
        if key in ("days", "amount"):
            value = slots.get("days_overdue" if key == "days" else "amount")
            lo, hi = cond
            if value is None or (lo is not None and value < lo) or (hi is not None and value > hi):
                return False
        elif key == "platform":
            if slots.get("platform") not in cond:
                return False
        elif key == "platform_kind":
            if kind not in cond:
                return False
        elif key == "has":
            if any(slots.get(s) is None for s in cond):
                return False
        elif key == "missing":
            if any(slots.get(s) is not None for s in cond):
                return False
    return True


def choose(variants: Sequence[Variant], slots: Mapping[str, Any], kind: str | None) -> Variant | None:
    """The first variant whose conditions hold (the last one usually has none)."""
    for v in variants:
        if matches(v.when, slots, kind):
            return v
    return None


def fill(template: str, values: Mapping[str, Any]) -> str:
    """Substitute {name} fields from values; unknown or empty fields vanish."""
    def sub(m: re.Match[str]) -> str:
        value = values.get(m.group(1))
        return "" if value is None else str(value)

    text = _FIELD.sub(sub, template)
    for rx, repl in _TIDY:
        text = rx.sub(repl, text)
    return text.strip()
