"""Pull the three facts an answer depends on out of one message: days overdue, lender, amount.

Rules follow ../shared/spec/taxonomy.md.  Every extractor also reports the span it read, so the
matcher can mask slot values: 好分期逾期两天 and 花呗逾期三个月 then look alike to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..records import CONTEXTS, Platform
from .dates import received
from .numerals import MONEY_RUN, SUFFIX_UNITS, UNITS, parse_number, to_int
from .roles import Number, RoleReader
from .text import CJK_CHAR

#: placeholders the matcher sees instead of slot values
MASKS = {"platform": "P", "days_overdue": "D", "amount": "A", "monthly_budget": "B", "number": "N"}
#: the placeholder letters (upper case: normalised text is lower case, so they never clash)
MASK_CHARS = "".join(MASKS.values())
_REPEATED_MASK = re.compile(f"([{MASK_CHARS}])\\1+")


@dataclass(frozen=True, slots=True)
class Extraction:
    """Slot values found in a text and the spans (start, end, slot) that held them."""

    slots: dict[str, Any] = field(default_factory=dict)
    spans: tuple[tuple[int, int, str], ...] = ()
    #: what the message says of a bank's product: "card", "loan", or absent (not a public slot)
    product: str | None = None
    #: the message corrects an earlier value (不是A是B): its values replace, they do not add
    correction: bool = False
    #: per lender named, the values said of it: ({"platform": 花呗, "amount": 5000}, …)
    debts: tuple[dict[str, Any], ...] = ()
    #: the day of a deadline's window the person is on (今天已经第10天了), never days overdue
    elapsed: int | None = None
    #: every number read and its role (roles.py; the slot roles amount, monthly_budget,
    #: days_overdue and elapsed included), in order
    numbers: tuple[Number, ...] = ()
    #: the lender a correction says was wrong (不是借呗是花呗 → 借呗), and the values it says were
    #: wrong (是八万不是八千 → {"amount": 8000})
    denied: str | None = None
    denied_values: dict[str, int] = field(default_factory=dict)

    def masked(self, text: str) -> str:
        """The text with every slot span replaced by its placeholder."""
        out, last = [], 0
        for start, end, slot in sorted(self.spans):
            if start < last:
                continue
            out.append(text[last:start])
            out.append(MASKS[slot])
            last = end
        out.append(text[last:])
        # 招行信用卡 is one lender mention, however many aliases it spans: PP → P
        return _REPEATED_MASK.sub(r"\1", "".join(out))


# ---------------------------------------------------------------- days overdue
_N = r"[\d零〇一二两俩三仨四五六七八九十百几]"
#: a lender denied right before its name (我没有信用卡, 没用过借呗): no debt
_DENIED = re.compile(r"(?:没有|没办过|没用过|没开过|没借过|从没|从来没)$")
#: a card named only to compare (像信用卡那样, 跟信用卡一样): no debt, no product of the bank in focus
#: (信用卡一样逾期了 says "also", and stays a card)
_LIKE = r"(?:(?:不?像|如同)(?P<a>{0})|(?:跟|和|同|比)(?P<b>{0})(?=一样|那样|似的|差不多))"
#: the day of a window (支付令's 15 days): 今天已经第10天了, not 逾期第10天
_ELAPSED = re.compile(rf"第\s*(?P<n>{_N}{{1,3}})\s*[天日]")
_DURATION = re.compile(
    rf"(?P<n>半|\*{{1,6}}|{_N}{{1,8}}(?:[到至或~\-]{_N}{{1,8}})?)(?P<m1>多|来)?"
    r"(?P<u>个半月|个多月|个来月|个月|个星期|个礼拜|个工作日|工作日|星期|礼拜|周|天|日|月|年)(?P<half>半)?(?P<m2>多(?!少))?"
)
_UNIT_DAYS = {
    "天": 1,
    "日": 1,
    "工作日": 1,
    "个工作日": 1,
    "周": 7,
    "星期": 7,
    "个星期": 7,
    "礼拜": 7,
    "个礼拜": 7,
    "个月": 30,
    "个多月": 30,
    "个来月": 30,
    "月": 30,
    "个半月": 30,
    "年": 365,
}
#: numbers read per message for durations and for amounts (a real message has a handful)
MAX_MENTIONS = 24
#: a count is no duration (一天打几次, 催了三遍): grammar, not vocabulary, so it stays here
_COUNT = r"(?:会|要|能|都|就|得)?(?:被|给我|给)?(?:打|催|发|收|来|响|改)?(?:了|过)?(?:多少|\d+|[一二两三四五六七八九十几]+)多?(?:次|个|遍|条|通|回)"


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(map(re.escape, sorted(words, key=len, reverse=True))) or "(?!)"


@dataclass(frozen=True, slots=True)
class Contexts:
    """The patterns built from lexicon.yaml's ``contexts``: what the words around a number say it is."""

    filler: re.Pattern[str]
    overdue_verb: re.Pattern[str]
    not_days_before: re.Pattern[str]
    not_days_after: re.Pattern[str]
    amount_before: re.Pattern[str]
    amount_after: re.Pattern[str]
    not_amount_before: re.Pattern[str]
    not_amount_after: re.Pattern[str]

    @classmethod
    def from_words(cls, w: Mapping[str, Iterable[str]]) -> Contexts:
        return cls(
            filler=re.compile(f"(?:{_alternatives(w['filler'])})+$"),
            overdue_verb=re.compile(f"(?:{_alternatives(w['overdue_verbs'])})$"),
            not_days_before=re.compile(f"(?:{_alternatives(w['not_days_before'])})$"),
            not_days_after=re.compile(f"^(?:{_alternatives(w['not_days_after'])}|{_COUNT})"),
            amount_before=re.compile(f"(?:{_alternatives(w['amount_before'])})P*$"),
            amount_after=re.compile(f"^(?:{_alternatives(w['amount_after'])})"),
            not_amount_before=re.compile(f"(?:{_alternatives(w['not_amount_before'])})$"),
            not_amount_after=re.compile(f"^(?:{_alternatives(w['not_amount_after'])})"),
        )


_RANGE_PAIR = re.compile(r"^([一二两三四五六七八九])([二两三四五六七八九])$")


def _duration_value(n: str, unit: str, more_half: bool) -> int | None:
    if n.startswith("*"):
        return None
    per = _UNIT_DAYS[unit]
    if n == "半":
        return {1: None, 7: 3, 30: 15, 365: 180}[per]
    n = re.split(r"[到至或~\-]", n)[0]
    pair = _RANGE_PAIR.match(n)
    if pair:  # 五六天, 两三天: the lower value
        n = pair.group(1)
    if n == "几" or n.startswith("几"):
        return None
    value: int | None
    if "几" in n:  # 十几 → 15, 二十几 → 25
        base = to_int(n.replace("几", "")) or 0
        value = base + 5
    else:
        value = to_int(n)
        if value is None:
            return None
    days = value * per
    if unit == "个半月":
        days += 15
    if more_half and per == 365:
        days += 180
    return days or None


#: a message this short around a bare duration is itself about the days (三个月了, 快半年了)
_SHORT_REST = 4


def _days(
    text: str, taken: list[tuple[int, int]], ctx: Contexts, debt: re.Pattern[str] | None = None
) -> list[tuple[int | None, int, int]]:
    """Every duration that is days overdue: (days, start, end); days is None for masked *** 天.

    A duration with no overdue verb before it counts only in a message about a debt (``debt``
    matches one of its words) or in one that says little else: 已经离婚两年了 is no overdue.
    """
    found: list[tuple[int | None, int, int]] = []
    about_debt = debt is None or bool(debt.search(text))
    cjk = len(CJK_CHAR.findall(text))  # counted once: per match it made a long message quadratic
    for n_seen, m in enumerate(_DURATION.finditer(text)):
        if n_seen == MAX_MENTIONS:
            break  # nobody names more durations in one message; a pasted table costs no more
        start, end = m.span()
        if any(s < end and start < e for s, e in taken):
            continue
        before = ctx.filler.sub("", text[max(0, start - 8) : start])
        after = text[end : end + 10]
        verb = bool(ctx.overdue_verb.search(before))
        n, unit = m.group("n"), m.group("u")
        if before.endswith("第") and ctx.overdue_verb.search(before[:-1]):
            verb = True  # 逾期第一天: the first day overdue
        if re.match(r"了?(?:都)?还没(?:还|有还)", after):
            verb = True  # 俩月了还没还: the time it has gone unpaid
        if unit in ("日", "月") and not verb and not (unit == "月" and n in ("俩", "两")):
            continue  # 15日, 3月8日: dates
        if unit == "年" and len(n) >= 3:
            continue  # 2016年, 二零一六年: dates
        if re.match(r"^\d+[日号]", after):
            continue
        if re.search(
            r"(?:还款日|账单日|还款时间)[^，。,.？?]{0,6}(?:推迟|往后|延后|提前|推后)$", text[:start]
        ):
            continue  # 还款日每月推迟一天: the due date moves, nobody is overdue
        within = after.startswith(("内", "以内", "之内"))
        if within and re.match(r"(?:以|之)?内(?:就)?(?:逾期|没还|未还)", after):
            within = False  # 3天内逾期上征信吗: within three days of being overdue
        if (
            after.startswith("宽限")
            or within
            or (not verb and (ctx.not_days_before.search(before) or ctx.not_days_after.match(after)))
        ):
            continue
        if not verb and not about_debt and cjk - len(CJK_CHAR.findall(text[start:end])) > _SHORT_REST:
            continue
        days = _duration_value(n, unit, bool(m.group("half")))
        if days is None and not n.startswith("*"):
            continue
        if n == "半" and unit == "年" and text[max(0, start - 1) : start] == "大":
            days = 240  # 大半年: most of a year
        found.append((days, start, end))
    return found


# ---------------------------------------------------------------- amount
#: a money expression: digits or Chinese numerals, 多/几/来, 万/千/k/w, a digit after the unit
#: (1万2, 8千5), a currency word.  Bounded runs keep the regex linear on any input.
_AMOUNT = re.compile(
    r"(?P<n>\d{1,9}(?:\.\d{1,4})?(?:[万千][\d一二两三四五六七八九]?)?"
    r"|[零〇一二两俩三四五六七八九十百千万几多]{1,12})"
    r"(?P<u>万|千|k|w)?(?P<m>多|来)?(?P<cur>元|块钱|块|rmb|人民币)?"
)


#: 四五万, 两三千, 五六百: two neighbouring digits and their unit
_RANGE_MONEY = re.compile(r"^([一二两三四五六七八九])([二三四五六七八九])([十百千万]*)$")
_DIGIT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _money(n: str, unit: str | None) -> int | None:
    """The value of one matched money expression, or None when it names no number (几万).

    Two neighbouring digits are a range, read by its middle: 四五万 → 45000, 两三千 → 2500."""
    pair = _RANGE_MONEY.match(n)
    if pair and _DIGIT[pair.group(2)] == _DIGIT[pair.group(1)] + 1:
        mid = (_DIGIT[pair.group(1)] + _DIGIT[pair.group(2)]) / 2
        for ch in pair.group(3):
            mid *= UNITS[ch]
        return int(round(mid * SUFFIX_UNITS.get(unit or "", 1)))
    number = parse_number(n)
    if number is None:
        return None
    number *= SUFFIX_UNITS.get(unit or "", 1)
    return int(round(number))


def _amounts(text: str, taken: list[tuple[int, int]], ctx: Contexts) -> list[tuple[int, int, int]]:
    """Every amount owed or borrowed in the text: (value, start, end), in order."""
    found = []
    for n_seen, m in enumerate(_AMOUNT.finditer(text)):
        if n_seen == MAX_MENTIONS:
            break
        start, end = m.span()
        n, unit, cur = m.group("n"), m.group("u"), m.group("cur")
        if n.strip("多几") == "" or any(s < end and start < e for s, e in taken):
            continue
        before, after = text[max(0, start - 6) : start], text[end : end + 4]
        if ctx.not_amount_before.search(before) or ctx.not_amount_after.match(after):
            continue
        chinese = not n[0].isdigit()
        if chinese:
            # a Chinese amount starts with a digit or 十 and names a unit: not 百行, 一了百了, 千万别
            if n[0] not in "零〇一二两俩三四五六七八九十" or not (
                unit or cur or any(c in n for c in "百千万")
            ):
                continue
        elif not (unit or cur or any(c in n for c in "万千")):
            # a bare number counts only where money is clearly meant
            # (花呗3000，借呗8000: a number right after a lender's name is what is owed there)
            if (
                len(n) < 3
                or len(n) > 7
                or not (
                    ctx.amount_before.search(before) or ctx.amount_after.match(after) or before.endswith("P")
                )
            ):
                continue
        value = _money(n, unit)
        if value is None or value < 10:
            continue
        if value < 100 and not ctx.amount_before.search(before):
            continue  # 十块钱帮查征信: a price, not a debt
        found.append((value, start, end))
    return found


# ---------------------------------------------------------------- monthly budget
#: 每个月最多能拿出一千五, 一个月顶多还得起三千, 每月能还1500, 每个月只有两千能还
_MONTH = r"(?:每个月|每月|一个月|一月|月)"
_BUDGET_BEFORE = re.compile(
    _MONTH + r"(?:[^，。,.!！？?\d零一二两三四五六七八九十]{0,3})"
    r"(?:最多|顶多|至多|只能|就能|能|可以|也就|大概能|最多能|顶多能|还|还款|拿出|拿)"
    r"(?:[^，。,.!！？?\d零一二两三四五六七八九十]{0,4})(?P<amt>" + MONEY_RUN + ")"
    r"(?:元|块钱|块)?"
)
#: 每个月工资四千，最多能拿出两千: the capacity clause, with a month word earlier in the message
_BUDGET_LATER = re.compile(
    r"(?:最多|顶多|至多|只能|最多能|顶多能|能还|还得起|能拿出|可以还|能拿|可以拿)"
    r"(?:[^，。,.!！？?\d零一二两三四五六七八九十]{0,4})"
    "(?P<amt>" + MONEY_RUN + r")(?:元|块钱|块)?"
)
#: what comes a month without a month word: 退休金三千，最多能拿一千出来
_MONTHLY_INCOME = re.compile(r"工资|退休金|养老金|月薪|收入|低保")
_BUDGET_AFTER = re.compile(
    _MONTH + r"(?:只有|就|大概|差不多|也就)?(?P<amt>" + MONEY_RUN + ")"
    r"(?:元|块钱|块)?(?:左右)?(?:能|可以)(?:用来)?(?:还|拿出来|拿出)"
)


def _find_budget(text: str) -> tuple[int | None, tuple[int, int] | None]:
    month = re.search(_MONTH, text)
    for rx in (_BUDGET_BEFORE, _BUDGET_AFTER, _BUDGET_LATER):
        m = rx.search(text)
        monthly = month or _MONTHLY_INCOME.search(text)
        if not m or (rx is _BUDGET_LATER and not (monthly and monthly.start() < m.end())):
            continue
        if re.search(r"(?:要|得|需要|应该?|必须)还", m.group()):
            continue  # 每个月要还一万二: what is due each month, not what the person can pay
        raw = m.group("amt")
        unit = raw[-1] if raw[-1] in "万千kw" and len(raw) > 1 and raw[-2].isdigit() else None
        value = _money(raw[:-1] if unit else raw, unit)
        if value is not None and value >= 10:
            return value, m.span()
    return None, None


# ---------------------------------------------------------------- corrections
#: 不是A是B, 说错了, 其实是, 应该是, 不对…: what follows the marker is the value meant
_CORRECTION = re.compile(
    r"(?:不是[^，。,.!！？?]{1,12}?[，,\s]*(?:而是|是)|说错了[，,\s]*(?:是)?|打错了[，,\s]*(?:是)?|"
    r"其实是|应该是|准确地?说是|更正一下[，,\s]*(?:是)?|不对[，,\s]*(?:是)?|我是说|"
    r"[记搞弄写]错了[，,\s]*(?:是)?)"
)
#: …是B，不是A at the end of a message: the value meant comes before the marker (a correction only
#: when the part after it names a value: 逾期不是我的错 corrects nothing)
_NOT_AFTER = re.compile(r"[，,\s]*(?:而)?不是(?P<not>[^，。,.!！？?]{1,12})[。.!！？?~…\s吧啊呀]*$")


# ---------------------------------------------------------------- platform


def _whole_latin(alias: str) -> str:
    """An alias as a pattern; a Latin one only as a whole word (hb, but not the hb of hbase)."""
    rx = re.escape(alias)
    if alias[:1].isascii() and alias[:1].isalpha():
        rx = "(?<![a-z])" + rx
    if alias[-1:].isascii() and alias[-1:].isalpha():
        rx += "(?![a-z])"
    return rx


class SlotExtractor:
    """Finds slot values; built once from the platform catalogue."""

    def __init__(
        self,
        platforms: Iterable[Platform],
        not_lender_after: Mapping[str, Iterable[str]] | None = None,
        products: Mapping[str, Iterable[str]] | None = None,
        debt_words: Iterable[str] = (),
        contexts: Mapping[str, Iterable[str]] | None = None,
        number_roles: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.platforms = tuple(platforms)
        self.roles = RoleReader(number_roles or {})
        self.today = today
        self.contexts = Contexts.from_words({k: (contexts or {}).get(k, ()) for k in CONTEXTS})
        alias_to: dict[str, str] = {}
        self._loan_alias = {loan.lower() for p in self.platforms for loan in p.loans}
        self._banks = {p.name for p in self.platforms if p.kind == "bank"}
        self._generic_card = {p.name for p in self.platforms if p.kind == "credit_card"}
        ordered = sorted((w.lower() for w in debt_words), key=len, reverse=True)
        self._debt = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._card_alias = {
            a.lower() for p in self.platforms if p.kind == "credit_card" for a in (p.name, *p.aliases)
        }
        for p in self.platforms:
            for alias in (p.name, *p.aliases, *p.loans):
                alias_to.setdefault(alias.lower(), p.name)
        self._alias_to = alias_to
        alts = sorted(alias_to, key=len, reverse=True)
        prefix_to = {pre.lower(): p.name for p in self.platforms for pre in p.prefixes}
        self._prefix_to = prefix_to
        parts = []
        if prefix_to:
            parts.append(
                "(?P<pre>"
                + "|".join(map(re.escape, sorted(prefix_to, key=len, reverse=True)))
                + r")(?=的?(?:银行|信用卡|卡))"
            )
        parts.append("(?P<alias>" + "|".join(map(_whole_latin, alts)) + ")")
        self._rx = re.compile("|".join(parts))
        self._stop_after = {k.lower(): tuple(v) for k, v in (not_lender_after or {}).items()}
        # the product words of platforms.yaml, anywhere in the message (信用卡; 快贷, 消费贷, 贷款);
        # a bare 卡 counts only right after the bank's name (建行卡, 招行的卡), not 银行卡 elsewhere
        words = {
            k: sorted((w.lower() for w in v), key=len, reverse=True) for k, v in (products or {}).items()
        }
        self._card_words = re.compile("|".join(map(re.escape, words.get("card", []))) or "(?!)")
        self._compared = re.compile(_LIKE.format(self._card_words.pattern))
        self._loan_words = re.compile("|".join(map(re.escape, words.get("loan", []))) or "(?!)")

    def _product(self, text: str, name: str | None, ends: list[int], aliases: list[str]) -> str | None:
        """Which product of a bank the message speaks of: "card", "loan" or None (not said).

        Also read when no lender is named: "是信用卡" answers which product of the bank before.
        """
        if name is not None and name not in self._banks:
            return None
        said = {a for joined in aliases for a in joined.split("|")}
        if said & self._loan_alias:
            return "loan"
        if said & self._card_alias:
            return "card"
        # a card right after the bank's name (建行卡, 招行的信用卡), or 信用卡 anywhere
        card = bool(self._card_words.search(text)) or any(
            re.match(r"的?卡(?![号片])", text[e:]) for e in ends
        )
        loan = bool(self._loan_words.search(text))
        if card and not loan:
            return "card"
        if loan and not card:
            return "loan"
        return None

    def _mentions(self, text: str) -> list[tuple[str, int, int, str]]:
        """Every lender mention: (canonical name, start, end, alias), in order.

        A generic 信用卡 right after a bank's name (招行信用卡) is that bank's card, not a second lender.
        """
        out: list[tuple[str, int, int, str]] = []
        for m in self._rx.finditer(text):
            start, end = m.span()
            alias = m.group("alias") or ""
            if m.group("pre"):
                name = self._prefix_to[m.group("pre")]
            else:
                if alias.isdigit() and (
                    (start and text[start - 1].isdigit())
                    or text[end : end + 1].isdigit()
                    or re.match(r"[天日度元块个期号]", text[end : end + 1] or " ")
                ):
                    continue
                if any(text.startswith(s, end) for s in self._stop_after.get(alias, ())):
                    continue
                name = self._alias_to[alias]
            if _DENIED.search(text, max(0, start - 4), start):
                continue  # 我没有信用卡 / 从没用过借呗: a lender denied, no debt
            if name in self._generic_card and any(
                m.start("a" if m.group("a") else "b") == start for m in self._compared.finditer(text)
            ):
                continue  # 能不能像信用卡那样分期: a card named to compare, no card owed
            if (
                out
                and name in self._generic_card
                and out[-1][0] in self._banks
                and re.fullmatch(r"的?", text[out[-1][2] : start])
            ):
                prev = out[-1]
                out[-1] = (prev[0], prev[1], end, f"{prev[3]}|{alias}")
                continue
            if (
                out
                and name in self._banks
                and out[-1][0] in self._generic_card
                and re.fullmatch(r"[^，。,.!！？?;；]{0,4}", text[out[-1][2] : start])
            ):
                prev = out[-1]  # 这张卡是招行的: the card is that bank's
                out[-1] = (name, prev[1], end, f"{prev[3]}|{alias}")
                continue
            out.append((name, start, end, alias))
        # 我信用卡逾期了三个月了 招行的: one card and one bank in a message are that bank's card
        names = {m[0] for m in out}
        banks = names & self._banks
        two = len(out) == 2 and re.search(r"还有|另一|另外|和|跟|以及", text[out[0][2] : out[1][1]])
        if len(names) == 2 and len(banks) == 1 and names - banks <= self._generic_card and not two:
            bank = next(iter(banks))
            out = [(bank, s, e, a) for _, s, e, a in out]
        return out

    def extract(self, text: str) -> Extraction:
        """Slots of an already cleaned text (see text.clean).

        ``slots`` holds the message's first lender and values; ``debts`` the same per lender
        when it names several (花呗欠了五千，借呗欠了一万).  After a correction marker (不是A是B,
        说错了…) only what follows the marker counts as a value.
        """
        mentions = self._mentions(text)
        # roles are read with the lenders hidden: 安逸花八千 is owed, not a price (花八千)
        hidden = list(text)
        for _, s, e, _ in mentions:
            hidden[s:e] = "P" * (e - s)
        roled = self.roles.read("".join(hidden))
        budget, bspan = _find_budget(text)
        if bspan and any(bspan[0] <= n.start < bspan[1] for n in roled):
            budget, bspan = None, None  # 每月工资四千: the month's number is income, not what is paid
        taken = [(n.start, n.end) for n in roled] + ([bspan] if bspan else [])
        # a number said again is what it was the first time (卡里有1万2 这1万2怎么分: savings twice)
        again = {text[n.start : n.end] for n in roled}
        for m in _AMOUNT.finditer(text):
            if m.group() in again and not any(s < m.end() and m.start() < e for s, e in taken):
                taken.append(m.span())
        corr = _CORRECTION.search(text)
        valid_from = corr.end() if corr else 0
        if (
            corr
            and corr.group().startswith(("其实", "应该", "准确", "我是说", "更正"))
            and not any(st == corr.end() for _, st, _, _ in mentions)
        ):
            valid_from = 0  # 中国银行那张其实是三万: the value is said of the lender before the marker
        valid_to = len(text)
        tail = _NOT_AFTER.search(text, valid_from)
        if tail and tail.start() > valid_from:
            said = [st for _, st, _, _ in mentions]
            said += [st for _, st, _ in _days(text, [], self.contexts, None)]
            said += [st for _, st, _ in _amounts(text, [(s, e) for _, s, e, _ in mentions], self.contexts)]
            if any(st >= tail.start("not") for st in said) and any(
                valid_from <= st < tail.start() for st in said
            ):
                valid_to = tail.start()  # 是借呗不是花呗 / 是十五天，不是五天
        corrected = bool(corr) or valid_to < len(text)
        # a correction (不是五天，是十五天) is about the facts said before: its durations count
        days = _days(text, taken, self.contexts, None if corrected else self._debt)
        taken += [(s, e) for _, s, e in days]
        # platform names hide from the amount's context: 欠了分期乐6000 is 6000 owed
        masked = list(text)
        for _, s, e, _ in mentions:
            masked[s:e] = "P" * (e - s)
        amounts = _amounts("".join(masked), taken + [(s, e) for _, s, e, _ in mentions], self.contexts)
        spans = [(s, e, "platform") for _, s, e, _ in mentions]
        spans += [(n.start, n.end, "number") for n in roled]
        spans += [(s, e, "days_overdue") for _, s, e in days]
        spans += [(s, e, "amount") for _, s, e in amounts]
        if bspan:
            spans.append((*bspan, "monthly_budget"))
        days_said = [(n, s, e) for n, s, e in days if n is not None and valid_from <= s < valid_to]
        every_amount = amounts
        amounts = [a for a in amounts if valid_from <= a[1] < valid_to]
        named = [m for m in mentions if valid_from <= m[1] < valid_to] or mentions
        slots: dict[str, Any] = {}
        if named:
            slots["platform"] = named[0][0]
        if days_said:
            slots["days_overdue"] = days_said[0][0]
        if amounts:
            slots["amount"] = amounts[0][0]
        if budget is not None:
            slots["monthly_budget"] = budget
        debts = self._debts(text, named, days_said, amounts)
        for debt in debts:
            # a bank's product, read from its own part of the message
            own = [m for m in named if m[0] == debt["platform"]]
            nxt = [m[1] for m in named if m[1] > own[0][1] and m[0] != debt["platform"]]
            part = text[own[0][1] : min(nxt, default=len(text))] if len(debts) > 1 else text
            product = self._product(
                part,
                debt["platform"],
                [m[2] - own[0][1] if len(debts) > 1 else m[2] for m in own],
                [m[3] for m in own],
            )
            if product:
                debt["product"] = product
        # a card only compared with (像信用卡那样分期) says nothing of which product is owed
        plain = self._compared.sub(lambda m: "_" * len(m.group()), text)
        for num in roled:
            # 房贷四千二 is a monthly cost: its word says nothing of which product of a bank is owed
            at = text.rfind(num.word, 0, num.start) if num.word else -1
            if at >= 0:
                plain = plain[:at] + "_" * len(num.word) + plain[at + len(num.word) :]
        product = debts[0].get("product") if debts else self._product(plain, None, [], [])
        elapsed, elapsed_at = None, None
        for m in _ELAPSED.finditer(text):
            n = to_int(m.group("n"))
            if n and not self.contexts.overdue_verb.search(text[: m.start()].rstrip()):
                elapsed, elapsed_at = n, m.span()
                break
        if elapsed is None and (got := received(text, self.today())) is not None:
            # 上周三收到的: the days since, on the scale of 第N天 (today's paper counts as day 1, the
            # safe side of a deadline)
            elapsed, elapsed_at = max(1, got[0]), got[1]
        numbers = list(roled)
        numbers += [Number(role="days_overdue", value=n, start=st, end=e) for n, st, e in days]
        numbers += [Number(role="amount", value=v, start=st, end=e) for v, st, e in every_amount]
        if bspan and budget is not None:
            numbers.append(Number(role="monthly_budget", value=budget, start=bspan[0], end=bspan[1]))
        if elapsed_at is not None:
            numbers.append(Number(role="elapsed", value=elapsed, start=elapsed_at[0], end=elapsed_at[1]))
        denied: str | None = None
        denied_values: dict[str, int] = {}
        if corrected:
            # the wrong part: before the marker (不是A，是B / 不对，…) and after 不是 at the end (是B不是A)
            def wrong(pos: int) -> bool:
                # only 不是A是B names a wrong value before its marker; 说错了/其实是 name none
                return (
                    pos < (valid_from if corr and corr.group().startswith("不是") else 0) or pos >= valid_to
                )

            denied = next((m[0] for m in mentions if wrong(m[1])), None)
            for num in numbers:
                if wrong(num.start) and num.role in ("amount", "days_overdue") and num.value:
                    denied_values.setdefault(num.role, num.value)
        return Extraction(
            slots,
            tuple(spans),
            product,
            corrected,
            tuple(debts),
            elapsed,
            tuple(sorted(numbers, key=lambda n: n.start)),
            denied,
            denied_values,
        )

    def _debts(
        self,
        text: str,
        mentions: list[tuple[str, int, int, str]],
        days: list[tuple[int, int, int]],
        amounts: list[tuple[int, int, int]],
    ) -> list[dict[str, Any]]:
        """One record per lender named, with the values said in its part of the message."""
        order: list[str] = []
        for name, *_ in mentions:
            if name not in order:
                order.append(name)
        if not order:
            return []
        debts: dict[str, dict[str, Any]] = {name: {"platform": name} for name in order}

        def owner(pos: int) -> str:
            before = [name for name, start, *_ in mentions if start <= pos]
            return before[-1] if before else order[0]

        for slot, values in (("days_overdue", days), ("amount", amounts)):
            for value, start, _ in values:
                debts[owner(start)].setdefault(slot, value)
        # 花呗借呗都逾期两个月了: one duration said of all of them; 借呗和花呗各欠五千: one amount each
        said = [d for d in debts.values() if "days_overdue" in d]
        if len(order) > 1 and len(said) == 1 and "都" in text:
            for d in debts.values():
                d.setdefault("days_overdue", said[0]["days_overdue"])
        owed = [d for d in debts.values() if "amount" in d]
        if len(order) > 1 and len(owed) == 1 and re.search(r"各|每家|每个都|每笔都", text):
            for d in debts.values():
                d.setdefault("amount", owed[0]["amount"])
        return [debts[name] for name in order]
