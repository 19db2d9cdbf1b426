"""Issue 13, one regression test per numbered defect: the bad input or fault, and what it gets now."""

from __future__ import annotations

import json
import marshal
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from overdue_bot import Bot, KnowledgeError, SessionIdError, load_knowledge
from overdue_bot.channels import wechat
from overdue_bot.redact import redact
from overdue_bot.stores import MemoryStore, SQLiteStore

from .conftest import ROOT
from .http_server import Server

TOKEN = "hard-token"


@pytest.fixture(scope="module")
def server():
    s = Server("--wechat-token", TOKEN, "--header-timeout", "2", "--limit-concurrency", "60", "--debug")
    yield s
    s.stop()


@pytest.fixture(scope="module", params=["h11", "httptools"])
def either(request: pytest.FixtureRequest, server: Server):
    """The hardened server on each HTTP parser (httptools comes with the extra 'fast')."""
    if request.param == "h11":
        yield server
        return
    pytest.importorskip("httptools")
    s = Server("--wechat-token", TOKEN, "--http", "httptools", "--limit-concurrency", "60")
    yield s
    s.stop()


def _signed(path: str, ts: int | None = None, **extra: str) -> str:
    ts_s, nonce = str(int(time.time()) if ts is None else ts), uuid.uuid4().hex[:10]
    sig = wechat.signature(TOKEN, ts_s, nonce)
    query = "&".join(
        f"{k}={v}" for k, v in {"signature": sig, "timestamp": ts_s, "nonce": nonce, **extra}.items()
    )
    return f"{path}?{query}"


def _xml(content: str, msg_id: str, user: str = "oHard", head: str = "") -> bytes:
    return (
        f"{head}<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    ).encode()


# 1 ------------------------------------------------------------------------------------------
def test_1_non_ascii_signature_is_a_403(either: Server) -> None:
    status, body, _ = either.request("GET", "/wechat?signature=%C3%A9&timestamp=1&nonce=2")
    assert status == 403 and json.loads(body)["status"] == 403
    assert not wechat.check_signature(TOKEN, "é", "1", "2")


# 2 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[" * 15000, 400),
        (b'{"session_id": ' + b"9" * 5000 + b', "text": "hi"}', 400),
        (b'{"session_id": "\\ud800", "text": "hi"}', 422),
        (b'{"session_id": "ok", "text": "\\udfff"}', 422),
        (b'{"session_id": "a\\u0000b", "text": "hi"}', 422),
    ],
)
def test_2_hostile_json_is_a_4xx(either: Server, body: bytes, status: int) -> None:
    for path in ("/v1/chat", "/webhooks/rest/webhook"):
        got, raw, _ = either.request(
            "POST",
            path,
            body.replace(b'"session_id"', b'"sender"').replace(b'"text"', b'"message"')
            if "rest" in path
            else body,
        )
        assert got == status, raw
        assert "error" in json.loads(raw)


def test_2_a_refused_turn_is_not_applied() -> None:
    """The session id is checked before the turn: nothing is written for a bad one."""
    bot = Bot(store=MemoryStore())
    with pytest.raises(SessionIdError):
        bot.reply("花呗逾期三天了", session_id="\ud800")
    assert len(bot.store) == 0  # type: ignore[arg-type]


# 3 ------------------------------------------------------------------------------------------
def test_3_a_crafted_cache_file_is_not_trusted(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user writes an index that maps 我想死 to minimum_payment: the bot ignores it."""
    from overdue_bot import cache

    monkeypatch.setattr(cache, "_shipped_dir", lambda: tmp_path / "no-shipped-index")
    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(tmp_path / "shared"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    assert Bot().parse("我想死").intent == "distress"
    index = [p for p in (tmp_path / "shared").iterdir() if p.name.startswith("overdue_bot-index-")]
    assert index
    assert oct((tmp_path / "shared").stat().st_mode & 0o777) == "0o700"
    from overdue_bot.nlu.matcher import Matcher

    built = Bot().nlu.matcher
    state = list(built.state())
    state[2] = [state[0].index("minimum_payment")] * len(state[2])  # every example now minimum_payment
    state[4] = {f: (w, knn, []) for f, (w, knn, _) in state[4].items()}
    state[5] = [{} for _ in state[5]]
    assert (
        Matcher.from_state(tuple(state)).rank("我想死", {"b我想", "b想死", "w想死", "q."})[0][0]
        == "minimum_payment"
    )
    for p in index:
        p.write_bytes(b"OBC1" + b"\0" * 32 + marshal.dumps(tuple(state)))  # a forged digest
    assert Bot().parse("我想死").intent == "distress"


def test_3_a_cache_folder_others_can_write_is_not_used(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    monkeypatch.setenv("OVERDUE_BOT_CACHE", str(shared))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    assert Bot().parse("我想死").intent == "distress"
    assert not any(p.name.endswith(".cache") for p in shared.iterdir())


# 4 ------------------------------------------------------------------------------------------
def _kb(tmp_path: pathlib.Path) -> pathlib.Path:
    import shutil

    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "intents", kb)
    return kb


@pytest.mark.parametrize(
    ("file", "edit", "expected"),
    [
        ("safety.yaml", lambda s: "", "the file is empty"),
        ("safety.yaml", lambda s: s[: s.index("    answers:")], "'answers'"),
        (
            "safety.yaml",
            lambda s: (
                s.replace("12356", "")
                .replace("400-161-9995", "")
                .replace("010-82951332", "")
                .replace("120", "")
                .replace("110", "")
            ),
            "must give a help line",
        ),
        (
            "credit.yaml",
            lambda s: s.replace("  credit_report:\n", "  credit_report:\n    label: x\n", 1),
            "written twice",
        ),
        (
            "credit.yaml",
            lambda s: s.replace("{duration}", "{days_overdu}", 1),
            "unknown placeholder {days_overdu}",
        ),
        (
            "credit.yaml",
            lambda s: s.replace("      - 逾期会上征信吗\n", "      - '？？！'\n", 1),
            "has no words",
        ),
        (
            "credit.yaml",
            lambda s: s.replace("逾期记录不能花钱删掉", "逾期记录不能\x1b[2J花钱删掉", 1),
            "control character",
        ),
        ("credit.yaml", lambda s: s.replace("{days: [1, 7]}", "{days: [7, 1]}", 1), "reversed"),
        (
            "credit.yaml",
            lambda s: s.replace("{days: [1, 7]}", "{days: [1, 7], platform_kind: [cards]}", 1),
            "unknown kind",
        ),
    ],
)
def test_4_a_broken_knowledge_base_is_refused(tmp_path: pathlib.Path, file: str, edit, expected: str) -> None:
    kb = _kb(tmp_path)
    path = kb / file
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(kb)
    assert expected in str(err.value) and file in str(err.value)


# 5 ------------------------------------------------------------------------------------------
def test_5_every_worker_logs_its_turns(tmp_path: pathlib.Path) -> None:
    s = Server("--workers", "2", "--store", f"sqlite:///{tmp_path / 's.db'}", "--log-messages")
    try:
        for i in range(12):
            s.chat(f"w{i}", "花呗逾期三天会上征信吗")
    finally:
        out = s.stop()
    assert out.count("chat session=") == 12, out[-3000:]
    assert "花呗逾期三天" in out and "Traceback" not in out


# 6 ------------------------------------------------------------------------------------------
def test_6_half_open_connections_are_closed_and_others_served(server: Server) -> None:
    _half_open_are_closed(server)


@pytest.mark.parametrize(
    "variant",
    [
        ("--http", "h11", "--loop", "asyncio"),
        ("--http", "httptools", "--loop", "uvloop"),
        ("--workers", "2", "--store", "sqlite"),  # the timeout reaches worker processes too
    ],
    ids=["h11", "httptools", "two-workers"],
)
def test_6_every_protocol_and_worker_closes_half_open_connections(
    variant: tuple[str, ...], tmp_path: pathlib.Path
) -> None:
    if "httptools" in variant:
        pytest.importorskip("httptools")
        pytest.importorskip("uvloop")
    args = [f"sqlite:///{tmp_path / 's.db'}" if a == "sqlite" else a for a in variant]
    s = Server(*args, "--header-timeout", "2")
    try:
        _half_open_are_closed(s, count=20)
    finally:
        s.stop()


def _half_open_are_closed(server: Server, count: int = 50) -> None:
    idle = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\n")  # a header that never ends
        idle.append(sock)
    try:
        time.sleep(3)  # past the 2 s header timeout
        closed = 0
        for sock in idle:
            sock.settimeout(1)
            try:
                closed += sock.recv(1) == b""
            except OSError:
                closed += 1
        assert closed == len(idle)
        assert server.chat("after-idle", "逾期会上征信吗")["intent"] == "credit_report"
    finally:
        for sock in idle:
            sock.close()


def test_6_garbage_requests_do_not_flood_the_log() -> None:
    s = Server()
    try:
        for _ in range(200):
            with socket.create_connection(("127.0.0.1", s.port)) as sock:
                sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
                sock.settimeout(2)
                try:
                    sock.recv(100)
                except OSError:
                    pass
    finally:
        out = s.stop()
    assert out.count("\n") < 50, out[-2000:]


# 7 ------------------------------------------------------------------------------------------
def test_7_an_old_signed_query_is_refused(server: Server) -> None:
    old = int(time.time()) - 3600
    assert server.request("POST", _signed("/wechat", ts=old), _xml("hi", "71"))[0] == 403
    assert server.request("GET", _signed("/wechat", ts=old, echostr="e"))[0] == 403


def test_7_a_replayed_query_with_another_body_is_refused(server: Server) -> None:
    query = _signed("/wechat")
    assert server.request("POST", query, _xml("逾期会上征信吗", "7201"))[0] == 200
    assert server.request("POST", query, _xml("逾期会上征信吗", "7201"))[0] == 200  # WeChat's own retry
    assert server.request("POST", query, _xml("别的内容", "7202"))[0] == 403


def test_7_web_sessions_cannot_reach_wechat_ones(server: Server) -> None:
    user = "o" + uuid.uuid4().hex[:8]
    first = server.request("POST", _signed("/wechat"), _xml("好分期逾期两天了", "7301", user))[1]
    for sid in (f"wechat:{user}", f"wechat:user:{user}", "wechat:msg:7301", "wechat-msg:7301"):
        r = server.chat(sid, "会上征信吗")
        assert "platform" not in r["slots"], f"{sid}: a /v1/chat id must not open a WeChat user's session"
    again = server.request("POST", _signed("/wechat"), _xml("好分期逾期两天了", "7301", user))[1]
    assert ET.fromstring(again).findtext("Content") == ET.fromstring(first).findtext("Content"), (
        "the de-dup marker is intact: the retry gets the first reply"
    )


@pytest.mark.parametrize(
    "body",
    [
        _xml("hi", "74", head='<?xml version="1.0" encoding="gbk"?>'),
        _xml("hi", "75", head='<?xml version="1.0" encoding="utf-7"?>'),
        _xml("hi", "76", head='<?xml version="1.0" encoding="bogus"?>'),
        '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml>&a;</xml>'.encode(
            "utf-16"
        ),
        b'<!-- hi --><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><xml><Content>&a;&a;</Content></xml>',
        b"<xml><ToUserName>gh</ToUserName></xml" + b">" * 3,
    ],
)
def test_7_hostile_xml_is_a_400(either: Server, body: bytes) -> None:
    assert either.request("POST", _signed("/wechat"), body)[0] == 400


def test_7_content_is_capped() -> None:
    msg = wechat.parse_message(_xml("逾" * 10_000, "77"))
    assert len(msg.content) == wechat.MAX_CONTENT


# 8 ------------------------------------------------------------------------------------------
def test_8_a_corrupt_record_starts_the_session_afresh(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    bot = Bot(store=store)
    conn = store._conn()
    for i, data in enumerate(
        [
            "{not json",
            "[1, 2]",
            '{"state": 5}',
            '{"debts": [{"amount": "lots"}]}',
            '{"focus": 7, "debts": []}',
        ]
    ):
        sid = f"bad{i}"
        conn.execute("INSERT INTO sessions VALUES (?, ?, ?)", (sid, data, time.time()))
        r = bot.reply("花呗逾期三天会上征信吗", session_id=sid)
        assert r.intent == "credit_report" and r.slots["platform"] == "花呗"
        r = bot.reply("会上征信吗", session_id=sid)
        assert r.slots["platform"] == "花呗", "the fresh session was written and is kept"
    assert sum("malformed session record" in rec.getMessage() for rec in caplog.records) == 5


def test_8_a_deleted_sqlite_file_is_opened_again(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "s.db"
    bot = Bot(store=SQLiteStore(path))
    bot.reply("花呗逾期三天了", session_id="gone")
    for suffix in ("", "-wal", "-shm"):
        pathlib.Path(f"{path}{suffix}").unlink(missing_ok=True)
    bot.reply("借呗逾期十天了", session_id="after")
    assert path.exists()
    assert SQLiteStore(path).get("after") is not None, "writes after the deletion are in the new file"


def test_8_expired_rows_are_purged(tmp_path: pathlib.Path) -> None:
    now = [1000.0]
    store = SQLiteStore(tmp_path / "s.db", ttl=60, clock=lambda: now[0])
    for i in range(50):
        store.set(f"s{i}", {"state": "idle"})
    now[0] += 10_000  # long past the ttl and the purge interval
    store.set("new", {"state": "idle"})
    count = store._conn().execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
    assert count == 1


def test_8_healthz_says_so_when_the_store_is_down(redis_url: str) -> None:
    from .conftest import start_redis

    spare, url = start_redis()
    s = Server("--store", url)
    try:
        assert s.request("GET", "/healthz")[0] == 200
        spare.terminate()
        spare.wait(timeout=10)
        status, body, _ = s.request("GET", "/healthz")
        assert status == 503 and json.loads(body)["store"] == "down"
        status, body, _ = s.request("POST", "/v1/chat", json.dumps({"session_id": "a", "text": "hi"}))
        assert status == 503
    finally:
        spare.kill()
        s.stop()


# 9 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "secret",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "１３８１２３４５６７８",
        "6222021234567890",
        "6222 0212 3456 7890",
        "6222021234567890123",
        "110101199003071234",
        "someone@example.com",
    ],
)
def test_9_redaction_catches_every_form(secret: str) -> None:
    out = redact(f"我的信息：{secret}，花呗逾期")
    assert "[已隐去]" in out and "1234" not in out.replace("[已隐去]", "") and "example" not in out


def test_9_a_client_that_drops_mid_body_logs_no_traceback() -> None:
    s = Server()
    try:
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", s.port)) as sock:
                sock.sendall(
                    b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b'Content-Length: 500\r\n\r\n{"session_id": "a", '
                )
        assert s.chat("still-up", "逾期会上征信吗")["intent"] == "credit_report"
    finally:
        out = s.stop()
    assert "Traceback" not in out and "ERROR" not in out


@pytest.mark.parametrize("args", [["--port", "99999"], ["--workers", "0"], ["--port", "http"]])
def test_9_bad_serve_flags_are_usage_errors(args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "overdue_bot", "serve", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and ("between" in out.stderr or "whole number" in out.stderr)


# 10 -----------------------------------------------------------------------------------------
def _pty_chat(keys: list[bytes], env: dict[str, str]) -> str:
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "run_bot.py"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        close_fds=True,
        # as a terminal's shell starts it: a test run started in the background (CI's `make test &`)
        # has SIGINT ignored, and Python keeps an ignored SIGINT, so Ctrl-C would do nothing
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(slave)
    out = b""

    def drain(seconds: float) -> None:
        nonlocal out
        end = time.time() + seconds
        while time.time() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    return

    drain(20 if not out else 1)
    while "你：".encode() not in out:
        drain(2)
        if proc.poll() is not None:
            break
    for key in keys:
        if key == b"\x03":  # Ctrl-C: what the terminal would send the foreground process
            os.kill(proc.pid, signal.SIGINT)
            # a loaded machine may take a while: wait for the line to be cleared, not a fixed time
            end = time.time() + 20
            while "已清空".encode() not in out and time.time() < end and proc.poll() is None:
                drain(0.5)
        else:
            before = len(out)
            os.write(master, key)
            end = time.time() + 20
            while len(out) == before and time.time() < end and proc.poll() is None:
                drain(0.5)  # the terminal's echo (or the answer) came back: the key was taken
        drain(1)
    proc.wait(timeout=30)
    drain(0.5)
    os.close(master)
    return out.decode("utf-8", "replace")


def test_10_the_terminal_chat_behaves(tmp_path: pathlib.Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "TERM": "dumb", "NO_COLOR": "1"}
    env.pop("OVERDUE_BOT_HISTORY", None)
    out = _pty_chat([b"abc", b"\x03", "逾期会上征信吗\r".encode(), b"\x04"], env)
    assert "已清空这一行" in out, out[-1500:]  # Ctrl-C cleared the line, the chat went on
    assert out.count("征信") >= 2 and "再见" in out  # answered, then Ctrl-D ended quietly
    assert "你：再见" not in out
    assert not list(tmp_path.glob(".overdue_bot_history*")), "no history file unless asked for"


def test_10_replies_cannot_drive_the_terminal() -> None:
    from overdue_bot.repl import printable

    assert printable("好的\x1b[2J\x1b]0;pwned\x07\x07再见\n下一行\t!") == "好的再见\n下一行\t!"


def test_10_empty_lines_get_no_reply() -> None:
    import io

    from overdue_bot.repl import run

    out = io.StringIO()
    run(Bot(store=MemoryStore()), stdin=io.StringIO("\n   \n逾期会上征信吗\n"), stdout=out, interactive=False)
    blocks = [b for b in out.getvalue().split("\n\n") if b.strip()]
    assert len(blocks) == 1 and "征信" in blocks[0]


# 11 -----------------------------------------------------------------------------------------
def test_11_other_projects_test_runs_are_untouched(tmp_path: pathlib.Path) -> None:
    project = tmp_path / "other"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_config.yaml").write_text("database: {host: localhost}\n", encoding="utf-8")
    (project / "tests" / "test_ok.py").write_text("def test_ok():\n    assert True\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-2000:]
    assert "1 passed" in out.stdout


def test_11_a_project_opts_in_with_an_ini_option(tmp_path: pathlib.Path) -> None:
    project = tmp_path / "mine"
    (project / "dialogues").mkdir(parents=True)
    (project / "dialogues" / "test_d.yaml").write_text(
        "- dialogue: one\n  turns:\n    - user: 逾期会上征信吗\n      intent: credit_report\n",
        encoding="utf-8",
    )
    (project / "pytest.ini").write_text("[pytest]\noverdue_bot_dialogues = dialogues\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0 and "1 passed" in out.stdout, out.stdout[-2000:]


# 12 -----------------------------------------------------------------------------------------
def test_12_there_is_no_shared_default_session() -> None:
    bot = Bot(store=MemoryStore())
    with pytest.raises(TypeError):
        bot.reply("逾期会上征信吗")  # type: ignore[call-arg]
    for bad in (None, "", "   ", b"bytes", 3.5):
        with pytest.raises(SessionIdError):
            bot.reply("逾期会上征信吗", session_id=bad)  # type: ignore[arg-type]
    assert bot.reply("逾期会上征信吗", session_id=42).intent == "credit_report"  # type: ignore[arg-type]


def test_x_forwarded_for_is_believed_only_from_a_named_proxy() -> None:
    """Issue 25, defect 9: --rate-client trusted any X-Forwarded-For from 127.0.0.1."""
    s = Server("--rate-client", "2", "--burst-client", "2")
    try:
        statuses = []
        for n in range(4):  # four "different clients" through a header nobody vouches for
            xff = {"X-Forwarded-For": f"10.9.9.{n}"}
            # a proxied request is not this machine: it uses a session id the server issued
            sid = json.loads(s.request("POST", "/v1/session", b"", xff)[1])["session_id"]
            body = json.dumps({"session_id": sid, "text": "你好"})
            statuses.append(s.request("POST", "/v1/chat", body, xff)[0])
        assert 429 in statuses  # one client after all: 127.0.0.1
    finally:
        s.stop()
