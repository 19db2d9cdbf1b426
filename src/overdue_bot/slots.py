"""Pull the three facts an answer depends on out of one message: days overdue, lender, amount.

Rules follow ../shared/spec/taxonomy.md.  Every extractor also reports the span it read, so the
matcher can mask slot values: 好分期逾期两天 and 花呗逾期三个月 then look alike to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .numerals import parse_number, to_int

#: placeholders the matcher sees instead of slot values
MASKS = {"platform": "P", "days_overdue": "D", "amount": "A"}
_REPEATED_MASK = re.compile(r"([PDA])\1+")


@dataclass(frozen=True, slots=True)
class Platform:
    """One lender of the catalogue."""

    name: str
    kind: str
    aliases: tuple[str, ...]
    prefixes: tuple[str, ...] = ()
    #: a bank's own loan products (建行快贷): naming one names the bank and says "a loan, not a card"
    loans: tuple[str, ...] = ()
    #: what the bot says of this lender, where the kind's general note is not enough
    note: str = ""


@dataclass(frozen=True, slots=True)
class Extraction:
    """Slot values found in a text and the spans (start, end, slot) that held them."""

    slots: dict[str, Any] = field(default_factory=dict)
    spans: tuple[tuple[int, int, str], ...] = ()
    #: what the message says of a bank's product: "card", "loan", or absent (not a public slot)
    product: str | None = None

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
_DURATION = re.compile(
    rf"(?P<n>半|\*+|{_N}+(?:[到至或~\-]{_N}+)?)(?P<m1>多)?"
    r"(?P<u>个半月|个多月|个月|个星期|个礼拜|个工作日|工作日|星期|礼拜|周|天|日|月|年)(?P<half>半)?(?P<m2>多(?!少))?"
)
_UNIT_DAYS = {"天": 1, "日": 1, "工作日": 1, "个工作日": 1, "周": 7, "星期": 7, "个星期": 7,
              "礼拜": 7, "个礼拜": 7, "个月": 30, "个多月": 30, "月": 30, "个半月": 30, "年": 365}
_FILLER = re.compile(r"(?:了|已经|已|都|快|大概|大约|差不多|将近|近|有|约|才|就|只|共|总共|一共|刚|刚刚|了足足|足足|整整)+$")
_OVERDUE_VERB = re.compile(
    r"(?:逾期|超期|晚还|迟还|还款逾期|日过|期过|已过|晚|迟|拖|拖欠|推迟|延迟|延期|延后|超|超过|超出|过了|慢|欠|没还|未还|晚交|迟交|"
    r"宽延|缓|往后推|推|押后|拖延|差)$"
)
_NOT_DAYS_BEFORE = re.compile(
    r"(?:第|最后|最后的|前|每|这|那几|上|下|近|再过|过|没过|不到|不满|没到|不足|不超过|明天|今天|当天|昨天|"
    r"前天|后天|宽限|宽限期|宽限期是|宽限期有|期限|期限是|为期|周期|分|借了|贷了|借款期|利息|罚息|"
    r"还了|还款了|还清了|还完了|还|工资|发工资|每隔|隔|头|借|贷)$"
)
_NOT_DAYS_AFTER = re.compile(r"^(?:都还没|都没|还没|了还没|了都没|几|打几|宽限|的宽限|前|以前|之前|后发|后才发|后有钱|后到账|才发|才到|的利息|利息是|是多少|多少|要多少|收多少|几块|的罚息)")
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


def _find_days(text: str) -> tuple[int | None, list[tuple[int, int]]]:
    value: int | None = None
    spans: list[tuple[int, int]] = []
    for m in _DURATION.finditer(text):
        start, end = m.span()
        before = _FILLER.sub("", text[max(0, start - 8):start])
        after = text[end:end + 6]
        verb = bool(_OVERDUE_VERB.search(before))
        n, unit = m.group("n"), m.group("u")
        if unit in ("日", "月", "年") and not verb and not (unit == "月" and n in ("俩", "两")):
            continue  # 15日, 3月8日, 2016年: dates
        if n.isdigit() and unit == "年" and len(n) >= 3:
            continue
        if re.match(r"^\d+[日号]", after):
            continue
        if after.startswith(("宽限", "内", "以内", "之内")) or (not verb and (_NOT_DAYS_BEFORE.search(before)
                                                    or _NOT_DAYS_AFTER.match(after))):
            continue
        days = _duration_value(n, unit, bool(m.group("half")))
        if days is None and not n.startswith("*"):
            continue
        spans.append((start, end))
        if value is None and days is not None:
            value = days
    return value, spans


# ---------------------------------------------------------------- amount
_AMOUNT = re.compile(
    r"(?P<n>\d+(?:\.\d+)?|[零一二两俩三四五六七八九十百千万]+)(?P<u>万|千|k|w)?(?P<m>多)?(?P<cur>元|块钱|块|rmb|人民币)?"
)
_AMOUNT_CONTEXT_BEFORE = re.compile(r"(?:欠|欠了|借|借了|贷|贷了|还|总共|共|一共|本金|金额|欠款|借款|贷款|透支|透支了|花了|用了)$")
_AMOUNT_CONTEXT_AFTER = re.compile(r"^(?:逾期|没还|未还|是多少|的罚息|的利息|罚息|利息|的钱|本金|欠款)")
_NOT_AMOUNT_BEFORE = re.compile(r"(?:交|收费|收|付|付了|给|赔|要价|额度|额度是|额度有|提额|提额到|降到|降额到|万分之|千分之|百分之|打|拨|拨打|号码|电话|第)$")
_NOT_AMOUNT_AFTER = re.compile(r"^(?:%|分之|期|号|日|点|天|月|年|个|次|岁|分钟|小时|多天|多个|周|星期|礼拜|倍|笔|张|家)")


def _find_amount(text: str, taken: list[tuple[int, int]]) -> tuple[int | None, list[tuple[int, int]]]:
    for m in _AMOUNT.finditer(text):
        start, end = m.span()
        if any(s < end and start < e for s, e in taken):
            continue
        n, unit, cur = m.group("n"), m.group("u"), m.group("cur")
        before, after = text[max(0, start - 6):start], text[end:end + 4]
        if _NOT_AMOUNT_BEFORE.search(before) or _NOT_AMOUNT_AFTER.match(after):
            continue
        chinese = not n[0].isdigit()
        if chinese and not (unit or cur or any(c in n for c in "百千万")):
            continue
        if not (unit or cur or chinese):
            # a bare number counts only where money is clearly meant
            if len(n) < 3 or len(n) > 6 or not (_AMOUNT_CONTEXT_BEFORE.search(before)
                                                  or _AMOUNT_CONTEXT_AFTER.match(after)):
                continue
        number = parse_number(n)
        if number is None:
            continue
        number *= {"万": 10000, "w": 10000, "千": 1000, "k": 1000}.get(unit or "", 1)
        value = int(round(number))
        if value < 10:
            continue
        return value, [(start, end)]
    return None, []


# ---------------------------------------------------------------- platform
class SlotExtractor:
    """Finds slot values; built once from the platform catalogue."""

    def __init__(self, platforms: Iterable[Platform],
                 not_lender_after: Mapping[str, Iterable[str]] | None = None,
                 products: Mapping[str, Iterable[str]] | None = None) -> None:
        self.platforms = tuple(platforms)
        alias_to: dict[str, str] = {}
        self._loan_alias = {loan.lower() for p in self.platforms for loan in p.loans}
        self._banks = {p.name for p in self.platforms if p.kind == "bank"}
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
                "(?P<pre>" + "|".join(map(re.escape, sorted(prefix_to, key=len, reverse=True)))
                + r")(?=的?(?:银行|信用卡|卡))"
            )
        parts.append("(?P<alias>" + "|".join(map(re.escape, alts)) + ")")
        self._rx = re.compile("|".join(parts))
        self._stop_after = {k.lower(): tuple(v) for k, v in (not_lender_after or {}).items()}
        # the product words of platforms.yaml, anywhere in the message (信用卡; 快贷, 消费贷, 贷款);
        # a bare 卡 counts only right after the bank's name (建行卡, 招行的卡), not 银行卡 elsewhere
        words = {k: sorted((w.lower() for w in v), key=len, reverse=True) for k, v in (products or {}).items()}
        self._card_words = re.compile("|".join(map(re.escape, words.get("card", []))) or "(?!)")
        self._loan_words = re.compile("|".join(map(re.escape, words.get("loan", []))) or "(?!)")

    def _product(self, text: str, platform: str | None, spans: list[tuple[int, int]],
                 aliases: list[str]) -> str | None:
        """Which product of a bank the message speaks of: "card", "loan" or None (not said).

        Also read when no lender is named: "是信用卡" answers which product of the bank before.
        """
        if platform is not None and platform not in self._banks:
            return None
        if any(a in self._loan_alias for a in aliases):
            return "loan"
        # a card right after the bank's name (建行卡, 招行的信用卡), or 信用卡 anywhere
        card = bool(self._card_words.search(text)) or any(
            re.match(r"的?卡(?![号片])", text[e:]) for _, e in spans)
        loan = bool(self._loan_words.search(text))
        if card and not loan:
            return "card"
        if loan and not card:
            return "loan"
        return None

    def _platform(self, text: str) -> tuple[str | None, list[tuple[int, int]], list[str]]:
        found: str | None = None
        spans: list[tuple[int, int]] = []
        aliases: list[str] = []
        for m in self._rx.finditer(text):
            start, end = m.span()
            if m.group("pre"):
                name = self._prefix_to[m.group("pre")]
            else:
                alias = m.group("alias")
                if alias.isdigit() and (
                    (start and text[start - 1].isdigit()) or text[end:end + 1].isdigit()
                    or re.match(r"[天日度元块个期号]", text[end:end + 1] or " ")
                ):
                    continue
                if any(text.startswith(s, end) for s in self._stop_after.get(alias, ())):
                    continue
                name = self._alias_to[alias]
            spans.append((start, end))
            if found is None:
                found = name
            if name == found:
                aliases.append(m.group("alias") or "")
        return found, spans, aliases

    def extract(self, text: str) -> Extraction:
        """Slots of an already cleaned text (see text.clean)."""
        slots: dict[str, Any] = {}
        spans: list[tuple[int, int, str]] = []
        platform, pspans, aliases = self._platform(text)
        if platform:
            slots["platform"] = platform
        product = self._product(text, platform, pspans, aliases)
        spans += [(s, e, "platform") for s, e in pspans]
        days, dspans = _find_days(text)
        if days is not None:
            slots["days_overdue"] = days
        spans += [(s, e, "days_overdue") for s, e in dspans]
        amount, aspans = _find_amount(text, [(s, e) for s, e, _ in spans])
        if amount is not None:
            slots["amount"] = amount
        spans += [(s, e, "amount") for s, e in aspans]
        return Extraction(slots, tuple(spans), product)
