"""Several ``serve`` workers that reload instead of restarting on SIGHUP.

uvicorn's own supervisor answers SIGHUP by replacing every worker, which drops nothing but
would start workers on a knowledge base that may not load.  Here SIGHUP is passed on to each
worker, which builds the new knowledge base beside the one serving and swaps it in only when it
loads (``Service.reload``).  A worker that receives the admin call signals this process, so one
call reaches all workers.
"""

from __future__ import annotations

import logging
import os
import signal

from uvicorn.supervisors.multiprocess import Multiprocess

log = logging.getLogger("overdue_bot.http")


class Supervisor(Multiprocess):
    def handle_hup(self) -> None:
        log.info("SIGHUP: every worker reloads the knowledge base")
        for process in self.processes:
            pid = process.process.pid
            if pid is not None and process.process.is_alive():
                try:
                    os.kill(pid, signal.SIGHUP)
                except ProcessLookupError:
                    pass  # it died just now; the supervisor starts a new one on the new files
