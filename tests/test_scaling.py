"""Serving that scales (issue 17): no Nagle delay on kept-open connections, connections spread
over the workers.  Speed itself is measured in benchmarks/, never asserted here."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

pytest.importorskip("uvicorn")

from overdue_bot.channels.protocol import _no_delay  # noqa: E402

from .http_server import Server  # noqa: E402


def test_accepted_connections_get_tcp_nodelay_even_from_a_proto_0_socket() -> None:
    """uvicorn's multi-worker listener is made with proto=0, so asyncio leaves Nagle on: we do not."""

    async def run() -> tuple[int, int]:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)  # as uvicorn's bind_socket
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        seen: dict[str, int] = {}
        accepted = asyncio.Event()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen["before"] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                _no_delay(transport)
                seen["after"] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                accepted.set()

        loop = asyncio.get_running_loop()
        server = await loop.create_server(Probe, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        await asyncio.wait_for(accepted.wait(), 10)
        writer.close()
        server.close()
        return seen["before"], seen["after"]

    before, after = asyncio.run(run())
    assert before == 0  # the condition the fix is for
    assert after != 0


def test_two_workers_both_accept_connections(tmp_path) -> None:
    server = Server("--workers", "2", "--store", f"sqlite:///{tmp_path / 's.db'}")
    try:
        pids: list[int] = []
        # fresh connections, each from its own source port; a worker listens once it has loaded,
        # so the second may join a moment after the first answers
        deadline = time.time() + 60
        while len(set(pids)) < 2 and time.time() < deadline:
            status, body, _ = server.request("GET", "/healthz")
            assert status == 200
            pids.append(json.loads(body)["pid"])
        assert len(set(pids)) == 2
        # and a kept-open connection answers turn after turn
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for i in range(10):
            conn.request("POST", "/v1/chat", json.dumps({"session_id": "kept", "text": "逾期会上征信吗"}))
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read())["intent"] == "credit_report", i
        conn.close()
    finally:
        server.stop()
