"""The HTTP server, run for real on 127.0.0.1: endpoints, bad bodies, WeChat, shared sessions."""

from __future__ import annotations

import json
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from overdue_bot.channels import wechat

from .http_server import Server

TOKEN = "test-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("http") / "sessions.db"
    s = Server("--store", f"sqlite:///{db}", "--wechat-token", TOKEN, "--debug")
    yield s
    s.stop()


def test_chat_keeps_context(server: Server) -> None:
    sid = uuid.uuid4().hex
    r = server.chat(sid, "好分期逾期两天会联系我的联系人吗")
    assert r["intent"] == "contact_emergency_contacts" and r["state"] == "idle"
    assert r["slots"]["platform"] == "好分期" and r["slots"]["days_overdue"] == 2 and "联系人" in r["text"]
    r = server.chat(sid, "那会上征信吗")
    assert r["intent"] == "credit_report" and r["slots"]["platform"] == "好分期"
    assert set(r) == {"session_id", "text", "intent", "confidence", "slots", "state", "plan_ready"}


def test_rasa_rest_channel(server: Server) -> None:
    status, body, _ = server.request(
        "POST", "/webhooks/rest/webhook", json.dumps({"sender": "r1", "message": "逾期会上征信吗"})
    )
    messages = json.loads(body)
    assert status == 200 and isinstance(messages, list) and messages
    assert all(m["recipient_id"] == "r1" and m["text"].strip() for m in messages)
    assert json.loads(server.request("GET", "/webhooks/rest/")[1]) == {"status": "ok"}


def test_healthz(server: Server) -> None:
    status, body, _ = server.request("GET", "/healthz")
    assert status == 200 and json.loads(body)["intents"] >= 29


BAD_BODIES = [
    ("malformed JSON", "POST", "/v1/chat", b'{"session_id": "a", "text": ', 400),
    ("empty body", "POST", "/v1/chat", b"", 400),
    ("not UTF-8", "POST", "/v1/chat", b'{"session_id": "a", "text": "\xff\xfe"}', 400),
    ("a JSON array", "POST", "/v1/chat", b'["a", "b"]', 422),
    ("a JSON string", "POST", "/v1/chat", b'"hello"', 422),
    ("missing session_id", "POST", "/v1/chat", b'{"text": "hi"}', 422),
    ("missing text", "POST", "/v1/chat", b'{"session_id": "a"}', 422),
    ("text is a number", "POST", "/v1/chat", b'{"session_id": "a", "text": 5}', 422),
    ("text is null", "POST", "/v1/chat", b'{"session_id": "a", "text": null}', 422),
    ("session_id is a list", "POST", "/v1/chat", b'{"session_id": [1], "text": "hi"}', 422),
    ("session_id empty", "POST", "/v1/chat", b'{"session_id": " ", "text": "hi"}', 422),
    (
        "session_id too long",
        "POST",
        "/v1/chat",
        json.dumps({"session_id": "x" * 500, "text": "hi"}).encode(),
        422,
    ),
    ("text too long", "POST", "/v1/chat", json.dumps({"session_id": "a", "text": "逾" * 3000}).encode(), 413),
    ("body over 16 KB", "POST", "/v1/chat", b'{"session_id": "a", "text": "' + b"a" * 20000 + b'"}', 413),
    ("rasa: sender missing", "POST", "/webhooks/rest/webhook", b'{"message": "hi"}', 422),
    ("rasa: message is an object", "POST", "/webhooks/rest/webhook", b'{"sender": "a", "message": {}}', 422),
    ("rasa: malformed JSON", "POST", "/webhooks/rest/webhook", b"{{", 400),
    ("GET on a POST endpoint", "GET", "/v1/chat", None, 405),
    ("unknown path", "POST", "/v2/anything", b"{}", 404),
    ("wechat: bad signature", "GET", "/wechat?signature=x&timestamp=1&nonce=2&echostr=e", None, 403),
]


@pytest.mark.parametrize(
    ("what", "method", "path", "body", "status"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES]
)
def test_bad_requests_get_a_json_4xx(
    server: Server, what: str, method: str, path: str, body: bytes | None, status: int
) -> None:
    got, raw, headers = server.request(method, path, body, {"Content-Type": "application/json"})
    assert got == status, raw
    assert "error" in json.loads(raw)


@pytest.mark.parametrize("text", ["", "   ", "\x00\x1b[31m", "😭😭", "ありがとう"])
def test_odd_texts_get_an_answer(server: Server, text: str) -> None:
    r = server.chat("odd", text)
    assert r["text"].strip()


def _signed(path: str, **extra: str) -> str:
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    sig = wechat.signature(TOKEN, ts, nonce)
    query = "&".join(
        f"{k}={v}" for k, v in {"signature": sig, "timestamp": ts, "nonce": nonce, **extra}.items()
    )
    return f"{path}?{query}"


def _wechat_text(content: str, msg_id: str, user: str = "oUser123") -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def test_wechat_url_verification_echoes(server: Server) -> None:
    status, body, _ = server.request("GET", _signed("/wechat", echostr="hello123"))
    assert status == 200 and body == b"hello123"


def test_wechat_text_message_passive_reply(server: Server) -> None:
    user = "o" + uuid.uuid4().hex[:8]
    status, body, headers = server.request(
        "POST", _signed("/wechat"), _wechat_text("花呗逾期三天会上征信吗", "1001", user)
    )
    assert status == 200 and "xml" in headers.get("content-type", "")
    root = ET.fromstring(body)
    assert root.findtext("ToUserName") == user and root.findtext("FromUserName") == "gh_account"
    assert root.findtext("MsgType") == "text" and "征信" in (root.findtext("Content") or "")


def test_wechat_retry_is_answered_once(server: Server) -> None:
    """A retried MsgId gets the same reply and does not count as a second turn."""
    user = "o" + uuid.uuid4().hex[:8]
    msg_id = str(uuid.uuid4().int)[:16]
    server.request("POST", _signed("/wechat"), _wechat_text("逾期算严重吗", "x" + msg_id, user))
    first = server.request("POST", _signed("/wechat"), _wechat_text("三个月", msg_id, user))[1]
    again = server.request("POST", _signed("/wechat"), _wechat_text("三个月", msg_id, user))[1]
    assert ET.fromstring(first).findtext("Content") == ET.fromstring(again).findtext("Content")
    assert "重度逾期" in (ET.fromstring(first).findtext("Content") or "")


def test_wechat_non_text_and_hostile_xml(server: Server) -> None:
    image = (
        b"<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>"
        b"<MsgType>image</MsgType><MsgId>9</MsgId></xml>"
    )
    status, body, _ = server.request("POST", _signed("/wechat"), image)
    assert status == 200 and "文字" in (ET.fromstring(body).findtext("Content") or "")
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>'
    assert server.request("POST", _signed("/wechat"), bomb)[0] == 400
    assert server.request("POST", _signed("/wechat"), b"<xml><unclosed>")[0] == 400
    assert (
        server.request("POST", "/wechat?signature=bad&timestamp=1&nonce=1", _wechat_text("hi", "1"))[0] == 403
    )


def test_sqlite_session_survives_a_restart(tmp_path) -> None:
    db = tmp_path / "s.db"
    s = Server("--store", f"sqlite:///{db}", "--debug")
    try:
        s.chat("restart", "借呗逾期十天了")
    finally:
        s.stop()
    s = Server("--store", f"sqlite:///{db}", "--debug")
    try:
        r = s.chat("restart", "会上征信吗")
        assert (r["slots"]["platform"], r["slots"]["days_overdue"]) == ("借呗", 10) and r[
            "intent"
        ] == "credit_report"
    finally:
        s.stop()


def test_session_moves_between_processes_through_redis(redis_url: str) -> None:
    """Two server processes, one redis-server: a conversation continues on the other process."""
    a, b = Server("--store", redis_url, "--debug"), Server("--store", redis_url, "--debug")
    try:
        a.chat("shared", "好分期逾期两天会联系我的联系人吗")
        r = b.chat("shared", "那会上征信吗")
        assert (r["slots"]["platform"], r["slots"]["days_overdue"]) == ("好分期", 2) and r[
            "intent"
        ] == "credit_report"
        r = a.chat("shared", "花呗呢")
        assert r["slots"]["platform"] == "花呗" and r["intent"] == "credit_report"
    finally:
        a.stop()
        b.stop()


def test_logs_carry_no_message_text_by_default(tmp_path) -> None:
    s = Server()
    try:
        s.chat("log", "我的手机13812345678 花呗逾期三天")
    finally:
        out = s.stop()
    assert "intent=" in out and "13812345678" not in out and "花呗逾期" not in out


def test_log_messages_flag_redacts_numbers() -> None:
    s = Server("--log-messages")
    try:
        s.chat("log", "我的手机13812345678 花呗逾期三天")
    finally:
        out = s.stop()
    assert "花呗逾期三天" in out and "13812345678" not in out and "[已隐去]" in out


def test_web_page_and_assets(server: Server) -> None:
    status, body, headers = server.request("GET", "/")
    assert status == 200 and "text/html" in headers.get("content-type", "")
    page = body.decode("utf-8")
    assert "逾期问答助手" in page and 'aria-live="polite"' in page and "static/chat.js" in page
    for name, kind in (("chat.js", "javascript"), ("chat.css", "css")):
        status, body, headers = server.request("GET", f"/static/{name}")
        assert status == 200 and kind in headers.get("content-type", "") and body
    assert "innerHTML" not in server.request("GET", "/static/chat.js")[1].decode("utf-8")
    assert server.request("GET", "/static/../../etc/passwd")[0] == 404
    status, body, _ = server.request("GET", "/v1/config")
    config = json.loads(body)
    assert status == 200 and config["greeting"] and "逾期会上征信吗" in config["quick_replies"]
    assert config["max_text"] == 2000
