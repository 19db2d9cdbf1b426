"""Several ``serve`` workers: each with its own listening socket, and reloading on SIGHUP.

uvicorn's supervisor shares one listening socket among the workers; one worker then accepts
almost every connection (measured 50/0 and 47/3 over 50 kept-open connections) and two workers
serve no faster than one.  Here each worker listens on a socket of its own, bound with
SO_REUSEPORT, so the kernel spreads new connections over the workers.

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

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

log = logging.getLogger("overdue_bot.http")


def reuseport_socket(config: Config) -> socket.socket:
    """A TCP listening socket on the configured address that other workers may bind as well."""
    family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((config.host, config.port))
    sock.listen(config.backlog)
    sock.set_inheritable(True)
    return sock


def can_reuseport() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


class Supervisor(Multiprocess):
    """uvicorn's supervisor with a socket per worker slot and SIGHUP passed on."""

    def __init__(self, config: Config) -> None:
        if can_reuseport():
            self.slots = [reuseport_socket(config) for _ in range(config.workers)]
        else:  # no SO_REUSEPORT here: one shared socket, as uvicorn does
            self.slots = [config.bind_socket()] * config.workers
        super().__init__(config, sockets=self.slots[:1])

    def _start(self, slot: int) -> Process:
        process = Process(self.config, [self.slots[slot]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._start(slot) for slot in range(self.processes_num)]

    def keep_subprocess_alive(self) -> None:
        """As uvicorn's, but a worker that died is replaced on its own slot's socket."""
        if self.should_exit.is_set():
            return
        for slot, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # it would fail the same way again
                log.error("worker %s failed to start, stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            log.info("worker %s died; starting another", process.pid)
            self.processes[slot] = self._start(slot)

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
