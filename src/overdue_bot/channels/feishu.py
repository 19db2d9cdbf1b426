"""Feishu/Lark bot: event callbacks (v2 schema) in, and the record of what they ask.

Feishu's documented scheme: with an Encrypt Key set, the body is ``{"encrypt": base64}`` where the
decoded bytes are a 16-byte IV and the AES-256-CBC ciphertext (PKCS#7) under sha256(key); each
event carries ``X-Lark-Request-Timestamp``, ``X-Lark-Request-Nonce`` and ``X-Lark-Signature``, the
hex sha256 of timestamp + nonce + key + the raw body.  The ``url_verification`` challenge is not
signed, only its Verification Token is checked.  Pure functions: the HTTP app does the I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from ..errors import MissingExtraError

#: a signed event more than this many seconds off is refused (Feishu retries within hours, but
#: with a fresh timestamp each time)
WINDOW = 300
MAX_CONTENT = 2000
_MENTION = re.compile(r"@_user_\d+")


class FeishuError(ValueError):
    """A callback that is not a well-formed Feishu event (the app answers 400)."""


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # "challenge", "message" or "other"
    token: str
    challenge: str = ""
    event_id: str = ""
    message_id: str = ""
    chat_id: str = ""
    sender: str = ""  # the sender's open_id
    msg_type: str = ""
    text: str = ""


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def check(
    encrypt_key: str, timestamp: str, nonce: str, sig: str, body: bytes, now: float | None = None
) -> str:
    """'' when a signed event's headers hold, else why not (the app answers 403)."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:  # "²" is no int()
        return "X-Lark-Request-Timestamp is missing or not a number"
    if abs((time.time() if now is None else now) - int(timestamp)) > WINDOW:
        return f"the timestamp is more than {WINDOW} s off"
    if not hmac.compare_digest(
        signature(timestamp, nonce, encrypt_key, body).encode(), sig.encode("utf-8", "replace")
    ):
        return "bad X-Lark-Signature"
    return ""


def decrypt(encrypt_key: str, encrypted: str) -> str:
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise MissingExtraError("Feishu encryption", "channels") from exc
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError):
        raise FeishuError("'encrypt' is not base64") from None
    if len(raw) < 32 or len(raw) % 16:
        raise FeishuError("'encrypt' has the wrong length for AES-CBC")
    key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
    plain = decryptor.update(raw[16:]) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
        raise FeishuError("'encrypt' does not decrypt with this Encrypt Key")
    try:
        return plain[:-pad].decode("utf-8")
    except UnicodeDecodeError:
        raise FeishuError("'encrypt' does not decrypt with this Encrypt Key") from None


def _str(data: Any, *path: str) -> str:
    for name in path:
        data = data.get(name) if isinstance(data, dict) else None
    return data[:200] if isinstance(data, str) else ""


def parse_event(data: dict[str, Any]) -> Event:
    """The event a decrypted callback body describes."""
    if data.get("type") == "url_verification":
        return Event("challenge", _str(data, "token"), challenge=_str(data, "challenge"))
    if data.get("schema") != "2.0" or not isinstance(data.get("header"), dict):
        raise FeishuError("only v2 events (schema 2.0) are read; set the app's event format to 2.0")
    token, event_id = _str(data, "header", "token"), _str(data, "header", "event_id")
    if not event_id:
        raise FeishuError("header.event_id is required")
    if _str(data, "header", "event_type") != "im.message.receive_v1":
        return Event("other", token, event_id=event_id)
    message_id = _str(data, "event", "message", "message_id")
    sender = _str(data, "event", "sender", "sender_id", "open_id")
    if not message_id or not sender:
        raise FeishuError("event.message.message_id and event.sender.sender_id.open_id are required")
    msg_type = _str(data, "event", "message", "message_type")
    text = ""
    if msg_type == "text":
        try:
            content = json.loads(_str_long(data))
        except ValueError:
            raise FeishuError("event.message.content is not JSON") from None
        text = content.get("text", "") if isinstance(content, dict) else ""
        # in a group the bot is addressed as @_user_1: the placeholder is not part of the question
        text = _MENTION.sub(" ", text).strip()[:MAX_CONTENT] if isinstance(text, str) else ""
    return Event(
        "message",
        token,
        event_id=event_id,
        message_id=message_id,
        chat_id=_str(data, "event", "message", "chat_id"),
        sender=sender,
        msg_type=msg_type,
        text=text,
    )


def _str_long(data: dict[str, Any]) -> str:
    content = data.get("event", {}).get("message", {}).get("content", "")
    return content[: MAX_CONTENT * 4] if isinstance(content, str) else ""


class Replier:
    """Sends answers through Feishu's ``im/v1/messages/{id}/reply`` with the official lark-oapi client.

    lark-oapi fetches and refreshes the tenant access token itself.  Importing it takes seconds,
    so it is imported once, when the first Replier is made (the app makes it at start-up).
    """

    def __init__(self, app_id: str, app_secret: str, domain: str) -> None:
        try:
            import lark_oapi as lark
        except ImportError as exc:
            raise MissingExtraError("the Feishu channel", "feishu") from exc
        self._client = (
            lark.Client.builder()
            .app_id(app_id)
            .app_secret(app_secret)
            .domain(domain.rstrip("/"))
            .timeout(10)
            .log_level(lark.LogLevel.WARNING)
            .build()
        )

    def reply(self, message_id: str, text: str, idempotency_key: str) -> str:
        """'' when Feishu took the reply, else its error (the caller logs it)."""
        from lark_oapi.api.im.v1 import ReplyMessageRequest, ReplyMessageRequestBody

        body = (
            ReplyMessageRequestBody.builder()
            .msg_type("text")
            .content(json.dumps({"text": text}, ensure_ascii=False))
            .uuid(idempotency_key[:50])
            .build()
        )
        resp = self._client.im.v1.message.reply(
            ReplyMessageRequest.builder().message_id(message_id).request_body(body).build()
        )
        return "" if resp.success() else f"code={resp.code} msg={resp.msg}"
