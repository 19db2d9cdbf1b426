"""DingTalk robot, HTTP outgoing mode: the signature check and the message record.

DingTalk signs each callback with two headers: ``timestamp`` (milliseconds) and ``sign``, the
base64 HMAC-SHA256 of ``timestamp + "\\n" + app secret`` keyed by the app secret.  DingTalk's
guidance is to refuse a request whose timestamp is more than an hour off.  Pure functions, no
I/O: the HTTP app reads the body and writes the answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

#: DingTalk's own limit: a callback more than an hour off is refused
WINDOW_MS = 3_600_000
#: a message's text is read up to this many characters
MAX_CONTENT = 2000


class DingTalkError(ValueError):
    """A callback that is not a well-formed DingTalk robot message."""


@dataclass(frozen=True, slots=True)
class Message:
    msg_id: str
    conversation_id: str
    sender: str  # senderStaffId where DingTalk gives it, else senderId
    msg_type: str
    content: str


def sign(secret: str, timestamp: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def check(secret: str, timestamp: str, signature: str, now_ms: float | None = None) -> str:
    """'' when the headers are good, else why not (the app answers 403)."""
    # ASCII digits only: '²' and '١' are digits to str.isdigit but not to int()
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 16:
        return "the timestamp header is missing or not a number"
    now = time.time() * 1000 if now_ms is None else now_ms
    if abs(now - int(timestamp)) > WINDOW_MS:
        return "the timestamp is more than an hour off"
    if not hmac.compare_digest(sign(secret, timestamp).encode(), signature.encode("utf-8", "replace")):
        return "bad sign"
    return ""


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise DingTalkError(f"'{name}' must be a string (got {type(value).__name__})")
    return value[:200]


def parse_message(data: dict[str, Any]) -> Message:
    msg_id, conversation = _text(data, "msgId"), _text(data, "conversationId")
    sender = _text(data, "senderStaffId") or _text(data, "senderId")
    msg_type = _text(data, "msgtype") or "text"
    if not msg_id or not sender:
        raise DingTalkError("msgId and senderStaffId (or senderId) are required")
    content = ""
    if msg_type == "text":
        text = data.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("content", ""), str):
            raise DingTalkError("'text' must be an object with a string 'content'")
        content = str(text.get("content", "")).strip()[:MAX_CONTENT]
    return Message(msg_id, conversation, sender, msg_type, content)


def reply(text: str) -> dict[str, Any]:
    """The answer as DingTalk takes it in the callback's own response."""
    return {"msgtype": "text", "text": {"content": text}}
