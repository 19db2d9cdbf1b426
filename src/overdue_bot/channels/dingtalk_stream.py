"""DingTalk robot, Stream mode: for deployments without a public URL (``overdue-bot dingtalk-stream``).

The official ``dingtalk-stream`` SDK keeps a websocket to DingTalk's gateway; each message arrives
as a callback, is acknowledged, and is answered through the message's ``sessionWebhook``.  After a
reconnect the gateway may deliver the same ``messageId`` again, so each one is claimed once in the
session store (under the ``dingtalk:`` prefix, shared with the HTTP mode: a person's conversation
is the same whichever mode the robot runs in).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ..bot import Bot
from ..errors import MissingExtraError
from .delivery import first_delivery, user_session

log = logging.getLogger("overdue_bot.dingtalk")


def answer(bot: Bot, conversation: str, sender: str, text: str) -> str:
    if not text:
        return bot.knowledge.texts.not_text
    return bot.reply(text, session_id=user_session("dingtalk", conversation, sender)).text


def client(bot: Bot, client_id: str, client_secret: str) -> Any:
    """A DingTalkStreamClient whose chatbot handler answers with ``bot``."""
    try:
        import dingtalk_stream
    except ImportError as exc:
        raise MissingExtraError("the DingTalk Stream channel", "dingtalk") from exc

    class Handler(dingtalk_stream.ChatbotHandler):  # type: ignore[misc]
        async def process(self, callback: Any) -> tuple[int, str]:
            ok = dingtalk_stream.AckMessage.STATUS_OK
            message_id = str(callback.headers.message_id or "")
            if not message_id or not await asyncio.to_thread(
                first_delivery, bot.store, "dingtalk", message_id
            ):
                return ok, "OK"  # a delivery seen before (the gateway repeats after a reconnect)
            incoming = dingtalk_stream.ChatbotMessage.from_dict(callback.data)
            expires = incoming.session_webhook_expired_time or 0
            if not incoming.session_webhook or (expires and expires < time.time() * 1000):
                log.warning("dingtalk stream: message %s has no live sessionWebhook to answer on", message_id)
                return ok, "OK"
            text = (incoming.text.content if incoming.message_type == "text" and incoming.text else "") or ""
            sender = incoming.sender_staff_id or incoming.sender_id or ""
            reply = await asyncio.to_thread(
                answer, bot, incoming.conversation_id or "", sender, text.strip()[:2000]
            )
            if reply:  # '' while a person has the conversation
                await asyncio.to_thread(self.reply_text, reply, incoming)
            return ok, "OK"

    stream = dingtalk_stream.DingTalkStreamClient(dingtalk_stream.Credential(client_id, client_secret))
    stream.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, Handler())
    return stream
