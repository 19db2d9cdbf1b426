"""Choose the answer variant that fits the slots, and fill it in safely.

Templates only substitute ``{name}`` with a value from a plain dict: no attribute access, no
indexing, no eval.  A missing value becomes an empty string, never a literal ``{...}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_TIDY = [
    (re.compile(r"（\s*）|\(\s*\)"), ""),
    (re.compile(r"[ \t]+\n"), "\n"),
    (re.compile(r"\n{3,}"), "\n\n"),
    (re.compile(r"[ \t]{2,}"), " "),
    (re.compile(r"^[，,；;]\s*", re.M), ""),
]


class Variant(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def when(self) -> Mapping[str, Any]: ...
    @property
    def name(self) -> str: ...


def matches(
    when: Mapping[str, Any], slots: Mapping[str, Any], kind: str | None, cue: str | None = None
) -> bool:
    """Whether a variant's conditions hold for these slots, this kind of lender and this cue."""
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
            if (kind or "none") not in cond:
                return False
        elif key == "has":
            if any(slots.get(s) is None for s in cond):
                return False
        elif key == "missing":
            if any(slots.get(s) is not None for s in cond):
                return False
        elif key == "debts":
            # how many lenders the person has named
            count = sum(1 for d in slots.get("debts") or () if d.get("platform"))
            lo, hi = cond
            if (lo is not None and count < lo) or (hi is not None and count > hi):
                return False
        elif key == "cue":
            if cue not in cond:
                return False
    return True


V = TypeVar("V", bound=Variant)


def choose(
    variants: Sequence[V], slots: Mapping[str, Any], kind: str | None, cue: str | None = None
) -> V | None:
    """The first variant whose conditions hold (the last one usually has none)."""
    for v in variants:
        if matches(v.when, slots, kind, cue):
            return v
    return None


def duration(days: int) -> str:
    """Days overdue as a person says them: 15天, 2个月, 约7个月, 约8年 (never "2920天")."""
    if days < 60:
        return f"{days}天"
    if days < 365:
        if days == 180:
            return "半年"
        months, rest = divmod(days, 30)
        return f"{months}个月" if rest == 0 else f"约{round(days / 30)}个月"
    years, rest = divmod(days, 365)
    return f"{years}年" if rest == 0 else (f"{years}年多" if rest < 180 else f"约{round(days / 365)}年")


def money(amount: int) -> str:
    """An amount as a person says it: 5000元, 6万元, 1.2万元."""
    if amount >= 10000:
        return f"{round(amount / 10000, 2):g}万元"
    return f"{amount}元"


def fill(template: str, values: Mapping[str, Any]) -> str:
    """Substitute {name} fields from values; unknown or empty fields vanish."""

    def sub(m: re.Match[str]) -> str:
        value = values.get(m.group(1))
        return "" if value is None else str(value)

    text = _FIELD.sub(sub, template)
    for rx, repl in _TIDY:
        text = rx.sub(repl, text)
    return text.strip()
