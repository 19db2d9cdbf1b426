"""DingTalk Stream mode: `overdue-bot dingtalk-stream` with the official SDK, against a loopback gateway.

The gateway stands in for DingTalk's: the connection-open API, the websocket that delivers
callbacks and takes acks, and the sessionWebhook that answers are posted to.  It redelivers a
message after a reconnect, as DingTalk's gateway may.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import pytest

pytest.importorskip("dingtalk_stream")
ws_server = pytest.importorskip("websockets.asyncio.server")

from .conftest import ROOT  # noqa: E402
from .loopback import Stub  # noqa: E402


class Gateway:
    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.opens = 0
        self.connections: queue.Queue[Any] = queue.Queue()
        self.http = Stub(self._answer)
        self.url = self.http.url
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def on_connect(ws: Any) -> None:
            self.connections.put(ws)
            async for raw in ws:
                self.acks.append(json.loads(raw))

        async def main() -> None:
            self.ws = await ws_server.serve(on_connect, "127.0.0.1", 0)
            self.ws_port = self.ws.sockets[0].getsockname()[1]
            ready.set()
            await asyncio.Future()

        threading.Thread(target=self.loop.run_until_complete, args=(main(),), daemon=True).start()
        ready.wait(10)

    def _answer(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        if path == "/v1.0/gateway/connections/open":
            self.opens += 1
            assert body["clientId"] == "ding-key" and body["clientSecret"] == "ding-secret"
            return {"endpoint": f"ws://127.0.0.1:{self.ws_port}/connect", "ticket": "tk"}
        self.replies.append({"hook": path, **body})  # a sessionWebhook
        return {"errcode": 0, "errmsg": "ok"}

    def connection(self) -> Any:
        return self.connections.get(timeout=60)

    def deliver(self, ws: Any, text: str, message_id: str, staff: str) -> None:
        data = {
            "conversationId": "cid-1",
            "chatbotCorpId": "corp",
            "chatbotUserId": "bot",
            "msgId": message_id,
            "senderNick": "测试",
            "isAdmin": False,
            "senderStaffId": staff,
            "senderId": "$:LWCP:" + staff,
            "sessionWebhookExpiredTime": int(time.time() * 1000) + 3_600_000,
            "createAt": int(time.time() * 1000),
            "conversationType": "1",
            "msgtype": "text",
            "text": {"content": text},
            "sessionWebhook": f"{self.url}/robot/sendBySession/{message_id}",
        }
        frame = {
            "specVersion": "1.0",
            "type": "CALLBACK",
            "data": json.dumps(data, ensure_ascii=False),
            "headers": {
                "appId": "app",
                "connectionId": "c1",
                "contentType": "application/json",
                "messageId": message_id,
                "time": str(int(time.time() * 1000)),
                "topic": "/v1.0/im/bot/messages/get",
            },
        }
        asyncio.run_coroutine_threadsafe(ws.send(json.dumps(frame, ensure_ascii=False)), self.loop).result(10)

    def reply_to(self, message_id: str) -> list[dict[str, Any]]:
        deadline = time.time() + 30
        hook = f"/robot/sendBySession/{message_id}"
        while time.time() < deadline:
            got = [r for r in self.replies if r["hook"] == hook]
            if got:
                return got
            time.sleep(0.05)
        return []

    def acked(self, message_id: str, times: int = 1) -> bool:
        deadline = time.time() + 30
        while time.time() < deadline:
            if sum(a.get("headers", {}).get("messageId") == message_id for a in self.acks) >= times:
                return True
            time.sleep(0.05)
        return False


@pytest.fixture()
def gateway():
    g = Gateway()
    yield g
    g.http.close()
    g.loop.call_soon_threadsafe(g.ws.close)


def test_stream_mode_answers_carries_slots_and_ignores_a_redelivery(gateway: Gateway) -> None:
    env = {**os.environ, "DINGTALK_OPENAPI_ENDPOINT": gateway.url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "overdue_bot",
            "dingtalk-stream",
            "--client-id",
            "ding-key",
            "--client-secret",
            "ding-secret",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ws = gateway.connection()
        staff = "staff" + uuid.uuid4().hex[:6]
        m1, m2, m3 = (uuid.uuid4().hex for _ in range(3))
        gateway.deliver(ws, "借呗逾期20天了", m1, staff)
        first = gateway.reply_to(m1)
        assert first and first[0]["msgtype"] == "text" and "借呗" in first[0]["text"]["content"]
        assert gateway.acked(m1)
        gateway.deliver(ws, "会上征信吗", m2, staff)
        second = gateway.reply_to(m2)[0]["text"]["content"]
        assert "征信" in second and ("20" in second or "借呗" in second), second
        # the gateway drops the connection; the SDK reconnects, and m2 is delivered again
        asyncio.run_coroutine_threadsafe(ws.close(), gateway.loop).result(10)
        ws = gateway.connection()
        assert gateway.opens >= 2
        gateway.deliver(ws, "会上征信吗", m2, staff)
        assert gateway.acked(m2, times=2)  # the redelivery is acknowledged, so the gateway stops sending it
        gateway.deliver(ws, "谢谢", m3, staff)
        assert gateway.reply_to(m3)
        assert len(gateway.reply_to(m2)) == 1  # answered once, not again after the reconnect
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


def test_the_command_says_what_is_missing() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DINGTALK_")}
    out = subprocess.run(
        [sys.executable, "-m", "overdue_bot", "dingtalk-stream"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "--client-id" in out.stderr and "Traceback" not in out.stderr


def _stream(gateway: Gateway, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DINGTALK_OPENAPI_ENDPOINT": gateway.url}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "overdue_bot",
            "dingtalk-stream",
            "--client-id",
            "ding-key",
            "--client-secret",
            "ding-secret",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_two_stream_processes_on_one_redis_answer_a_message_once(gateway: Gateway, redis_url: str) -> None:
    procs = [_stream(gateway, "--store", redis_url) for _ in range(2)]
    try:
        first, second = gateway.connection(), gateway.connection()
        staff, m1, m2 = "staff" + uuid.uuid4().hex[:6], uuid.uuid4().hex, uuid.uuid4().hex
        for ws in (first, second, first):
            gateway.deliver(ws, "分期乐逾期两个月了会被起诉吗", m1, staff)
        assert gateway.acked(m1, times=3)
        gateway.deliver(second, "谢谢", m2, staff)
        assert gateway.reply_to(m2)
        assert len(gateway.reply_to(m1)) == 1
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(15)


def test_stream_hand_off_round_trip(gateway: Gateway, redis_url: str, tmp_path: Any) -> None:
    from overdue_bot import Bot
    from overdue_bot.stores import open_store

    from .test_handoff import _kb

    kb = _kb(tmp_path)
    proc = _stream(gateway, "--store", redis_url, "--intents", str(kb))
    try:
        ws = gateway.connection()
        staff, m1, m2, m3 = "staff" + uuid.uuid4().hex[:6], *(uuid.uuid4().hex for _ in range(3))
        gateway.deliver(ws, "我要转人工", m1, staff)
        assert "人工客服" in gateway.reply_to(m1)[0]["text"]["content"]
        gateway.deliver(ws, "人呢", m2, staff)
        assert gateway.acked(m2)
        desk = Bot(kb, store=open_store(redis_url))  # the desk's side, on the same store
        assert desk.release(f"dingtalk:user:cid-1:{staff}")
        gateway.deliver(ws, "会上征信吗", m3, staff)
        assert gateway.reply_to(m3)[0]["text"]["content"].startswith("人工客服已结束接待")
        assert not [r for r in gateway.replies if r["hook"].endswith(m2)]  # silent while handed over
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
