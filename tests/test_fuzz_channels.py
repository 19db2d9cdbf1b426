"""Every enabled channel fuzzed in process (issue 25, point 2): DingTalk, Feishu, WeCom (app and
bot), the admin and hand-off routes, with hypothesis-made bodies, query strings and every header
each channel reads (non-ASCII, surrogate escapes, numbers that are not numbers).  No answer may be
a 5xx.  Derandomised, so CI runs the same cases every time; tests/test_fuzz.py does the like to a
real server for the routes every deployment has.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

from overdue_bot import Bot  # noqa: E402
from overdue_bot.channels.http import create_app  # noqa: E402
from overdue_bot.stores import MemoryStore  # noqa: E402

ROUTES = [
    ("POST", "/dingtalk"),
    ("POST", "/feishu"),
    ("GET", "/wecom"),
    ("POST", "/wecom"),
    ("GET", "/wecom/bot"),
    ("POST", "/wecom/bot"),
    ("POST", "/v1/admin/reload"),
    ("DELETE", "/v1/admin/sessions/web:x"),
    ("POST", "/v1/handoff/release"),
    ("POST", "/v1/handoff/start"),
    ("POST", "/v1/session"),
    ("POST", "/v1/chat"),
    ("POST", "/webhooks/rest/webhook"),
]
#: the headers the channels read, each given hostile values
HEADERS = [
    "timestamp",
    "sign",
    "x-lark-request-timestamp",
    "x-lark-request-nonce",
    "x-lark-signature",
    "authorization",
]
QUERY = ["timestamp", "nonce", "msg_signature", "signature", "echostr", "encrypt_type"]

texts = st.text(max_size=30) | st.sampled_from(
    ["\ud800", "²³", "١٢٣", "１２３", "-1", "9" * 30, "", " ", "\x00"]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
channel_json = st.fixed_dictionaries(
    {},
    optional={
        "encrypt": texts,
        "type": st.sampled_from(["url_verification", "event_callback"]) | texts,
        "token": texts,
        "challenge": texts,
        "schema": st.just("2.0"),
        "header": st.fixed_dictionaries(
            {}, optional={"token": texts, "event_id": texts, "event_type": texts}
        ),
        "event": json_values,
        "msgtype": texts,
        "text": st.fixed_dictionaries({}, optional={"content": texts}),
        "msgId": texts,
        "senderStaffId": texts,
        "conversationId": texts,
        "session_id": texts,
    },
)


def _raw(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()


bodies = (
    channel_json.map(_raw)
    | json_values.map(_raw)
    | st.binary(max_size=200)
    | st.sampled_from(
        [b"", b"{", b"[]", b'{"encrypt": "\\ud800"}', b"<xml><Encrypt>x</Encrypt></xml>", b"\xff\xfe"]
    )
)
header_values = (
    st.binary(max_size=24).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
    | texts.map(lambda t: t.encode("utf-8", "surrogatepass").replace(b"\r", b"").replace(b"\n", b""))
    # the api token, and latin-1 digits ("²"), which str.isdigit takes and int() does not
    | st.sampled_from([b"Bearer fuzz-api", b"\xb2", b"\xb9\xb2\xb3", b"1\xbd"])
)


@pytest.fixture(scope="module")
def app(bot: Bot) -> Any:
    return create_app(
        bot.with_store(MemoryStore()),
        dingtalk_app_secret="fuzz-ding",
        wecom_token="fuzz-wecom",
        wecom_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        wecom_corpid="wwfuzz",
        feishu_verification_token="fuzz-feishu",
        feishu_encrypt_key="fuzz-key",
        feishu_app_id="cli_fuzz",
        feishu_app_secret="fuzz",
        admin_token="fuzz-admin",
        handoff_token="fuzz-desk",
        api_token="fuzz-api",
    )


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    route=st.sampled_from(ROUTES),
    body=bodies,
    headers=st.dictionaries(st.sampled_from(HEADERS), header_values, max_size=4),
    query=st.dictionaries(st.sampled_from(QUERY), texts, max_size=4),
    address=st.sampled_from(["127.0.0.1", "203.0.113.5", "::1", "not-an-address"]),
)
def test_no_channel_answers_a_5xx(
    app: Any,
    route: tuple[str, str],
    body: bytes,
    headers: dict[str, bytes],
    query: dict[str, str],
    address: str,
) -> None:
    method, path = route
    params = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in query.items()}

    async def send() -> Any:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.request(method, path, content=body, headers=list(headers.items()), params=params)

    r = asyncio.run(send())
    assert r.status_code < 500, (method, path, body[:80], headers, params, r.status_code, r.text[:200])
