"""Running it for real (issue 15), each on a real ``overdue-bot serve`` on 127.0.0.1: the review
loop from a user's message to an example and back, reload without restart under load (and of a
broken knowledge base), /metrics added up over two workers, rate limits, JSON logs."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from overdue_bot.kb.loader import default_path

from .conftest import ROOT
from .http_server import Server

pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")

ADMIN = "admin-secret"
#: not understood by the shipped knowledge base (out of scope), and a fair account_restriction question
UNKNOWN = "借呗的入口怎么没了"
PRIVATE = "我叫王小明，手机13900001111，身份证110101199003074518，邮箱wxm@example.com，我想咨询一下"


def _kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    shutil.copytree(default_path(), kb)
    return kb


def _reload(server: Server) -> tuple[int, dict]:
    status, body, _ = server.request("POST", "/v1/admin/reload", b"", {"Authorization": f"Bearer {ADMIN}"})
    return status, json.loads(body)


#: the conversations the review re-runs: one new example shifts every close call a little, so the
#: check uses the suites whose turns are not decided by a hair (every suite is run by
#: test_cli.py::test_dialogue_folder_passes against the shipped knowledge base)
STEADY = ("test_context", "test_lifecycle", "test_listening", "test_long", "test_slots_asking", "test_topics")


def _steady_dialogues(tmp_path: Path) -> Path:
    folder = tmp_path / "dialogues"
    folder.mkdir()
    for name in STEADY:
        shutil.copy(ROOT / "tests" / "dialogues" / f"{name}.yaml", folder)
    return folder


def _health(server: Server, tries: int = 1) -> dict[int, dict]:
    """/healthz by worker pid, over fresh connections."""
    seen: dict[int, dict] = {}
    for _ in range(tries):
        status, body, _ = server.request("GET", "/healthz")
        assert status == 200, body
        data = json.loads(body)
        seen[data["pid"]] = data
    return seen


def test_the_review_loop_end_to_end(tmp_path: Path) -> None:
    kb, queue = _kb(tmp_path), tmp_path / "queue"
    server = Server("--intents", str(kb), "--review", str(queue), "--admin-token", ADMIN)
    try:
        before = server.chat("person-1", UNKNOWN)
        assert before["intent"] == "out_of_scope"
        server.chat("person-2", UNKNOWN)  # asked twice: reviewed once, first
        server.chat("person-3", PRIVATE)
        server.chat("person-4", "逾期三天会上征信吗")  # understood: not queued
        lines = (queue / "queue.jsonl").read_text(encoding="utf-8").splitlines()
        items = [json.loads(line) for line in lines]
        assert [i["text"] for i in items].count(UNKNOWN) == 2
        assert all("征信" not in i["text"] for i in items)
        private = next(i for i in items if "咨询" in i["text"])
        raw = "\n".join(lines)
        for secret in ("王小明", "13900001111", "110101199003074518", "wxm@example.com", "person-"):
            assert secret not in raw
        assert private["text"].count("[已隐去]") == 4
        assert set(items[0]) == {"text", "reason", "intent", "top3", "channel", "at"}
        assert (
            items[0]["reason"] == "out_of_scope"
            and len(items[0]["top3"]) == 3
            and items[0]["channel"] == "web"
        )

        # the author labels the first item by name and skips the private one
        review = subprocess.run(
            [
                sys.executable,
                "-m",
                "overdue_bot",
                "review",
                str(queue),
                "--intents",
                str(kb),
                "--dialogues",
                str(_steady_dialogues(tmp_path)),
            ],
            input="account_restriction\ns\n",
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert review.returncode == 0, review.stdout + review.stderr
        assert "added to account_restriction in payments.yaml" in review.stdout
        assert re.search(r"check: 0 errors", review.stdout)
        assert re.search(r"dialogue tests: \d+ passed, 0 failed", review.stdout)
        assert f"      - {UNKNOWN}\n" in (kb / "payments.yaml").read_text(encoding="utf-8")
        again = subprocess.run(
            [sys.executable, "-m", "overdue_bot", "review", str(queue), "--intents", str(kb)],
            input="",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "the review queue is empty" in again.stdout  # labelled and skipped items do not come back

        status, result = _reload(server)
        assert status == 200 and result["reloaded"] is True, result
        assert server.chat("person-5", UNKNOWN)["intent"] == "account_restriction"
    finally:
        server.stop()


def _load(server: Server, stop: threading.Event, results: list[int], errors: list[str], n: int) -> None:
    i = 0
    while not stop.is_set() or i < n:
        try:
            status, body, _ = server.request(
                "POST",
                "/v1/chat",
                json.dumps({"session_id": f"load-{threading.get_ident()}-{i}", "text": "逾期三天会上征信吗"}),
            )
            results.append(status)
            if status != 200 or not json.loads(body)["text"]:
                errors.append(f"{status} {body[:100]!r}")
        except OSError as exc:
            errors.append(repr(exc))
        i += 1


def test_reload_under_load_and_a_broken_knowledge_base(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    server = Server(
        "--intents",
        str(kb),
        "--admin-token",
        ADMIN,
        "--workers",
        "2",
        "--store",
        f"sqlite:///{tmp_path / 's.db'}",
    )
    try:
        first = _health(server, tries=30)
        digest = {d["knowledge"] for d in first.values()}
        assert len(digest) == 1
        stop, results, errors = threading.Event(), [], []
        load = [threading.Thread(target=_load, args=(server, stop, results, errors, 25)) for _ in range(4)]
        for t in load:
            t.start()
        # a good change, by SIGHUP to the supervisor: every worker builds the new one and swaps
        text = (kb / "repayment.yaml").read_text(encoding="utf-8")
        (kb / "repayment.yaml").write_text(
            text.replace("    examples:\n", f"    examples:\n      - {UNKNOWN}\n", 1), encoding="utf-8"
        )
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 90
        while time.time() < deadline:  # each worker builds the new index (seconds, under load)
            now = _health(server, tries=20)
            if len(now) == 2 and all(d["knowledge"] not in digest for d in now.values()):
                break
            time.sleep(0.5)
        new = {d["knowledge"] for d in _health(server, tries=30).values()}
        assert len(new) == 1 and new.isdisjoint(digest), new
        # a broken change, by the admin call: refused, the last good one keeps serving
        (kb / "chitchat.yaml").write_text("intents:\n  greet: [unclosed\n", encoding="utf-8")
        status, result = _reload(server)
        assert status == 409 and "chitchat.yaml" in result["error"], result
        time.sleep(1.0)
        stop.set()
        for t in load:
            t.join(timeout=120)
        assert errors == [] and len(results) >= 100, (errors[:5], len(results))
        after = _health(server, tries=30)
        assert {d["knowledge"] for d in after.values()} == new
        assert all("chitchat.yaml" in d["reload_error"] for d in after.values())
        assert server.chat("after-broken", "逾期三天会上征信吗")["intent"] == "credit_report"
    finally:
        log = server.stop()
    assert "Traceback" not in log and "reload failed, still serving the previous knowledge base" in log


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_add_up_over_two_workers(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    bot = (kb / "bot.yaml").read_text(encoding="utf-8")
    (kb / "bot.yaml").write_text(
        bot.replace("handoff:\n  enabled: false", "handoff:\n  enabled: true"), encoding="utf-8"
    )
    temp = tmp_path / "temp"  # the server's temporary folders, to see that it removes its own
    temp.mkdir()
    server = Server(
        "--workers",
        "2",
        "--store",
        f"sqlite:///{tmp_path / 's.db'}",
        "--intents",
        str(kb),
        "--handoff-token",  # a desk that can take the sessions: without one no hand-off is promised
        "desk-ops",
        env={"TMPDIR": str(temp)},
    )
    try:
        assert [p.name.startswith("overdue-bot-metrics-") for p in temp.iterdir()] == [True]
        pids: set[int] = set()
        deadline = time.time() + 30
        while len(pids) < 2 and time.time() < deadline:
            pids |= set(_health(server))
        assert len(pids) == 2, "both workers answer"
        sent = {"逾期三天会上征信吗": 6, "今天天气怎么样": 4, "我想找人工客服": 2}
        threads = []
        for text, n in sent.items():
            for i in range(n):
                threads.append(threading.Thread(target=server.chat, args=(f"m-{text}-{i}", text)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        scrapes = []
        for _ in range(8):  # fresh connections: whichever worker answers, the figures are the server's
            status, body, headers = server.request("GET", "/metrics")
            assert status == 200 and headers["content-type"].startswith("text/plain")
            scrapes.append(body.decode())
        for text in scrapes:
            assert _metric(text, "overdue_bot_turns_total") == 12
            assert _metric(text, "overdue_bot_turns_total", intent="credit_report", channel="web") == 6
            assert _metric(text, "overdue_bot_turns_total", intent="out_of_scope") == 4
            assert _metric(text, "overdue_bot_unsure_turns_total", reason="out_of_scope") == 4
            assert _metric(text, "overdue_bot_reply_seconds_count", channel="web") == 12
            assert _metric(text, "overdue_bot_handoffs_total", reason="human_agent", channel="web") == 2
            assert (
                _metric(text, "overdue_bot_store_errors_total") == 0
                and "overdue_bot_store_errors_total" in text
            )
    finally:
        server.stop()
    assert list(temp.iterdir()) == [], "issue 26: each start left its metrics folder behind"


def test_rate_limits_answer_429_with_retry_after() -> None:
    server = Server(
        "--rate-session", "6", "--burst-session", "3", "--rate-client", "60", "--burst-client", "8"
    )
    try:
        codes = []
        for _ in range(4):
            status, body, headers = server.request(
                "POST", "/v1/chat", json.dumps({"session_id": "fast", "text": "你好"})
            )
            codes.append(status)
        assert codes == [200, 200, 200, 429]
        assert int(headers["retry-after"]) >= 1 and json.loads(body)["status"] == 429
        assert (
            server.request("POST", "/v1/chat", json.dumps({"session_id": "other", "text": "你好"}))[0] == 200
        )
        # the client address: 4 + 1 so far, its burst is 8
        statuses = [
            server.request("POST", "/v1/chat", json.dumps({"session_id": f"c{i}", "text": "你好"}))[0]
            for i in range(5)
        ]
        assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429
        status, body, _ = server.request("GET", "/metrics")
        assert _metric(body.decode(), "overdue_bot_rate_limited_total", limit="session") == 1
        assert _metric(body.decode(), "overdue_bot_rate_limited_total", limit="client") >= 1
    finally:
        server.stop()


def test_logs_as_json_lines() -> None:
    server = Server("--log-format", "json")
    try:
        server.chat("json-log", "逾期会上征信吗")
    finally:
        log = server.stop()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    turns = [
        r for r in records if r["logger"] == "overdue_bot.http" and "intent=credit_report" in r["message"]
    ]
    assert turns and {"time", "level", "logger", "message"} <= set(turns[0])
    assert all(line.startswith("{") for line in log.splitlines() if line.strip())
