"""Personal data out of anything the bot writes down (logs, the review queue).

Phone numbers in the ways people type them (13812345678, 138 1234 5678, 138-1234-5678,
+86 138…), identity card numbers, bank card numbers, e-mail addresses and a name given after
我叫/我是; full-width digits count as digits.
"""

from __future__ import annotations

import re
import unicodedata

from .nlu.text import CJK

MARK = "[已隐去]"

_D = r"\d"
_PATTERNS = [
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail
    re.compile(rf"(?<!{_D})\d{{17}}[\dXx](?!{_D})|(?<!{_D})\d{{15}}(?!{_D})"),  # identity card
    re.compile(
        rf"(?<!{_D})(?:\d{{4}}[ -]?){{3}}\d{{4}}(?:[ -]?\d{{3}})?(?!{_D})"
    ),  # bank card, 16 or 19 digits
    re.compile(rf"(?<!{_D})(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{{4}}){{2}}(?!{_D})"),  # mobile phone
    re.compile(f"(?<=我叫)[{CJK}]{{2,3}}|(?<=我是)[{CJK}]{{2,3}}(?=[，,。.!！\\s]|$)"),  # a name
]


def redact(text: str) -> str:
    """The text with every personal number, address and name replaced by MARK."""
    text = unicodedata.normalize("NFKC", text)
    for rx in _PATTERNS:
        text = rx.sub(MARK, text)
    return text
