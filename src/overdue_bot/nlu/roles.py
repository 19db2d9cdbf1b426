"""Every number in a message has a role, read from the words around it.

The slot extractors in slots.py find the numbers that fill a slot (days overdue, the amount owed,
the monthly budget).  This pass runs first and claims the numbers whose words say they are
something else: income (工资6000, 退休金三千), a living cost (房租1500), a credit limit (额度一万五),
a price (花800帮你修复), a year (19年在拍拍贷借的), a frequency (一天打十几个), a term (分60期), a rate
(年化24%), a count of debts (5笔, 六个平台).  A claimed number never fills a slot, so a pension can
never be written over a debt.  The words live in lexicon.yaml's ``number_roles``; see
docs/number-roles.md for the rules and the order in which they are tried.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..records import NUMBER_ROLES
from .numerals import SUFFIX_UNITS, parse_number

#: a number as people type it: digits (1.5, 6000), Chinese numerals (三千, 一万五, 十几), a unit
#: (万/千/k/w), 多/来/几 after it; bounded runs keep the pattern linear on any input
NUMBER = re.compile(
    r"(?P<n>\d{1,9}(?:\.\d{1,4})?(?:[万千][\d一二两三四五六七八九]?)?"
    r"|[零〇一二两俩三仨四五六七八九十百千万几]{1,12})"
    r"(?P<u>万|千|k|w)?(?P<m>多|来|几)?(?P<cur>元|块钱|块|rmb)?"
)
#: what may stand between a role's word and its number: 工资才6000, 房租一个月1500, 额度是一万五
_GAP = r"[是有才只就约大概差不多一共每个月月一其实应该现在也都要得:：\s]{0,6}"
#: numbers read per message (a real message has a handful; a pasted table costs no more)
MAX_NUMBERS = 24
#: the roles that are sums of money: never under 10 yuan, never a number of months or days
#: (退休金一个月3200: the 一 of 一个月 is no pension)
MONEY_ROLES = frozenset({"income", "living_cost", "credit_limit", "savings", "price"})
_NOT_MONEY_AFTER = re.compile(r"^(?:个|[天月年周号日期次笔家张岁])")


@dataclass(frozen=True, slots=True)
class Number:
    """One number of a message and what it is: a role of NUMBER_ROLES, or a slot's role
    (``amount``, ``monthly_budget``, ``days_overdue``, ``elapsed``) given by slots.py."""

    role: str
    value: int | None
    start: int
    end: int
    #: the word that gave the role (房租, 工资, 笔), '' for a slot's role
    word: str = ""


def _words(words: Iterable[str]) -> str:
    return "|".join(map(re.escape, sorted((w.lower() for w in words), key=len, reverse=True))) or "(?!)"


def value_of(m: re.Match[str]) -> int | None:
    """The value of a NUMBER match (几 and 十几 give the low end of what they say)."""
    n = m.group("n").replace("几", "")
    if re.fullmatch(r"[一二两三四五六七八九][二两三四五六七八九]", n):
        n = n[0]  # 三四次: a range, read by its low end
    number = parse_number(n) if n else None
    if number is None:
        if m.group("n").startswith("十"):
            number = 10.0  # 十几: more than ten
        else:
            return None
    number *= SUFFIX_UNITS.get(m.group("u") or "", 1)
    return int(round(number))


class RoleReader:
    """Claims the numbers that are not slot values, by the words before and after them."""

    def __init__(self, roles: Mapping[str, Mapping[str, Iterable[str]]]) -> None:
        self._before: list[tuple[str, re.Pattern[str]]] = []
        self._after: list[tuple[str, re.Pattern[str]]] = []
        for role in NUMBER_ROLES:
            words = roles.get(role, {})
            if words.get("before"):
                self._before.append((role, re.compile(f"(?P<w>{_words(words['before'])}){_GAP}$")))
            if words.get("after"):
                self._after.append((role, re.compile(f"^(?P<w>{_words(words['after'])})")))

    def read(self, text: str) -> list[Number]:
        """The numbers of the text that have a role here, in order."""
        found: list[Number] = []
        for k, m in enumerate(NUMBER.finditer(text)):
            if k == MAX_NUMBERS:
                break
            start, end = m.span()
            n = m.group("n")
            if not n[0].isdigit() and n[0] not in "零〇一二两俩三仨四五六七八九十":
                continue  # 百行, 千万别, 万一: words, not numbers
            if text[max(0, start - 1) : start] == "第":
                continue  # 第一次, 第10天: an ordinal (a deadline's day is slots.py's)
            # what follows the number itself, its currency word included: 两千块工资 is income,
            # 欠八千(space)工资六千 is not (spaces are gone by now)
            core = max(m.end(g) for g in ("n", "u", "m") if m.group(g))
            before, after = text[max(0, start - 12) : start], text[core : core + 8]
            said = next(((r, w) for r, rx in self._after if (w := rx.match(after))), None)
            if said is None:
                said = next(((r, w) for r, rx in self._before if (w := rx.search(before))), None)
            if said is not None and said[0] in MONEY_ROLES:
                value = value_of(m)
                if value is None or value < 10 or _NOT_MONEY_AFTER.match(after):
                    continue
            if said is not None:
                role, word = said[0], said[1].group("w")
                found.append(Number(role=role, value=value_of(m), start=start, end=end, word=word))
        return found
