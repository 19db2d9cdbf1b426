"""What a long command is doing, on stderr, so that seconds of work are not a blank screen.

On a terminal one line is redrawn in place, with a bar for the steps that are counted; anywhere
else (CI logs, a pipe, a file) each step gets one plain line when it starts, with the seconds
since the command began, since a redrawn line would leave a log full of carriage returns.
stdout stays the report alone, for ``--format json`` and for pipes.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

#: characters of the bar drawn on a terminal
WIDTH = 24


class Progress:
    """A ``(step, done, total)`` callback (kb.lint.Progress) writing to ``stream``."""

    def __init__(self, name: str, stream: TextIO | None = None, *, tty: bool | None = None) -> None:
        self.name = name
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.start = time.monotonic()
        self.step = ""
        self.drawn = False

    def __call__(self, step: str, done: int = 0, total: int = 0) -> None:
        seconds = time.monotonic() - self.start
        if self.tty:
            bar = ""
            if total:
                full = WIDTH * min(done, total) // total
                bar = f" [{'#' * full}{'.' * (WIDTH - full)}] {done}/{total}"
            self.stream.write(f"\r\033[K{self.name}: {step}{bar}  {seconds:.0f} s")
            self.drawn = True
        elif step != self.step:
            counted = f" ({done}/{total})" if total else ""
            self.stream.write(f"{self.name}: {step}{counted} … [{seconds:.0f} s]\n")
        self.step = step
        self.stream.flush()

    def done(self) -> None:
        """Clear the line on a terminal (the report follows); elsewhere say how long it all took."""
        seconds = time.monotonic() - self.start
        if self.tty:
            if self.drawn:
                self.stream.write("\r\033[K")
        else:
            self.stream.write(f"{self.name}: done in {seconds:.0f} s\n")
        self.stream.flush()
