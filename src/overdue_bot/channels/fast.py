"""uvicorn's httptools protocol (a C parser; the extra ``fast``) with the header deadline.

A module of its own so that importing it is the test of whether httptools is installed, and so
that worker processes can unpickle the class by name.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .protocol import _HeaderDeadline


class TimedHttpToolsProtocol(_HeaderDeadline, HttpToolsProtocol):
    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._after_input()
