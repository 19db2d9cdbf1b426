"""WeCom 智能机器人 (API mode) JSON callback on real servers on 127.0.0.1.

Requests are sealed, and replies opened, with wechatpy's own PrpCrypto and signer (receiveid ""
as WeCom prescribes for an enterprise's own bot).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
import uuid

import pytest

wechatpy_crypto = pytest.importorskip("wechatpy.crypto")

from .http_server import Server  # noqa: E402

TOKEN = "bot-token"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
PRP = wechatpy_crypto.PrpCrypto(base64.b64decode(KEY + "="))


def _sign(ts: str, nonce: str, encrypted: str) -> str:
    return str(wechatpy_crypto._get_signature(TOKEN, ts, nonce, encrypted))


def _sealed(inner: dict, ts: int | None = None) -> tuple[str, bytes]:
    stamp, nonce = str(int(time.time()) if ts is None else ts), uuid.uuid4().hex[:10]
    encrypted = PRP.encrypt(json.dumps(inner, ensure_ascii=False), "").decode()
    query = f"msg_signature={_sign(stamp, nonce, encrypted)}&timestamp={stamp}&nonce={nonce}"
    return query, json.dumps({"encrypt": encrypted}).encode()


def _opened(raw: bytes) -> dict:
    env = json.loads(raw)
    assert _sign(str(env["timestamp"]), env["nonce"], env["encrypt"]) == env["msgsignature"]
    return dict(json.loads(PRP.decrypt(env["encrypt"], "")))


def _text(content: str, user: str, msg_id: str | None = None, chat: str = "single") -> dict:
    return {
        "msgid": msg_id or uuid.uuid4().hex,
        "aibotid": "AIBOT",
        "chattype": "single",
        "chatid": chat,
        "from": {"userid": user},
        "response_url": "https://example.invalid/r",
        "msgtype": "text",
        "text": {"content": content},
    }


def _ask(server: Server, inner: dict) -> dict:
    query, body = _sealed(inner)
    status, raw, _ = server.request("POST", f"/wecom/bot?{query}", body, {"Content-Type": "application/json"})
    assert status == 200, raw
    return _opened(raw)


@pytest.fixture(scope="module")
def server():
    s = Server("--wecom-token", TOKEN, "--wecom-aes-key", KEY)
    yield s
    s.stop()


def test_url_verification_decrypts_echostr(server: Server) -> None:
    ts, nonce = str(int(time.time())), "n1"
    echo = PRP.encrypt("echo-bot-42", "").decode()
    query = f"msg_signature={_sign(ts, nonce, echo)}&timestamp={ts}&nonce={nonce}&echostr={urllib.parse.quote(echo)}"
    status, raw, _ = server.request("GET", f"/wecom/bot?{query}")
    assert status == 200 and raw == b"echo-bot-42"
    assert server.request("GET", f"/wecom/bot?msg_signature=bad&timestamp={ts}&nonce=n&echostr=x")[0] == 403


def test_messages_are_answered_as_a_finished_stream_with_slots_carried(server: Server) -> None:
    user = "lisi" + uuid.uuid4().hex[:4]
    first = _ask(server, _text("@逾期助手 招行信用卡逾期45天了", user))
    assert first["msgtype"] == "stream" and first["stream"]["finish"] is True
    assert "招商银行" in first["stream"]["content"] or "招行" in first["stream"]["content"]
    second = _ask(server, _text("会被起诉吗", user))["stream"]["content"]
    assert "起诉" in second and ("45" in second or "招" in second), second
    welcome = _ask(
        server, {"msgtype": "event", "from": {"userid": user}, "event": {"eventtype": "enter_chat"}}
    )
    assert welcome["msgtype"] == "text" and welcome["text"]["content"]


def test_bad_signature_old_timestamp_and_bad_bodies_are_refused(server: Server) -> None:
    query, body = _sealed(_text("你好", "u1"))
    tampered = query.replace("msg_signature=", "msg_signature=0")
    assert server.request("POST", f"/wecom/bot?{tampered}", body)[0] == 403
    old_query, old_body = _sealed(_text("你好", "u1"), ts=int(time.time()) - 3600)
    assert server.request("POST", f"/wecom/bot?{old_query}", old_body)[0] == 403
    assert server.request("POST", f"/wecom/bot?{query}", b"{oops")[0] == 400
    assert server.request("POST", f"/wecom/bot?{query}", b'{"nothing": 1}')[0] == 400


def test_a_replayed_message_is_answered_once(server: Server) -> None:
    user, msg_id = "wang" + uuid.uuid4().hex[:4], uuid.uuid4().hex
    _ask(server, _text("逾期算严重吗", user))
    first = _ask(server, _text("三个月", user, msg_id))["stream"]
    again = _ask(server, _text("三个月", user, msg_id))["stream"]
    assert first == again and "重度逾期" in first["content"]


def test_a_retry_is_answered_once_across_two_servers_sharing_redis(redis_url: str) -> None:
    a = Server("--wecom-token", TOKEN, "--wecom-aes-key", KEY, "--store", redis_url)
    b = Server("--wecom-token", TOKEN, "--wecom-aes-key", KEY, "--store", redis_url)
    try:
        user, msg_id = "zhao" + uuid.uuid4().hex[:4], uuid.uuid4().hex
        _ask(a, _text("分期乐逾期二十天", user))
        answers: list[str] = []
        threads = [
            threading.Thread(
                target=lambda s=s: answers.append(
                    _ask(s, _text("会上征信吗", user, msg_id))["stream"]["content"]
                )
            )
            for s in (a, b, a, b)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 4 and len(set(answers)) == 1
    finally:
        logs = a.stop() + b.stop()
    assert len([line for line in logs.splitlines() if "wecom_bot session=" in line]) == 2
