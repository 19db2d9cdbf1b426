"""Several ``serve`` workers: each with its own listening socket, and reloading on SIGHUP.

uvicorn's supervisor shares one listening socket among the workers; one worker then accepts
almost every connection (measured 50/0 and 47/3 over 50 kept-open connections) and two workers
serve no faster than one.  Here each worker listens on a socket of its own, bound with
SO_REUSEPORT, so the kernel spreads new connections over the workers.

Each worker binds its socket itself, once its app has loaded, and the socket dies with it: a
socket held by the supervisor would go on receiving a dead worker's share of new connections
until the replacement had loaded (5.6 s measured, and for ever while the replacement could not
start, Redis being down).  The supervisor keeps the port only bound, never listening, so that
another program cannot take it between workers and no connection waits on it.  A replacement that
fails to start is tried again with a growing pause, while the other workers serve; only a server
that never served stops when a worker fails to start.

uvicorn answers SIGHUP by replacing every worker, which would start workers on a knowledge base
that may not load.  Here SIGHUP is passed on to each worker, which builds the new knowledge base
beside the one serving and swaps it in only when it loads (``Service.reload``).  A worker that
receives the admin call signals this process, so one call reaches all workers.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.server import Server
from uvicorn.supervisors.multiprocess import Multiprocess, Process

log = logging.getLogger("overdue_bot.http")

#: seconds before a replacement that failed to start is tried again, doubling up to RETRY_MAX
RETRY_FIRST = 1.0
RETRY_MAX = 30.0


def reuseport_socket(config: Config, *, listen: bool = True) -> socket.socket:
    """A TCP socket on the configured address that other workers may bind as well; listening
    only when ``listen`` (the supervisor's reservation of the port does not listen)."""
    family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((config.host, config.port))
    if listen:
        sock.listen(config.backlog)
    sock.set_inheritable(True)
    return sock


def can_reuseport() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


class OwnSocketServer(Server):
    """uvicorn's server, listening on a SO_REUSEPORT socket it binds once its app has loaded."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if not sockets:  # the supervisor passes none: bind one now that the app has loaded
            try:
                sockets = [reuseport_socket(self.config)]
            except OSError as exc:
                log.error(
                    "worker %s cannot listen on %s:%s: %s",
                    os.getpid(),
                    self.config.host,
                    self.config.port,
                    exc,
                )
                sys.exit(STARTUP_FAILURE)
        await super().startup(sockets=sockets)


class Worker(Process):
    """A worker process that binds its own socket (none passed) and serves with OwnSocketServer."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets)
        self.started_at = time.monotonic()

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = OwnSocketServer(config=self.config)
        return self._server


class Supervisor(Multiprocess):
    """uvicorn's supervisor with a socket per worker, replacements retried, and SIGHUP passed on."""

    def __init__(self, config: Config) -> None:
        self.own_sockets = can_reuseport()
        if self.own_sockets:
            # bound, not listening: keeps the port ours (and fails now if it is taken) while no
            # connection is ever queued on it
            self.reservation = reuseport_socket(config, listen=False)
            shared: list[socket.socket] = []
        else:  # no SO_REUSEPORT here: one shared socket, as uvicorn does
            self.reservation = config.bind_socket()
            shared = [self.reservation]
        super().__init__(config, sockets=shared)
        self.served = False
        self.retry_at: dict[int, float] = {}
        self.pause: dict[int, float] = {}

    def _start(self) -> Process:
        process = (
            Worker(self.config, self.sockets) if self.own_sockets else Process(self.config, self.sockets)
        )
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._start() for _ in range(self.processes_num)]

    def keep_subprocess_alive(self) -> None:
        """As uvicorn's, but a replacement that fails to start is retried later, not fatal."""
        if self.should_exit.is_set():
            return
        now = time.monotonic()
        for slot, process in enumerate(self.processes):
            if slot in self.retry_at:
                if now < self.retry_at[slot]:
                    continue
                del self.retry_at[slot]
                self.processes[slot] = self._start()
                continue
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                if not self.served and process.is_ready(timeout=0.1):
                    self.served = True
                continue
            process.kill()
            process.join()
            if self.should_exit.is_set():
                return
            if process.exitcode == STARTUP_FAILURE and not self.served:
                log.error("worker %s failed to start, stopping", process.pid)  # it would fail again
                self.should_exit.set()
                return
            if process.exitcode == STARTUP_FAILURE or now - getattr(process, "started_at", 0.0) < RETRY_MAX:
                pause = min(RETRY_MAX, self.pause.get(slot, RETRY_FIRST / 2) * 2)
                self.pause[slot] = pause
                self.retry_at[slot] = now + pause
                log.error(
                    "worker %s stopped (exit %s); another in %.0f s", process.pid, process.exitcode, pause
                )
                continue
            log.info("worker %s died; starting another", process.pid)
            self.pause.pop(slot, None)
            self.processes[slot] = self._start()

    def handle_ttin(self) -> None:
        log.info("SIGTTIN: the number of workers is fixed by --workers here")

    def handle_ttou(self) -> None:
        log.info("SIGTTOU: the number of workers is fixed by --workers here")

    def handle_hup(self) -> None:
        log.info("SIGHUP: every worker reloads the knowledge base")
        for process in self.processes:
            pid = process.process.pid
            if pid is not None and process.process.is_alive():
                try:
                    os.kill(pid, signal.SIGHUP)
                except ProcessLookupError:
                    pass  # it died just now; the supervisor starts a new one on the new files
