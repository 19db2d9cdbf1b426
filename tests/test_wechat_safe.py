"""WeChat Official Account safe mode and the WeCom app callback, on a real server on 127.0.0.1.

Requests are built, and replies read, with wechatpy's own crypto (WeChatCrypto for the Official
Account, the enterprise WeChatCrypto for WeCom): what WeChat would send, checked as WeChat would.
"""

from __future__ import annotations

import threading
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

wechatpy_crypto = pytest.importorskip("wechatpy.crypto")
enterprise_crypto = pytest.importorskip("wechatpy.enterprise.crypto")

from overdue_bot.channels import wechat, wxcrypt  # noqa: E402

from .http_server import Server  # noqa: E402

TOKEN = "safe-token"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OLD_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"
APPID = "wx1234567890abcdef"
CORP = "ww0123456789abcdef"


@pytest.fixture(scope="module")
def server():
    s = Server(
        "--wechat-token",
        TOKEN,
        "--wechat-aes-key",
        KEY,
        "--wechat-aes-key-previous",
        OLD_KEY,
        "--wechat-appid",
        APPID,
        "--wecom-token",
        TOKEN,
        "--wecom-aes-key",
        KEY,
        "--wecom-corpid",
        CORP,
    )
    yield s
    s.stop()


def _plain(content: str, msg_id: str, user: str, to: str = "gh_account") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def _sealed(crypto, plain: str, *, ts: int | None = None) -> tuple[str, bytes]:
    """The query and body WeChat posts in safe mode, sealed by wechatpy."""
    nonce, timestamp = uuid.uuid4().hex[:10], str(int(time.time()) if ts is None else ts)
    envelope = ET.fromstring(crypto.encrypt_message(plain, nonce, timestamp))
    encrypted, msg_sig = envelope.findtext("Encrypt"), envelope.findtext("MsgSignature")
    query = (
        f"signature={wechat.signature(TOKEN, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
        f"&encrypt_type=aes&msg_signature={msg_sig}"
    )
    return (
        query,
        f"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode(),
    )


def _opened(crypto, reply: bytes) -> ET.Element:
    """Our encrypted reply, opened and its signature checked by wechatpy."""
    env = ET.fromstring(reply)
    return ET.fromstring(
        crypto.decrypt_message(
            reply.decode(), env.findtext("MsgSignature"), env.findtext("TimeStamp"), env.findtext("Nonce")
        )
    )


def test_safe_mode_round_trip_keeps_the_slots(server: Server) -> None:
    crypto = wechatpy_crypto.WeChatCrypto(TOKEN, KEY, APPID)
    user = "o" + uuid.uuid4().hex[:8]
    query, body = _sealed(crypto, _plain("好分期逾期两天会联系我的联系人吗", "9001", user))
    status, raw, _ = server.request("POST", f"/wechat?{query}", body)
    assert status == 200, raw
    reply = _opened(crypto, raw)
    assert reply.findtext("ToUserName") == user and "联系人" in reply.findtext("Content")
    query, body = _sealed(crypto, _plain("那会上征信吗", "9002", user))
    second = _opened(crypto, server.request("POST", f"/wechat?{query}", body)[1]).findtext("Content")
    assert "逾期2天" in second, "the slots of the first message carry to the second"


def test_the_previous_key_is_accepted_during_a_key_change(server: Server) -> None:
    old = wechatpy_crypto.WeChatCrypto(TOKEN, OLD_KEY, APPID)
    query, body = _sealed(old, _plain("逾期会上征信吗", "9003", "oOldKey"))
    status, raw, _ = server.request("POST", f"/wechat?{query}", body)
    assert status == 200
    assert "征信" in _opened(wechatpy_crypto.WeChatCrypto(TOKEN, KEY, APPID), raw).findtext("Content")


def test_safe_mode_refuses_what_it_should(server: Server) -> None:
    crypto = wechatpy_crypto.WeChatCrypto(TOKEN, KEY, APPID)
    query, body = _sealed(crypto, _plain("hi", "9004", "oBad"))
    bad_sig = query.replace("msg_signature=", "msg_signature=0")
    assert server.request("POST", f"/wechat?{bad_sig}", body)[0] == 403
    other_app = wechatpy_crypto.WeChatCrypto(TOKEN, KEY, "wxSomeoneElse00000")
    q2, b2 = _sealed(other_app, _plain("hi", "9005", "oBad"))
    assert server.request("POST", f"/wechat?{q2}", b2)[0] == 400, "a message for another AppID"
    q3, b3 = _sealed(crypto, _plain("hi", "9006", "oBad"), ts=int(time.time()) - 7200)
    assert server.request("POST", f"/wechat?{q3}", b3)[0] == 403, "an old timestamp"


def test_wecom_url_verification_and_messages(server: Server) -> None:
    crypto = enterprise_crypto.WeChatCrypto(TOKEN, KEY, CORP)
    nonce, ts = "n" + uuid.uuid4().hex[:8], str(int(time.time()))
    sealed = ET.fromstring(crypto.encrypt_message("echo-1234567", nonce, ts))
    echo, sig = sealed.findtext("Encrypt"), sealed.findtext("MsgSignature")
    import urllib.parse

    status, raw, _ = server.request(
        "GET", f"/wecom?msg_signature={sig}&timestamp={ts}&nonce={nonce}&echostr={urllib.parse.quote(echo)}"
    )
    assert status == 200 and raw == b"echo-1234567"
    user = "zhangsan" + uuid.uuid4().hex[:4]
    for text, msg_id, must in (
        ("花呗逾期三个月会被起诉吗", "7001", "被起诉"),
        ("那会上征信吗", "7002", "3个月"),
    ):
        nonce = "n" + uuid.uuid4().hex[:8]  # a new nonce per message: a reused one is a replay
        envelope = ET.fromstring(crypto.encrypt_message(_plain(text, msg_id, user, to=CORP), nonce, ts))
        body = (
            f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{envelope.findtext('Encrypt')}]]>"
            f"</Encrypt><AgentID>1000002</AgentID></xml>"
        )
        query = f"msg_signature={envelope.findtext('MsgSignature')}&timestamp={ts}&nonce={nonce}"
        status, raw, _ = server.request("POST", f"/wecom?{query}", body)
        assert status == 200, raw
        env = ET.fromstring(raw)
        reply = ET.fromstring(
            crypto.decrypt_message(
                raw.decode(), env.findtext("MsgSignature"), env.findtext("TimeStamp"), env.findtext("Nonce")
            )
        )
        assert must in reply.findtext("Content"), reply.findtext("Content")
    assert server.request("GET", f"/wecom?msg_signature=bad&timestamp={ts}&nonce={nonce}&echostr=x")[0] == 403


def test_our_crypto_matches_wechatpy_both_ways() -> None:
    ours = wxcrypt.MsgCrypt(TOKEN, [KEY], APPID)
    theirs = wechatpy_crypto.WeChatCrypto(TOKEN, KEY, APPID)
    sealed = ET.fromstring(theirs.encrypt_message("逾期问题", "nonce1", "1700000000"))
    assert ours.verify(sealed.findtext("MsgSignature"), "1700000000", "nonce1", sealed.findtext("Encrypt"))
    assert ours.decrypt(sealed.findtext("Encrypt")) == "逾期问题"
    mine = ours.envelope("<xml><Content>好的</Content></xml>", "nonce2", now=1700000001)
    env = ET.fromstring(mine)
    assert "好的" in theirs.decrypt_message(mine, env.findtext("MsgSignature"), "1700000001", "nonce2")
    with pytest.raises(wxcrypt.CryptoError):
        wxcrypt.MsgCrypt(TOKEN, ["short"], APPID)


def _event(kind: str, user: str, extra: str = "") -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{extra}</xml>"
    )


def test_safe_mode_events_subscribe_and_voice(server: Server) -> None:
    crypto = wechatpy_crypto.WeChatCrypto(TOKEN, KEY, APPID)
    user = "o" + uuid.uuid4().hex[:8]
    query, body = _sealed(crypto, _event("event", user, "<Event><![CDATA[subscribe]]></Event>"))
    greeting = _opened(crypto, server.request("POST", f"/wechat?{query}", body)[1]).findtext("Content")
    assert greeting and "逾期" in greeting
    voice = _event(
        "voice",
        user,
        "<MediaId>m</MediaId><Format>amr</Format>"
        "<Recognition><![CDATA[花呗逾期五天会上征信吗]]></Recognition><MsgId>88001</MsgId>",
    )
    query, body = _sealed(crypto, voice)
    assert "征信" in _opened(crypto, server.request("POST", f"/wechat?{query}", body)[1]).findtext("Content")


def _wecom_body(crypto, text: str, msg_id: str, user: str, ts: str) -> tuple[str, str]:
    nonce = "n" + uuid.uuid4().hex[:8]
    envelope = ET.fromstring(crypto.encrypt_message(_plain(text, msg_id, user, to=CORP), nonce, ts))
    body = (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{envelope.findtext('Encrypt')}]]>"
        f"</Encrypt><AgentID>1000002</AgentID></xml>"
    )
    return f"msg_signature={envelope.findtext('MsgSignature')}&timestamp={ts}&nonce={nonce}", body


def test_wecom_refuses_a_bad_signature_and_an_old_timestamp(server: Server) -> None:
    crypto = enterprise_crypto.WeChatCrypto(TOKEN, KEY, CORP)
    query, body = _wecom_body(crypto, "你好", "7101", "u1", str(int(time.time())))
    assert (
        server.request("POST", "/wecom?" + query.replace("msg_signature=", "msg_signature=0"), body)[0] == 403
    )
    old_query, old_body = _wecom_body(crypto, "你好", "7102", "u1", str(int(time.time()) - 7200))
    assert server.request("POST", f"/wecom?{old_query}", old_body)[0] == 403
    other = enterprise_crypto.WeChatCrypto(TOKEN, KEY, "wwSomeoneElse0000")
    q, b = _wecom_body(other, "你好", "7103", "u1", str(int(time.time())))
    assert server.request("POST", f"/wecom?{q}", b)[0] == 400, "a message for another CorpID"


def test_retries_are_answered_once_across_two_servers_sharing_redis(redis_url: str) -> None:
    """WeChat (safe mode) and WeCom retry an unanswered message; whichever server it reaches, one turn."""
    args = (
        "--wechat-token",
        TOKEN,
        "--wechat-aes-key",
        KEY,
        "--wechat-appid",
        APPID,
        "--wecom-token",
        TOKEN,
        "--wecom-aes-key",
        KEY,
        "--wecom-corpid",
        CORP,
        "--store",
        redis_url,
    )
    a, b = Server(*args), Server(*args)
    try:
        oa = wechatpy_crypto.WeChatCrypto(TOKEN, KEY, APPID)
        user, msg_id = "o" + uuid.uuid4().hex[:8], str(uuid.uuid4().int % 10**16)
        # WeChat retries with the same MsgId (and a fresh nonce each time)
        sealed = [_sealed(oa, _plain("招行信用卡逾期两个月会被起诉吗", msg_id, user)) for _ in range(4)]
        answers: list[str] = []
        threads = [
            threading.Thread(
                target=lambda s=s, qb=qb: answers.append(
                    _opened(oa, s.request("POST", f"/wechat?{qb[0]}", qb[1])[1]).findtext("Content")
                )
            )
            for s, qb in zip((a, b, a, b), sealed, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 4 and len(set(answers)) == 1 and "起诉" in answers[0]
        wc = enterprise_crypto.WeChatCrypto(TOKEN, KEY, CORP)
        staff, wmsg = "zhang" + uuid.uuid4().hex[:4], str(uuid.uuid4().int % 10**16)
        ts = str(int(time.time()))
        for server in (a, b):
            query, body = _wecom_body(wc, "花呗逾期十天了", wmsg, staff, ts)
            assert server.request("POST", f"/wecom?{query}", body)[0] == 200
    finally:
        logs = a.stop() + b.stop()
    turns = [
        line for line in logs.splitlines() if " session=" in line and ("wechat " in line or "wecom " in line)
    ]
    assert len(turns) == 2, turns  # one WeChat turn and one WeCom turn
