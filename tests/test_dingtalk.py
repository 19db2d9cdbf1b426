"""DingTalk robot, HTTP outgoing mode, on real servers on 127.0.0.1.

Requests are signed with DingTalk's documented algorithm (base64 HMAC-SHA256 of
``timestamp + "\\n" + secret``), written here independently of the module under test, so a
mistake in one does not hide in the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid

import pytest

from overdue_bot.channels import dingtalk

from .http_server import Server

SECRET = "ding-app-secret-for-tests"


def _headers(ts_ms: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time() * 1000) if ts_ms is None else ts_ms)
    mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    return {"timestamp": ts, "sign": base64.b64encode(mac).decode(), "Content-Type": "application/json"}


def _message(text: str, msg_id: str, staff: str, conversation: str = "cid-1", at: int | None = None) -> str:
    return json.dumps(
        {
            "msgtype": "text",
            "text": {"content": text},
            "msgId": msg_id,
            "createAt": int(time.time() * 1000) if at is None else at,
            "conversationType": "1",
            "conversationId": conversation,
            "senderId": "$:LWCP:" + staff,
            "senderStaffId": staff,
            "senderNick": "测试",
            "chatbotUserId": "bot",
            "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=x",
            "sessionWebhookExpiredTime": int(time.time() * 1000) + 3_600_000,
        },
        ensure_ascii=False,
    )


def _answer(server: Server, text: str, msg_id: str, staff: str) -> str:
    # one millisecond for the signature and the body: two sends in the same millisecond are then
    # the same request (a retry), as DingTalk's are; a signature carries one body (DINGTALK_BODIES)
    now = int(time.time() * 1000)
    status, body, _ = server.request(
        "POST", "/dingtalk", _message(text, msg_id, staff, at=now), _headers(now)
    )
    assert status == 200, body
    data = json.loads(body)
    assert data["msgtype"] == "text"
    return str(data["text"]["content"])


@pytest.fixture(scope="module")
def server():
    s = Server("--dingtalk-app-secret", SECRET)
    yield s
    s.stop()


def test_the_module_signs_as_dingtalk_documents() -> None:
    h = _headers()
    assert dingtalk.sign(SECRET, h["timestamp"]) == h["sign"]
    assert dingtalk.check(SECRET, h["timestamp"], h["sign"]) == ""
    assert "hour" in dingtalk.check(SECRET, str(int(time.time() * 1000) - 3_700_000), h["sign"])


def test_a_text_message_is_answered_and_its_slots_carried(server: Server) -> None:
    staff = "staff" + uuid.uuid4().hex[:6]
    first = _answer(server, "借呗逾期了20天", uuid.uuid4().hex, staff)
    assert "借呗" in first
    second = _answer(server, "会上征信吗", uuid.uuid4().hex, staff)
    assert "征信" in second and ("20" in second or "借呗" in second)


def test_a_bad_sign_an_old_timestamp_and_a_bad_body_are_refused(server: Server) -> None:
    body = _message("你好", uuid.uuid4().hex, "s1")
    assert server.request("POST", "/dingtalk", body, _headers(secret="wrong"))[0] == 403
    assert (
        server.request("POST", "/dingtalk", body, _headers(ts_ms=int(time.time() * 1000) - 2 * 3_600_000))[0]
        == 403
    )
    assert server.request("POST", "/dingtalk", body, {"Content-Type": "application/json"})[0] == 403
    assert server.request("POST", "/dingtalk", b"{not json", _headers())[0] == 400
    assert server.request("POST", "/dingtalk", json.dumps({"msgtype": "text"}), _headers())[0] == 422
    picture = json.dumps(
        {"msgtype": "picture", "msgId": uuid.uuid4().hex, "senderStaffId": "s2", "conversationId": "c"}
    )
    status, out, _ = server.request("POST", "/dingtalk", picture, _headers())
    assert status == 200 and "文字" in json.loads(out)["text"]["content"]


def test_not_configured_is_404() -> None:
    s = Server()
    try:
        assert s.request("POST", "/dingtalk", _message("你好", "1", "s"), _headers())[0] == 404
    finally:
        s.stop()


def test_a_replayed_message_is_answered_once(server: Server) -> None:
    staff, msg_id = "staff" + uuid.uuid4().hex[:6], uuid.uuid4().hex
    _answer(server, "逾期算严重吗", uuid.uuid4().hex, staff)
    first = _answer(server, "三个月", msg_id, staff)
    again = _answer(server, "三个月", msg_id, staff)
    assert first == again and "重度逾期" in first


def test_a_retry_is_answered_once_across_two_servers_sharing_redis(redis_url: str) -> None:
    """Two processes on one Redis (two machines): the same msgId at both at once gets one turn."""
    a = Server("--dingtalk-app-secret", SECRET, "--store", redis_url)
    b = Server("--dingtalk-app-secret", SECRET, "--store", redis_url)
    try:
        staff, msg_id = "staff" + uuid.uuid4().hex[:6], uuid.uuid4().hex
        _answer(a, "美团借钱逾期一个月了", uuid.uuid4().hex, staff)
        answers: list[str] = []
        threads = [
            threading.Thread(target=lambda s=s: answers.append(_answer(s, "会被起诉吗", msg_id, staff)))
            for s in (a, b, a, b)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 4 and len(set(answers)) == 1
        follow = _answer(b, "那我该怎么办", uuid.uuid4().hex, staff)
        assert follow and follow != answers[0]
    finally:
        logs = a.stop() + b.stop()
    turns = [line for line in logs.splitlines() if "dingtalk session=" in line]
    assert len(turns) == 3, turns  # three messages, three turns: the retries were not turns
