"""An HTTP protocol for uvicorn that closes connections which never finish a request.

uvicorn times out idle keep-alive connections, but a client that opens a connection and sends
nothing (or a header a byte a minute) holds it forever: a thousand of them and no one else is
served.  This protocol gives every request HEADER_TIMEOUT seconds to arrive, counted from the
connection (or from the last response on it).  It also sets TCP_NODELAY on every connection.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

#: seconds a connection may take to send a whole request's headers
HEADER_TIMEOUT = 10.0


def _no_delay(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY on an accepted connection.

    asyncio sets it only on sockets it knows to be TCP; uvicorn's multi-worker listening socket is
    made with ``proto=0``, so without this every response on a kept-open connection waits for the
    client's delayed ACK (Nagle): ~40 ms per request with ``--workers 2``.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # a socket that is already gone


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers."""

    header_timeout: float = HEADER_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._armed_for: object = None

    def _arm(self) -> None:
        self._disarm()
        self._armed_for = self.cycle  # a new cycle means a request arrived in time
        self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.cycle is self._armed_for and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _no_delay(transport)
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not self._armed_for:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()
