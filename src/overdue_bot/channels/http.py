"""The ASGI app behind ``overdue-bot serve`` (extra ``server``: starlette, uvicorn).

Endpoints: the web chat page at ``/`` (with ``/static/…`` and ``GET /v1/config``), ``POST /v1/chat``, Rasa's REST channel (``POST /webhooks/rest/webhook``,
``GET /webhooks/rest/``), ``GET /healthz`` and, with a token configured, the WeChat Official
Account callback at ``/wechat``.  Whatever a client sends, the answer is a JSON 2xx or 4xx:
bodies over the limit get 413, malformed JSON 400, wrong fields or types 422.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import time
from importlib import resources
from typing import Any

from ..errors import MissingExtraError, StoreError

try:
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("overdue-bot serve", "server") from exc

from ..bot import Bot
from . import wechat

log = logging.getLogger("overdue_bot.http")

MAX_BODY = 16 * 1024
MAX_TEXT = 2000
MAX_ID = 128
_PII = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|\d{17}[\dXx]|\d{15})(?!\d)")


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def redact(text: str) -> str:
    """Phone and ID-card numbers never reach a log line."""
    return _PII.sub("[已隐去]", text)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


async def _body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise BodyError(400, "Content-Length is not a number")
        if int(length) > limit:
            raise BodyError(413, f"body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_object(request: Request, limit: int) -> dict[str, Any]:
    raw = await _body(request, limit)
    if not raw.strip():
        raise BodyError(400, "empty body: send a JSON object")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BodyError(400, "body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BodyError(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise BodyError(422, f"the body must be a JSON object (got {type(data).__name__})")
    return data


def _field(data: dict[str, Any], name: str, limit: int, *, allow_empty: bool = False,
           too_long: int = 422) -> str:
    value = data.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name in ("session_id", "sender"):
        value = str(value)  # numeric user ids are common in chat platforms
    if not isinstance(value, str):
        got = "missing" if name not in data else type(value).__name__
        raise BodyError(422, f"'{name}' must be a string (got {got})")
    if not allow_empty and not value.strip():
        raise BodyError(422, f"'{name}' must not be empty")
    if len(value) > limit:
        raise BodyError(too_long, f"'{name}' is longer than {limit} characters")
    return value


def create_app(bot: Bot | None = None, *, wechat_token: str | None = None, max_body: int = MAX_BODY,
               log_messages: bool = False) -> Starlette:
    """The ASGI app; pass a Bot to share its knowledge base and store."""
    bot = bot or Bot()
    bot.parse("你好")  # load the dictionary now: the first user must not wait for it

    def record(kind: str, sid: str, text: str, reply: Any, started: float) -> None:
        who = hashlib.sha256(sid.encode("utf-8")).hexdigest()[:12]
        extra = f" text={redact(text)!r}" if log_messages else ""
        log.info("%s session=%s intent=%s state=%s ms=%.1f%s", kind, who, reply.intent, reply.state,
                 (time.perf_counter() - started) * 1000, extra)

    async def turn(request: Request, kind: str, id_field: str, text_field: str) -> tuple[str, Any] | Response:
        """One conversation turn from a JSON body, or the 4xx that the body deserves."""
        started = time.perf_counter()
        try:
            data = await _json_object(request, max_body)
            sid = _field(data, id_field, MAX_ID)
            text = _field(data, text_field, MAX_TEXT, allow_empty=True, too_long=413)
        except BodyError as exc:
            return _error(exc.status, exc.message)
        reply = await bot.areply(text, session_id=sid)
        record(kind, sid, text, reply, started)
        return sid, reply

    async def chat(request: Request) -> Response:
        got = await turn(request, "chat", "session_id", "text")
        if isinstance(got, Response):
            return got
        sid, r = got
        return JSONResponse({"session_id": sid, **r.to_dict()})

    async def rasa_webhook(request: Request) -> Response:
        got = await turn(request, "rest", "sender", "message")
        if isinstance(got, Response):
            return got
        sender, r = got
        parts = [p.strip() for p in re.split(r"\n\s*\n", r.text) if p.strip()]
        return JSONResponse([{"recipient_id": sender, "text": p} for p in parts])

    async def rasa_health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "intents": len(bot.knowledge.intents),
                             "examples": len(bot.nlu.examples)})

    async def wechat_callback(request: Request) -> Response:
        if not wechat_token:
            return _error(404, "the WeChat channel is not configured (set a token)")
        q = request.query_params
        if not wechat.check_signature(wechat_token, q.get("signature", ""), q.get("timestamp", ""),
                                      q.get("nonce", "")):
            return _error(403, "bad signature")
        if request.method == "GET":
            return PlainTextResponse(q.get("echostr", ""))
        try:
            msg = wechat.parse_message(await _body(request, max_body))
        except BodyError as exc:
            return _error(exc.status, exc.message)
        except wechat.WeChatError as exc:
            return _error(400, str(exc))
        sid = f"wechat:{msg.from_user}"
        if msg.msg_type != "text":
            text = bot.knowledge.texts.not_text
            return Response(wechat.reply_xml(msg, text), media_type="application/xml")
        # WeChat retries a message it got no answer for; the same MsgId gets the same reply
        # without a second turn, whichever worker the retry reaches (the marker is in the store)
        key = f"wechat-msg:{msg.msg_id}"
        started = time.perf_counter()

        def answer() -> str:
            with bot.store.lock(key):
                done = bot.store.get(key)
                if done and isinstance(done.get("reply"), str):
                    return str(done["reply"])
                r = bot.reply(msg.content, session_id=sid)
                record("wechat", sid, msg.content, r, started)
                bot.store.set(key, {"reply": r.text})
                return r.text

        text = await asyncio.to_thread(answer)
        return Response(wechat.reply_xml(msg, text), media_type="application/xml")

    web = resources.files("overdue_bot") / "web"
    static = {"chat.js": "text/javascript; charset=utf-8", "chat.css": "text/css; charset=utf-8"}

    async def page(request: Request) -> Response:
        return HTMLResponse(web.joinpath("index.html").read_text(encoding="utf-8"),
                            headers={"Cache-Control": "no-cache"})

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in static:
            return _error(404, "no such file")
        return Response(web.joinpath(name).read_text(encoding="utf-8"), media_type=static[name],
                        headers={"Cache-Control": "no-cache"})

    async def web_config(request: Request) -> Response:
        texts = bot.knowledge.texts
        return JSONResponse({"greeting": texts.greeting, "quick_replies": list(texts.quick_replies),
                             "max_text": MAX_TEXT})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail))

    async def store_error(request: Request, exc: Exception) -> Response:
        log.error("session store failed: %s", exc)
        return _error(503, "the session store is unavailable; try again shortly")

    routes = [
        Route("/v1/chat", chat, methods=["POST"]),
        Route("/webhooks/rest/webhook", rasa_webhook, methods=["POST"]),
        Route("/webhooks/rest/", rasa_health, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/wechat", wechat_callback, methods=["GET", "POST"]),
        Route("/", page, methods=["GET"]),
        Route("/static/{name}", asset, methods=["GET"]),
        Route("/v1/config", web_config, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, StoreError: store_error})
    app.state.bot = bot
    return app


def app_from_env() -> Starlette:
    """The app as each uvicorn worker builds it, configured by the environment that serve sets."""
    from ..stores import open_store

    store = open_store(os.environ.get("OVERDUE_BOT_STORE") or None)
    bot = Bot(os.environ.get("OVERDUE_BOT_INTENTS") or None, store=store)
    return create_app(bot, wechat_token=os.environ.get("OVERDUE_BOT_WECHAT_TOKEN") or None,
                      log_messages=os.environ.get("OVERDUE_BOT_LOG_MESSAGES") == "1")


__all__ = ["app_from_env", "create_app", "redact"]
