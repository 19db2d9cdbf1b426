"""Start a real `overdue-bot serve` process on 127.0.0.1 for tests, and talk to it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from .conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``overdue-bot serve`` with the pure-Python HTTP parser unless ``--http`` is given: what a
    plain ``pip install 'overdue-bot[server]'`` runs (the test extras install httptools too).
    ``http=None`` passes no ``--http`` (an earlier commit's serve, which has no such option)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, http: str | None = "h11") -> None:
        if http and "--http" not in args:
            args = (*args, "--http", http)
        self.port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "overdue_bot",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *args,
        ]
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.stop()}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def request(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            if isinstance(body, str):
                body = body.encode("utf-8")
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read(), dict(resp.getheaders())
        finally:
            conn.close()

    def chat(self, session_id: str, text: str) -> dict[str, Any]:
        status, body, _ = self.request(
            "POST",
            "/v1/chat",
            json.dumps({"session_id": session_id, "text": text}),
            {"Content-Type": "application/json"},
        )
        assert status == 200, body
        return dict(json.loads(body))

    def stop(self) -> str:
        if self.log.closed:
            return ""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.seek(0)
        out = self.log.read().decode("utf-8", "replace")
        self.log.close()
        return out
