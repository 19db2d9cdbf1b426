"""Issue 25 against a real ``overdue-bot serve`` (the slow lane): connections one client may hold,
and a dead worker's socket, which only real sockets and processes can show."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import time

import pytest

from .http_server import Server

ATTACKER = "127.0.0.2"  # another address on this machine (Linux answers all of 127/8)


def _connect_from(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((address, 0))
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def _served(sock: socket.socket) -> bool:
    """Whether a request on this connection is answered (not closed or reset without one)."""
    sock.settimeout(10)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        return sock.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def test_one_client_cannot_hold_every_connection() -> None:
    """Defect 4: ~1,100 unfinished connections from one client starved everyone (503s); now one
    address holds at most --client-connections, and others are served meanwhile."""
    with socket.socket() as probe:
        try:
            probe.bind((ATTACKER, 0))
        except OSError:
            pytest.skip(f"{ATTACKER} is not a local address here")
    s = Server("--client-connections", "5", "--header-timeout", "30")
    held: list[socket.socket] = []
    try:
        held = [_connect_from(ATTACKER, s.port) for _ in range(5)]
        for sock in held:
            sock.sendall(b"POST /v1/chat HTTP/1.1\r\n")  # unfinished, and kept
        extra = _connect_from(ATTACKER, s.port)
        assert not _served(extra)  # the sixth from that address is closed at once
        extra.close()
        assert s.chat("someone-else", "逾期会上征信吗")["intent"] == "credit_report"
        held.pop().close()
        deadline = time.time() + 10
        while time.time() < deadline:  # the worker sees the close a moment later
            again = _connect_from(ATTACKER, s.port)
            ok = _served(again)
            again.close()
            if ok:
                break
            time.sleep(0.1)
        assert ok  # a place freed is a place for that address again
    finally:
        for sock in held:
            sock.close()
        s.stop()


def _listeners(port: int) -> set[int]:
    """The processes with a listening TCP socket on ``port``, read from /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = pathlib.Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    pids = set()
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    pids.add(int(proc.name))
                    break
        except OSError:
            continue
    return pids


def _wait_for(predicate, seconds: float = 60) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not pathlib.Path("/proc/net/tcp").exists(), reason="reads /proc (Linux)")
def test_a_dead_workers_socket_takes_no_new_connection(tmp_path: pathlib.Path) -> None:
    """Defect 7: a killed worker's socket, held by the supervisor, kept receiving new connections
    until the replacement had loaded; now each worker's socket is its own and dies with it, and the
    supervisor holds the port without listening."""
    s = Server("--workers", "2", "--store", f"sqlite:///{tmp_path / 's.db'}")
    try:
        assert _wait_for(lambda: len(_listeners(s.port)) == 2)
        workers = _listeners(s.port)
        assert s.proc.pid not in workers  # the supervisor listens on nothing
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        assert _wait_for(lambda: victim not in _listeners(s.port), 10)
        answers = [s.request("GET", "/healthz")[0] for _ in range(50)]
        assert answers == [200] * 50  # every new connection reached the living worker
        assert _wait_for(lambda: len(_listeners(s.port) - {victim}) == 2)  # and it was replaced
        body = json.dumps({"session_id": "after-kill", "text": "逾期会上征信吗"})
        assert s.request("POST", "/v1/chat", body, {"Content-Type": "application/json"})[0] == 200
    finally:
        s.stop()


class _Fake:
    """A worker process as the supervisor sees it."""

    def __init__(self, alive: bool, exitcode: int | None = None, started_at: float = 0.0) -> None:
        self.alive, self.exitcode, self.started_at, self.pid = alive, exitcode, started_at, 1

    def is_alive(self, timeout: float = 5) -> bool:
        return self.alive

    def is_ready(self, timeout: float = 5) -> bool:
        return self.alive

    def kill(self) -> None:
        self.alive = False

    def join(self) -> None:
        pass


def test_a_replacement_that_cannot_start_is_tried_again_not_fatal() -> None:
    """Defect 7: with Redis down a replacement failed every start (and uvicorn's supervisor stops
    the whole server on a start failure); now it is tried again later while the others serve,
    and only a server that never served stops."""
    import threading

    from uvicorn.config import STARTUP_FAILURE

    from overdue_bot.channels import supervisor as sv

    sup = sv.Supervisor.__new__(sv.Supervisor)
    sup.should_exit, sup.config = threading.Event(), type("C", (), {"timeout_worker_healthcheck": 1})()
    sup.retry_at, sup.pause, sup.served = {}, {}, False
    started: list[_Fake] = []

    def start() -> _Fake:
        started.append(_Fake(alive=True, started_at=time.monotonic()))
        return started[-1]

    sup._start = start  # type: ignore[method-assign]
    sup.processes = [_Fake(alive=True), _Fake(alive=True)]
    sup.keep_subprocess_alive()
    assert sup.served  # a worker answered ready
    sup.processes[1] = _Fake(alive=False, exitcode=STARTUP_FAILURE, started_at=time.monotonic())
    sup.keep_subprocess_alive()
    assert not sup.should_exit.is_set() and 1 in sup.retry_at and started == []
    sup.retry_at[1] = 0.0  # its pause is over
    sup.keep_subprocess_alive()
    assert len(started) == 1 and sup.processes[1] is started[0]

    never = sv.Supervisor.__new__(sv.Supervisor)
    never.should_exit, never.config = threading.Event(), sup.config
    never.retry_at, never.pause, never.served = {}, {}, False
    never.processes = [_Fake(alive=False, exitcode=STARTUP_FAILURE)]
    never.keep_subprocess_alive()
    assert never.should_exit.is_set()  # a knowledge base that cannot load: stop, as before
