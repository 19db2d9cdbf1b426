"""WeChat Official Account messages: signature check, XML in, passive XML reply out.

Pure functions (no I/O), used by the HTTP app.  Only UTF-8 XML is read (an encoding declaration
naming anything else is refused), and XML with a DOCTYPE or an entity declaration anywhere is
refused before parsing, so no entity is ever expanded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

#: WeChat shows at most about 2048 bytes of a passive text reply; answers are cut well below it
MAX_REPLY_CHARS = 600
#: a message's text is read up to this many characters (WeChat itself sends at most 2048 bytes)
MAX_CONTENT = 2000

_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>", re.I)
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""", re.I)
_FORBIDDEN = re.compile(r"<!\s*(?:doctype|entity)", re.I)


class WeChatError(ValueError):
    """A request that is not a well-formed WeChat message."""


@dataclass(frozen=True, slots=True)
class Message:
    to_user: str  # the Official Account
    from_user: str  # the user's openid
    msg_type: str
    content: str
    msg_id: str
    event: str = ""  # for MsgType event: subscribe, unsubscribe …
    recognition: str = ""  # for MsgType voice: what WeChat heard


def signature(token: str, *parts: str) -> str:
    """sha1 of the sorted token and parts (timestamp, nonce [, Encrypt]), as WeChat computes it."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode("utf-8")).hexdigest()


def check_signature(token: str, sig: str, *parts: str) -> bool:
    """Whether ``sig`` is WeChat's signature; any text compares safely (never raises)."""
    if not token or not sig:
        return False
    return hmac.compare_digest(signature(token, *parts).encode("ascii"), sig.encode("utf-8", "replace"))


def fresh(timestamp: str, window: float, *, now: float | None = None) -> bool:
    """Whether a request's timestamp is a number within ``window`` seconds of now (replays are not)."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    return abs((time.time() if now is None else now) - int(timestamp)) <= window


def read_xml(body: bytes) -> ET.Element:
    """The root of a UTF-8 XML document with no DOCTYPE or entities; raises WeChatError otherwise."""
    head = _DECLARATION.match(body)
    if head:
        enc = _ENCODING.search(head.group(0))
        if enc and enc.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
            raise WeChatError("only UTF-8 XML is accepted")
        body = body[head.end() :]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WeChatError("the XML is not UTF-8") from None
    if _FORBIDDEN.search(text):
        raise WeChatError("XML with a DOCTYPE or entity declaration is refused")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise WeChatError(f"malformed XML: {exc}") from exc


def _text(root: ET.Element, tag: str) -> str:
    node = root.find(tag)
    return (node.text or "").strip() if node is not None else ""


def parse_message(body: bytes | ET.Element) -> Message:
    """Read a message pushed by WeChat; raises WeChatError on anything else."""
    root = body if isinstance(body, ET.Element) else read_xml(body)
    msg = Message(
        _text(root, "ToUserName"),
        _text(root, "FromUserName"),
        _text(root, "MsgType").lower(),
        _text(root, "Content")[:MAX_CONTENT],
        _text(root, "MsgId") or f"{_text(root, 'FromUserName')}:{_text(root, 'CreateTime')}",
        _text(root, "Event").lower(),
        _text(root, "Recognition")[:MAX_CONTENT],
    )
    if not msg.to_user or not msg.from_user or not msg.msg_type:
        raise WeChatError("ToUserName, FromUserName and MsgType are required")
    return msg


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def cut(content: str, limit: int = MAX_REPLY_CHARS) -> str:
    return content if len(content) <= limit else content[: limit - 1] + "…"


def reply_xml(msg: Message, content: str, *, now: float | None = None) -> str:
    """A passive text reply: To and From swapped, the content cut to MAX_REPLY_CHARS."""
    created = int(time.time() if now is None else now)
    return (
        f"<xml><ToUserName>{_cdata(msg.from_user)}</ToUserName>"
        f"<FromUserName>{_cdata(msg.to_user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType>{_cdata('text')}</MsgType>"
        f"<Content>{_cdata(cut(content))}</Content></xml>"
    )


def transfer_xml(msg: Message, *, now: float | None = None) -> str:
    """The passive reply that hands the person to the account's customer service (客服)."""
    created = int(time.time() if now is None else now)
    return (
        f"<xml><ToUserName>{_cdata(msg.from_user)}</ToUserName>"
        f"<FromUserName>{_cdata(msg.to_user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType>{_cdata('transfer_customer_service')}</MsgType></xml>"
    )
