"""The ASGI app behind ``overdue-bot serve`` (extra ``server``: starlette, uvicorn).

Endpoints: the web chat page at ``/`` (with ``/static/…`` and ``GET /v1/config``), ``POST /v1/chat``,
Rasa's REST channel (``POST /webhooks/rest/webhook``, ``GET /webhooks/rest/``), ``GET /healthz`` and,
with a token configured, the WeChat Official Account callback at ``/wechat``.

Whatever a client sends, the answer is a JSON 2xx or 4xx: one function reads every JSON body and
turns each way it can fail into 400, 413 or 422 (malformed, too deep, a number too long to read,
text that is not text, a wrong field), a body that trickles in too slowly gets 408, a store that
is down 503.  Each channel keeps its sessions under its own prefix of the store, so no route can
read or overwrite another channel's conversations or de-duplication markers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import signal
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import MissingExtraError, SessionIdError, StoreError

try:
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("overdue-bot serve", "server") from exc

from ..bot import Bot, session_key
from ..redact import redact
from ..review import Recorder, open_queue
from ..stores import forget
from . import dingtalk, feishu, wechat, wxcrypt
from .delivery import SPACE, first_delivery, marker_key, user_session
from .limits import Limiter
from .metrics import Metrics

log = logging.getLogger("overdue_bot.http")

MAX_BODY = 16 * 1024
MAX_TEXT = 2000
MAX_ID = 128
#: seconds a client has to send a whole request body
BODY_TIMEOUT = 10.0
#: seconds a signed WeChat request stays valid (a captured query replayed later is refused)
WECHAT_WINDOW = 300.0
#: the page and its files: only its own scripts and styles, calls only to this server, in no
#: other site's frame, no address of it sent elsewhere
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
#: different messages one DingTalk signature may carry: one (its platform retries send the same
#: body).  DingTalk signs only a millisecond timestamp; with 4, a captured header pair carried 3
#: forged messages as the person, and one got the person's debt back (benchmarks/attack.py)
DINGTALK_BODIES = 1
#: the threads that call the hand-off webhook, and how many calls may wait for them
HANDOFF_THREADS = 2
HANDOFF_PENDING = 200

#: the web page's session ids, issued by POST /v1/session: "p." + 22 random characters + "." + an
#: HMAC of them under the server's session secret (a client can neither choose nor guess one)
PAGE_SESSION = re.compile(r"p\.[A-Za-z0-9_-]{22}\.[0-9a-f]{32}")

#: how often one session may ask POST /v1/messages (the page asks every 3 s: 20 a minute)
POLLS_PER_MINUTE = 60

#: where the store keeps the key that signs page session ids (under MARKER: never evicted by
#: a flood of sessions, never a session)
SECRET_KEY = "marker:server:session-secret"

#: the store prefix of each channel's sessions: /v1/chat's "wechat:x" is "web:wechat:x"
#: what _wechat_turn returns when the turn hands the person to WeChat's customer service
TRANSFER = "\x00transfer"
__all__ = ["BodyError", "Settings", "app_from_env", "create_app", "redact"]


class BodyError(Exception):
    """A request the app answers with a 4xx: status and a message for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True, slots=True)
class Settings:
    """How the server is configured (flags of ``serve``, or the environment in each worker)."""

    max_body: int = MAX_BODY
    max_text: int = MAX_TEXT
    body_timeout: float = BODY_TIMEOUT
    log_messages: bool = False
    wechat_token: str | None = None
    wechat_window: float = WECHAT_WINDOW
    #: safe mode: the EncodingAESKey, and the previous one during a key change
    wechat_aes_keys: tuple[str, ...] = ()
    wechat_appid: str = ""
    wecom_token: str | None = None
    wecom_aes_key: str = ""
    wecom_corpid: str = ""
    dingtalk_app_secret: str = ""
    feishu_verification_token: str = ""
    feishu_encrypt_key: str = ""
    feishu_app_id: str = ""
    feishu_app_secret: str = ""
    #: where the reply API lives: https://open.feishu.cn, or https://open.larksuite.com for Lark
    feishu_domain: str = "https://open.feishu.cn"
    #: where a hand-off to a person is announced (POST, JSON), and the token the desk calls back with
    handoff_webhook: str = ""
    handoff_token: str = ""
    #: the knowledge base reloads come from (None: the shipped one)
    intents: str = ""
    #: where unsure turns are recorded for review (a folder or redis://…); empty: not recorded
    review: str = ""
    #: enables POST /v1/admin/reload with 'Authorization: Bearer <token>'
    admin_token: str = ""
    #: when set, /v1/chat and the Rasa webhook need 'Authorization: Bearer <token>' (and answer with
    #: the session's slots); without it they answer without slots, unless ``debug``
    api_token: str = ""
    debug: bool = False
    #: messages per minute (and at once) one session may send; 0 turns the limit off
    rate_session: float = 30.0
    burst_session: int = 20
    #: and one client address (off by default: behind a proxy every user has its address)
    rate_client: float = 0.0
    burst_client: int = 60
    #: web-page sessions one client address may start per minute (and at once); this machine's own
    #: address (a proxy not named in --forwarded-allow-ips looks like it) is not limited
    rate_new_sessions: float = 60.0
    burst_new_sessions: int = 30
    #: the key that signs the page's session ids; empty: a random one for this process (``serve``
    #: makes one for all its workers; set OVERDUE_BOT_SESSION_SECRET on every machine of a fleet)
    session_secret: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
        def get(name: str) -> str:
            return env.get(f"OVERDUE_BOT_{name}") or env.get(name) or ""

        keys = tuple(k for k in (get("WECHAT_AES_KEY"), get("WECHAT_AES_KEY_PREVIOUS")) if k)
        return cls(
            log_messages=env.get("OVERDUE_BOT_LOG_MESSAGES") == "1",
            wechat_token=get("WECHAT_TOKEN") or None,
            wechat_window=float(env.get("OVERDUE_BOT_WECHAT_WINDOW") or WECHAT_WINDOW),
            wechat_aes_keys=keys,
            wechat_appid=get("WECHAT_APPID"),
            wecom_token=get("WECOM_TOKEN") or None,
            wecom_aes_key=get("WECOM_AES_KEY"),
            wecom_corpid=get("WECOM_CORPID"),
            dingtalk_app_secret=get("DINGTALK_APP_SECRET"),
            feishu_verification_token=get("FEISHU_VERIFICATION_TOKEN"),
            feishu_encrypt_key=get("FEISHU_ENCRYPT_KEY"),
            feishu_app_id=get("FEISHU_APP_ID"),
            feishu_app_secret=get("FEISHU_APP_SECRET"),
            feishu_domain=get("FEISHU_DOMAIN") or "https://open.feishu.cn",
            handoff_webhook=get("HANDOFF_WEBHOOK"),
            handoff_token=get("HANDOFF_TOKEN"),
            intents=get("INTENTS"),
            review=get("REVIEW"),
            admin_token=get("ADMIN_TOKEN"),
            api_token=get("API_TOKEN"),
            debug=get("DEBUG") == "1",
            rate_session=float(get("RATE_SESSION") or 30.0),
            burst_session=int(get("BURST_SESSION") or 20),
            rate_client=float(get("RATE_CLIENT") or 0.0),
            burst_client=int(get("BURST_CLIENT") or 60),
            rate_new_sessions=float(get("RATE_NEW_SESSIONS") or 60.0),
            burst_new_sessions=int(get("BURST_NEW_SESSIONS") or 30),
            session_secret=get("SESSION_SECRET"),
        )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


async def read_body(request: Request, limit: int, timeout: float = BODY_TIMEOUT) -> bytes:
    """The whole body, or BodyError: 413 over ``limit``, 408 when it takes over ``timeout`` s."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isascii() or not length.isdigit() or len(length) > 12:
            raise BodyError(400, "Content-Length is not a number")
        if int(length) > limit:
            raise BodyError(413, f"body is larger than {limit} bytes")

    async def collect() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyError(413, f"body is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(collect(), timeout)
    except asyncio.TimeoutError:
        raise BodyError(408, f"the body did not arrive within {timeout:g} s") from None
    except ClientDisconnect:
        raise BodyError(400, "the client went away before sending the whole body") from None


def bearer(request: Request, token: str) -> bool:
    """Whether the request carries 'Authorization: Bearer <token>' (compared in constant time);
    never with no token configured."""
    given = request.headers.get("authorization", "")
    return bool(token) and hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {token}".encode())


#: this machine's own address: the operator, a test client, or a proxy that --forwarded-allow-ips
#: does not name (a local proxy connects from it); the rest of 127/8 is not taken on trust
LOCAL = frozenset({ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")})


#: headers a proxy adds: a request that carries one came from elsewhere through this machine
FORWARDED = ("x-forwarded-for", "forwarded", "x-real-ip")


def local_client(request: Request) -> bool:
    """Whether the request comes from this machine's own address (127.0.0.1 or ::1), and not
    through a proxy there (nginx beside the server connects from 127.0.0.1 for everyone)."""
    if any(h in request.headers for h in FORWARDED):
        return False
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return (mapped or address) in LOCAL


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object from a body; every way this can fail is a BodyError (400 or 422)."""
    if not raw.strip():
        raise BodyError(400, "empty body: send a JSON object")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BodyError(400, "body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BodyError(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BodyError(400, "malformed JSON: nested too deeply") from None
    except ValueError as exc:  # a number too long to read
        raise BodyError(400, f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BodyError(422, f"the body must be a JSON object (got {type(data).__name__})")
    if b"\\u" in raw:
        # JSON may escape half of a surrogate pair alone ("\ud800"): valid JSON, but no text, and
        # every later encode (a signature, a store, a log line) would fail on it
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BodyError(422, "a lone surrogate escape (\\ud800-\\udfff) is not text") from None
    return data


def text_field(
    data: dict[str, Any],
    name: str,
    limit: int,
    *,
    allow_empty: bool = False,
    too_long: int = 422,
    number_ok: bool = False,
) -> str:
    """A string field of a JSON object, checked: 422 when missing, not text or too long."""
    value = data.get(name)
    if number_ok and isinstance(value, int) and not isinstance(value, bool) and -(10**40) < value < 10**40:
        value = str(value)  # numeric user ids are common in chat platforms
    if not isinstance(value, str):
        got = "missing" if name not in data else type(value).__name__
        raise BodyError(422, f"'{name}' must be a string (got {got})")
    if not allow_empty and not value.strip():
        raise BodyError(422, f"'{name}' must not be empty")
    if len(value) > limit:
        raise BodyError(too_long, f"'{name}' is longer than {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyError(422, f"'{name}' is not valid text (a lone surrogate)") from None
    return value


class Service:
    """The routes: one Bot, its store, and the settings."""

    def __init__(self, bot: Bot, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.recorder = Recorder(open_queue(settings.review)) if settings.review else None
        # a copy of its own: the observers of this app must not pile up on a Bot shared by others
        self.bot = self._observed(bot.with_store(bot.store))
        if bot.knowledge.texts.handoff.enabled and not self.bot.desk:
            log.warning(
                "bot.yaml enables the hand-off but neither --handoff-webhook nor --handoff-token is "
                "set: no person would see it, so the bot answers 转人工 itself (the lender's own "
                "customer service)"
            )
        # SQLite and Redis, shared by workers (and machines), keep the budgets: a client spread
        # over the workers gets the rate once, not once per worker
        store = bot.store
        self.session_limit = Limiter(settings.rate_session, settings.burst_session, store, name="session")
        self.client_limit = Limiter(settings.rate_client, settings.burst_client, store, name="client")
        # the page asks every 3 s while a person has the chat: its own budget, not the chat's
        self.poll_limit = Limiter(POLLS_PER_MINUTE, POLLS_PER_MINUTE // 3, store, name="poll")
        self.new_session_limit = Limiter(
            settings.rate_new_sessions, settings.burst_new_sessions, store, name="new_session"
        )
        self._session_key = (settings.session_secret or self._stored_secret()).encode("utf-8")
        self._reloading = threading.Lock()
        self._desk_pool = ThreadPoolExecutor(
            max_workers=HANDOFF_THREADS, thread_name_prefix="overdue-bot-handoff"
        )
        self._desk_slots = threading.BoundedSemaphore(HANDOFF_PENDING)
        self.desk_dropped = 0
        self.knowledge_digest = knowledge_digest(settings.intents or None)
        self.reload_error = ""
        self.web = resources.files("overdue_bot") / "web"
        s = settings
        self.feishu: feishu.Replier | None = None
        if s.feishu_verification_token and s.feishu_app_id and s.feishu_app_secret:
            self.feishu = feishu.Replier(s.feishu_app_id, s.feishu_app_secret, s.feishu_domain)

    def _refresh_secret(self) -> None:
        """Keep the stored key from expiring while pages are still being started."""
        try:
            self.bot.store.set(SECRET_KEY, {"secret": self._session_key.decode("utf-8")})
        except StoreError:
            pass  # the key in memory still signs; the next issuance tries again

    def _stored_secret(self) -> str:
        """The key that signs page session ids, kept in the session store: every worker and machine
        sharing it signs alike, and a restart keeps the pages' sessions (SQLite, Redis).  A new one
        is made the first time; a store that fails now gets a key for this process alone."""
        store = self.bot.store
        try:
            with store.lock(SECRET_KEY):
                kept = store.get(SECRET_KEY) or {}
                secret = kept.get("secret") if isinstance(kept, dict) else None
                if not isinstance(secret, str) or len(secret) < 32:
                    secret = secrets.token_hex(32)
                store.set(SECRET_KEY, {"secret": secret})  # written again: the store's expiry restarts
                return secret
        except StoreError as exc:
            log.error("the session store cannot keep the page's signing key (%s): one for this worker", exc)
            return secrets.token_hex(32)

    def _observed(self, bot: Bot) -> Bot:
        bot.desk = bool(self.settings.handoff_webhook or self.settings.handoff_token)
        bot.observe(self.metrics.observe)
        if self.recorder is not None:
            bot.observe(self.recorder)
        return bot

    # ------------------------------------------------------------------ reload
    def reload(self) -> dict[str, Any]:
        """Build the knowledge base again beside the one serving, and swap it in when it loads.

        A knowledge base that fails to load leaves the old one serving; the error is logged and
        shown by /healthz until a reload succeeds.  Unchanged files are not rebuilt.
        """
        with self._reloading:
            path = self.settings.intents or None
            digest = knowledge_digest(path)
            if digest == self.knowledge_digest and not self.reload_error:
                self.metrics.count("reloads", "unchanged")
                return {"reloaded": False, "changed": False, "knowledge": digest[:12]}
            started = time.perf_counter()
            try:
                bot = Bot(path, store=self.bot.store)
                bot.parse("你好")
            except Exception as exc:  # noqa: BLE001 - whatever breaks the new one, the old one keeps serving
                self.reload_error = str(exc)
                self.metrics.count("reloads", "failed")
                log.error("reload failed, still serving the previous knowledge base: %s", exc)
                return {
                    "reloaded": False,
                    "changed": True,
                    "error": str(exc),
                    "knowledge": self.knowledge_digest[:12],
                }
            self.bot = self._observed(bot)  # one assignment: a request sees the old bot or the new one
            self.knowledge_digest, self.reload_error = digest, ""
            self.metrics.count("reloads", "reloaded")
            log.info(
                "reloaded the knowledge base (%d intents, %d examples) in %.1f s",
                len(bot.knowledge.intents),
                len(bot.nlu.examples),
                time.perf_counter() - started,
            )
            return {
                "reloaded": True,
                "changed": True,
                "knowledge": digest[:12],
                "intents": len(bot.knowledge.intents),
                "examples": len(bot.nlu.examples),
            }

    def _admin(self, request: Request) -> None:
        """404 when admin calls are off, 401 without the admin token."""
        if not self.settings.admin_token:
            raise BodyError(404, "admin calls are not configured (--admin-token)")
        if not bearer(request, self.settings.admin_token):
            raise BodyError(401, "a valid 'Authorization: Bearer <admin token>' header is required")

    async def admin_reload(self, request: Request) -> Response:
        """POST /v1/admin/reload: this worker reloads now and answers how it went; under a
        multi-worker ``serve`` the others are told through the supervisor (SIGHUP)."""
        self._admin(request)
        result = await asyncio.to_thread(self.reload)
        supervisor = os.environ.get("OVERDUE_BOT_SUPERVISOR", "")
        if supervisor.isdigit() and int(supervisor) == os.getppid():
            os.kill(int(supervisor), signal.SIGHUP)
            result["workers"] = "all told"
        return JSONResponse(result, status_code=200 if "error" not in result else 409)

    async def admin_forget(self, request: Request) -> Response:
        """DELETE /v1/admin/sessions/{id}: one person's data gone (the id as the store keeps it:
        web:<id> for /v1/chat and the page, wechat:user:<openid> …, as the hand-off webhook sends it)."""
        self._admin(request)
        sid = request.path_params["session_id"]
        try:
            key = session_key(sid)
        except SessionIdError as exc:
            raise BodyError(422, str(exc)) from None
        existed = await asyncio.to_thread(forget, self.bot.store, key)
        return JSONResponse({"session_id": key, "forgotten": existed})

    async def metrics_page(self, request: Request) -> Response:
        """Prometheus text, to this machine (a scraper beside the server) or with the admin token:
        the counters tell an outsider how busy the bot is and which channels it serves."""
        if not local_client(request) and not bearer(request, self.settings.admin_token):
            raise BodyError(403, "metrics are for this machine, or 'Authorization: Bearer <admin token>'")
        if not self.metrics.enabled:
            raise BodyError(404, "metrics need prometheus-client: pip install 'overdue-bot[server]'")
        body, content_type = await asyncio.to_thread(self.metrics.exposition)
        return Response(body, media_type=content_type)

    def limit(self, request: Request, key: str) -> None:
        """429 with Retry-After when this session, or this client, is sending too fast."""
        host = request.client.host if request.client else ""
        for name, limiter, who in (("session", self.session_limit, key), ("client", self.client_limit, host)):
            wait = limiter.wait(who) if who else 0
            if wait:
                self.metrics.count("limited", name)
                raise BodyError(
                    429,
                    f"too many messages from this {name}; try again in {wait} s",
                    {"Retry-After": str(wait)},
                )

    # ------------------------------------------------------------------ turns
    def record(self, kind: str, key: str, text: str, reply: Any, started: float) -> None:
        who = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
        extra = f" text={redact(text)!r}" if self.settings.log_messages else ""
        log.info(
            "%s session=%s intent=%s state=%s ms=%.1f%s",
            kind,
            who,
            reply.intent,
            reply.state,
            (time.perf_counter() - started) * 1000,
            extra,
        )

    async def turn(self, request: Request, kind: str, id_field: str, text_field_name: str) -> tuple[str, Any]:
        """One conversation turn from a JSON body, raising BodyError for a body it cannot take."""
        started = time.perf_counter()
        trusted = self._trusted(request)
        request.state.trusted = trusted
        data = parse_json_object(await read_body(request, self.settings.max_body, self.settings.body_timeout))
        sid = text_field(data, id_field, MAX_ID, number_ok=True)
        key = self._web_key(request, sid, f"'{id_field}'", trusted)
        text = text_field(data, text_field_name, self.settings.max_text, allow_empty=True, too_long=413)
        if self.session_limit.store is None:
            self.limit(request, key)
        else:  # a store's round trip (or its outage) must not hold the event loop
            await asyncio.to_thread(self.limit, request, key)
        bot = self.bot
        # a turn on a local store (memory, SQLite in WAL) whose session is free takes well under a
        # millisecond: run it here, for the hop to a worker thread and back costs more than the
        # turn (SQLite: 530 against 840 req/s); a turn that would wait, or a Redis one, goes to a thread
        reply = bot.reply_now(text, session_id=key)
        if reply is None:
            reply = await bot.areply(text, session_id=key)
        self.record(kind, key, text, reply, started)
        if reply.handoff:
            self.notify_desk(kind, key, reply)
        return sid, reply

    # ------------------------------------------------------------------ routes
    def _trusted(self, request: Request) -> bool:
        """Whether the caller has the api token; 401 for an Authorization header that is wrong."""
        trusted = bearer(request, self.settings.api_token)
        if self.settings.api_token and not trusted and "authorization" in request.headers:
            raise BodyError(401, "the 'Authorization: Bearer <api token>' header is not valid")
        return trusted

    def _web_key(self, request: Request, sid: str, what: str, trusted: bool) -> str:
        """The store key of a web session the caller may use (401 or 422 otherwise)."""
        self._authorise(request, sid, what, trusted)
        try:
            return session_key(SPACE["web"] + sid)
        except SessionIdError as exc:
            raise BodyError(422, f"{what}: {exc}") from None

    def _authorise(self, request: Request, sid: str, id_field: str, trusted: bool) -> None:
        """401 unless the caller may use this session id: a server with the api token, a page
        with an id this server signed, or this machine when no token is set."""
        if trusted or self.signed_session(sid) or (not self.settings.api_token and local_client(request)):
            return
        # a chosen id is a server's (bearer) or this machine's; anyone else uses one we issued
        raise BodyError(
            401,
            f"{id_field} must be a session id from POST /v1/session, or the request needs "
            "'Authorization: Bearer <api token>'",
            {"WWW-Authenticate": 'Bearer realm="overdue-bot"'},
        )

    def signed_session(self, sid: str) -> bool:
        """Whether ``sid`` is a page session id this server (or one sharing its secret) issued."""
        if not PAGE_SESSION.fullmatch(sid):
            return False
        body, _, mac = sid.rpartition(".")
        return hmac.compare_digest(mac, self._sign(body))

    def _sign(self, body: str) -> str:
        return hmac.new(self._session_key, body.encode("ascii"), hashlib.sha256).hexdigest()[:32]

    async def new_session(self, request: Request) -> Response:
        """POST /v1/session: a session id for the web page, signed, and limited per client per minute
        (a flood of new sessions would push real ones out of a bounded store)."""
        if not local_client(request):
            host = request.client.host if request.client else ""
            wait = await asyncio.to_thread(self.new_session_limit.wait, host)
            if wait:
                self.metrics.count("limited", "new_session")
                raise BodyError(
                    429,
                    f"too many new sessions from this client; try again in {wait} s",
                    {"Retry-After": str(wait)},
                )
        if not self.settings.session_secret:
            await asyncio.to_thread(self._refresh_secret)
        body = "p." + secrets.token_urlsafe(16)[:22]
        return JSONResponse(
            {"session_id": f"{body}.{self._sign(body)}"}, headers={"Cache-Control": "no-store"}
        )

    async def plan(self, request: Request) -> Response:
        """GET /v1/sessions/{id}/plan: the person's plan as JSON (``Plan.to_dict()``), with the same
        credential as the session's turns: the api token, the page's signed id, or this machine."""
        sid = request.path_params["session_id"]
        if len(sid) > MAX_ID:
            raise BodyError(422, f"the session id is longer than {MAX_ID} characters")
        key = self._web_key(request, sid, "the session id", self._trusted(request))
        plan = await asyncio.to_thread(self.bot.plan, key)
        return JSONResponse(plan.to_dict(), headers={"Cache-Control": "no-store"})

    async def chat(self, request: Request) -> Response:
        sid, r = await self.turn(request, "chat", "session_id", "text")
        body = {"session_id": sid, **r.to_dict()}
        # the page shows 我的计划 once a debt is known (a yes or no: no debt is read back)
        body["plan_ready"] = bool(r.slots.get("platform") or r.slots.get("debts") or r.slots.get("amount"))
        if not (request.state.trusted or self.settings.debug):
            # a session id is no credential: whoever knows or guesses one must not read the debts
            body.pop("slots", None)
        return JSONResponse(body)

    async def handoff(self, request: Request) -> Response:
        """The desk's side of a hand-off: ``start`` gives a session to a person, ``reply`` writes
        into it (the page shows it), ``release`` gives it back.

        The session id is the one the hand-off webhook sent (a channel's own prefixed id) or the
        one the client used (a page's or /v1/chat's id, without ``web:``).
        """
        if not self.settings.handoff_token:
            raise BodyError(404, "hand-off calls are not configured (--handoff-token)")
        if not bearer(request, self.settings.handoff_token):
            raise BodyError(401, "a valid 'Authorization: Bearer <handoff token>' header is required")
        data = parse_json_object(await read_body(request, self.settings.max_body, self.settings.body_timeout))
        given = text_field(data, "session_id", 256)
        sid = given if given.startswith(tuple(SPACE.values())) else SPACE["web"] + given
        action = request.path_params["action"]
        if action == "release":
            released = await asyncio.to_thread(self.bot.release, sid)
            return JSONResponse({"session_id": sid, "handed_off": False, "released": released})
        if action == "start":
            await asyncio.to_thread(self.bot.hand_off, sid, "desk")
            return JSONResponse({"session_id": sid, "handed_off": True})
        if action == "reply":
            text = text_field(data, "text", self.settings.max_text, too_long=413)
            number = await asyncio.to_thread(self.bot.desk_reply, sid, text)
            if number is None:
                raise BodyError(409, f"session {sid!r} is not handed off: start it first")
            return JSONResponse({"session_id": sid, "handed_off": True, "id": number})
        raise BodyError(404, "no such hand-off action (start, reply or release)")

    async def desk_messages(self, request: Request) -> Response:
        """POST /v1/messages ``{"session_id", "after"}``: what a person at the desk wrote since
        message ``after``, for the page to show while the session is handed off.  The same
        credential as /v1/chat: the session's signed id, this machine, or the api token."""
        trusted = self._trusted(request)
        data = parse_json_object(await read_body(request, self.settings.max_body, self.settings.body_timeout))
        sid = text_field(data, "session_id", MAX_ID, number_ok=True)
        after = data.get("after", 0)
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**53:
            raise BodyError(422, "'after' must be a whole number of messages (0 or more)")
        key = self._web_key(request, sid, "'session_id'", trusted)
        wait = await asyncio.to_thread(self.poll_limit.wait, key)
        if wait:
            self.metrics.count("limited", "poll")
            raise BodyError(429, f"asking too often; try again in {wait} s", {"Retry-After": str(wait)})
        messages, handed = await asyncio.to_thread(self.bot.desk_messages, key, after)
        return JSONResponse(
            {"messages": [{"id": n, "text": t} for n, t in messages], "handed_off": handed},
            headers={"Cache-Control": "no-store"},
        )

    async def rasa_webhook(self, request: Request) -> Response:
        sender, r = await self.turn(request, "rest", "sender", "message")
        parts = [p.strip() for p in re.split(r"\n\s*\n", r.text) if p.strip()] or [r.text]
        return JSONResponse([{"recipient_id": sender, "text": p} for p in parts])

    async def rasa_health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def healthz(self, request: Request) -> Response:
        """ok only when the knowledge base is loaded and the session store answers."""
        ping = getattr(self.bot.store, "ping", None)
        if ping is not None:
            try:
                await asyncio.to_thread(ping)
            except StoreError as exc:
                log.error("health check: %s", exc)
                self.metrics.count("store_errors")
                return JSONResponse({"status": "unavailable", "store": "down"}, status_code=503)
        bot = self.bot
        health = {
            "status": "ok",
            "intents": len(bot.knowledge.intents),
            "examples": len(bot.nlu.examples),
            "knowledge": self.knowledge_digest[:12],
            "pid": os.getpid(),
        }
        if self.reload_error:
            health["reload_error"] = self.reload_error
        return JSONResponse(health)

    async def wechat_callback(self, request: Request) -> Response:
        token = self.settings.wechat_token
        if not token:
            raise BodyError(404, "the WeChat channel is not configured (set a token)")
        q = request.query_params
        ts, nonce = q.get("timestamp", ""), q.get("nonce", "")
        if not wechat.check_signature(token, q.get("signature", ""), ts, nonce):
            raise BodyError(403, "bad signature")
        if not wechat.fresh(ts, self.settings.wechat_window):
            raise BodyError(403, f"the timestamp is more than {self.settings.wechat_window:g} s off")
        if request.method == "GET":
            return PlainTextResponse(q.get("echostr", ""))
        body = await read_body(request, self.settings.max_body, self.settings.body_timeout)
        crypt = None
        if q.get("encrypt_type", "raw").lower() == "aes":
            if not self.settings.wechat_aes_keys:
                raise BodyError(400, "safe mode (encrypt_type=aes) needs --wechat-aes-key")
            crypt = self._crypt(token, self.settings.wechat_aes_keys, self.settings.wechat_appid)
            body = self._decrypted(crypt, body, q.get("msg_signature", ""), ts, nonce)
        return await self._message(body, ts, nonce, "wechat", crypt)

    async def wecom_callback(self, request: Request) -> Response:
        """WeCom (企业微信) app callback: every message encrypted, receiveid the CorpID."""
        s = self.settings
        if not (s.wecom_token and s.wecom_aes_key and s.wecom_corpid):
            raise BodyError(
                404, "the WeCom channel is not configured (--wecom-token, --wecom-aes-key, --wecom-corpid)"
            )
        q = request.query_params
        ts, nonce, sig = q.get("timestamp", ""), q.get("nonce", ""), q.get("msg_signature", "")
        if not wechat.fresh(ts, s.wechat_window):
            raise BodyError(403, f"the timestamp is more than {s.wechat_window:g} s off")
        crypt = self._crypt(s.wecom_token, (s.wecom_aes_key,), s.wecom_corpid)
        if request.method == "GET":
            return self._echo(crypt, q.get("echostr", ""), sig, ts, nonce)
        body = await read_body(request, s.max_body, s.body_timeout)
        return await self._message(self._decrypted(crypt, body, sig, ts, nonce), ts, nonce, "wecom", crypt)

    async def wecom_bot_callback(self, request: Request) -> Response:
        """WeCom 智能机器人 (API mode): encrypted JSON in, an encrypted finished stream reply out.

        The bot's receiveid is "" (WeCom's rule for an enterprise's own bot).  A user message is
        answered with one ``stream`` message marked finished, so WeCom sends no stream refreshes;
        entering the chat gets the greeting as text, the one place WeCom takes a text reply.
        """
        s = self.settings
        if not (s.wecom_token and s.wecom_aes_key):
            raise BodyError(404, "the WeCom bot channel is not configured (--wecom-token, --wecom-aes-key)")
        q = request.query_params
        ts, nonce, sig = q.get("timestamp", ""), q.get("nonce", ""), q.get("msg_signature", "")
        if not wechat.fresh(ts, s.wechat_window):
            raise BodyError(403, f"the timestamp is more than {s.wechat_window:g} s off")
        crypt = self._crypt(s.wecom_token, (s.wecom_aes_key,), "")
        if request.method == "GET":
            return self._echo(crypt, q.get("echostr", ""), sig, ts, nonce)
        outer = parse_json_object(await read_body(request, s.max_body, s.body_timeout))
        encrypted = outer.get("encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise BodyError(400, "'encrypt' is required")
        if not crypt.verify(sig, ts, nonce, encrypted):
            raise BodyError(403, "bad msg_signature")
        try:
            data = parse_json_object(crypt.decrypt(encrypted).encode("utf-8"))
        except wxcrypt.CryptoError as exc:
            raise BodyError(400, str(exc)) from None
        reply = await asyncio.to_thread(self._wecom_bot_turn, data)
        if reply is None:
            return Response(b"", status_code=200)
        sealed = crypt.encrypt(json.dumps(reply, ensure_ascii=False))
        stamp = str(int(time.time()))
        return JSONResponse(
            {
                "encrypt": sealed,
                "msgsignature": wxcrypt.signature(s.wecom_token, stamp, nonce, sealed),
                "timestamp": int(stamp),
                "nonce": nonce,
            }
        )

    def _wecom_bot_turn(self, data: dict[str, Any]) -> dict[str, Any] | None:
        def part(name: str) -> dict[str, Any]:
            value = data.get(name)
            return value if isinstance(value, dict) else {}

        msg_type, msg_id, user = data.get("msgtype"), data.get("msgid"), part("from").get("userid")
        if msg_type == "event":
            if part("event").get("eventtype") == "enter_chat":
                return {"msgtype": "text", "text": {"content": self.bot.knowledge.texts.greeting}}
            return None
        if (
            msg_type == "stream"
            or not isinstance(msg_id, str)
            or not msg_id
            or not isinstance(user, str)
            or not user
        ):
            return None  # a stream refresh (ours are finished at once) or a body that names no message
        content = part("text").get("content") if msg_type == "text" else None
        if isinstance(content, str):
            content = re.sub(r"^\s*@\S+\s*", "", content).strip()[
                : wechat.MAX_CONTENT
            ]  # the bot's @name in a group
        chat = str(data["chatid"]) if isinstance(data.get("chatid"), str) else "single"
        answer = (
            self._once("wecom_bot", msg_id, (chat, user), content)[0]
            if content
            else self.bot.knowledge.texts.not_text
        )
        if not answer:
            return None  # a person has this conversation
        stream_id = hashlib.sha256(msg_id.encode("utf-8")).hexdigest()[:32]
        return {"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": answer}}

    @staticmethod
    def _echo(crypt: wxcrypt.MsgCrypt, echo: str, sig: str, ts: str, nonce: str) -> Response:
        """WeCom's URL verification: the decrypted echostr, at once (WeCom allows one second)."""
        if not crypt.verify(sig, ts, nonce, echo):
            raise BodyError(403, "bad msg_signature")
        try:
            return PlainTextResponse(crypt.decrypt(echo))
        except wxcrypt.CryptoError as exc:
            raise BodyError(400, str(exc)) from None

    @staticmethod
    def _crypt(token: str, keys: tuple[str, ...], receive_id: str) -> wxcrypt.MsgCrypt:
        try:
            return wxcrypt.MsgCrypt(token, keys, receive_id)
        except wxcrypt.CryptoError as exc:
            log.error("channel encryption is misconfigured: %s", exc)
            raise BodyError(400, "the channel's EncodingAESKey is misconfigured") from None

    @staticmethod
    def _decrypted(crypt: wxcrypt.MsgCrypt, body: bytes, sig: str, ts: str, nonce: str) -> bytes:
        """The inner message XML of an encrypted envelope (its msg_signature checked first)."""
        try:
            encrypted = wechat.read_xml(body).findtext("Encrypt") or ""
        except wechat.WeChatError as exc:
            raise BodyError(400, str(exc)) from None
        if not encrypted or not crypt.verify(sig, ts, nonce, encrypted):
            raise BodyError(403, "bad msg_signature")
        try:
            return crypt.decrypt(encrypted).encode("utf-8")
        except wxcrypt.CryptoError as exc:
            raise BodyError(400, str(exc)) from None

    async def _message(
        self, body: bytes, ts: str, nonce: str, channel: str, crypt: wxcrypt.MsgCrypt | None
    ) -> Response:
        try:
            msg = wechat.parse_message(body)
        except wechat.WeChatError as exc:
            raise BodyError(400, str(exc)) from None
        text = await asyncio.to_thread(self._wechat_turn, msg, body, ts, nonce, channel)
        if not text:
            return PlainTextResponse("success")  # an event that needs no answer, or a person has it
        reply = wechat.transfer_xml(msg) if text == TRANSFER else wechat.reply_xml(msg, text)
        if crypt is not None:
            reply = crypt.envelope(reply, nonce)
        return Response(reply, media_type="application/xml")

    def _wechat_turn(
        self, msg: wechat.Message, body: bytes, ts: str, nonce: str, channel: str = "wechat"
    ) -> str:
        """The reply to a WeChat message: once per MsgId, whichever worker a retry reaches.

        The de-dup marker and the nonce memory live in the session store under the channel's own
        prefix.  A signed query seen before with another body is a replay and is refused.
        """
        self._signed_once(channel, f"{ts}:{nonce}", body)
        if msg.msg_type == "event":
            return self.bot.knowledge.texts.greeting if msg.event == "subscribe" else ""
        content = (
            msg.content if msg.msg_type == "text" else msg.recognition if msg.msg_type == "voice" else ""
        )
        if not content:
            return self.bot.knowledge.texts.not_text
        text, handoff = self._once(channel, msg.msg_id, (msg.from_user,), content)
        # the Official Account hands over with its own transfer (WeChat's 客服 then has the person)
        return TRANSFER if handoff and channel == "wechat" else text

    def _signed_once(self, channel: str, signed: str, body: bytes, bodies: int = 1) -> None:
        """Refuse a signature seen before with other bodies: a replay.

        WeChat signs the timestamp and a random nonce, so one signature is one request. DingTalk
        signs only the timestamp (in milliseconds), so its signature may carry ``bodies``
        different bodies (DINGTALK_BODIES: one) and no more; without this, one captured header
        pair carried any number of forged messages for the whole hour.  The bodies seen are remembered as digests, in the
        store, so every worker knows them; a body seen before is a platform retry and goes on to
        the de-dup marker.
        """
        store = self.bot.store
        digest = hashlib.sha256(body).hexdigest()[:16]
        seen_key = marker_key(
            channel, "nonce", hashlib.sha256(signed.encode("utf-8", "replace")).hexdigest()[:32]
        )
        with store.lock(seen_key):
            seen = store.get(seen_key) or {}
            known = [str(d) for d in seen.get("bodies", [seen["body"]] if "body" in seen else [])]
            if digest in known:
                return
            if len(known) >= bodies:
                raise BodyError(403, "this signed request was already used")
            store.set(seen_key, {"bodies": [*known, digest]})

    def _once(self, channel: str, msg_id: str, user: tuple[str, ...], content: str) -> tuple[str, str]:
        """The reply to one platform message, computed once: a retry gets the same reply.

        The marker (under the channel's prefix, so a retry that reaches another worker sharing
        Redis or SQLite sees it) holds only that the message was seen; the reply itself is kept in
        the person's own session record (``Bot.reply(delivery=…)``), so it expires and is forgotten
        with the session.  A retry of a message whose reply is no longer the session's last gets
        no answer rather than a second turn.
        """
        store = self.bot.store
        key = marker_key(channel, "msg", msg_id)
        sid = user_session(channel, *user)
        started = time.perf_counter()
        with store.lock(key):
            if store.get(key):
                return self.bot.delivered(sid, key) or ("", "")
            r = self.bot.reply(content, session_id=sid, delivery=key)
            self.record(channel, sid, content, r, started)
            store.set(key, {"seen": 1})
        if r.handoff:
            self.notify_desk(channel, sid, r)
        return r.text, r.handoff

    def notify_desk(self, channel: str, session_id: str, r: Any) -> None:
        """Tell the deployment's desk (``--handoff-webhook``) that a session needs a person.

        Sent by one small pool of threads (HANDOFF_THREADS), so no turn waits on the desk and a
        flood of hand-offs starts no thread each; past HANDOFF_PENDING waiting calls a new one is
        dropped and counted.  A failure is logged, never raised.
        """
        url = self.settings.handoff_webhook
        if not url:
            return
        payload = json.dumps(
            {
                "session_id": session_id,
                "channel": channel,
                "reason": r.handoff,
                "slots": r.slots,
                "release": "/v1/handoff/release",
            },
            ensure_ascii=False,
        ).encode()

        def send() -> None:
            request = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - the operator's own URL
                    resp.read(1024)
            except (OSError, ValueError) as exc:
                log.error("hand-off webhook failed for a %s session: %s", channel, exc)
            finally:
                self._desk_slots.release()

        if not self._desk_slots.acquire(blocking=False):
            self.desk_dropped += 1
            log.error(
                "hand-off webhook: %d calls waiting, this one dropped (%d so far)",
                HANDOFF_PENDING,
                self.desk_dropped,
            )
            return
        self._desk_pool.submit(send)

    async def dingtalk_callback(self, request: Request) -> Response:
        """DingTalk robot, HTTP outgoing mode: signed headers, JSON in, the answer in the response."""
        secret = self.settings.dingtalk_app_secret
        if not secret:
            raise BodyError(404, "the DingTalk channel is not configured (--dingtalk-app-secret)")
        ts, sig = request.headers.get("timestamp", ""), request.headers.get("sign", "")
        why = dingtalk.check(secret, ts, sig)
        if why:
            raise BodyError(403, why)
        body = await read_body(request, self.settings.max_body, self.settings.body_timeout)
        data = parse_json_object(body)
        try:
            msg = dingtalk.parse_message(data)
        except dingtalk.DingTalkError as exc:
            raise BodyError(422, str(exc)) from None
        await asyncio.to_thread(self._signed_once, "dingtalk", f"{ts}:{sig}", body, DINGTALK_BODIES)
        text = await asyncio.to_thread(self._dingtalk_turn, msg)
        return JSONResponse(dingtalk.reply(text) if text else {})  # '' while a person has the chat

    async def feishu_callback(self, request: Request) -> Response:
        """Feishu/Lark bot events: answered 200 at once, the reply sent through the API afterwards.

        Feishu wants the callback answered within 3 s and retries it otherwise; the turn and the
        reply API call run after the response, and a retried event_id is claimed only once.
        """
        s = self.settings
        if self.feishu is None:
            raise BodyError(
                404,
                "the Feishu channel is not configured (--feishu-verification-token, "
                "--feishu-app-id, --feishu-app-secret)",
            )
        body = await read_body(request, s.max_body, s.body_timeout)
        data = parse_json_object(body)
        try:
            if "encrypt" in data:
                if not s.feishu_encrypt_key or not isinstance(data["encrypt"], str):
                    raise feishu.FeishuError("an encrypted event, but no --feishu-encrypt-key is set")
                data = parse_json_object(
                    feishu.decrypt(s.feishu_encrypt_key, data["encrypt"]).encode("utf-8")
                )
            event = feishu.parse_event(data)
        except feishu.FeishuError as exc:
            raise BodyError(400, str(exc)) from None
        if not hmac.compare_digest(event.token.encode(), s.feishu_verification_token.encode()):
            raise BodyError(403, "bad Verification Token")
        if event.kind == "challenge":
            return JSONResponse({"challenge": event.challenge})
        if s.feishu_encrypt_key:
            h = request.headers
            why = feishu.check(
                s.feishu_encrypt_key,
                h.get("x-lark-request-timestamp", ""),
                h.get("x-lark-request-nonce", ""),
                h.get("x-lark-signature", ""),
                body,
            )
            if why:
                raise BodyError(403, why)
        if event.kind != "message" or not await asyncio.to_thread(
            first_delivery, self.bot.store, "feishu", event.event_id
        ):
            return JSONResponse({})
        return JSONResponse({}, background=BackgroundTask(self._feishu_answer, event))

    def _feishu_answer(self, event: feishu.Event) -> None:
        assert self.feishu is not None
        try:
            content = event.text if event.msg_type == "text" else ""
            text = (
                self._once("feishu", event.message_id, (event.chat_id, event.sender), content)[0]
                if content
                else self.bot.knowledge.texts.not_text
            )
            if not text:
                return  # a person has this conversation
            error = self.feishu.reply(event.message_id, text, event.event_id)
        except Exception as exc:  # after the response: nobody else would see it
            log.error("feishu: could not answer event %s: %s: %s", event.event_id, type(exc).__name__, exc)
            return
        if error:
            log.error("feishu: the reply API refused event %s: %s", event.event_id, error)

    def _dingtalk_turn(self, msg: dingtalk.Message) -> str:
        if not msg.content:
            return self.bot.knowledge.texts.not_text
        # one conversation per person per chat: a group and a 1:1 chat are kept apart
        return self._once("dingtalk", msg.msg_id, (msg.conversation_id, msg.sender), msg.content)[0]

    async def page(self, request: Request) -> Response:
        return HTMLResponse(
            self.web.joinpath("index.html").read_text(encoding="utf-8"),
            headers={"Cache-Control": "no-cache", **PAGE_HEADERS},
        )

    async def asset(self, request: Request) -> Response:
        static = {"chat.js": "text/javascript; charset=utf-8", "chat.css": "text/css; charset=utf-8"}
        name = request.path_params["name"]
        if name not in static:
            raise BodyError(404, "no such file")
        return Response(
            self.web.joinpath(name).read_text(encoding="utf-8"),
            media_type=static[name],
            headers={"Cache-Control": "no-cache", **PAGE_HEADERS},
        )

    @staticmethod
    async def no_icon(request: Request) -> Response:
        """Browsers ask for /favicon.ico whatever the page says: an empty answer, not a 404 logged."""
        return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})

    async def web_config(self, request: Request) -> Response:
        texts = self.bot.knowledge.texts
        return JSONResponse(
            {
                "greeting": texts.greeting,
                "quick_replies": list(texts.quick_replies),
                "max_text": self.settings.max_text,
                # the page shows its debug toggle (intent, slots) only for a server run with --debug
                "debug": self.settings.debug,
            }
        )

    # ------------------------------------------------------------------ errors
    @staticmethod
    async def body_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BodyError)
        response = _error(exc.status, exc.message)
        response.headers.update(exc.headers)
        return response

    @staticmethod
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail))

    async def store_error(self, request: Request, exc: Exception) -> Response:
        self.metrics.count("store_errors")
        log.error("session store failed: %s", exc)
        return _error(503, "the session store is unavailable; try again shortly")

    @staticmethod
    async def session_error(request: Request, exc: Exception) -> Response:
        return _error(422, str(exc))

    def routes(self) -> list[Route]:
        return [
            Route("/v1/chat", self.chat, methods=["POST"]),
            Route("/v1/session", self.new_session, methods=["POST"]),
            Route("/v1/messages", self.desk_messages, methods=["POST"]),
            Route("/v1/sessions/{session_id:path}/plan", self.plan, methods=["GET"]),
            Route("/v1/handoff/{action}", self.handoff, methods=["POST"]),
            Route("/webhooks/rest/webhook", self.rasa_webhook, methods=["POST"]),
            Route("/webhooks/rest/", self.rasa_health, methods=["GET"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.metrics_page, methods=["GET"]),
            Route("/v1/admin/reload", self.admin_reload, methods=["POST"]),
            Route("/v1/admin/sessions/{session_id:path}", self.admin_forget, methods=["DELETE"]),
            Route("/wechat", self.wechat_callback, methods=["GET", "POST"]),
            Route("/wecom", self.wecom_callback, methods=["GET", "POST"]),
            Route("/wecom/bot", self.wecom_bot_callback, methods=["GET", "POST"]),
            Route("/dingtalk", self.dingtalk_callback, methods=["POST"]),
            Route("/feishu", self.feishu_callback, methods=["POST"]),
            Route("/", self.page, methods=["GET"]),
            Route("/static/{name}", self.asset, methods=["GET"]),
            Route("/v1/config", self.web_config, methods=["GET"]),
            Route("/favicon.ico", self.no_icon, methods=["GET"]),
        ]


def create_app(
    bot: Bot | None = None,
    *,
    settings: Settings | None = None,
    reload_on_sighup: bool = False,
    **overrides: Any,
) -> Starlette:
    """The ASGI app; pass a Bot to share its knowledge base and store.

    ``overrides`` set fields of ``Settings`` (``wechat_token="…"``, ``max_body=…``).  With
    ``reload_on_sighup`` (what ``serve`` does) the process reloads the knowledge base on SIGHUP.
    """
    bot = bot or Bot()
    bot.parse("你好")  # load the dictionary now: the first user must not wait for it
    service = Service(bot, replace(settings or Settings(), **overrides))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        if reload_on_sighup and hasattr(signal, "SIGHUP"):
            try:
                loop.add_signal_handler(
                    signal.SIGHUP, lambda: loop.create_task(asyncio.to_thread(service.reload))
                )
            except (
                RuntimeError,
                ValueError,
                NotImplementedError,
            ) as exc:  # not the main thread, or no signals
                log.warning("reload on SIGHUP is not available here: %s", exc)
        yield

    app = Starlette(
        routes=service.routes(),
        lifespan=lifespan,
        exception_handlers={
            BodyError: service.body_error,
            HTTPException: service.http_error,
            StoreError: service.store_error,
            SessionIdError: service.session_error,
        },
    )
    app.state.bot = service.bot
    app.state.service = service
    return app


def knowledge_digest(path: str | Path | None) -> str:
    """A digest of the knowledge-base files as they are on disk now (what a reload would read)."""
    from ..kb.loader import default_path

    root = Path(path) if path else default_path()
    files = sorted([*root.glob("*.yaml"), *root.glob("*.yml")]) if root.is_dir() else [root]
    h = hashlib.sha256()
    for f in files:
        try:
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
        except OSError:
            h.update(f.name.encode() + b"\0missing\0")
    return h.hexdigest()


def app_from_env() -> Starlette:
    """The app as each uvicorn worker builds it, configured by the environment that serve sets."""
    from ..stores import open_store

    if hasattr(signal, "SIGHUP"):
        # a reload asked for while this worker is still starting must not kill it (the default
        # action); the app's lifespan installs the real handler once it serves
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    store = open_store(os.environ.get("OVERDUE_BOT_STORE") or None)
    bot = Bot(os.environ.get("OVERDUE_BOT_INTENTS") or None, store=store)
    return create_app(bot, settings=Settings.from_env(), reload_on_sighup=True)
