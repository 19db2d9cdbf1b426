"""Logging for ``overdue-bot serve``: set up in every worker process, and quiet under abuse.

uvicorn applies ``log_config`` in each worker it starts, so per-turn lines appear with any number
of workers.  A client that sends garbage a thousand times a second gets one warning a minute, not
a thousand lines: the same message is let through once per ``THROTTLE`` seconds, with a count of
what was held back.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

#: seconds between two log lines with the same message template
THROTTLE = 60.0


class Throttle(logging.Filter):
    """Lets a message template through once per ``seconds``; counts the rest.

    Whatever a client or an outage can repeat (uvicorn's warnings about bad requests, our
    warnings about bad records, a session store or a hand-off desk that is down) is throttled:
    the first line passes at once, the rest as one count a minute.  Only the per-turn lines
    (INFO and below of our own) always pass.
    """

    def __init__(self, seconds: float = THROTTLE) -> None:
        super().__init__()
        self.seconds = seconds
        self._last: dict[str, tuple[float, int]] = {}
        self._mutex = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("overdue_bot") and record.levelno < logging.WARNING:
            return True  # the turns are never held back
        key = f"{record.name}:{record.msg}"
        now = time.monotonic()
        with self._mutex:
            last, held = self._last.get(key, (0.0, 0))
            if now - last < self.seconds:
                self._last[key] = (last, held + 1)
                return False
            self._last[key] = (now, 0)
            if len(self._last) > 10_000:
                self._last.clear()
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {int(self.seconds)} s)"
        return True


def config(level: str = "INFO", fmt: str = "text") -> dict[str, Any]:
    """A dictConfig for uvicorn's ``log_config``: our loggers and uvicorn's, throttled."""
    formatter = (
        {"()": "overdue_bot.channels.logs.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"throttle": {"()": "overdue_bot.channels.logs.Throttle"}},
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["throttle"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "overdue_bot": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (``--log-format json``)."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        data = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)
