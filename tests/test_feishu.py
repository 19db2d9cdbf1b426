"""Feishu/Lark bot on real servers on 127.0.0.1, with a loopback stand-in for Feishu's open API.

Encrypted bodies are built with Feishu's documented scheme and checked to open with lark-oapi's own
AESCipher; signed headers are checked with lark-oapi's own event dispatcher, so the requests are
ones the SDK accepts.  Replies go out through lark-oapi's client (token fetch and
``im/v1/messages/{id}/reply``) to the stand-in, which records them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import uuid
from typing import Any

import pytest

lark = pytest.importorskip("lark_oapi")
from cryptography.hazmat.primitives import padding  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from lark_oapi.core.utils.decryptor import AESCipher  # noqa: E402

from .http_server import Server  # noqa: E402
from .loopback import Stub  # noqa: E402

TOKEN = "feishu-verification-token"
KEY = "feishu-encrypt-key"
APP_ID, APP_SECRET = "cli_test", "secret"


class FakeOpenAPI(Stub):
    """Feishu's open API, as much as the bot uses: the tenant token and the reply endpoint."""

    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []
        super().__init__(self._answer)

    def _answer(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        if path.endswith("/auth/v3/tenant_access_token/internal"):
            return {"code": 0, "msg": "ok", "tenant_access_token": "t-test", "expire": 7200}
        if "/im/v1/messages/" in path and path.endswith("/reply"):
            self.replies.append(
                {"message_id": path.split("/")[-2], "auth": headers.get("Authorization"), **body}
            )
            return {"code": 0, "msg": "success", "data": {"message_id": "om_reply"}}
        return {"code": 404, "msg": "not here"}

    def wait_for(self, message_id: str, count: int = 1) -> list[dict[str, Any]]:
        deadline = time.time() + 30
        while time.time() < deadline:
            got = [r for r in self.replies if r["message_id"] == message_id]
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return [r for r in self.replies if r["message_id"] == message_id]


def _encrypt(plain: str, key: str = KEY) -> str:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode()) + padder.finalize()
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(hashlib.sha256(key.encode()).digest()), modes.CBC(iv)).encryptor()
    sealed = base64.b64encode(iv + enc.update(data) + enc.finalize()).decode()
    assert AESCipher(key).decrypt_str(sealed) == plain  # lark-oapi opens what we sealed
    return sealed


def _signed(body: bytes, ts: int | None = None, key: str = KEY) -> dict[str, str]:
    stamp, nonce = str(int(time.time()) if ts is None else ts), uuid.uuid4().hex[:12]
    sig = hashlib.sha256((stamp + nonce + key).encode() + body).hexdigest()
    handler = lark.EventDispatcherHandler.builder(KEY, TOKEN).build()
    request = lark.RawRequest()
    request.headers = {
        "X-Lark-Request-Timestamp": stamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": sig,
    }
    request.body = body
    if key == KEY:
        handler._verify_sign(request, KEY)  # lark-oapi's own check passes (raises otherwise)
    return {**request.headers, "Content-Type": "application/json"}


def _event(text: str, user: str, message_id: str, event_id: str | None = None) -> bytes:
    inner = {
        "schema": "2.0",
        "header": {
            "event_id": event_id or uuid.uuid4().hex,
            "event_type": "im.message.receive_v1",
            "create_time": str(int(time.time() * 1000)),
            "token": TOKEN,
            "app_id": APP_ID,
            "tenant_key": "tk",
        },
        "event": {
            "sender": {"sender_id": {"open_id": user}, "sender_type": "user"},
            "message": {
                "message_id": message_id,
                "chat_id": "oc_chat",
                "chat_type": "p2p",
                "message_type": "text",
                "content": json.dumps({"text": text}, ensure_ascii=False),
            },
        },
    }
    return json.dumps({"encrypt": _encrypt(json.dumps(inner, ensure_ascii=False))}).encode()


def _server(api: FakeOpenAPI, *extra: str) -> Server:
    return Server(
        "--feishu-verification-token",
        TOKEN,
        "--feishu-encrypt-key",
        KEY,
        "--feishu-app-id",
        APP_ID,
        "--feishu-app-secret",
        APP_SECRET,
        "--feishu-domain",
        api.url,
        *extra,
    )


@pytest.fixture(scope="module")
def api():
    a = FakeOpenAPI()
    yield a
    a.close()


@pytest.fixture(scope="module")
def server(api: FakeOpenAPI):
    s = _server(api)
    yield s
    s.stop()


def _post(server: Server, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    status, out, _ = server.request(
        "POST", "/feishu", body, headers if headers is not None else _signed(body)
    )
    return status, out


def test_url_verification_plain_and_encrypted(server: Server) -> None:
    plain = json.dumps({"challenge": "ch-123", "token": TOKEN, "type": "url_verification"}).encode()
    assert _post(server, plain, {"Content-Type": "application/json"}) == (200, b'{"challenge":"ch-123"}')
    sealed = json.dumps({"encrypt": _encrypt(plain.decode())}).encode()
    status, out = _post(server, sealed, {"Content-Type": "application/json"})
    assert status == 200 and json.loads(out) == {"challenge": "ch-123"}
    wrong = json.dumps({"challenge": "x", "token": "nope", "type": "url_verification"}).encode()
    assert _post(server, wrong, {})[0] == 403


def test_a_message_is_answered_through_the_reply_api_with_slots_carried(
    server: Server, api: FakeOpenAPI
) -> None:
    user = "ou_" + uuid.uuid4().hex[:8]
    first, second = "om_" + uuid.uuid4().hex, "om_" + uuid.uuid4().hex
    assert _post(server, _event("美团借钱逾期两个月了", user, first)) == (200, b"{}")
    reply = api.wait_for(first)
    assert reply and reply[0]["msg_type"] == "text" and reply[0]["auth"] == "Bearer t-test"
    assert "美团" in json.loads(reply[0]["content"])["text"]
    assert _post(server, _event("会被起诉吗", user, second))[0] == 200
    text = json.loads(api.wait_for(second)[0]["content"])["text"]
    assert "起诉" in text and ("2个月" in text or "美团" in text), text


def test_bad_signature_old_timestamp_bad_key_and_bad_bodies_are_refused(server: Server) -> None:
    body = _event("你好", "ou_x", "om_" + uuid.uuid4().hex)
    assert _post(server, body, _signed(body, key="wrong"))[0] == 403
    assert _post(server, body, _signed(body, ts=int(time.time()) - 3600))[0] == 403
    assert _post(server, body, {"Content-Type": "application/json"})[0] == 403
    other_key = json.dumps({"encrypt": _encrypt('{"type": "url_verification"}', key="another")}).encode()
    assert _post(server, other_key, {})[0] == 400
    assert _post(server, b'{"encrypt": "not base64!!"}', {})[0] == 400
    assert _post(server, b"[1, 2", {})[0] == 400
    v1 = json.dumps({"encrypt": _encrypt(json.dumps({"uuid": "u", "token": TOKEN, "event": {}}))}).encode()
    assert _post(server, v1)[0] == 400


def test_a_replayed_event_is_answered_once(server: Server, api: FakeOpenAPI) -> None:
    user, message_id, event_id = "ou_" + uuid.uuid4().hex[:8], "om_" + uuid.uuid4().hex, uuid.uuid4().hex
    for _ in range(3):
        assert _post(server, _event("逾期三天会上征信吗", user, message_id, event_id))[0] == 200
    api.wait_for(message_id)
    marker = (
        "om_" + uuid.uuid4().hex
    )  # a later message: by the time it is answered, any duplicate would be too
    _post(server, _event("谢谢", user, marker))
    api.wait_for(marker)
    assert len([r for r in api.replies if r["message_id"] == message_id]) == 1


def test_a_retry_is_answered_once_across_two_servers_sharing_redis(api: FakeOpenAPI, redis_url: str) -> None:
    a, b = _server(api, "--store", redis_url), _server(api, "--store", redis_url)
    try:
        user, message_id, event_id = "ou_" + uuid.uuid4().hex[:8], "om_" + uuid.uuid4().hex, uuid.uuid4().hex
        body = _event("借呗逾期一个月会怎样", user, message_id, event_id)
        results: list[int] = []
        threads = [
            threading.Thread(target=lambda s=s: results.append(_post(s, body)[0])) for s in (a, b, a, b)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [200] * 4
        api.wait_for(message_id)
        marker = "om_" + uuid.uuid4().hex
        _post(b, _event("那会上征信吗", user, marker))
        follow = json.loads(api.wait_for(marker)[0]["content"])["text"]
        assert "征信" in follow
        assert len([r for r in api.replies if r["message_id"] == message_id]) == 1
    finally:
        a.stop()
        b.stop()


def test_not_configured_is_404() -> None:
    s = Server()
    try:
        assert s.request("POST", "/feishu", b"{}", {"Content-Type": "application/json"})[0] == 404
    finally:
        s.stop()
