"""An outsider's requests (issue 25), in process: each input that gave a 500 or was accepted
when it should not be, sent through the ASGI app with httpx's ASGI transport (no server start;
the slow lane's tests/test_hardening.py sends the like to a real server)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

from overdue_bot import Bot  # noqa: E402
from overdue_bot.channels.http import PAGE_SESSION, create_app  # noqa: E402

SECRET = "ding-secret-outsider"
WECOM_TOKEN = "wecom-token-outsider"
WECOM_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeCom gives it
FEISHU_TOKEN = "feishu-token-outsider"


class Client:
    """Requests into the ASGI app, one event loop each."""

    def __init__(self, app: Any, address: str = "127.0.0.1") -> None:
        self.app = app
        self.address = address  # the client's address as the app sees it

    def get(self, path: str) -> Any:
        async def send() -> Any:
            transport = httpx.ASGITransport(app=self.app, client=(self.address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                return await c.get(path)

        return asyncio.run(send())

    def post(self, path: str, *, content: bytes, headers: dict[str, Any] | None = None) -> Any:
        async def send() -> Any:
            transport = httpx.ASGITransport(app=self.app, client=(self.address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                return await c.post(path, content=content, headers=headers or {})

        return asyncio.run(send())


@pytest.fixture(scope="module")
def client(bot: Bot) -> Client:
    from overdue_bot.stores import MemoryStore

    app = create_app(
        bot.with_store(MemoryStore()),
        dingtalk_app_secret=SECRET,
        wecom_token=WECOM_TOKEN,
        wecom_aes_key=WECOM_KEY,
        feishu_verification_token=FEISHU_TOKEN,
        feishu_app_id="cli_outsider",
        feishu_app_secret="outsider-secret",
    )
    return Client(app)


def _ding(ts: str) -> dict[str, str]:
    mac = hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
    return {"timestamp": ts, "sign": base64.b64encode(mac).decode(), "Content-Type": "application/json"}


def _ding_message(text: str, msg_id: str, staff: str) -> bytes:
    return json.dumps(
        {
            "msgtype": "text",
            "text": {"content": text},
            "msgId": msg_id,
            "conversationType": "1",
            "conversationId": "cid-outsider",
            "senderId": "$:LWCP:" + staff,
            "senderStaffId": staff,
        },
        ensure_ascii=False,
    ).encode()


@pytest.mark.parametrize("ts", ["²³", "١٢٣٤٥٦٧٨٩٠١٢٣", "１２３"])
def test_a_non_ascii_dingtalk_timestamp_is_a_403(client: Client, ts: str) -> None:
    r = client.post(
        "/dingtalk",
        content=_ding_message("你好", "m-ts", "s-ts"),
        headers={"timestamp": ts.encode(), "sign": "x", "Content-Type": "application/json"},
    )
    assert r.status_code == 403 and "timestamp" in r.text


def test_a_captured_dingtalk_signature_carries_few_other_messages(client: Client) -> None:
    """DingTalk signs only a millisecond timestamp: real callbacks of the same millisecond share
    it, so a signature carries DINGTALK_BODIES different messages, and a captured one no more."""
    from overdue_bot.channels.http import DINGTALK_BODIES

    headers = _ding(str(int(time.time() * 1000)))
    first = client.post(
        "/dingtalk", content=_ding_message("花呗逾期三天 欠五千", "m-real", "real-user"), headers=headers
    )
    assert first.status_code == 200
    retry = client.post(
        "/dingtalk", content=_ding_message("花呗逾期三天 欠五千", "m-real", "real-user"), headers=headers
    )
    assert retry.status_code == 200 and retry.json() == first.json()  # the platform's retry
    statuses = [
        client.post(
            "/dingtalk", content=_ding_message("我欠了多少", f"m-forged-{n}", "real-user"), headers=headers
        ).status_code
        for n in range(10)
    ]
    assert statuses.count(200) == DINGTALK_BODIES - 1 and statuses[DINGTALK_BODIES - 1 :] == [403] * (
        11 - DINGTALK_BODIES
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/wecom/bot?timestamp={ts}&nonce=n&msg_signature=x", '{"encrypt": "\\ud800"}'),
        ("/feishu", '{"type": "url_verification", "token": "\\ud800", "challenge": "c"}'),
        ("/feishu", '{"schema": "2.0", "header": {"token": "\\udfff", "event_id": "e"}}'),
        ("/v1/chat", '{"session_id": "\\ud800", "text": "hi"}'),
        ("/dingtalk", '{"msgtype": "text", "text": {"content": "\\ud800"}}'),
    ],
)
def test_a_lone_surrogate_is_a_4xx_not_a_500(client: Client, path: str, body: str) -> None:
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/json"}
    if path == "/dingtalk":
        headers = _ding(str(int(time.time() * 1000)))
    r = client.post(path.format(ts=ts), content=body.encode(), headers=headers)
    assert r.status_code < 500, r.text
    assert r.status_code in (403, 422), r.text


def test_a_valid_surrogate_pair_is_still_text(client: Client) -> None:
    r = client.post(
        "/v1/chat", content=b'{"session_id": "emoji-1", "text": "\\ud83d\\ude2d \\u903e\\u671f\\u4e86"}'
    )
    assert r.status_code == 200, r.text


def _chat(
    app: Any, sid: str, text: str, headers: dict[str, str] | None = None, address: str = "127.0.0.1"
) -> Any:
    body = json.dumps({"session_id": sid, "text": text}, ensure_ascii=False).encode()
    return Client(app, address).post(
        "/v1/chat", content=body, headers={"Content-Type": "application/json", **(headers or {})}
    )


def test_a_session_id_is_no_credential(bot: Bot) -> None:
    """Issue 25, defect 1: without a token the reply carries no slots, so guessing an id reads no
    debts; with --api-token only a caller with the token gets in, and gets them."""
    from overdue_bot.stores import MemoryStore

    open_app = create_app(bot.with_store(MemoryStore()))
    said = _chat(open_app, "victim", "借呗逾期十天 欠两万")
    assert said.status_code == 200 and "slots" not in said.json()
    probe = _chat(open_app, "victim", "")
    assert probe.status_code == 200 and "slots" not in probe.json() and "两万" not in probe.text

    locked = create_app(bot.with_store(MemoryStore()), api_token="tok-123")
    assert _chat(locked, "v", "你好").status_code == 401
    assert _chat(locked, "v", "你好", {"Authorization": "Bearer wrong"}).status_code == 401
    ok = _chat(locked, "v", "借呗逾期十天", {"Authorization": "Bearer tok-123"})
    assert ok.status_code == 200 and ok.json()["slots"]["platform"] == "借呗"
    rasa = Client(locked).post("/webhooks/rest/webhook", content=b'{"sender": "v", "message": "hi"}')
    assert rasa.status_code == 401

    debug = create_app(bot.with_store(MemoryStore()), debug=True)
    assert _chat(debug, "d", "花呗逾期三天").json()["slots"]["platform"] == "花呗"


REMOTE = "203.0.113.7"  # a client on another machine (a documentation address)


def test_the_page_uses_a_session_id_the_server_issued(bot: Bot) -> None:
    """Issue 25, point 1: a client beyond this machine cannot choose or guess a session id; the
    page asks POST /v1/session for a signed one, good on every server sharing the secret."""
    from overdue_bot.stores import MemoryStore

    store = MemoryStore()
    app = create_app(bot.with_store(store), session_secret="s3cret")
    issued = Client(app, REMOTE).post("/v1/session", content=b"")
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    sid = issued.json()["session_id"]
    assert PAGE_SESSION.fullmatch(sid)
    said = _chat(app, sid, "借呗逾期十天 欠两万", address=REMOTE)
    assert said.status_code == 200 and "slots" not in said.json()
    assert store.get(f"web:{sid}")["debts"][0]["platform"] == "借呗"
    # a chosen id, a guessed one, and the issued one with its signature altered
    tampered = sid[:-1] + ("0" if sid[-1] != "0" else "1")
    for other in ("victim", "p.AAAAAAAAAAAAAAAAAAAAAA." + "0" * 32, tampered):
        refused = _chat(app, other, "我欠了多少", address=REMOTE)
        assert refused.status_code == 401 and "/v1/session" in refused.json()["error"]
    # another worker (or machine) with the same secret knows it; one with another secret does not
    twin = create_app(bot.with_store(store), session_secret="s3cret")
    assert _chat(twin, sid, "还能协商吗", address=REMOTE).status_code == 200
    stranger = create_app(bot.with_store(store), session_secret="other")
    assert _chat(stranger, sid, "还能协商吗", address=REMOTE).status_code == 401
    # this machine (the operator, a test client) may still choose its ids
    assert _chat(app, "local-1", "你好").status_code == 200

    locked = create_app(bot.with_store(MemoryStore()), api_token="tok-9", session_secret="s3cret")
    page = _chat(locked, sid, "花呗逾期三天", address=REMOTE)
    assert page.status_code == 200 and "slots" not in page.json()  # the page: no token, no slots
    assert _chat(locked, "chosen", "你好").status_code == 401  # even from here, without the token
    server = _chat(locked, "chosen", "花呗逾期三天", {"Authorization": "Bearer tok-9"}, REMOTE)
    assert server.json()["slots"]["platform"] == "花呗"


def test_new_sessions_are_limited_per_client(bot: Bot) -> None:
    """Issue 25, defect 3: a flood of new session ids from one client, refused past the rate."""
    from overdue_bot.stores import MemoryStore

    app = create_app(bot.with_store(MemoryStore()), rate_new_sessions=5, burst_new_sessions=5)
    statuses = [Client(app, REMOTE).post("/v1/session", content=b"").status_code for _ in range(8)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
    refused = Client(app, REMOTE).post("/v1/session", content=b"")
    assert int(refused.headers["retry-after"]) >= 1
    assert Client(app, "198.51.100.4").post("/v1/session", content=b"").status_code == 200
    local = [Client(app).post("/v1/session", content=b"").status_code for _ in range(8)]
    assert local == [200] * 8  # this machine (or a proxy not named in --forwarded-allow-ips)


def test_a_retry_gets_its_reply_from_the_session_not_from_a_marker(client: Client) -> None:
    """Issue 25, defect 9: duplicate-message markers kept whole replies for 24 h, out of reach of
    forget; now a marker holds only that the message was seen, and the reply lives (and is
    forgotten) with the person's session."""
    from overdue_bot.channels.delivery import marker_key, user_session
    from overdue_bot.stores import forget

    app = client.app
    store = app.state.service.bot.store
    headers = _ding(str(int(time.time() * 1000)))
    body = _ding_message("花呗逾期三天 欠五千", "m-kept", "kept-user")
    first = client.post("/dingtalk", content=body, headers=headers)
    again = client.post("/dingtalk", content=body, headers=headers)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert first.json()["text"]["content"]
    marker = store.get(marker_key("dingtalk", "msg", "m-kept"))
    assert marker == {"seen": 1}
    sid = user_session("dingtalk", "cid-outsider", "kept-user")
    assert store.get(sid)["delivery"]["text"] == first.json()["text"]["content"]
    assert forget(store, sid)
    retried = client.post("/dingtalk", content=body, headers=headers)
    assert retried.status_code == 200 and retried.json() == {}  # seen: not answered twice


def test_serve_beyond_loopback_needs_a_token() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("API_TOKEN", "OVERDUE_BOT_API_TOKEN")}
    out = subprocess.run(
        [sys.executable, "-m", "overdue_bot", "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2 and "--api-token" in out.stderr and "Traceback" not in out.stderr


def test_hand_offs_share_one_small_pool(bot: Bot) -> None:
    """Issue 25, defect 8: 300 hand-offs start no thread each (1,500 requests once made 1,476)."""
    import socket
    import threading
    from types import SimpleNamespace

    from overdue_bot.channels import http
    from overdue_bot.stores import MemoryStore

    with socket.socket() as s:  # a port nobody listens on: each call fails at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(bot.with_store(MemoryStore()), handoff_webhook=f"http://127.0.0.1:{port}/desk")
    service = app.state.service
    reply = SimpleNamespace(handoff="asked", slots={})
    for n in range(300):
        service.notify_desk("web", f"web:s{n}", reply)
    workers = [t for t in threading.enumerate() if t.name.startswith("overdue-bot-handoff")]
    assert 0 < len(workers) <= http.HANDOFF_THREADS
    service._desk_pool.shutdown(wait=True)
    # past HANDOFF_PENDING waiting calls the rest were dropped and counted, and every slot came back
    assert 0 <= service.desk_dropped < 300 and service._desk_slots._value == http.HANDOFF_PENDING


def test_an_outage_is_logged_as_one_line_a_minute_with_a_count() -> None:
    """Issue 25, defect 9: a store outage once wrote 494 lines in 6 s."""
    import logging

    from overdue_bot.channels.logs import Throttle

    throttle = Throttle(seconds=60)

    def record(level: int, msg: str) -> logging.LogRecord:
        return logging.LogRecord("overdue_bot.http", level, __file__, 1, msg, None, None)

    passed = [throttle.filter(record(logging.ERROR, "session store failed: %s")) for _ in range(494)]
    assert passed.count(True) == 1
    turns = [throttle.filter(record(logging.INFO, "turn %s")) for _ in range(50)]
    assert all(turns)  # the per-turn lines are never held back


def test_sqlite_session_files_are_private(tmp_path: Any) -> None:
    import os

    from overdue_bot.stores import open_store

    store = open_store(f"sqlite:///{tmp_path / 'sessions.db'}")
    store.set("web:someone", {"debts": [{"platform": "花呗", "amount": 5000}]})
    files = sorted(os.listdir(tmp_path))
    assert "sessions.db" in files
    assert all(os.stat(tmp_path / f).st_mode & 0o077 == 0 for f in files), files


def test_channel_session_keys_never_join_two_people() -> None:
    """Issue 25, defect 9: ids joined with ':' and cut at 200 characters let two people share one."""
    from overdue_bot.channels.delivery import MAX_KEY, bounded_key, user_session

    assert user_session("dingtalk", "a:b", "c") != user_session("dingtalk", "a", "b:c")
    assert user_session("dingtalk", "cid-1", "staff") == "dingtalk:user:cid-1:staff"  # plain ids as before
    long_a, long_b = "x" * 300 + "A", "x" * 300 + "B"
    a, b = user_session("feishu", "chat", long_a), user_session("feishu", "chat", long_b)
    assert a != b and len(a) <= MAX_KEY and len(b) <= MAX_KEY
    assert bounded_key("wechat:msg:", long_a) != bounded_key("wechat:msg:", long_b)


def test_a_flood_of_new_sessions_evicts_no_marker() -> None:
    """Issue 25, defect 3: 105,000 new session ids evicted WeChat's duplicate-message marker, and a
    retried message was answered twice."""
    from overdue_bot.channels.delivery import first_delivery, marker_key
    from overdue_bot.stores import MemoryStore

    store = MemoryStore(max_sessions=50)
    assert first_delivery(store, "wechat", "7301")
    for n in range(500):
        store.set(f"web:flood-{n}", {"state": "idle"})
    assert len(store) == 50  # the sessions stay bounded
    assert not first_delivery(store, "wechat", "7301")  # the retry is still known
    assert store.get(marker_key("wechat", "event", "7301")) is not None


def test_healthz_is_503_when_a_turn_could_not_be_stored() -> None:
    """Issue 25, defect 9: /healthz said 200 while every turn answered 503 (a server refusing writes)."""
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    pytest.importorskip("redis")
    from overdue_bot.stores import RedisStore

    from .conftest import start_redis

    proc, url = start_redis(binary)
    try:
        store = RedisStore(url)
        store.ping()  # writes work
        store._client.config_set("maxmemory-policy", "noeviction")
        store._client.config_set("maxmemory", 1)  # every write refused from now on, reads still fine
        from overdue_bot.errors import StoreError

        with pytest.raises(StoreError):
            store.ping()
        store._client.config_set("maxmemory", 0)
        store.ping()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_page_carries_security_headers(client: Client) -> None:
    for path in ("/", "/static/chat.js"):
        r = client.get(path)
        assert r.status_code == 200
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"


def test_one_persons_data_can_be_forgotten(
    bot: Bot, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 25, point 6: overdue-bot forget SESSION, and DELETE /v1/admin/sessions/{id}."""
    from overdue_bot.cli import main
    from overdue_bot.stores import MemoryStore, open_store

    url = f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(url)
    store.set("web:u1", {"debts": [{"platform": "花呗", "amount": 5000}]})
    assert main(["forget", "web:u1", "--store", url]) == 0 and "forgot web:u1" in capsys.readouterr().out
    assert open_store(url).get("web:u1") is None
    assert main(["forget", "web:u1", "--store", url]) == 1

    app = create_app(bot.with_store(MemoryStore()), admin_token="adm-1")
    _chat(app, "p1", "花呗逾期三天 欠五千")

    async def delete(path: str, token: str) -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.delete(path, headers={"Authorization": f"Bearer {token}"})

    assert asyncio.run(delete("/v1/admin/sessions/web:p1", "wrong")).status_code == 401
    gone = asyncio.run(delete("/v1/admin/sessions/web:p1", "adm-1"))
    assert gone.status_code == 200 and gone.json() == {"session_id": "web:p1", "forgotten": True}
    assert asyncio.run(delete("/v1/admin/sessions/web:p1", "adm-1")).json()["forgotten"] is False


def test_metrics_are_not_public(bot: Bot) -> None:
    """Issue 25, defect 9: /metrics told anyone how busy the bot is; now only this machine or the admin."""
    from overdue_bot.stores import MemoryStore

    app = create_app(bot.with_store(MemoryStore()), admin_token="adm-2")

    async def get(client_host: str, headers: dict[str, str]) -> Any:
        transport = httpx.ASGITransport(app=app, client=(client_host, 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.get("/metrics", headers=headers)

    assert asyncio.run(get("203.0.113.9", {})).status_code == 403
    assert asyncio.run(get("203.0.113.9", {"Authorization": "Bearer adm-2"})).status_code in (200, 404)
    assert asyncio.run(get("127.0.0.1", {})).status_code in (200, 404)  # 404: prometheus-client absent


def test_the_desk_writes_into_a_handed_off_page_session(tmp_path: Any) -> None:
    """Issue 26, point 2: POST /v1/handoff/reply (the desk's bearer token) writes into the session,
    POST /v1/messages gives the page what it has not shown, release takes the page's own id."""
    from overdue_bot.stores import MemoryStore

    from .test_handoff import _kb

    bot = Bot(_kb(tmp_path), store=MemoryStore())
    app = create_app(bot, handoff_token="desk-1", handoff_webhook="http://127.0.0.1:9/none")
    issued = Client(app, REMOTE).post("/v1/session", content=b"").json()["session_id"]
    desk = {"Authorization": "Bearer desk-1", "Content-Type": "application/json"}

    def desk_call(action: str, **body: Any) -> Any:
        data = json.dumps({"session_id": issued, **body}, ensure_ascii=False).encode()
        return Client(app).post(f"/v1/handoff/{action}", content=data, headers=desk)

    def messages(after: int, sid: str = issued, address: str = REMOTE) -> Any:
        data = json.dumps({"session_id": sid, "after": after}).encode()
        return Client(app, address).post("/v1/messages", content=data)

    assert desk_call("reply", text="你好").status_code == 409  # not handed off: the bot has it
    assert _chat(app, issued, "转人工", address=REMOTE).json()["state"] == "handed_off"
    first = desk_call("reply", text="您好，我是客服小王")
    assert first.status_code == 200 and first.json() == {
        "session_id": f"web:{issued}",
        "handed_off": True,
        "id": 1,
    }
    desk_call("reply", text="请问是哪个平台？")
    got = messages(0).json()
    assert got["handed_off"] and [m["text"] for m in got["messages"]] == [
        "您好，我是客服小王",
        "请问是哪个平台？",
    ]
    assert [m["id"] for m in messages(1).json()["messages"]] == [2]
    assert messages(0, sid="someone-elses-id").status_code == 401  # only the session's own page
    assert messages(-1).status_code == 422
    assert desk_call("release").json()["released"] is True
    assert messages(2).json() == {"messages": [], "handed_off": False}
    assert (
        _chat(app, issued, "逾期会上征信吗", address=REMOTE).json()["text"].startswith("人工客服已结束接待")
    )


def test_no_desk_no_promise_of_one(tmp_path: Any) -> None:
    """Issue 26, point 2: with the hand-off on in bot.yaml but no desk configured, 转人工 is not a
    dead end: the bot says it is automatic and gives the lender's own customer service."""
    from overdue_bot.stores import MemoryStore

    from .test_handoff import _kb

    app = create_app(Bot(_kb(tmp_path), store=MemoryStore()))
    r = _chat(app, "no-desk", "转人工").json()
    assert r["state"] != "handed_off" and "客服" in r["text"] and r["text"]
    assert _chat(app, "no-desk", "逾期会上征信吗").json()["text"]  # still answered


@pytest.mark.parametrize("ts", [b"\xb2", b"\xb9\xb2\xb3", b"1\xbd"])
def test_a_latin1_digit_feishu_timestamp_is_a_403(bot: Bot, ts: bytes) -> None:
    """Found by benchmarks/attack.py: a Feishu X-Lark-Request-Timestamp of '²' (one latin-1 byte)
    passed str.isdigit and failed int(): a 500 with a traceback."""
    from overdue_bot.stores import MemoryStore

    app = create_app(
        bot.with_store(MemoryStore()),
        feishu_verification_token=FEISHU_TOKEN,
        feishu_encrypt_key="outsider-key",
        feishu_app_id="cli_outsider",
        feishu_app_secret="outsider-secret",
    )
    event = {
        "schema": "2.0",
        "header": {"event_id": "e-ts", "event_type": "im.message.receive_v1", "token": FEISHU_TOKEN},
        "event": {
            "sender": {"sender_id": {"open_id": "ou_x"}, "sender_type": "user"},
            "message": {
                "message_id": "om_ts",
                "chat_id": "oc_x",
                "chat_type": "p2p",
                "message_type": "text",
                "content": json.dumps({"text": "你好"}),
            },
        },
    }
    headers = {
        "Content-Type": "application/json",
        "X-Lark-Request-Timestamp": ts,
        "X-Lark-Request-Nonce": "n",
        "X-Lark-Signature": "0" * 64,
    }
    r = Client(app).post("/feishu", content=json.dumps(event).encode(), headers=headers)
    assert r.status_code == 403 and "Timestamp" in r.text


def test_the_plan_is_the_sessions_own(bot: Bot) -> None:
    """Issue 27, point 3: GET /v1/sessions/{id}/plan, with the session's own credential."""
    from overdue_bot.stores import MemoryStore

    app = create_app(bot.with_store(MemoryStore()), session_secret="plan-secret")
    sid = Client(app, REMOTE).post("/v1/session", content=b"").json()["session_id"]
    said = _chat(app, sid, "借呗逾期十天欠两万", address=REMOTE).json()
    assert said["plan_ready"] is True and "slots" not in said
    plan = Client(app, REMOTE).get(f"/v1/sessions/{sid}/plan")
    assert plan.status_code == 200 and plan.headers["cache-control"] == "no-store"
    body = plan.json()
    assert body["debts"][0]["lender"] == "借呗" and body["debts"][0]["amount"] == 20000
    assert {"deadlines", "steps", "budget", "script", "letter", "missing", "text"} <= set(body)
    assert Client(app, REMOTE).get("/v1/sessions/someone/plan").status_code == 401
    assert Client(app).get("/v1/sessions/" + "x" * 300 + "/plan").status_code == 422
    empty = _chat(app, "local-empty", "你好").json()
    assert empty["plan_ready"] is False


def test_a_proxied_request_is_not_this_machine(bot: Bot) -> None:
    """Review of issue 25: nginx beside the server connects from 127.0.0.1 for every user, so a
    request carrying a proxy's header may not choose a session id or read a plan."""
    from overdue_bot.stores import MemoryStore

    app = create_app(bot.with_store(MemoryStore()))
    _chat(app, "victim-2", "借呗逾期十天欠两万")
    for header in (
        {"X-Forwarded-For": "198.51.100.9"},
        {"X-Real-IP": "198.51.100.9"},
        {"Forwarded": "for=1.2.3.4"},
    ):
        assert _chat(app, "victim-2", "我欠了多少", header).status_code == 401

        async def plan(h: dict[str, str] = header) -> Any:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                return await c.get("/v1/sessions/victim-2/plan", headers=h)

        assert asyncio.run(plan()).status_code == 401
    assert _chat(app, "victim-2", "我欠了多少").status_code == 200  # this machine itself still may


def test_the_signing_key_is_kept_in_a_shared_store(bot: Bot, tmp_path: Any) -> None:
    """Review of issue 25: a new random key at every start ended every page's session at a
    restart; with a shared store the key is kept there, so a restart (or another worker) knows
    the ids it issued."""
    from overdue_bot.stores import open_store

    url = f"sqlite:///{tmp_path / 's.db'}"
    first = create_app(bot.with_store(open_store(url)))
    sid = Client(first, REMOTE).post("/v1/session", content=b"").json()["session_id"]
    _chat(first, sid, "花呗逾期三天", address=REMOTE)
    restarted = create_app(bot.with_store(open_store(url)))
    assert _chat(restarted, sid, "会上征信吗", address=REMOTE).status_code == 200
    elsewhere = create_app(bot.with_store(open_store(f"sqlite:///{tmp_path / 'other.db'}")))
    assert _chat(elsewhere, sid, "会上征信吗", address=REMOTE).status_code == 401


def test_the_desk_poll_is_limited_per_session(bot: Bot) -> None:
    """Review of issue 25: POST /v1/messages had no limit; the page asks 20 times a minute."""
    from overdue_bot.channels.http import POLLS_PER_MINUTE
    from overdue_bot.stores import MemoryStore

    app = create_app(bot.with_store(MemoryStore()))
    body = json.dumps({"session_id": "poller", "after": 0}).encode()
    statuses = [Client(app).post("/v1/messages", content=body).status_code for _ in range(POLLS_PER_MINUTE)]
    assert statuses[: POLLS_PER_MINUTE // 3] == [200] * (POLLS_PER_MINUTE // 3) and 429 in statuses
