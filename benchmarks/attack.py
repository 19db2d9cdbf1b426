"""An outsider's attack on a real ``overdue-bot serve`` (issue 25): one scenario per row of a table.

    PYTHONPATH=src python benchmarks/attack.py [--quick] [--only ROW ...] [--seed N] [--http auto|h11|httptools]
                                               [--flood-seconds S]

Issue 25 closes with "a table re-run by you": requests, 5xx, tracebacks, lost or duplicated turns
and leaks, for the fuzz, the floods, a worker kill and a Redis kill.  The figures only mean
something if they come from the server as deployed, so every row starts its own
``python -m overdue_bot serve`` subprocess on 127.0.0.1 (and a ``redis-server`` on a free port
where the row needs one), attacks it through real sockets from outside the process, reads what
the server wrote to its stderr, and stops everything in a ``finally`` (whole process groups), so
no run leaves a process behind.  The rows, in order:

    fuzz            hostile requests over every route, all channels on with made-up secrets
    session-read    can someone who guesses numeric session ids read their debts?
    session-flood   fresh session ids by the hundred thousand: do real sessions and WeChat's
                    duplicate-message marker survive?
    idle            one address holding ~1,200 unfinished connections: is anyone else served?
    review          unsure turns from one client: how big does the review queue get?
    handoff         1,500 requests for a person against a slow desk webhook: threads after?
    worker-kill     SIGKILL one of two workers mid-traffic: stall, failures, lost turns
    redis-kill      SIGKILL redis-server mid-traffic: 503 not 500, throttled log, recovery
    dingtalk-replay one captured DingTalk signature reused for forged messages

Interfaces still being built (``POST /v1/session``, ``serve --new-sessions``, ``serve
--client-connections``) are probed for, and a row says "n/a" or "absent" rather than fail when
one is missing, so the same script measures the code before and after.  Random choices are
seeded (``--seed``), so a re-run sends the same cases.  Writes benchmarks/results/attack.json
and attack.md (rows not re-run by ``--only`` keep their previous results).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import http.server
import json
import os
import random
import re
import resource
import selectors
import shutil
import signal
import socket
import socketserver
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
RESULTS = ROOT / "benchmarks" / "results"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

LOCAL = "127.0.0.1"
#: the attacker's address: Linux answers on all of 127/8, so a second "client" needs no setup
OUTSIDER = "127.0.0.2"
#: made-up secrets for every channel (what a deployment would put in its environment)
WECHAT_TOKEN = "attack-wechat-token"
WECHAT_AES = "YXR0YWNrLXdlY2hhdC1hZXMta2V5LTMyLWJ5dGVzISE"  # 43 characters: a 32-byte key
WECHAT_APPID = "wxattackappid0001"
WECOM_TOKEN = "attack-wecom-token"
WECOM_AES = "YXR0YWNrLXdlY29tLS1hZXMta2V5LTMyLWJ5dGVzISE"
WECOM_CORPID = "wwattackcorp0001"
DING_SECRET = "attack-dingtalk-secret"
FEISHU_TOKEN = "attack-feishu-token"
FEISHU_KEY = "attack-feishu-encrypt-key"
API_TOKEN = "attack-api-token"
ADMIN_TOKEN = "attack-admin-token"
HANDOFF_TOKEN = "attack-handoff-token"
#: lenders the slot reader knows, one per numbered turn of a session (worker-kill's ledger)
LENDERS = (
    "好分期",
    "花呗",
    "借呗",
    "微粒贷",
    "京东白条",
    "京东金条",
    "美团借钱",
    "美团月付",
    "携程金融",
    "招联金融",
    "分期乐",
    "安逸花",
    "360借条",
    "度小满",
    "平安普惠",
)
DEBT_TEXT = "我借呗逾期三天了，欠两万"
#: what in a reply to someone else would give the told debt away
DEBT_MARKS = ("借呗", "20000", "2万", "两万", "三天", "3天")
#: what someone holding another person's session (or a signature in their name) asks
VICTIM_QUESTIONS = ("我的情况你还记得吗", "我欠了多少钱", "还不上怎么办")


# ---------------------------------------------------------------------------------------- results
@dataclass
class Row:
    """One scenario's figures; ``None`` where a figure does not apply or could not be measured."""

    name: str
    requests: int = 0
    status_5xx: int = 0
    tracebacks: int = 0
    lost: int | None = None
    duplicated: int | None = None
    leaks: int | None = None
    measure: str = ""
    verdict: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def cell(value: int | None) -> str:
    return "n/a" if value is None else str(value)


# ---------------------------------------------------------------------------------------- servers
#: how to stop everything this run started: each row stops its own in a ``finally``, and main
#: calls these once more at the end, so not even a row with a bug leaves a process behind
STARTED: list[Callable[[], None]] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return int(s.getsockname()[1])


def serve_help() -> str:
    """``serve --help``: which of the planned flags this checkout has."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-m", "overdue_bot", "serve", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    return out.stdout + out.stderr


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc, no pgrep needed)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def proc_status(pid: int, key: str) -> int | None:
    """One number of /proc/<pid>/status (Threads, VmRSS in kB), None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


class Server:
    """``python -m overdue_bot serve --host 127.0.0.1 --port P ARGS`` in its own process group.

    Its stdout and stderr go to one file, read back for tracebacks and log lines; ``stop`` ends
    the whole group (workers included), SIGKILL if SIGTERM is not enough.
    """

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        http: str = "auto",
        ready: float = 120.0,
        tmp: Path,
    ) -> None:
        self.port = free_port()
        if http != "auto":
            args = (*args, "--http", http)
        self.args = args
        self.log_path = tmp / f"serve-{self.port}.log"
        self._log = self.log_path.open("wb")
        path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "overdue_bot", "serve", "--host", LOCAL, "--port", str(self.port), *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": path, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        STARTED.append(self.stop)
        try:
            deadline = time.monotonic() + ready
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"serve {' '.join(args)} exited:\n{self.log()[-3000:]}")
                if http_get(self.port, "/healthz", timeout=2)[0] == 200:
                    return
                time.sleep(0.1)
            raise RuntimeError(f"serve {' '.join(args)} did not answer /healthz within {ready:g} s")
        except BaseException:
            self.stop()
            raise

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int, until: int | None = None) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            data = f.read() if until is None else f.read(max(0, until - offset))
        return data.decode("utf-8", "replace")

    def tracebacks(self) -> int:
        return sum("Traceback" in line for line in self.log().splitlines())

    def workers(self) -> list[int]:
        """The worker processes of a multi-worker serve (multiprocessing's spawned children)."""
        return [p for p in children(self.pid) if "spawn_main" in cmdline(p)]

    def stop(self) -> None:
        if self._log.closed:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        # the group, whatever is left of it (a worker that outlived its supervisor included)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self._log.close()


class Redis:
    """A throwaway ``redis-server`` on a free port: no persistence, killable and restartable."""

    def __init__(self, tmp: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", LOCAL, "--save", "", "--appendonly", "no"],
            cwd=self.tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        STARTED.append(self.kill)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((LOCAL, self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    @property
    def url(self) -> str:
        return f"redis://{LOCAL}:{self.port}/0"


# ---------------------------------------------------------------------------------------- HTTP
@dataclass
class Resp:
    """What came back: ``status`` None when the connection closed or timed out without a response."""

    status: int | None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


def build(
    method: str,
    target: str,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    close: bool = True,
    length: bool = True,
) -> bytes:
    """A request's bytes exactly as given: no header is checked or re-encoded."""
    lines = [f"{method} {target} HTTP/1.1".encode("latin-1", "replace"), b"Host: 127.0.0.1"]
    for name, value in headers or []:
        lines.append(name + b": " + value)
    if length and (body or method in ("POST", "PUT", "PATCH")):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def parse_head(head: bytes) -> tuple[int | None, dict[str, str]]:
    first, _, rest = head.partition(b"\r\n")
    parts = first.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return None, {}
    headers = {}
    for line in rest.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return int(parts[1]), headers


async def read_response(
    reader: asyncio.StreamReader, timeout: float, head_only: bool = False
) -> tuple[int | None, dict[str, str], bytes]:
    """One HTTP/1.1 response from a stream: Content-Length, chunked, or up to EOF."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    status, headers = parse_head(head[:-4])
    if head_only or status is None or status in (204, 304) or 100 <= status < 200:
        return status, headers, b""
    if "content-length" in headers and headers["content-length"].isdigit():
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), timeout)
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            data = await asyncio.wait_for(reader.readexactly(size + 2), timeout)
            if size == 0:
                break
            chunks.append(data[:-2])
        body = b"".join(chunks)
    else:
        body = await asyncio.wait_for(reader.read(), timeout)
    return status, headers, body


async def exchange(
    port: int, raw: bytes, *, timeout: float = 10.0, source: str | None = None, head_only: bool = False
) -> Resp:
    """Send ``raw`` on a new connection and read one response."""
    started = time.monotonic()
    writer = None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(LOCAL, port, local_addr=(source, 0) if source else None, limit=1 << 20),
            timeout,
        )
        writer.write(raw)
        await writer.drain()
        status, headers, body = await read_response(reader, timeout, head_only)
        return Resp(status, body, headers, seconds=time.monotonic() - started)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        return Resp(None, error=type(exc).__name__, seconds=time.monotonic() - started)
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def http_get(
    port: int, path: str, timeout: float = 10.0, source: str | None = None
) -> tuple[int | None, bytes]:
    r = asyncio.run(exchange(port, build("GET", path), timeout=timeout, source=source))
    return r.status, r.body


def post_json(
    port: int,
    path: str,
    data: Any,
    headers: list[tuple[bytes, bytes]] | None = None,
    source: str | None = None,
) -> Resp:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    hs = [(b"Content-Type", b"application/json"), *(headers or [])]
    return asyncio.run(exchange(port, build("POST", path, body, hs), source=source))


class Conn:
    """One kept-open HTTP/1.1 connection for floods (reopened after an error or a close)."""

    def __init__(self, port: int, source: str | None = None, timeout: float = 10.0) -> None:
        self.port, self.source, self.timeout = port, source, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"", headers: bytes = b"") -> Resp:
        started = time.monotonic()
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        LOCAL, self.port, local_addr=(self.source, 0) if self.source else None
                    ),
                    self.timeout,
                )
            assert self.reader is not None and self.writer is not None
            head = (
                f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n".encode()
                + headers
                + b"\r\n"
            )
            self.writer.write(head + body)
            await self.writer.drain()
            status, hs, data = await read_response(self.reader, self.timeout)
            if hs.get("connection", "").lower() == "close":
                await self.close()
            return Resp(status, data, hs, seconds=time.monotonic() - started)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            await self.close()
            return Resp(None, error=type(exc).__name__, seconds=time.monotonic() - started)

    async def chat(self, session_id: str | int, text: str, headers: bytes = b"") -> Resp:
        body = json.dumps({"session_id": session_id, "text": text}, ensure_ascii=False).encode("utf-8")
        return await self.request("POST", "/v1/chat", body, b"Content-Type: application/json\r\n" + headers)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def as_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def metric(port: int, name: str, **labels: str) -> float:
    """The sum of one Prometheus counter's samples whose labels include ``labels``."""
    status, body = http_get(port, "/metrics")
    if status != 200:
        return float("nan")
    total = 0.0
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


# ---------------------------------------------------------------------------------------- platforms
def wechat_sig(token: str, *parts: str) -> str:
    """WeChat's signature: sha1 of the sorted token and parts (timestamp, nonce [, Encrypt])."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode("utf-8")).hexdigest()


def wx_encrypt(aes: str, plain: bytes, receive_id: str) -> str:
    """WeChat/WeCom message encryption (the documented scheme), as the platform would seal it."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = base64.b64decode(aes + "=")
    raw = os.urandom(16) + struct.pack(">I", len(plain)) + plain + receive_id.encode("utf-8", "surrogatepass")
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(raw) + enc.finalize()).decode("ascii")


def feishu_encrypt(key: str, plain: bytes) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = os.urandom(16)
    pad = 16 - len(plain) % 16
    enc = Cipher(algorithms.AES(hashlib.sha256(key.encode()).digest()), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + enc.update(plain + bytes([pad]) * pad) + enc.finalize()).decode("ascii")


def ding_sign(secret: str, ts: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{ts}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def wechat_query(token: str, ts: str | None = None, nonce: str | None = None, **extra: str) -> str:
    ts = ts or str(int(time.time()))
    nonce = nonce or os.urandom(6).hex()
    q = {"signature": wechat_sig(token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}
    return urllib.parse.urlencode(q)


def wechat_text(msg_id: str, user: str, content: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_attack]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def ding_message(text: str, msg_id: str, sender: str, conversation: str = "cid-attack") -> bytes:
    return json.dumps(
        {
            "msgtype": "text",
            "text": {"content": text},
            "msgId": msg_id,
            "conversationType": "1",
            "conversationId": conversation,
            "senderStaffId": sender,
            "senderNick": "attacker",
            "createAt": int(time.time() * 1000),
        },
        ensure_ascii=False,
    ).encode("utf-8")


# ---------------------------------------------------------------------------------------- fuzz
#: the routes of http.py ``routes()``, and the planned POST /v1/session
ROUTES = (
    ("POST", "/v1/chat"),
    ("POST", "/v1/session"),
    ("POST", "/webhooks/rest/webhook"),
    ("GET", "/webhooks/rest/"),
    ("POST", "/v1/handoff/start"),
    ("POST", "/v1/handoff/release"),
    ("POST", "/v1/admin/reload"),
    ("DELETE", "/v1/admin/sessions/web:fuzz"),
    ("GET", "/wechat"),
    ("POST", "/wechat"),
    ("GET", "/wecom"),
    ("POST", "/wecom"),
    ("GET", "/wecom/bot"),
    ("POST", "/wecom/bot"),
    ("POST", "/dingtalk"),
    ("POST", "/feishu"),
    ("GET", "/v1/config"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("GET", "/static/chat.js"),
)
METHODS = (
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "HEAD",
    "TRACE",
    "CONNECT",
    "get",
    "FOO",
    "P\xd3ST",
)
LONE = "\ud800"


class Fuzzer:
    """Hostile requests, one per call, from a seeded generator: the same seed sends the same cases
    (timestamps aside, which must be current for a signed request to get past the signature).

    Half the requests are "deep": correctly signed, encrypted and shaped, with exactly one part
    wrong (or none), so they reach the parsers, the dialogue and the store; the other half are
    wild.  A fuzz that only ever gets 403 from the first signature check proves nothing about
    what lies behind it.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.deep = False
        self._point = 0
        self._calls = 0

    def bad(self, p: float) -> bool:
        """Whether to break this part: with probability ``p`` in a wild request; in a deep one,
        only at its one chosen point."""
        if not self.deep:
            return self.rng.random() < p
        self._calls += 1
        return self._calls == self._point

    # ---- values
    def text(self, limit: int = 40) -> str:
        r = self.rng
        if not self.bad(0.5):
            return r.choice(
                (
                    DEBT_TEXT,
                    "借呗逾期三天会上征信吗",
                    "转人工",
                    "还不上怎么办",
                    "你好",
                    "u" + str(r.randrange(10**6)),
                    str(r.randrange(100000, 100100)),
                    "催收打电话给我家人",
                    "其实是2000",
                )
            )
        pools = (
            string.ascii_letters + string.digits + string.punctuation,
            "逾期借呗花呗欠款还不上征信催收我两万三天",
            "\x00\x01\x08\x0b\x1f\x7f\x85",
            "😀🙏🏽\U0010ffff",
            "\u202e\u200b\ufeff\u2028",
            "²³¹١٢٣０１２",
            LONE + "\udfff",
            "<>&'\"]]>%:",
        )
        n = r.choice((0, 1, 2, 5, limit, limit * 4)) if r.random() < 0.9 else r.choice((2001, 3000, 20000))
        return "".join(r.choice(r.choice(pools)) for _ in range(n))

    def value(self, depth: int = 0) -> Any:
        r = self.rng
        kind = r.randrange(10 if depth < 3 else 7)
        if kind == 0:
            return None
        if kind == 1:
            return r.choice((True, False))
        if kind == 2:
            return r.choice((0, -1, 2**31, 10**39, -(10**40), 10**400, 1.5, -0.0, 1e308))
        if kind in (3, 4, 5, 6):
            return self.text()
        if kind == 7:
            return [self.value(depth + 1) for _ in range(r.randrange(4))]
        return {self.text(8): self.value(depth + 1) for _ in range(r.randrange(4))}

    def field_value(self) -> Any:
        """Mostly text, sometimes another type: what reaches furthest into a handler."""
        return self.value() if self.bad(0.3) else self.text()

    def json_body(self, obj: Any) -> bytes:
        """``obj`` as JSON, or broken: lone surrogates as raw escapes or raw bytes, truncation,
        other encodings, deep nesting, long numbers, trailing garbage."""
        r = self.rng
        if not self.bad(0.55):
            return json.dumps(obj, ensure_ascii=r.random() < 0.5).encode("utf-8", "surrogatepass")
        how = r.randrange(9)
        if how == 0:
            raw = json.dumps(obj).encode()
            return raw[: r.randrange(len(raw) + 1)]
        if how == 1:
            return json.dumps(obj, ensure_ascii=False).encode("utf-16", "surrogatepass")
        if how == 2:
            return b"[" * r.choice((100, 1000, 15000)) + b"]" * r.choice((0, 100))
        if how == 3:
            return b'{"session_id": "a", "text": ' + b"1" * r.choice((4301, 5000, 15000)) + b"}"
        if how == 4:
            return bytes(r.randrange(256) for _ in range(r.randrange(1, 200)))
        if how == 5:
            return r.choice((b"", b" ", b"null", b"[]", b'"x"', b"NaN", b"\xef\xbb\xbf{}", b'{"a":1}{"b":2}'))
        if how == 6:
            return json.dumps(obj).encode() + b" " * r.choice((17000, 70000))
        return json.dumps(obj, ensure_ascii=True).encode()  # lone surrogates as \ud800 escapes

    def header_value(self) -> bytes:
        r = self.rng
        fatal = (b"\x00", b"9" * r.choice((20000, 70000)))  # refused by the HTTP parser itself
        values: tuple[bytes, ...] = (
            b"\xb2",
            b"\xb9\xb2\xb3",
            "一二三".encode(),
            "１７００".encode(),
            b"\xed\xa0\x80",
            b"\xff\xfe",
            b"-1",
            b"1e10",
            b"",
            b" 123 ",
            b"0x1F",
            b"9" * r.choice((17, 64, 8000)),
            str(int(time.time() * 1000)).encode(),
            str(int(time.time())).encode(),
            base64.b64encode(r.randbytes(32)),
            b"a\tb",
            self.text().encode("utf-8", "surrogatepass")[:200].translate(None, b"\r\n\x00"),
            *(fatal if self.bad(0.2) else ()),
        )
        return r.choice(values)

    def query_value(self) -> str:
        r = self.rng
        if r.random() < 0.4:
            return urllib.parse.quote(self.text().encode("utf-8", "surrogatepass"), safe="")
        return r.choice(
            (
                "%ED%A0%80",
                "%FF",
                "%",
                "%zz",
                "+",
                "&&&",
                "=" * 5,
                str(int(time.time())),
                "１７００",
                "²",
                "9" * r.choice((13, 200, 9000)),
                "",
            )
        )

    def query(self, names: tuple[str, ...]) -> str:
        r = self.rng
        parts = [f"{n}={self.query_value()}" for n in names if r.random() < 0.8]
        if r.random() < 0.2:
            parts.append(parts[0] if parts else "x=1")  # a repeated key
        return "&".join(parts)

    def extra_headers(self, names: tuple[bytes, ...] = ()) -> list[tuple[bytes, bytes]]:
        """Junk in the headers the channel reads, and in a few that every request carries."""
        r = self.rng
        pool = (
            *names,
            b"Authorization",
            b"Content-Type",
            b"X-Forwarded-For",
            b"Cookie",
            b"Accept-Language",
            b"User-Agent",
        )
        count = r.choice((0, 0, 1, 2, 3)) if not self.deep else r.choice((0, 0, 0, 1))
        return [(r.choice(pool), self.header_value()) for _ in range(count)]

    # ---- requests per route
    def request(self) -> tuple[str, bytes]:
        r = self.rng
        self.deep = r.random() < 0.5
        self._point, self._calls = r.randrange(1, 14), 0
        roll = r.random()
        if roll < 0.06:
            return self.wrong_method()
        if roll < 0.09:
            return "raw garbage", self.raw_garbage()
        method, path = r.choice(ROUTES)
        if path.startswith(("/v1/handoff", "/v1/admin")):
            return self.admin(method, path)
        handler: Callable[[str, str], tuple[str, bytes]] = {
            "/v1/chat": self.chat,
            "/v1/session": self.chat,
            "/webhooks/rest/webhook": self.chat,
            "/wechat": self.wechat,
            "/wecom": self.wecom,
            "/wecom/bot": self.wecom_bot,
            "/dingtalk": self.dingtalk,
            "/feishu": self.feishu,
        }.get(path, self.plain)
        return handler(method, path)

    def wrong_method(self) -> tuple[str, bytes]:
        _, path = self.rng.choice(ROUTES)
        method = self.rng.choice(METHODS)
        body = self.json_body(self.value()) if self.rng.random() < 0.5 else b""
        return f"wrong method {path}", build(method, path, body, self.extra_headers())

    def raw_garbage(self) -> bytes:
        r = self.rng
        return r.choice(
            (
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\nConnection: close\r\n\r\n",
                b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n",
                b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"
                b"Connection: close\r\n\r\n0\r\n\r\n",
                b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                b"GET /?" + b"%ED%A0%80" * 500 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + r.randbytes(64),
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                b"GET / HTTP/9.9\r\nConnection: close\r\n\r\n",
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\nConnection: close\r\n\r\n",
                b"GET /healthz HTTP/1.1\r\nHost: x\r\n folded: value\r\nConnection: close\r\n\r\n",
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: \x00\r\nConnection: close\r\n\r\n",
                b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                b"GET /v1/config?%ED%A0%80=%ED%A0%80 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n"
                b"Connection: close\r\n\r\n{}{}{}{",
                b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n"
                b"Connection: close\r\n\r\n{}",
                r.randbytes(r.randrange(1, 300)) + b"\r\n\r\n",
            )
        )

    def plain(self, method: str, path: str) -> tuple[str, bytes]:
        names = ("signature", "timestamp", "nonce", "echostr", "session_id", "q")
        target = path + ("?" + self.query(names) if self.rng.random() < 0.6 else "")
        if path.startswith("/static/") and self.rng.random() < 0.5:
            target = "/static/" + urllib.parse.quote(self.text(20).encode("utf-8", "surrogatepass"), safe="")
        return f"{method} {path}", build(method, target, b"", self.extra_headers((b"Authorization",)))

    def chat(self, method: str, path: str) -> tuple[str, bytes]:
        r = self.rng
        ids = ("session_id", "sender") if path.startswith("/webhooks") else ("session_id",)
        words = ("message",) if path.startswith("/webhooks") else ("text",)
        obj: Any = {ids[-1]: self.field_value(), words[0]: self.field_value()}
        if self.bad(0.3):
            obj[r.choice(("text", "message", "sender", "session_id", "metadata"))] = self.value()
        if self.bad(0.1):
            obj = self.value()
        ctype = r.choice((b"text/plain", b"\xff", b"", b"application/x-www-form-urlencoded"))
        headers = [(b"Content-Type", ctype if self.bad(0.3) else b"application/json")]
        if not self.bad(0.5):
            headers.append((b"Authorization", f"Bearer {API_TOKEN}".encode()))
        headers += self.extra_headers((b"Authorization", b"Cookie"))
        q = "?" + self.query(("session_id", "token")) if self.bad(0.2) else ""
        return f"POST {path}", build(method, path + q, self.json_body(obj), headers)

    def admin(self, method: str, path: str) -> tuple[str, bytes]:
        r = self.rng
        token = ADMIN_TOKEN if "admin" in path else HANDOFF_TOKEN
        headers = [] if self.bad(0.4) else [(b"Authorization", f"Bearer {token}".encode())]
        headers += self.extra_headers((b"Authorization",))
        label = f"{method} {path}"
        if method == "DELETE":
            text = r.choice(("web:100001", "wechat:user:o-x", self.text(30)))
            path = "/v1/admin/sessions/" + urllib.parse.quote(
                text.encode("utf-8", "surrogatepass"), safe=":/"
            )
            label = "DELETE /v1/admin/sessions/…"
        elif "handoff" in path and self.bad(0.2):
            path = "/v1/handoff/" + urllib.parse.quote(
                self.text(10).encode("utf-8", "surrogatepass"), safe=""
            )
            label = "POST /v1/handoff/…"
        body = self.json_body({"session_id": r.choice(("web:100001", self.field_value()))})
        return label, build(method, path, body, headers)

    def _xml(self, fields: dict[str, str] | None = None) -> bytes:
        r = self.rng
        if self.bad(0.25):
            return r.choice(
                (
                    b"<xml>",
                    b"",
                    b'<?xml version="1.0" encoding="gbk"?><xml/>',
                    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><xml>&a;</xml>',
                    b"<xml><Content>" + b"\xff\xfe" * 10 + b"</Content></xml>",
                    b"<xml>" + b"<a>" * 3000 + b"</xml>",
                    "<xml><Content>\ud800</Content></xml>".encode("utf-8", "surrogatepass"),
                    bytes(r.randrange(256) for _ in range(100)),
                )
            )

        def ok(good: str) -> str:
            return self.text(12) if self.bad(0.3) else good

        f = fields or {
            "ToUserName": ok("gh_attack"),
            "FromUserName": ok("o-" + str(r.randrange(100))),
            "CreateTime": ok(str(int(time.time()))),
            "MsgType": r.choice(("text", "text", "event", "voice", "image"))
            if not self.bad(0.3)
            else self.text(5),
            "Content": self.text(),
            "MsgId": ok(str(r.randrange(10**12))),
            "Event": r.choice(("subscribe", "unsubscribe", "CLICK")) if not self.bad(0.3) else self.text(5),
            "Recognition": self.text(),
        }
        inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in f.items() if not self.bad(0.15))
        return f"<xml>{inner}</xml>".encode("utf-8", "surrogatepass")

    def _signed_query(
        self, token: str, encrypted: str | None = None, *, both: bool = False, **extra: str
    ) -> str:
        """A query whose signature holds for the values the server will decode, or junk."""
        if self.bad(0.3):
            return self.query(("signature", "msg_signature", "timestamp", "nonce", "echostr", "encrypt_type"))
        now = int(time.time())
        ts = self.query_value() if self.bad(0.3) else str(now - 10_000 if self.bad(0.2) else now)
        nonce = self.query_value() if self.bad(0.4) else self.rng.randbytes(4).hex()
        # sign what the server reads: the percent-decoded values (errors replaced, '+' a space)
        dts = urllib.parse.unquote_plus(ts, errors="replace")
        dnonce = urllib.parse.unquote_plus(nonce, errors="replace")
        parts = [dts, dnonce] + ([encrypted] if encrypted is not None else [])
        q = {"timestamp": ts, "nonce": nonce, **extra}
        q["signature" if encrypted is None else "msg_signature"] = wechat_sig(token, *parts)
        if encrypted is not None and both:  # the Official Account's safe mode sends both
            q["signature"] = wechat_sig(token, dts, dnonce)
        return "&".join(
            f"{k}={v if k in ('timestamp', 'nonce') else urllib.parse.quote(v, safe='', errors='surrogatepass')}"
            for k, v in q.items()
        )

    def _sealed(self, aes: str, inner: bytes, receive_id: str) -> str:
        if self.bad(0.3):
            return self.text(30)
        return wx_encrypt(aes, inner, self.text(8) if self.bad(0.2) else receive_id)

    def wechat(self, method: str, path: str) -> tuple[str, bytes]:
        headers = [(b"Content-Type", b"text/xml")] + self.extra_headers()
        if method == "GET":
            q = self._signed_query(WECHAT_TOKEN, echostr=self.text(20))
            return "GET /wechat", build("GET", f"{path}?{q}", b"", headers)
        if self.rng.random() < 0.35:  # safe mode: an encrypted envelope
            encrypted = self._sealed(WECHAT_AES, self._xml(), WECHAT_APPID)
            enc = encrypted.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            q = self._signed_query(WECHAT_TOKEN, enc, both=True) + "&encrypt_type=aes"
            body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            return "POST /wechat (aes)", build(
                "POST", f"{path}?{q}", body.encode("utf-8", "surrogatepass"), headers
            )
        q = self._signed_query(WECHAT_TOKEN)
        return "POST /wechat", build("POST", f"{path}?{q}", self._xml(), headers)

    def wecom(self, method: str, path: str) -> tuple[str, bytes]:
        headers = [(b"Content-Type", b"text/xml")] + self.extra_headers()
        encrypted = self._sealed(WECOM_AES, self._xml() if method == "POST" else b"echo", WECOM_CORPID)
        enc = encrypted.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        if method == "GET":
            q = self._signed_query(WECOM_TOKEN, enc, echostr=enc)
            return "GET /wecom", build("GET", f"{path}?{q}", b"", headers)
        q = self._signed_query(WECOM_TOKEN, enc)
        body = f"<xml><ToUserName>ww</ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return "POST /wecom", build("POST", f"{path}?{q}", body.encode("utf-8", "surrogatepass"), headers)

    def wecom_bot(self, method: str, path: str) -> tuple[str, bytes]:
        r = self.rng
        inner = {
            "msgid": self.field_value(),
            "aibotid": "bot",
            "chatid": self.field_value(),
            "chattype": "single",
            "from": self.value() if self.bad(0.2) else {"userid": self.field_value()},
            "msgtype": self.text(4)
            if self.bad(0.3)
            else r.choice(("text", "text", "stream", "event", "image")),
            "text": {"content": self.field_value()},
            "event": {"eventtype": r.choice(("enter_chat", self.text(5)))},
        }
        plain = self.json_body(inner) if method == "POST" else self.text(20).encode("utf-8", "surrogatepass")
        encrypted: Any = self.value() if self.bad(0.1) else self._sealed(WECOM_AES, plain, "")
        enc = str(encrypted).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        headers = [(b"Content-Type", b"application/json")] + self.extra_headers()
        if method == "GET":
            q = self._signed_query(WECOM_TOKEN, enc, echostr=enc)
            return "GET /wecom/bot", build("GET", f"{path}?{q}", b"", headers)
        q = self._signed_query(WECOM_TOKEN, enc)
        return "POST /wecom/bot", build(
            "POST", f"{path}?{q}", self.json_body({"encrypt": encrypted}), headers
        )

    def dingtalk(self, method: str, path: str) -> tuple[str, bytes]:
        r = self.rng
        ts = str(int(time.time() * 1000) - 100_000 - r.randrange(3_000_000))  # one signature per case
        if self.bad(0.4):
            headers = [(b"timestamp", self.header_value()), (b"sign", self.header_value())]
        else:
            headers = [(b"timestamp", ts.encode()), (b"sign", ding_sign(DING_SECRET, ts).encode())]
        headers += [(b"Content-Type", b"application/json")] + self.extra_headers((b"timestamp", b"sign"))
        obj = {
            "msgtype": self.text(4) if self.bad(0.3) else r.choice(("text", "text", "picture")),
            "text": self.value() if self.bad(0.2) else {"content": self.field_value()},
            "msgId": self.field_value(),
            "conversationId": self.field_value(),
            "senderStaffId": self.field_value(),
            "senderId": self.field_value(),
        }
        return "POST /dingtalk", build(method, path, self.json_body(obj), headers)

    def feishu(self, method: str, path: str) -> tuple[str, bytes]:
        r = self.rng
        token: Any = self.field_value() if self.bad(0.3) else FEISHU_TOKEN
        kind = r.randrange(3)
        if kind == 0:
            obj: Any = {"type": "url_verification", "token": token, "challenge": self.field_value()}
        else:
            obj = {
                "schema": self.text(3) if self.bad(0.2) else "2.0",
                "header": {
                    "token": token,
                    "event_id": self.field_value(),
                    "event_type": self.text(5) if self.bad(0.2) else "im.message.receive_v1",
                },
                "event": self.value()
                if self.bad(0.2)
                else {
                    "message": {
                        "message_id": self.field_value(),
                        "chat_id": self.field_value(),
                        "message_type": r.choice(("text", "text", "image")),
                        "content": self.text() if self.bad(0.3) else json.dumps({"text": self.field_value()}),
                    },
                    "sender": {"sender_id": {"open_id": self.field_value()}},
                },
            }
        body = self.json_body(obj)
        if kind == 2:  # encrypted with the app's key (or junk in 'encrypt')
            enc: Any = self.field_value() if self.bad(0.3) else feishu_encrypt(FEISHU_KEY, body)
            body = self.json_body({"encrypt": enc})
        ts = self.header_value().decode("latin-1") if self.bad(0.4) else str(int(time.time()))
        nonce = self.header_value().decode("latin-1") if self.bad(0.3) else "n0nce"
        sig = hashlib.sha256((ts + nonce + FEISHU_KEY).encode("utf-8", "surrogatepass") + body).hexdigest()
        headers = [
            (b"X-Lark-Request-Timestamp", ts.encode("latin-1")),
            (b"X-Lark-Request-Nonce", nonce.encode("latin-1")),
            (b"X-Lark-Signature", self.header_value() if self.bad(0.3) else sig.encode()),
            (b"Content-Type", b"application/json"),
        ]
        headers += self.extra_headers(
            (b"X-Lark-Request-Timestamp", b"X-Lark-Request-Nonce", b"X-Lark-Signature")
        )
        return "POST /feishu", build(method, path, body, headers)


#: hostile values for one header or query parameter a channel reads (latin-1 bytes on the wire):
#: superscript and full-width digits (str.isdigit says yes, int() says no), a UTF-8 surrogate,
#: signs, spaces, underscores, long runs, nothing
HOSTILE_HEADERS = (
    b"\xb2",
    b"\xb9\xb2\xb3",
    "１７００".encode(),
    "一二三".encode(),
    b"\xed\xa0\x80",
    b"\xff\xfe",
    b"-1",
    b"+1700000000",
    b" 1700000000 ",
    b"1_700_000_000",
    b"0x10",
    b"9" * 13,
    b"9" * 4000,
    b"",
    b"\\ud800",
)
#: the same in a query string (percent-encoded as a platform, or an attacker, would send them)
HOSTILE_QUERY = (
    "%C2%B2",
    "%C2%B9%C2%B2%C2%B3",
    "%EF%BC%91%EF%BC%97",
    "%ED%A0%80",
    "%FF",
    "%",
    "-1",
    "%2B1700000000",
    "1_700_000_000",
    "9" * 13,
    "9" * 4000,
    "",
)
#: hostile values for one JSON field (serialised with \\ud800 escapes for lone surrogates)
HOSTILE_FIELDS: tuple[Any, ...] = (
    LONE,
    "a" + LONE + "b",
    "\udfff",
    "",
    " ",
    "x" * 3000,
    "²",
    "\x00",
    10**40,
    -1,
    1.5,
    None,
    True,
    [],
    {"a": LONE},
)
#: hostile text for one XML element
HOSTILE_XML = ("", "&#xD800;", "&#0;", "\ufffe", "²", "x" * 3000, "]]>", "<a/>")


def nested(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``obj`` with the field at a dotted path set to ``value``."""
    out = json.loads(json.dumps(obj))
    node = out
    *parents, last = path.split(".")
    for name in parents:
        node = node.setdefault(name, {})
    node[last] = value
    return dict(out)


def jdump(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=True).encode()


def wechat_xml(fields: dict[str, str]) -> bytes:
    inner = "".join(
        f"<{k}><![CDATA[{v}]]></{k}>" if "&#" not in v else f"<{k}>{v}</{k}>" for k, v in fields.items()
    )
    return f"<xml>{inner}</xml>".encode("utf-8", "surrogatepass")


class Valid:
    """Correctly signed and shaped requests for every channel, each with one input replaced:
    what only the channel's own platform (or someone holding its secret) could send, so each
    hostile value reaches the code behind the signature check."""

    def __init__(self) -> None:
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return f"fz{self.n}"

    def _ms(self) -> str:
        """A DingTalk timestamp no other case shares: a signature carries only DINGTALK_BODIES
        different bodies, and cases built in the same millisecond would be refused as replays."""
        self.n += 1
        return str(int(time.time() * 1000) - self.n)

    def query(self, token: str, q: dict[str, str], encrypted: str | None = None, both: bool = False) -> str:
        """``q`` (raw, already percent-encoded values) signed over what the server will decode."""
        q = {"timestamp": str(int(time.time())), "nonce": f"n{self._id()}", **q}
        dts = urllib.parse.unquote_plus(q["timestamp"], errors="replace")
        dnonce = urllib.parse.unquote_plus(q["nonce"], errors="replace")
        if encrypted is None:
            q.setdefault("signature", wechat_sig(token, dts, dnonce))
        else:
            q.setdefault("msg_signature", wechat_sig(token, dts, dnonce, encrypted))
            if both:
                q.setdefault("signature", wechat_sig(token, dts, dnonce))
        return "&".join(f"{k}={v}" for k, v in q.items())

    def wechat_fields(self) -> dict[str, str]:
        return {
            "ToUserName": "gh_attack",
            "FromUserName": "o-fuzz",
            "CreateTime": str(int(time.time())),
            "MsgType": "text",
            "Content": "借呗逾期三天会上征信吗",
            "MsgId": str(random.randrange(10**12)),
        }

    def cases(self) -> Iterator[tuple[str, bytes]]:
        json_h = (b"Content-Type", b"application/json")
        xml_h = (b"Content-Type", b"text/xml")
        # ---- /v1/chat, the Rasa webhook, hand-off and admin calls: fields and the headers they read
        for path, sid, text in (
            ("/v1/chat", "session_id", "text"),
            ("/webhooks/rest/webhook", "sender", "message"),
        ):
            bearer = (b"Authorization", f"Bearer {API_TOKEN}".encode())
            for name in (sid, text):
                for v in HOSTILE_FIELDS:
                    body = jdump(nested({sid: self._id(), text: "你好"}, name, v))
                    yield f"field {path} {name}", build("POST", path, body, [json_h, bearer])
            for hname in (b"Authorization", b"Content-Type", b"Cookie"):
                for hv in HOSTILE_HEADERS:
                    h = [json_h, bearer] if hname != b"Authorization" else [json_h]
                    h = [x for x in h if x[0] != hname] + [(hname, hv)]
                    body = jdump({sid: self._id(), text: "你好"})
                    yield f"header {path} {hname.decode()}", build("POST", path, body, h)
        for path, token in (
            ("/v1/handoff/start", HANDOFF_TOKEN),
            ("/v1/handoff/release", HANDOFF_TOKEN),
            ("/v1/admin/reload", ADMIN_TOKEN),
        ):
            for v in HOSTILE_FIELDS:
                h = [json_h, (b"Authorization", f"Bearer {token}".encode())]
                yield f"field {path} session_id", build("POST", path, jdump({"session_id": v}), h)
            for hv in HOSTILE_HEADERS:
                yield (
                    f"header {path} Authorization",
                    build("POST", path, b"{}", [json_h, (b"Authorization", hv)]),
                )
        for raw in ("%ED%A0%80", "web:%C2%B2", "web:" + "x" * 300, "%00", "web:a%2F..%2Fb", "%FF"):
            h = [(b"Authorization", f"Bearer {ADMIN_TOKEN}".encode())]
            yield "path DELETE /v1/admin/sessions/…", build("DELETE", f"/v1/admin/sessions/{raw}", b"", h)
        # ---- WeChat: the query it reads, then each element of a message, plain and in safe mode
        for method in ("GET", "POST"):
            for name in ("signature", "timestamp", "nonce", "echostr", "encrypt_type"):
                for v in HOSTILE_QUERY:
                    q = self.query(WECHAT_TOKEN, {name: v, **({"echostr": "e"} if name != "echostr" else {})})
                    body = wechat_xml(self.wechat_fields()) if method == "POST" else b""
                    yield f"query {method} /wechat {name}", build(method, f"/wechat?{q}", body, [xml_h])
        for name in (
            "ToUserName",
            "FromUserName",
            "CreateTime",
            "MsgType",
            "Content",
            "MsgId",
            "Event",
            "Recognition",
        ):
            for v in HOSTILE_XML:
                xml = wechat_xml({**self.wechat_fields(), name: v})
                yield (
                    f"xml /wechat {name}",
                    build("POST", f"/wechat?{self.query(WECHAT_TOKEN, {})}", xml, [xml_h]),
                )
                enc = wx_encrypt(WECHAT_AES, xml, WECHAT_APPID)
                q = self.query(WECHAT_TOKEN, {"encrypt_type": "aes"}, enc, both=True)
                body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode()
                yield f"xml /wechat (aes) {name}", build("POST", f"/wechat?{q}", body, [xml_h])
        for v in HOSTILE_XML:
            q = self.query(WECHAT_TOKEN, {"encrypt_type": "aes"}, v, both=True)
            body = f"<xml><Encrypt>{v}</Encrypt></xml>".encode("utf-8", "surrogatepass")
            yield "xml /wechat (aes) Encrypt", build("POST", f"/wechat?{q}", body, [xml_h])
        # ---- WeCom app: the query, and each element of the inner message
        echo = wx_encrypt(WECOM_AES, b"echo", WECOM_CORPID)
        for name in ("msg_signature", "timestamp", "nonce", "echostr"):
            for v in HOSTILE_QUERY:
                base = {"echostr": urllib.parse.quote(echo, safe="")}
                q = self.query(WECOM_TOKEN, {**base, name: v}, echo if name != "echostr" else v)
                yield f"query GET /wecom {name}", build("GET", f"/wecom?{q}", b"", [xml_h])
                yield f"query GET /wecom/bot {name}", build("GET", f"/wecom/bot?{q}", b"", [xml_h])
        for name in ("ToUserName", "FromUserName", "MsgType", "Content", "MsgId"):
            for v in HOSTILE_XML:
                enc = wx_encrypt(WECOM_AES, wechat_xml({**self.wechat_fields(), name: v}), WECOM_CORPID)
                body = f"<xml><ToUserName>ww</ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode()
                yield (
                    f"xml /wecom {name}",
                    build("POST", f"/wecom?{self.query(WECOM_TOKEN, {}, enc)}", body, [xml_h]),
                )
        # ---- WeCom bot: the outer 'encrypt' and each inner field
        inner = {
            "msgid": "m",
            "aibotid": "bot",
            "chattype": "single",
            "from": {"userid": "u"},
            "msgtype": "text",
            "text": {"content": "你好"},
        }
        for v in HOSTILE_FIELDS:
            sv = v if isinstance(v, str) else json.dumps(v)
            q = self.query(WECOM_TOKEN, {}, sv.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
            yield (
                "field /wecom/bot encrypt",
                build("POST", f"/wecom/bot?{q}", jdump({"encrypt": v}), [json_h]),
            )
        for name in (
            "msgid",
            "chatid",
            "from",
            "from.userid",
            "msgtype",
            "text",
            "text.content",
            "event.eventtype",
        ):
            for v in HOSTILE_FIELDS:
                msg = nested({**inner, "msgid": self._id()}, name, v)
                if name == "event.eventtype":
                    msg["msgtype"] = "event"
                enc = wx_encrypt(WECOM_AES, jdump(msg), "")
                q = self.query(WECOM_TOKEN, {}, enc)
                yield (
                    f"field /wecom/bot {name}",
                    build("POST", f"/wecom/bot?{q}", jdump({"encrypt": enc}), [json_h]),
                )
        # ---- DingTalk: its two headers (signed over whatever the timestamp says), each field
        ding = {
            "msgtype": "text",
            "text": {"content": "你好"},
            "conversationId": "cid",
            "senderStaffId": "staff",
        }
        for hname in (b"timestamp", b"sign"):
            for hv in HOSTILE_HEADERS:
                ts = hv.decode("latin-1") if hname == b"timestamp" else self._ms()
                sign = ding_sign(DING_SECRET, ts).encode() if hname == b"timestamp" else hv
                body = jdump({**ding, "msgId": self._id()})
                h = [json_h, (b"timestamp", ts.encode("latin-1")), (b"sign", sign)]
                yield f"header /dingtalk {hname.decode()}", build("POST", "/dingtalk", body, h)
        for name in (
            "msgtype",
            "text",
            "text.content",
            "msgId",
            "conversationId",
            "senderStaffId",
            "senderId",
        ):
            for v in HOSTILE_FIELDS:
                ts = self._ms()
                body = jdump(nested({**ding, "msgId": self._id()}, name, v))
                h = [json_h, (b"timestamp", ts.encode()), (b"sign", ding_sign(DING_SECRET, ts).encode())]
                yield f"field /dingtalk {name}", build("POST", "/dingtalk", body, h)
        # ---- Feishu: the challenge, each event field, 'encrypt', and the three signed headers
        for name in ("token", "challenge", "type"):
            for v in HOSTILE_FIELDS:
                obj = nested({"type": "url_verification", "token": FEISHU_TOKEN, "challenge": "c"}, name, v)
                yield f"field /feishu challenge {name}", build("POST", "/feishu", jdump(obj), [json_h])
        event = {
            "schema": "2.0",
            "header": {"token": FEISHU_TOKEN, "event_id": "e", "event_type": "im.message.receive_v1"},
            "event": {
                "message": {
                    "message_id": "m",
                    "chat_id": "c",
                    "message_type": "text",
                    "content": json.dumps({"text": "你好"}),
                },
                "sender": {"sender_id": {"open_id": "ou"}},
            },
        }

        def feishu_signed(
            body: bytes, ts: bytes | None = None, nonce: bytes = b"n0nce", sig: bytes | None = None
        ) -> bytes:
            ts = ts if ts is not None else str(int(time.time())).encode()
            mac = hashlib.sha256(
                (ts.decode("latin-1") + nonce.decode("latin-1") + FEISHU_KEY).encode("utf-8") + body
            ).hexdigest()
            h = [
                json_h,
                (b"X-Lark-Request-Timestamp", ts),
                (b"X-Lark-Request-Nonce", nonce),
                (b"X-Lark-Signature", sig if sig is not None else mac.encode()),
            ]
            return build("POST", "/feishu", body, h)

        fields = (
            "schema",
            "header",
            "header.token",
            "header.event_id",
            "header.event_type",
            "event",
            "event.message",
            "event.message.message_id",
            "event.message.chat_id",
            "event.message.message_type",
            "event.message.content",
            "event.sender.sender_id.open_id",
        )
        for name in fields:
            for v in HOSTILE_FIELDS:
                obj = nested(nested(event, "header.event_id", self._id()), name, v)
                yield f"field /feishu event {name}", feishu_signed(jdump(obj))
        for v in HOSTILE_FIELDS:
            yield "field /feishu encrypt", feishu_signed(jdump({"encrypt": v}))
        for lark in ("timestamp", "nonce", "signature"):
            for hv in HOSTILE_HEADERS:
                for sealed in (False, True):
                    plain = jdump(nested(event, "header.event_id", self._id()))
                    body = jdump({"encrypt": feishu_encrypt(FEISHU_KEY, plain)}) if sealed else plain
                    label = f"header /feishu{' (encrypted)' if sealed else ''} X-Lark-{lark}"
                    if lark == "timestamp":
                        yield label, feishu_signed(body, ts=hv)
                    elif lark == "nonce":
                        yield label, feishu_signed(body, nonce=hv)
                    else:
                        yield label, feishu_signed(body, sig=hv)
        # ---- the GET routes: hostile query strings and headers
        for path in ("/v1/config", "/healthz", "/metrics", "/", "/webhooks/rest/", "/static/chat.js"):
            for v in HOSTILE_QUERY:
                yield f"query GET {path}", build("GET", f"{path}?q={v}&{v}={v}", b"", [])
            for hv in HOSTILE_HEADERS[:6]:
                yield (
                    f"header GET {path}",
                    build("GET", path, b"", [(b"Authorization", hv), (b"Accept-Language", hv)]),
                )


def migrate_req() -> str:
    """The kernel's net.ipv4.tcp_migrate_req (Linux 5.14+), or '?' where it cannot be read."""
    try:
        return Path("/proc/sys/net/ipv4/tcp_migrate_req").read_text().strip()
    except OSError:
        return "?"


def row_fuzz(ctx: Ctx) -> Row:
    """Every route, hostile bodies, headers, query strings and methods: no 5xx, no traceback."""
    row = Row("fuzz")
    n = 1500 if ctx.quick else 4000
    dead = free_port()  # where Feishu's reply API "is": nothing listens, so nothing leaves the machine
    review = ctx.tmp / "fuzz-review"
    random.seed(ctx.seed)  # the MsgIds of Valid
    cases = list(Valid().cases())
    systematic = len(cases)
    fuzz = Fuzzer(random.Random(ctx.seed))
    cases += [fuzz.request() for _ in range(max(0, n - len(cases)))]
    statuses: Counter[str] = Counter()
    by_label: dict[str, Counter[str]] = {}
    fives: list[dict[str, Any]] = []

    async def one(label: str, raw: bytes, gate: asyncio.Semaphore) -> None:
        async with gate:
            resp = await exchange(server.port, raw, timeout=15, head_only=raw.startswith(b"HEAD"))
        key = str(resp.status) if resp.status is not None else f"no response ({resp.error})"
        statuses[key] += 1
        by_label.setdefault(label, Counter())[key] += 1
        if resp.status is not None and resp.status >= 500:
            fives.append(
                {
                    "case": label,
                    "status": resp.status,
                    "request": repr(raw[:300]),
                    "reply": repr(resp.body[:200]),
                }
            )

    async def run() -> None:
        gate = asyncio.Semaphore(8)
        await asyncio.gather(*(one(label, raw, gate) for label, raw in cases))

    server = ctx.serve(
        "--wechat-token", WECHAT_TOKEN, "--wechat-aes-key", WECHAT_AES, "--wechat-appid", WECHAT_APPID,
        "--wecom-token", WECOM_TOKEN, "--wecom-aes-key", WECOM_AES, "--wecom-corpid", WECOM_CORPID,
        "--dingtalk-app-secret", DING_SECRET,
        "--feishu-verification-token", FEISHU_TOKEN, "--feishu-encrypt-key", FEISHU_KEY,
        "--feishu-app-id", "cli_attack", "--feishu-app-secret", "attack-feishu-secret",
        "--feishu-domain", f"http://127.0.0.1:{dead}",
        "--handoff-token", HANDOFF_TOKEN, "--admin-token", ADMIN_TOKEN, "--api-token", API_TOKEN,
        "--review", str(review), "--rate-session", "0",
    )  # fmt: skip
    try:
        asyncio.run(run())
        alive = http_get(server.port, "/healthz")[0] == 200
    finally:
        server.stop()
    log = server.log()
    row.requests = len(cases)
    row.status_5xx = len(fives)
    row.tracebacks = server.tracebacks()
    row.measure = f"{len(by_label)} kinds of request; server alive after: {'yes' if alive else 'NO'}"
    row.details = {
        "5xx_examples": fives[:25],
        "statuses": dict(statuses.most_common()),
        "systematic_cases": systematic,
        # the log lets one traceback a minute through (logs.Throttle): the 5xx count is the measure
        "asgi_exception_lines": log.count("Exception in ASGI application"),
        "by_case": {k: dict(v) for k, v in sorted(by_label.items())},
    }
    row.verdict = (
        "ok"
        if not fives and not row.tracebacks and alive
        else f"DEFECT: {len(fives)} × 5xx, {row.tracebacks} tracebacks"
    )
    return row


Job = tuple[str, str, bytes, bytes]  # method, path, body, extra header lines


def chat_job(session_id: str | int, text: str, token: str = "", path: str = "/v1/chat") -> Job:
    fields = ("sender", "message") if path.startswith("/webhooks") else ("session_id", "text")
    body = json.dumps({fields[0]: session_id, fields[1]: text}, ensure_ascii=False).encode("utf-8")
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    return "POST", path, body, b"Content-Type: application/json\r\n" + auth


async def batch(port: int, jobs: list[Job], concurrency: int = 8, source: str | None = None) -> list[Resp]:
    """Every job over ``concurrency`` kept-open connections, the replies in the jobs' order."""
    out: list[Resp | None] = [None] * len(jobs)
    queue = list(enumerate(jobs))[::-1]

    async def worker() -> None:
        conn = Conn(port, source)
        try:
            while queue:
                i, (method, path, body, headers) = queue.pop()
                out[i] = await conn.request(method, path, body, headers)
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [r if r is not None else Resp(None, error="not sent") for r in out]


def run_batch(port: int, jobs: list[Job], concurrency: int = 8, source: str | None = None) -> list[Resp]:
    return asyncio.run(batch(port, jobs, concurrency, source))


def told(resp: Resp) -> tuple[bool, set[str], str]:
    """What a reply gives away: slots with values, the debt's words in its text, and the text."""
    data = as_json(resp.body)
    slots: Any = None
    text = ""
    if isinstance(data, dict):
        slots = data.get("slots")
        text = str(data.get("text") or "")
    elif isinstance(data, list):
        text = " ".join(str(m.get("text") or "") for m in data if isinstance(m, dict))
    has_slots = isinstance(slots, dict) and any(v not in (None, "", [], {}) for v in slots.values())
    return has_slots, {m for m in DEBT_MARKS if m in text}, text


def issue_session(port: int) -> str | None:
    """A server-issued session id from the planned ``POST /v1/session``; None while it is absent."""
    r = post_json(port, "/v1/session", {})
    data = as_json(r.body)
    if r.status in (200, 201) and isinstance(data, dict) and isinstance(data.get("session_id"), str):
        return str(data["session_id"])
    return None


def tampered(sid: str) -> list[str]:
    """Ids an attacker makes from a signed one: a character changed, cut, extended, or the
    signature part moved onto a numeric id."""
    flip = sid[:-1] + ("A" if sid[-1] != "A" else "B")
    out = [flip, sid[:-2], sid + "0", "100001" + sid[6:]]
    for sep in (".", ":", "-", "~"):
        if sep in sid:
            head, _, tail = sid.rpartition(sep)
            out.append("100001" + sep + tail)
    return [x for x in out if x and x != sid]


def row_session_read(ctx: Ctx) -> Row:
    """Sessions with numeric ids told a debt; then someone else asks on those ids, without a token.

    Phase A is the default serve (no token, loopback): the reply must carry no slots and an empty
    text must reveal nothing; a question the bot answers from the session ("我欠了多少钱") is counted
    apart, since without a token or a server-issued id nothing tells the owner from anyone else.
    Phase B is ``--api-token``: a caller without the bearer must read nothing, and (when the
    planned ``POST /v1/session`` exists) a page's signed id works without the bearer, still
    without slots, while a numeric, forged or altered id is refused.  With the bearer the slots
    do come back: that proves the detector sees what it is looking for.
    """
    row = Row("session-read")
    n = 50 if ctx.quick else 100
    ids = [str(100000 + i) for i in range(n)]
    controls = [str(200000 + i) for i in range(n)]  # never told anything: the baseline of each probe
    probes = [
        ("/v1/chat", ""),
        ("/v1/chat", " "),
        ("/v1/chat", "我欠了多少钱"),
        ("/v1/chat", "我的情况你还记得吗"),
    ]
    probes += [("/webhooks/rest/webhook", ""), ("/webhooks/rest/webhook", "我欠多少")]
    sent = 0

    def tell(port: int, token: str = "") -> list[Resp]:
        jobs = [
            chat_job(sid, DEBT_TEXT, token)
            if i % 2 == 0
            else chat_job(int(sid), DEBT_TEXT, token, "/webhooks/rest/webhook")
            for i, sid in enumerate(ids)
        ]
        return run_batch(port, jobs)

    def probe(port: int, targets: list[str], source: str | None = None) -> list[tuple[str, str, str, Resp]]:
        jobs, keys = [], []
        for sid in targets:
            for path, text in probes:
                jobs.append(
                    chat_job(
                        sid if path == "/v1/chat" else (int(sid) if sid.isdigit() else sid), text, "", path
                    )
                )
                keys.append((sid, path, text))
        return [(*k, r) for k, r in zip(keys, run_batch(port, jobs, source=source), strict=True)]

    # ---- phase A: the default server
    server = ctx.serve()
    try:
        told_a = tell(server.port)
        ok_told = sum(r.status == 200 for r in told_a)
        base = {(p, t): told(r)[1] for _, p, t, r in probe(server.port, controls)}
        seen = probe(server.port, ids)
        # the same probes from another address (127.0.0.2): an outsider, who may not choose ids
        outside = probe(server.port, ids, OUTSIDER)
    finally:
        server.stop()
    sent += len(told_a) + len(controls) * len(probes) + len(seen) + len(outside)
    outside_reads = {
        s for s, p, t, r in outside if r.status == 200 and (told(r)[0] or told(r)[1] - base[(p, t)])
    }
    slot_leaks = [(s, p, t) for s, p, t, r in seen if told(r)[0]]
    empty_leaks = [(s, p) for s, p, t, r in seen if not t.strip() and (told(r)[1] - base[(p, t)])]
    text_reads = {s for s, p, t, r in seen if t.strip() and (told(r)[1] - base[(p, t)])}
    example = next((told(r)[2] for s, p, t, r in seen if t.strip() and told(r)[1] - base[(p, t)]), "")
    tracebacks = server.tracebacks()
    fives = sum(1 for *_, r in seen if r.status is not None and r.status >= 500)
    details: dict[str, Any] = {
        "A_default": {
            "sessions_told": ok_told,
            "probe_replies": len(seen),
            "replies_with_slots": len(slot_leaks),
            "empty_text_replies_revealing": len(empty_leaks),
            "sessions_read_through_answers": len(text_reads),
            "example_answer_to_another": example[:160],
            "statuses": dict(Counter(str(r.status) for *_, r in seen)),
            "outsider_probe_statuses": dict(Counter(str(r.status) for *_, r in outside)),
            "sessions_read_by_an_outsider": len(outside_reads),
        }
    }

    # ---- phase B: --api-token
    server = ctx.serve("--api-token", API_TOKEN)
    b_leaks: set[str] = set()
    try:
        told_b = tell(server.port, API_TOKEN)
        base_b = {(p, t): told(r)[1] for _, p, t, r in probe(server.port, controls)}
        seen_b = probe(server.port, ids)
        for s, p, t, r in seen_b:
            has_slots, marks, _ = told(r)
            if r.status == 200 and (has_slots or marks - base_b[(p, t)]):
                b_leaks.add(s)
        # the detector, with the bearer: the owner's server-to-server caller does see the slots
        owner = run_batch(server.port, [chat_job(s, "我欠多少", API_TOKEN) for s in ids[::2][:20]])
        detector = sum(told(r)[0] for r in owner)
        # the planned page sessions: signed ids, usable without the bearer
        signed = [issue_session(server.port) for _ in range(20)]
        issued = [s for s in signed if s]
        page: dict[str, Any] = {
            "POST /v1/session": "absent (n/a)" if not issued else f"{len(issued)} ids issued"
        }
        extra = 0
        if issued:
            own = run_batch(server.port, [chat_job(s, DEBT_TEXT) for s in issued])
            page["own_turns_accepted_without_bearer"] = sum(r.status == 200 for r in own)
            page["own_replies_with_slots"] = sum(told(r)[0] for r in own)
            forged = [t for s in issued for t in tampered(s)]
            fr = run_batch(server.port, [chat_job(t, "我欠了多少钱") for t in forged])
            page["forged_ids_accepted"] = sum(r.status == 200 for r in fr)
            page["forged_ids_reading"] = sum(1 for r in fr if r.status == 200 and (told(r)[0] or told(r)[1]))
            b_leaks |= {
                f"forged:{t}"
                for t, r in zip(forged, fr, strict=True)
                if r.status == 200 and (told(r)[0] or told(r)[1])
            }
            extra = len(own) + len(fr)
        alive = http_get(server.port, "/healthz")[0] == 200
    finally:
        server.stop()
    sent += len(told_b) + len(controls) * len(probes) + len(seen_b) + len(owner) + len(signed) + extra
    tracebacks += server.tracebacks()
    fives += sum(1 for *_, r in seen_b if r.status is not None and r.status >= 500)
    details["B_api_token"] = {
        "sessions_told_with_bearer": sum(r.status == 200 for r in told_b),
        "probe_statuses_without_bearer": dict(Counter(str(r.status) for *_, r in seen_b)),
        "sessions_read_without_bearer": len([x for x in b_leaks if x.isdigit()]),
        "detector_saw_slots_with_bearer": f"{detector}/{len(owner)}",
        "page_sessions": page,
        "alive": alive,
    }
    row.requests = sent
    row.status_5xx = fives
    row.tracebacks = tracebacks
    row.leaks = (
        len(b_leaks)
        + len({s for s, *_ in slot_leaks})
        + len({s for s, _ in empty_leaks})
        + len(outside_reads)
    )
    default = (
        "numeric ids refused"
        if not ok_told
        else f"slots {len(slot_leaks)}, empty text {len(empty_leaks)}, answers read {len(text_reads)}/{n} "
        f"sessions from this machine, {len(outside_reads)}/{n} from another address"
    )
    row.measure = (
        f"--api-token: {len(b_leaks)} read; default: {default}; "
        f"POST /v1/session {'present' if issued else 'absent'}"
    )
    row.details = details
    problems = []
    if row.leaks:
        problems.append(f"{row.leaks} sessions' debts read by someone else")
    if issued and page.get("forged_ids_accepted"):
        problems.append(f"{page['forged_ids_accepted']} forged or altered ids accepted without the bearer")
    if issued and page.get("own_replies_with_slots"):
        problems.append(f"slots sent without the bearer on {page['own_replies_with_slots']} page turns")
    if issued and page.get("own_turns_accepted_without_bearer", 0) < len(issued):
        problems.append("server-issued ids refused without the bearer")
    if detector == 0:
        row.verdict = "MEASUREMENT FAILED: no slots even with the bearer (the detector sees nothing)"
    elif problems:
        row.verdict = "DEFECT: " + "; ".join(problems)
    else:
        row.verdict = "ok" + (
            f" (without a token, {len(text_reads)}/{n} numeric sessions answer their debt to this machine"
            ", which may choose ids; another address may not)"
            if text_reads
            else ""
        )
    return row


def wechat_send(port: int, msg_id: str, user: str, text: str) -> Resp:
    """A signed WeChat message (a fresh timestamp and nonce: what WeChat's own retry sends)."""
    q = wechat_query(WECHAT_TOKEN)
    raw = build("POST", f"/wechat?{q}", wechat_text(msg_id, user, text), [(b"Content-Type", b"text/xml")])
    return asyncio.run(exchange(port, raw))


def xml_content(body: bytes) -> str:
    m = re.search(rb"<Content><!\[CDATA\[(.*?)\]\]></Content>", body, re.S)
    return m.group(1).decode("utf-8", "replace") if m else body.decode("utf-8", "replace")[:80]


def turns_logged(server: Server, channel: str) -> int:
    """Turns the server computed for a channel, from its own per-turn log lines."""
    return len(re.findall(rf"\b{channel} session=", server.log()))


def has_debt(resp: Resp, lender: str, amount: int) -> bool:
    data = as_json(resp.body)
    slots = data.get("slots") if isinstance(data, dict) else None
    debts = slots.get("debts") if isinstance(slots, dict) else None
    return isinstance(debts, list) and any(
        isinstance(d, dict) and d.get("platform") == lender and d.get("amount") == amount for d in debts
    )


def chat_bytes(session_id: str, text: str) -> bytes:
    body = json.dumps({"session_id": session_id, "text": text}, ensure_ascii=False).encode("utf-8")
    return build("POST", "/v1/chat", body, [(b"Content-Type", b"application/json")], close=False)


async def pipelined(
    port: int,
    requests: Iterator[bytes],
    statuses: Counter[str],
    budget: float,
    source: str | None = None,
    connections: int = 4,
    depth: int = 32,
) -> None:
    """Send ``requests`` as fast as the server takes them: a few connections, each writing
    ``depth`` requests at once and then reading their replies (HTTP/1.1 pipelining), which
    costs this process a fraction of one request at a time, so the flood measures the server.
    Stops after ``budget`` seconds; replies are counted by status in ``statuses``."""
    started = time.monotonic()

    async def worker() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            while time.monotonic() - started < budget:
                batch = [r for _, r in zip(range(depth), requests, strict=False)]
                if not batch:
                    return
                answered = 0
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(
                            LOCAL, port, local_addr=(source, 0) if source else None
                        )
                    assert reader is not None
                    writer.write(b"".join(batch))
                    await writer.drain()
                    while answered < len(batch):
                        status, headers, _ = await read_response(reader, 30)
                        statuses[str(status)] += 1
                        answered += 1
                        if headers.get("connection", "").lower() == "close":
                            raise ConnectionResetError("closed by the server")
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
                    statuses[type(exc).__name__] += len(batch) - answered  # no reply: not sent again
                    if writer is not None:
                        writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


def row_session_flood(ctx: Ctx) -> Row:
    """Fresh session ids from one address, more than the memory store holds; then the real
    sessions made before must still have their debts, and WeChat's retry of a message answered
    before the flood must get the stored answer, not a second turn."""
    from overdue_bot.stores.memory import MemoryStore

    row = Row("session-flood")
    cap = MemoryStore().max_sessions
    flood = 10_000 if ctx.quick else cap + cap // 20
    budget = ctx.flood_seconds or (15.0 if ctx.quick else 160.0)  # a flood cut short says so
    limit_flag = ctx.has_flag("--new-sessions")
    server = ctx.serve("--debug", "--wechat-token", WECHAT_TOKEN)
    statuses: Counter[str] = Counter()
    try:
        real = [(f"real-{i}", LENDERS[i], 1000 * (i + 1) + 37) for i in range(5)]
        made = run_batch(
            server.port, [chat_job(s, f"{lender}欠了{amount}元") for s, lender, amount in real], 1
        )
        first = wechat_send(server.port, "7000000001", "o-real-user", "借呗欠了5000元")
        time.sleep(0.2)  # the turn's log line
        before = turns_logged(server, "wechat")
        counted = metric(server.port, "overdue_bot_turns_total", channel="wechat")
        rss0 = proc_status(server.pid, "VmRSS") or 0

        # "嗯" is the cheapest text that still makes a session (an empty one makes none)
        requests = (chat_bytes(f"flood-{i}", "嗯") for i in range(flood))
        started = time.monotonic()
        asyncio.run(pipelined(server.port, requests, statuses, budget, OUTSIDER))
        wall = time.monotonic() - started
        rss1 = proc_status(server.pid, "VmRSS") or 0
        # the way an outsider may start sessions: the page's POST /v1/session, limited per client
        pages = run_batch(
            server.port, [("POST", "/v1/session", b"", b"")] * (200 if ctx.quick else 2000), 4, OUTSIDER
        )
        page_statuses = Counter(str(r.status) for r in pages)
        after = [run_batch(server.port, [chat_job(s, "嗯")], 1)[0] for s, _, _ in real]
        lost = sum(
            not has_debt(r, lender, amount) for r, (_, lender, amount) in zip(after, real, strict=True)
        )
        retry = wechat_send(server.port, "7000000001", "o-real-user", "借呗欠了5000元")
        time.sleep(0.2)  # the turn's log line
        # a second turn for the same MsgId, seen in the log or in /metrics (whichever is there)
        again = turns_logged(server, "wechat") - before
        recounted = metric(server.port, "overdue_bot_turns_total", channel="wechat") - counted
        if recounted == recounted:  # not NaN: /metrics answered
            again = max(again, int(recounted))
        alive = http_get(server.port, "/healthz")[0] == 200
    finally:
        server.stop()
    sent = sum(statuses.values()) + len(pages)
    refused = statuses.get("429", 0) + statuses.get("401", 0) + page_statuses.get("429", 0)
    accepted = statuses.get("200", 0) + page_statuses.get("200", 0)
    rate = accepted / max(wall, 0.001)
    exceeded = accepted > cap  # only then can this flood have pushed anything out of the store
    row.requests = sent + len(real) * 2 + 2
    row.status_5xx = sum(v for k, v in statuses.items() if k.isdigit() and int(k) >= 500)
    row.tracebacks = server.tracebacks()
    row.lost = lost if lost or exceeded or refused else None
    row.duplicated = again if again or exceeded or refused else None
    row.leaks = 0
    row.measure = (
        f"{accepted} new sessions accepted from one address in {wall:.0f} s ({rate:.0f}/s), "
        f"{refused} refused (chosen ids 401: {statuses.get('401', 0)}, page sessions 429: "
        f"{page_statuses.get('429', 0)} of {len(pages)}); the store holds {cap}; "
        f"--new-sessions {'present' if limit_flag else 'absent'}"
    )
    row.details = {
        "flood_planned": flood,
        "budget_seconds": budget,
        "flood_sent": sent,
        "seconds": round(wall, 1),
        "statuses": dict(statuses),
        "page_session_statuses": dict(page_statuses),
        "accepted_per_second": round(rate, 1),
        "memory_store_max_sessions": cap,
        "accepted_exceeds_store": exceeded,
        "real_sessions_made": sum(r.status == 200 for r in made),
        "real_sessions_lost": lost,
        "wechat_first_reply": xml_content(first.body)[:80],
        "wechat_retry_reply": xml_content(retry.body)[:80],
        "wechat_retry_same_answer": xml_content(first.body) == xml_content(retry.body),
        "wechat_retry_computed_again": again,
        "server_rss_kb_before_after": [rss0, rss1],
        "alive": alive,
    }
    problems = []
    if lost:
        problems.append(f"{lost}/5 real sessions evicted")
    if again:
        problems.append("the retried WeChat message was answered twice")
    if row.status_5xx:
        problems.append(f"{row.status_5xx} × 5xx")
    if not refused and accepted >= 1000:
        problems.append(
            f"no limit on new sessions from one address ({rate:.0f}/s: the store's {cap} replaced in "
            f"{cap / max(rate, 0.001) / 60:.0f} min)"
        )
    row.verdict = "DEFECT: " + "; ".join(problems) if problems else "ok"
    if not exceeded and not refused:
        row.verdict += f" (eviction itself not reached: {accepted} < {cap})"
    if not all(
        r.status == 200 and has_debt(r, lender, amount)
        for r, (_, lender, amount) in zip(made, real, strict=True)
    ):
        row.lost = None
        row.verdict = f"MEASUREMENT FAILED: the real sessions could not be made ({[r.status for r in made]})"
    return row


def sync_exchange(port: int, raw: bytes, timeout: float = 5.0, source: str | None = None) -> Resp:
    """``exchange`` without an event loop, for the threads that share the machine with a flood."""
    started = time.monotonic()
    try:
        with socket.create_connection(
            (LOCAL, port), timeout=timeout, source_address=(source, 0) if source else None
        ) as s:
            s.sendall(raw)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            status, headers = parse_head(buf.partition(b"\r\n\r\n")[0])
            return Resp(status, buf, headers, seconds=time.monotonic() - started)
    except OSError as exc:
        return Resp(None, error=type(exc).__name__, seconds=time.monotonic() - started)


class IdleHolder(threading.Thread):
    """Opens unfinished connections from one address at ``rate`` a second, up to ``target`` at
    once, and opens a new one whenever the server closes one: half a request line, never more."""

    def __init__(self, port: int, target: int, rate: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self.port, self.target, self.rate, self.seconds = port, target, rate, seconds
        self.opened = self.closed_by_server = self.refused_503 = self.connect_errors = self.max_held = 0
        self.held_since: float | None = None  # when the holding level was first reached

    def run(self) -> None:
        sel = selectors.DefaultSelector()
        held: set[socket.socket] = set()
        start = time.monotonic()
        credit = 0.0
        last = start
        try:
            while (now := time.monotonic()) - start < self.seconds:
                credit = min(credit + (now - last) * self.rate, self.rate)
                last = now
                while credit >= 1 and len(held) < self.target:
                    credit -= 1
                    s = socket.socket()
                    try:
                        s.bind((OUTSIDER, 0))
                        s.settimeout(1.0)
                        s.connect((LOCAL, self.port))
                        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Wait: ")
                        s.setblocking(False)
                    except OSError:
                        self.connect_errors += 1
                        s.close()
                        continue
                    sel.register(s, selectors.EVENT_READ)
                    held.add(s)
                    self.opened += 1
                if len(held) > self.max_held:
                    self.max_held = len(held)
                if self.held_since is None and len(held) >= 0.95 * self.target:
                    self.held_since = time.monotonic() - start
                for key, _ in sel.select(timeout=0.005):
                    gone = key.fileobj
                    if not isinstance(gone, socket.socket):
                        continue
                    try:
                        data = gone.recv(4096)
                    except OSError:
                        data = b""
                    if data.startswith(b"HTTP/1.1 503"):
                        self.refused_503 += 1
                    self.closed_by_server += 1
                    sel.unregister(gone)
                    held.discard(gone)
                    gone.close()
        finally:
            for s in held:
                s.close()
            sel.close()


def row_idle(ctx: Ctx) -> Row:
    """One address holds ~1,200 unfinished connections (renewed at ~130/s as the server closes
    them); legitimate visitors from another address, each on a new connection, must be served."""
    row = Row("idle")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(1200, soft - 200)
    seconds = 12.0 if ctx.quick else 20.0
    flag = ctx.has_flag("--client-connections")
    server = ctx.serve()
    results: list[tuple[float, Resp]] = []
    try:
        holder = IdleHolder(server.port, target, 130.0, seconds)
        started = time.monotonic()
        holder.start()

        def visitor(k: int) -> None:
            i = 0
            while time.monotonic() - started < seconds:
                i += 1
                body = json.dumps(
                    {"session_id": f"visitor-{k}-{i}", "text": "你好"}, ensure_ascii=False
                ).encode()
                raw = build("POST", "/v1/chat", body, [(b"Content-Type", b"application/json")])
                t = time.monotonic() - started
                results.append((t, sync_exchange(server.port, raw, timeout=5.0)))
                time.sleep(0.05)  # a person, not a load generator

        visitors = [threading.Thread(target=visitor, args=(k,), daemon=True) for k in range(4)]
        for v in visitors:
            v.start()
        for v in visitors:
            v.join()
        holder.join()
        alive = http_get(server.port, "/healthz")[0] == 200
    finally:
        server.stop()
    failed = [(t, r) for t, r in results if r.status != 200]
    held_at = holder.held_since if holder.held_since is not None else seconds
    late = [(t, r) for t, r in results if t >= held_at]
    late_failed = [(t, r) for t, r in late if r.status != 200]
    row.requests = len(results) + holder.opened
    row.status_5xx = sum(1 for _, r in results if r.status is not None and r.status >= 500)
    row.tracebacks = server.tracebacks()
    row.measure = (
        f"{len(failed)}/{len(results)} visitor requests failed ({len(late_failed)}/{len(late)} once "
        f"{holder.max_held} were held); --client-connections {'present' if flag else 'absent'}"
    )
    row.details = {
        "attacker": {
            "target": target,
            "opened": holder.opened,
            "max_held": holder.max_held,
            "held_from_second": round(held_at, 1),
            "closed_by_server": holder.closed_by_server,
            "answered_503": holder.refused_503,
            "connect_errors": holder.connect_errors,
        },
        "visitors": {
            "requests": len(results),
            "statuses": dict(Counter(str(r.status) if r.status else r.error for _, r in results)),
            "after_hold_reached": dict(Counter(str(r.status) if r.status else r.error for _, r in late)),
        },
        "seconds": seconds,
        "alive": alive,
    }
    share = len(failed) / max(1, len(results))
    row.verdict = "ok" if share <= 0.01 else f"DEFECT: {share:.0%} of visitors refused or timed out"
    return row


def gibberish(rng: random.Random, n: int) -> str:
    """Text no intent matches: rare characters and consonant runs (an unsure turn, recorded)."""
    return "".join(
        chr(rng.randrange(0x4E00, 0x9FFF)) if rng.random() < 0.7 else rng.choice("qwxzjkvb") for _ in range(n)
    )


def row_review(ctx: Ctx) -> Row:
    """``serve --review DIR`` and unsure turns from one client: the queue must stay bounded.

    Filling the queue to its bound through the server would take hours (an unsure turn of
    MAX_TEXT characters costs ~10 ms), so the folder is first given what a long flood leaves
    behind: 2 × MAX_ITEMS items of the longest text, a tenth older than MAX_AGE_DAYS, in the
    queue's own format.  Then the live flood: the bound must hold after it (no more than MAX_ITEMS
    items, none past its age), and the flood's own rate and bytes per item say what a day of it
    would write if nothing bounded the queue.
    """
    from overdue_bot import review

    row = Row("review")
    max_items = int(getattr(review, "MAX_ITEMS", 20_000))
    max_text = int(getattr(review, "MAX_TEXT", 300))
    max_age = float(getattr(review, "MAX_AGE_DAYS", 90))
    name = str(getattr(review, "QUEUE_FILE", "queue.jsonl"))
    folder = ctx.tmp / "review"
    folder.mkdir()
    rng = random.Random(ctx.seed)
    now = time.time()
    old = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(now - (max_age + 10) * 86400))
    fresh = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(now))
    prefill = 2 * max_items
    # the longest items: MAX_TEXT characters of 3 bytes each, cut from one long random run
    run = "".join(rng.choices([chr(c) for c in range(0x4E00, 0x9FFF, 7)], k=200_000))
    with (folder / name).open("w", encoding="utf-8") as f:
        for i in range(prefill):
            at = rng.randrange(len(run) - max_text)
            item = {
                "text": run[at : at + max_text],
                "reason": "out_of_scope",
                "intent": "out_of_scope",
                "top3": [["affirm", 0.02], ["inform", 0.01], ["goodbye", 0.01]],
                "channel": "web",
                "at": old if i % 10 == 0 else fresh,
            }
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    size0 = (folder / name).stat().st_size
    turns = 500 if ctx.quick else 2500
    texts = [gibberish(rng, 60) for _ in range(turns)]
    server = ctx.serve("--review", str(folder))
    try:
        started = time.monotonic()
        # one client, rotating session ids (a session alone would be held to 30 a minute); from this
        # machine, which may choose its ids: the queue's bound is measured, not who may reach it
        replies = run_batch(server.port, [chat_job(f"rv-{i}", t) for i, t in enumerate(texts)], 8)
        wall = time.monotonic() - started
        time.sleep(0.5)
    finally:
        server.stop()
    lines = (folder / name).read_text(encoding="utf-8", errors="replace").splitlines()
    size1 = (folder / name).stat().st_size
    ours = [ln for ln in lines if any(t[:20] in ln for t in texts[-50:])]
    per_item = sum(len(ln.encode()) + 1 for ln in ours) / max(1, len(ours))
    expired = sum(1 for ln in lines if f'"at": "{old}"' in ln or f'"at":"{old}"' in ln)
    rate = turns / wall
    row.requests = turns
    row.status_5xx = sum(1 for r in replies if r.status is not None and r.status >= 500)
    row.tracebacks = server.tracebacks()
    row.measure = (
        f"queue {size1 / 1e6:.1f} MB, {len(lines)} items after {prefill} pre-filled + {turns} sent "
        f"(bound {max_items}); unbounded it would grow {rate * 86400 * per_item / 1e9:.1f} GB/day"
    )
    row.details = {
        "max_items": max_items,
        "max_age_days": max_age,
        "prefilled_items": prefill,
        "prefilled_bytes": size0,
        "prefilled_expired": prefill // 10 + (1 if prefill % 10 else 0),
        "sent": turns,
        "statuses": dict(Counter(str(r.status) if r.status else r.error for r in replies)),
        "turns_per_second": round(rate, 1),
        "bytes_per_item": round(per_item),
        "items_after": len(lines),
        "bytes_after": size1,
        "expired_items_after": expired,
        "unbounded_gb_per_day_at_this_rate": round(rate * 86400 * per_item / 1e9, 2),
    }
    problems = []
    if len(lines) > max_items:
        problems.append(f"{len(lines)} items > MAX_ITEMS {max_items}")
    if expired:
        problems.append(f"{expired} items older than {max_age:g} days kept")
    if row.status_5xx:
        problems.append(f"{row.status_5xx} × 5xx")
    row.verdict = "DEFECT: " + "; ".join(problems) if problems else "ok"
    return row


class SlowDesk:
    """A hand-off desk that takes ``delay`` seconds to answer each call (a threaded HTTP sink)."""

    def __init__(self, delay: float) -> None:
        desk = self
        self.calls = 0
        self._mutex = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with desk._mutex:
                    desk.calls += 1
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Threaded((LOCAL, 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def handoff_kb(tmp: Path) -> Path:
    """A copy of the shipped knowledge base with hand-offs on (bot.yaml ships them off)."""
    from overdue_bot.kb.loader import default_path

    dest = tmp / "intents-handoff"
    shutil.copytree(default_path(), dest)
    bot = dest / "bot.yaml"
    text = bot.read_text(encoding="utf-8")
    on = re.sub(r"(\nhandoff:\s*\n\s*enabled:\s*)false", r"\1true", text)
    if on == text:
        raise RuntimeError("could not turn hand-offs on in bot.yaml")
    bot.write_text(on, encoding="utf-8")
    return dest


def private_cache(name: str) -> Path:
    """A start-up cache folder of the harness's own, one per knowledge base, kept between runs.

    The user's cache keeps one built index: any serve of another checkout or knowledge base
    started meanwhile replaces it, and every start after that builds it again (~15 s, more on a
    busy machine), which would land in whichever row starts a server next.  A folder of its own
    (mode 0700, as overdue_bot.cache requires) keeps the rows' times steady and leaves the user's
    cache as it was; it is built once, by ``warm``, before any row is timed."""
    dest = Path(tempfile.gettempdir()) / f"overdue-bot-attack-{os.getuid()}" / name
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest.parent.chmod(0o700)
    return dest


def warm(cache_dir: Path, intents: Path | None = None) -> None:
    """Build the index a server will load, once, before any row is timed."""
    env = {**os.environ, "OVERDUE_BOT_CACHE": str(cache_dir), "PYTHONPATH": str(SRC)}
    kb = repr(str(intents)) if intents else "None"
    code = f"from overdue_bot import Bot; Bot({kb}).parse('你好')"
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, timeout=300, check=False)


def row_handoff(ctx: Ctx) -> Row:
    """1,500 turns asking for a person while the desk's webhook takes 2 s a call: the server's
    threads must stay few (a pool), not one per hand-off."""
    row = Row("handoff")
    turns = 500 if ctx.quick else 1500
    kb, cache_dir = handoff_kb(ctx.tmp), private_cache("handoff")
    warm(cache_dir, kb)
    desk = SlowDesk(2.0)
    samples: list[int] = []
    try:
        server = ctx.serve(
            "--intents",
            str(kb),
            "--handoff-webhook",
            f"http://{LOCAL}:{desk.port}/desk",
            env={"OVERDUE_BOT_CACHE": str(cache_dir)},
        )
        try:
            base = proc_status(server.pid, "Threads") or 0
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    n = proc_status(server.pid, "Threads")
                    if n is not None:
                        samples.append(n)
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            replies = run_batch(server.port, [chat_job(f"ho-{i}", "转人工") for i in range(turns)], 16)
            time.sleep(2.0)
            done.set()
            sampler.join()
            after = proc_status(server.pid, "Threads") or 0
        finally:
            server.stop()
    finally:
        desk.stop()
    handed = sum(1 for r in replies if r.status == 200 and b'"handoff"' in r.body)
    peak = max(samples, default=0)
    row.requests = turns
    row.status_5xx = sum(1 for r in replies if r.status is not None and r.status >= 500)
    row.tracebacks = server.tracebacks()
    row.measure = (
        f"threads {base} before, {peak} at most, {after} after; {handed} hand-offs, desk got {desk.calls}"
    )
    row.details = {
        "turns": turns,
        "handed_off": handed,
        "statuses": dict(Counter(str(r.status) if r.status else r.error for r in replies)),
        "threads_before": base,
        "threads_peak": peak,
        "threads_after": after,
        "desk_calls_received": desk.calls,
        "dropped_lines_in_log": len(re.findall(r"dropped", server.log())),
    }
    if not handed:
        row.verdict = "MEASUREMENT FAILED: no turn was handed off"
    elif peak - base > 32:
        row.verdict = f"DEFECT: {peak - base} threads started by {handed} hand-offs"
    else:
        row.verdict = "ok"
    return row


@dataclass
class Turn:
    """One numbered turn of a worker-kill session: its lender and amount, and what came back."""

    session: str
    index: int
    started: float
    ended: float
    status: int | None
    error: str
    debts: list[tuple[str, Any]] | None  # the session's debts as the reply listed them

    @property
    def lender(self) -> str:
        return LENDERS[self.index]


def amount_of(session: str, index: int) -> int:
    """An amount no other turn of the session says: the ledger's check of which turns landed."""
    return 1000 * (index + 1) + int(hashlib.sha256(session.encode()).hexdigest()[:4], 16) % 900 + 1


def ledger(turns: list[Turn], final: dict[str, list[tuple[str, Any]] | None]) -> dict[str, Any]:
    """Lost, duplicated and phantom turns from each session's numbered turns.

    Turn i of a session tells LENDERS[i] with its own amount; with ``--debug`` each reply lists the
    session's debts.  A turn answered 200 ("acked") must be in every later reply of its session
    and in the store at the end (else lost); a turn refused with a 4xx must be in none (else a
    phantom); a turn whose connection broke may be either.  A lender listed twice is a duplicate
    (the caller adds the turns the server logged beyond those sent).
    """
    by_session: dict[str, list[Turn]] = {}
    for t in turns:
        by_session.setdefault(t.session, []).append(t)
    lost: set[tuple[str, int]] = set()
    phantom: set[tuple[str, int]] = set()
    duplicated = 0
    checked = 0
    for session, ts in by_session.items():
        ts.sort(key=lambda t: t.index)
        views: list[tuple[int, list[tuple[str, Any]]]] = []
        for t in ts:
            if t.status == 200 and t.debts is not None:
                views.append((t.index, t.debts))
        stored = final.get(session)
        if stored is not None:
            views.append((len(LENDERS), stored))
        for upto, debts in views:
            checked += 1
            names = [d[0] for d in debts]
            duplicated += len(names) - len(set(names))
            have = set(debts)
            for t in ts:
                if t.index > upto:
                    continue
                mine = (t.lender, amount_of(session, t.index))
                acked = t.status == 200
                if (acked or t.index == upto) and mine not in have:
                    lost.add((session, t.index))
                if t.status is not None and 400 <= t.status < 500 and mine in have:
                    phantom.add((session, t.index))
    return {
        "sessions": len(by_session),
        "views_checked": checked,
        "lost": len(lost),
        "duplicated": duplicated,
        "phantom": len(phantom),
        "lost_examples": sorted(lost)[:5],
    }


def debts_of(data: Any) -> list[tuple[str, Any]] | None:
    slots = data.get("slots") if isinstance(data, dict) else None
    if not isinstance(slots, dict):
        return None
    return [
        (str(d.get("platform")), d.get("amount")) for d in slots.get("debts") or [] if isinstance(d, dict)
    ]


def row_worker_kill(ctx: Ctx) -> Row:
    """Two workers on SQLite, clients sending numbered turns on many sessions, one worker SIGKILLed:
    how long a new connection stalls, what fails, and whether any turn was lost or applied twice."""
    row = Row("worker-kill")
    db = ctx.tmp / "worker-kill.db"
    warm, total = (3.0, 8.0) if ctx.quick else (4.0, 14.0)
    server = ctx.serve("--workers", "2", "--store", f"sqlite:///{db}", "--debug", "--rate-session", "0")
    turns: list[Turn] = []
    info: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 30
        while len(server.workers()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        before = server.workers()
        started = time.monotonic()

        async def user(u: int, port: int) -> None:
            k = 0
            while time.monotonic() - started < total:
                session = f"wk-{u}-{k}"
                k += 1
                for i in range(len(LENDERS)):
                    if time.monotonic() - started >= total:
                        break
                    body = json.dumps(
                        {"session_id": session, "text": f"{LENDERS[i]}欠了{amount_of(session, i)}元"},
                        ensure_ascii=False,
                    ).encode()
                    # a new connection per turn: the kernel picks a worker's socket for each
                    t0 = time.monotonic() - started
                    r = await exchange(
                        port,
                        build("POST", "/v1/chat", body, [(b"Content-Type", b"application/json")]),
                        timeout=20,
                    )
                    t1 = time.monotonic() - started
                    turns.append(
                        Turn(
                            session,
                            i,
                            t0,
                            t1,
                            r.status,
                            r.error,
                            debts_of(as_json(r.body)) if r.status == 200 else None,
                        )
                    )

        async def traffic() -> None:
            tasks = [asyncio.create_task(user(u, server.port)) for u in range(12)]
            await asyncio.sleep(warm)
            victim = before[0] if before else None
            info["killed"] = victim
            info["killed_at"] = round(time.monotonic() - started, 3)
            if victim:
                os.kill(victim, signal.SIGKILL)
            await asyncio.gather(*tasks)

        asyncio.run(traffic())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            len(server.workers()) < 2 or info.get("killed") in server.workers()
        ):
            time.sleep(0.1)
        info["workers_before"], info["workers_after"] = before, server.workers()
        alive = http_get(server.port, "/healthz")[0] == 200
    finally:
        server.stop()
    final: dict[str, list[tuple[str, Any]] | None] = {}
    try:
        from overdue_bot.stores import open_store

        store = open_store(f"sqlite:///{db}")
        for session in {t.session for t in turns}:
            data = store.get("web:" + session)
            final[session] = (
                None
                if data is None
                else [(str(d.get("platform")), d.get("amount")) for d in data.get("debts") or []]
            )
        info["store_sessions_found"] = sum(v is not None for v in final.values())
    except Exception as exc:  # noqa: BLE001 - a store layout the harness does not know: say so
        info["store_check"] = f"n/a: {type(exc).__name__}: {exc}"
    kill_at = float(info.get("killed_at") or warm)
    pre = sorted(t.ended - t.started for t in turns if t.started < kill_at - 0.5)
    after = [t for t in turns if t.ended >= kill_at]
    stall = max((t.ended - max(t.started, kill_at) for t in after), default=0.0)
    started_after = [t for t in turns if t.started >= kill_at]
    fails_after = [t for t in started_after if t.status != 200]
    fails_inflight = [t for t in turns if t.started < kill_at <= t.ended and t.status != 200]
    check = ledger(turns, final)
    # a turn applied twice would list the same debt once (the bot merges by lender), so the
    # server's own per-turn log lines are counted too: never more per session than turns sent
    log = server.log()
    sent_per: Counter[str] = Counter(t.session for t in turns)
    computed = {
        sid: log.count(f"session={hashlib.sha256(('web:' + sid).encode()).hexdigest()[:12]} ")
        for sid in sent_per
    }
    if sum(computed.values()):
        check["turns_logged_beyond_sent"] = sum(max(0, computed[x] - sent_per[x]) for x in sent_per)
        check["duplicated"] += check["turns_logged_beyond_sent"]
    else:
        check["turns_logged_beyond_sent"] = "n/a (no per-turn log lines found)"
    row.requests = len(turns)
    row.status_5xx = sum(1 for t in turns if t.status is not None and t.status >= 500)
    row.tracebacks = server.tracebacks()
    row.lost = check["lost"]
    row.duplicated = check["duplicated"]
    row.leaks = 0
    row.measure = (
        f"longest stall after the kill {stall:.2f} s (p99 before {pre[int(0.99 * len(pre))] if pre else 0:.2f} s); "
        f"failed: {len(fails_inflight)} in flight, {len(fails_after)} started after; "
        f"net.ipv4.tcp_migrate_req={migrate_req()}"
    )
    row.details = {
        **info,
        "turns": len(turns),
        "statuses": dict(Counter(str(t.status) if t.status else t.error for t in turns)),
        "stall_seconds": round(stall, 3),
        "failed_in_flight_at_kill": len(fails_inflight),
        "failed_started_after_kill": len(fails_after),
        # 1: the kernel moves connections queued on a dying worker's socket to the others
        "tcp_migrate_req": migrate_req(),
        "ledger": check,
        "alive": alive,
    }
    problems = []
    if check["lost"] or check["duplicated"] or check["phantom"]:
        problems.append(
            f"{check['lost']} lost, {check['duplicated']} duplicated, {check['phantom']} phantom turns"
        )
    if stall > 1.0:
        problems.append(f"new connections stalled {stall:.1f} s")
    if fails_after:
        problems.append(f"{len(fails_after)} requests started after the kill failed")
    if not info.get("killed"):
        row.verdict = "MEASUREMENT FAILED: no worker found to kill"
    else:
        row.verdict = "DEFECT: " + "; ".join(problems) if problems else "ok"
    return row


def row_redis_kill(ctx: Ctx) -> Row:
    """redis-server SIGKILLed mid-traffic and restarted: every reply in the outage a 503 (never a
    500 or a traceback), the store errors logged throttled, and turns answered again soon after."""
    row = Row("redis-kill")
    redis = Redis(ctx.tmp)
    warm, outage = (2.0, 3.0) if ctx.quick else (3.0, 6.0)
    results: list[tuple[float, float, Resp]] = []
    marks: dict[str, Any] = {}
    try:
        server = ctx.serve("--store", redis.url, "--rate-session", "0")
        try:
            before = server.workers() or [server.pid]
            started = time.monotonic()
            stop_at = [started + 60.0]

            async def user(u: int) -> None:
                conn = Conn(server.port, timeout=10)
                k = 0
                try:
                    while time.monotonic() < stop_at[0]:
                        k += 1
                        t0 = time.monotonic() - started
                        r = await conn.chat(f"rk-{u}-{k % 50}", "你好")
                        results.append((t0, time.monotonic() - started, r))
                        if r.status != 200:
                            await asyncio.sleep(0.02)
                finally:
                    await conn.close()

            async def traffic() -> None:
                tasks = [asyncio.create_task(user(u)) for u in range(8)]
                await asyncio.sleep(warm)
                marks["log_at_kill"] = server.log_size()
                marks["killed"] = time.monotonic() - started
                redis.kill()
                await asyncio.sleep(outage / 2)
                marks["healthz_in_outage"] = (
                    await exchange(server.port, build("GET", "/healthz"), timeout=10)
                ).status
                await asyncio.sleep(outage / 2)
                marks["log_at_restart"] = server.log_size()
                marks["restarted"] = time.monotonic() - started
                await asyncio.to_thread(redis.start)
                marks["redis_up"] = time.monotonic() - started
                # run on until five seconds after the first turn answered again (20 s at most)
                end = time.monotonic() + 20
                while time.monotonic() < end:
                    ok = [e for s, e, r in results if r.status == 200 and s >= marks["redis_up"]]
                    if ok and time.monotonic() - started > min(ok) + 5:
                        break
                    await asyncio.sleep(0.1)
                stop_at[0] = time.monotonic()
                await asyncio.gather(*tasks)

            asyncio.run(traffic())
            marks["workers_before"], marks["workers_after"] = before, server.workers() or [server.pid]
            alive = http_get(server.port, "/healthz")[0] == 200
        finally:
            server.stop()
    finally:
        redis.kill()
    kill, restart, up = marks["killed"], marks["restarted"], marks["redis_up"]
    during = [r for s, e, r in results if s >= kill and e <= restart]
    after = [(s, e, r) for s, e, r in results if s >= up]
    first_ok = min((e for s, e, r in after if r.status == 200), default=None)
    last_bad = max((e for s, e, r in after if r.status != 200), default=None)
    outage_log = server.log_since(marks["log_at_kill"], marks["log_at_restart"])
    store_lines = [
        ln
        for ln in outage_log.splitlines()
        if re.search(r"(?i)store|redis", ln) and re.search(r"ERROR|WARNING", ln)
    ]
    row.requests = len(results)
    row.status_5xx = sum(
        1 for *_, r in results if r.status is not None and r.status >= 500 and r.status != 503
    )
    row.tracebacks = server.tracebacks()
    recovery = None if first_ok is None else first_ok - up
    row.measure = (
        f"outage replies: {dict(Counter(str(r.status) if r.status else r.error for r in during))}; "
        f"recovered {'never' if recovery is None else f'{recovery:.2f} s'} after restart; "
        f"{len(store_lines)} store-error lines in {restart - kill:.0f} s"
    )
    row.details = {
        "outage_seconds": round(restart - kill, 2),
        "replies_in_outage": dict(Counter(str(r.status) if r.status else r.error for r in during)),
        "status_500_in_outage": sum(1 for r in during if r.status == 500),
        "healthz_in_outage": marks.get("healthz_in_outage"),
        "recovery_seconds_first_200": None if recovery is None else round(recovery, 3),
        "last_failure_after_restart_seconds": None if last_bad is None else round(last_bad - up, 3),
        "store_error_lines_in_outage": len(store_lines),
        "store_error_line_examples": store_lines[:4],
        "workers_before": marks.get("workers_before"),
        "workers_after": marks.get("workers_after"),
        "statuses": dict(Counter(str(r.status) if r.status else r.error for *_, r in results)),
        "alive": alive,
    }
    problems = []
    if row.status_5xx:
        problems.append(f"{row.status_5xx} × 5xx other than 503")
    if row.tracebacks:
        problems.append(f"{row.tracebacks} tracebacks")
    if recovery is None or recovery > 5:
        problems.append("no recovery within 5 s of the restart")
    if len(store_lines) > 10:
        problems.append(f"{len(store_lines)} store-error lines (unthrottled)")
    if not during:
        problems.append("no request finished during the outage (measurement)")
    row.verdict = "DEFECT: " + "; ".join(problems) if problems else "ok"
    return row


def row_dingtalk_replay(ctx: Ctx) -> Row:
    """One DingTalk header pair (59 minutes old, still inside DingTalk's hour) captured with a
    real message, then reused for forged messages from other senders, the first of them as the
    victim asking for their debt: how many are accepted (DINGTALK_BODIES is the cap)?"""
    from overdue_bot.channels import http as channel

    row = Row("dingtalk-replay")
    cap = int(getattr(channel, "DINGTALK_BODIES", 1))
    forged_n = 50

    def send(ts: str, body: bytes) -> Resp:
        h = [
            (b"Content-Type", b"application/json"),
            (b"timestamp", ts.encode()),
            (b"sign", ding_sign(DING_SECRET, ts).encode()),
        ]
        return asyncio.run(exchange(server.port, build("POST", "/dingtalk", body, h)))

    def answer(r: Resp) -> str:
        data = as_json(r.body)
        text = data.get("text") if isinstance(data, dict) else None
        return str(text.get("content") or "") if isinstance(text, dict) else ""

    server = ctx.serve("--dingtalk-app-secret", DING_SECRET)
    try:
        ts = str(int(time.time() * 1000) - 59 * 60 * 1000)
        genuine = ding_message(DEBT_TEXT, "msg-genuine", "staff-victim")
        first = send(ts, genuine)
        retry = send(ts, genuine)  # DingTalk's own retry: the same body, answered from the marker
        # the victim first (what an attacker holding one signature would ask), then strangers
        forged = [ding_message(q, f"forged-v{i}", "staff-victim") for i, q in enumerate(VICTIM_QUESTIONS)]
        forged += [
            ding_message("你好", f"forged-{i}", f"staff-{i}", f"cid-{i}")
            for i in range(forged_n - len(forged))
        ]
        replies = [send(ts, body) for body in forged]
        now = int(time.time() * 1000)
        controls = [
            send(str(now - i), ding_message(q, f"msg-control-{i}", f"staff-control-{i}"))
            for i, q in enumerate(VICTIM_QUESTIONS)
        ]
    finally:
        server.stop()
    accepted = sum(r.status == 200 for r in replies)
    victim = replies[: len(VICTIM_QUESTIONS)]

    def marks(r: Resp) -> set[str]:
        return {m for m in DEBT_MARKS if m in answer(r)}

    read = [v for v, c in zip(victim, controls, strict=True) if v.status == 200 and marks(v) - marks(c)]
    leaked = bool(read)
    row.requests = 2 + len(controls) + len(replies)
    row.status_5xx = sum(
        1 for r in [first, retry, *controls, *replies] if r.status is not None and r.status >= 500
    )
    row.tracebacks = server.tracebacks()
    row.leaks = int(leaked)
    row.measure = (
        f"{accepted}/{forged_n} forged bodies accepted on one signature (cap {cap} bodies incl. the real one)"
    )
    row.details = {
        "cap_DINGTALK_BODIES": cap,
        "genuine": first.status,
        "platform_retry": retry.status,
        "retry_same_answer": answer(first) == answer(retry),
        "forged_statuses": dict(Counter(str(r.status) for r in replies)),
        "forged_as_victim": [v.status for v in victim],
        "forged_as_victim_answer": answer(read[0] if read else victim[0])[:120],
        "victim_debt_read": leaked,
    }
    problems = []
    if accepted + 1 > cap:
        problems.append(f"{accepted + 1} bodies on one signature > cap {cap}")
    if leaked:
        problems.append("a forged message as the victim got the victim's debt back")
    row.verdict = "DEFECT: " + "; ".join(problems) if problems else "ok"
    return row


# ---------------------------------------------------------------------------------------- context
@dataclass
class Ctx:
    quick: bool
    seed: int
    http: str
    tmp: Path
    help: str
    flood_seconds: float = 0.0

    def serve(self, *args: str, env: dict[str, str] | None = None) -> Server:
        cache = {"OVERDUE_BOT_CACHE": str(private_cache("shipped"))}
        return Server(*args, env={**cache, **(env or {})}, http=self.http, tmp=self.tmp)

    def has_flag(self, flag: str) -> bool:
        return re.search(rf"(^|\s){re.escape(flag)}\b", self.help) is not None


ROWS: dict[str, Callable[[Ctx], Row]] = {
    "fuzz": row_fuzz,
    "session-read": row_session_read,
    "session-flood": row_session_flood,
    "idle": row_idle,
    "review": row_review,
    "handoff": row_handoff,
    "worker-kill": row_worker_kill,
    "redis-kill": row_redis_kill,
    "dingtalk-replay": row_dingtalk_replay,
}
COLUMNS = ("row", "requests", "5xx", "tracebacks", "lost", "duplicated", "leaks", "measured", "verdict")


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for r in rows:
        cells = (
            r["name"],
            str(r["requests"]),
            str(r["status_5xx"]),
            str(r["tracebacks"]),
            cell(r["lost"]),
            cell(r["duplicated"]),
            cell(r["leaks"]),
            r["measure"],
            r["verdict"],
        )
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    rows = [report["rows"][name] for name in ROWS if name in report["rows"]]
    out = [
        "# An outsider's attack on `overdue-bot serve` (issue 25)",
        "",
        "Written by `benchmarks/attack.py`; re-run with `PYTHONPATH=src python benchmarks/attack.py` "
        "(`--quick` for a smaller run, `--only ROW ...` for some rows).  Each row starts its own "
        "`python -m overdue_bot serve` on 127.0.0.1 and attacks it through real sockets; "
        '"n/a" is a figure that does not apply to the row.',
        "",
        table(rows),
        "",
        "## Rows",
        "",
    ]
    for r in rows:
        doc = " ".join((ROWS[r["name"]].__doc__ or "").split())
        out.append(f"### {r['name']}")
        out.append("")
        out.append(doc)
        out.append("")
        out.append(
            f"Run {r['at']} on commit {r['commit']} ({r['mode']}, {r['seconds']} s, HTTP parser {r['http']}; "
            f"arguments: `{r.get('argv') or '(none)'}`)."
        )
        out.append("")
        out.append("```json")
        shown = json.dumps(r["details"], ensure_ascii=False, indent=1)
        out.append(shown if len(shown) < 6000 else shown[:6000] + "\n… (the rest in attack.json)")
        out.append("```")
        out.append("")
    return "\n".join(out)


def commit() -> str:
    """The commit measured, marked when src/ differs from it (the figures are of the files)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--", "src") else "")


@contextlib.contextmanager
def stopping() -> Iterator[None]:
    """Stop whatever is still running at the end, whatever happened (Ctrl-C included)."""
    try:
        yield
    finally:
        for stop in reversed(STARTED):
            with contextlib.suppress(Exception):
                stop()


def main() -> int:
    ap = argparse.ArgumentParser(description="An outsider's attack on a real overdue-bot serve (issue 25).")
    ap.add_argument(
        "--quick", action="store_true", help="smaller floods and shorter outages (about 2 minutes)"
    )
    ap.add_argument(
        "--only", nargs="+", choices=list(ROWS), default=None, metavar="ROW", help=", ".join(ROWS)
    )
    ap.add_argument("--seed", type=int, default=25, help="the fuzz's and the floods' random seed")
    ap.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto", help="serve --http")
    ap.add_argument(
        "--flood-seconds",
        type=float,
        default=0.0,
        help="how long session-flood may run (default 160, --quick 15): on a busy machine more is "
        "needed to get past the memory store's 100,000 sessions",
    )
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, 4096):  # the idle row holds ~1,200 sockets here, as many in the server
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "attack.json"
    report: dict[str, Any] = {"rows": {}}
    if args.only and path.exists():
        with contextlib.suppress(ValueError):
            report = json.loads(path.read_text(encoding="utf-8"))
    parser = args.http
    if parser == "auto":  # what serve's auto picks: httptools when it is installed
        import importlib.util

        parser = "auto: " + ("httptools" if importlib.util.find_spec("httptools") else "h11")
    run = {
        "commit": commit(),
        "mode": "quick" if args.quick else "full",
        "http": parser,
        "argv": " ".join(sys.argv[1:]),
    }
    total = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="overdue-attack-") as tmp, stopping():
        ctx = Ctx(args.quick, args.seed, args.http, Path(tmp), serve_help(), args.flood_seconds)
        warm(private_cache("shipped"))
        for name in args.only or list(ROWS):
            started = time.monotonic()
            print(f"{name} …", end=" ", flush=True)
            try:
                row = ROWS[name](ctx)
            except Exception as exc:  # noqa: BLE001 - one row that cannot run must not hide the others
                row = Row(name, verdict=f"ERROR: {type(exc).__name__}: {str(exc)[:300]}")
            row.seconds = round(time.monotonic() - started, 1)
            print(f"{row.verdict} ({row.seconds} s)", flush=True)
            report["rows"][name] = {
                **asdict(row),
                **run,
                "seed": args.seed,
                "at": time.strftime("%Y-%m-%d %H:%M", time.localtime()),
            }
    report["generated"] = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (RESULTS / "attack.md").write_text(markdown(report) + "\n", encoding="utf-8")
    rows = [report["rows"][n] for n in ROWS if n in report["rows"]]
    print()
    print(table(rows))
    print(f"\n{time.monotonic() - total:.0f} s; wrote {path.relative_to(ROOT)} and attack.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
