"""WeChat Official Account messages: signature check, XML in, passive XML reply out.

Pure functions (no I/O), used by the HTTP app.  Only plaintext mode is supported; XML with a
DOCTYPE or an entity declaration is refused before parsing, so no entity is ever expanded.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

#: WeChat shows at most about 2048 bytes of a passive text reply; answers are cut well below it
MAX_REPLY_CHARS = 600


class WeChatError(ValueError):
    """A request that is not a well-formed WeChat message."""


@dataclass(frozen=True, slots=True)
class Message:
    to_user: str  # the Official Account
    from_user: str  # the user's openid
    msg_type: str
    content: str
    msg_id: str


def signature(token: str, timestamp: str, nonce: str) -> str:
    """sha1 of the sorted token, timestamp and nonce, as WeChat computes it."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode("utf-8")).hexdigest()


def check_signature(token: str, sig: str, timestamp: str, nonce: str) -> bool:
    return bool(token and sig) and hmac.compare_digest(signature(token, timestamp, nonce), sig)


def parse_message(body: bytes) -> Message:
    """Read a message pushed by WeChat; raises WeChatError on anything else."""
    head = body[:2048].lower()
    if b"<!doctype" in head or b"<!entity" in body.lower():
        raise WeChatError("XML with a DOCTYPE or entity declaration is refused")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise WeChatError(f"malformed XML: {exc}") from exc

    def text(tag: str) -> str:
        node = root.find(tag)
        return (node.text or "").strip() if node is not None else ""

    msg = Message(text("ToUserName"), text("FromUserName"), text("MsgType"), text("Content"),
                  text("MsgId") or f"{text('FromUserName')}:{text('CreateTime')}")
    if not msg.to_user or not msg.from_user or not msg.msg_type:
        raise WeChatError("ToUserName, FromUserName and MsgType are required")
    return msg


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def reply_xml(msg: Message, content: str, *, now: float | None = None) -> str:
    """A passive text reply: To and From swapped, the content cut to MAX_REPLY_CHARS."""
    if len(content) > MAX_REPLY_CHARS:
        content = content[: MAX_REPLY_CHARS - 1] + "…"
    created = int(time.time() if now is None else now)
    return (f"<xml><ToUserName>{_cdata(msg.from_user)}</ToUserName>"
            f"<FromUserName>{_cdata(msg.to_user)}</FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType>{_cdata('text')}</MsgType>"
            f"<Content>{_cdata(content)}</Content></xml>")
