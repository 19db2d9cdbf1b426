"""An HTTP protocol for uvicorn that closes connections which never finish a request.

uvicorn times out idle keep-alive connections, but a client that opens a connection and sends
nothing (or a header a byte a minute) holds it forever: a thousand of them and no one else is
served.  This protocol gives every request HEADER_TIMEOUT seconds to arrive, counted from the
connection (or from the last response on it), and lets one client address hold at most
CLIENT_CONNECTIONS connections open in a worker: a client renewing a thousand unfinished
connections would otherwise fill ``--limit-concurrency`` and everyone else would get 503.  It
also sets TCP_NODELAY on every connection.
Both of uvicorn's parsers get it: h11 (pure Python, always there) and httptools (a C parser,
the extra ``fast``, in fast.py).
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from ..errors import MissingExtraError, OverdueBotError

#: seconds a connection may take to send a whole request's headers (``serve --header-timeout``
#: passes its value to every worker process in the environment)
HEADER_TIMEOUT = float(os.environ.get("OVERDUE_BOT_HEADER_TIMEOUT") or 10.0)
#: connections one client address may hold open in this worker (``serve --client-connections``);
#: 0: no limit
CLIENT_CONNECTIONS = int(os.environ.get("OVERDUE_BOT_CLIENT_CONNECTIONS") or 256)

#: open connections per client address in this worker (one event loop: no lock needed); an
#: address leaves when its last connection closes, so this holds at most the open connections
_open: dict[str, int] = {}
#: connections refused because their client already held CLIENT_CONNECTIONS
refused = 0


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


class _HeaderDeadline:
    """The deadline, for either of uvicorn's HTTP protocols: armed when a connection opens and
    after each response, disarmed once a request's headers have arrived (a new ``cycle``)."""

    header_timeout: float = HEADER_TIMEOUT
    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _deadline: asyncio.TimerHandle | None = None
    _armed_for: Any = None
    client_connections: int = CLIENT_CONNECTIONS
    _peer: str = ""

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

    def _after_input(self) -> None:
        if self.cycle is not self._armed_for:
            self._disarm()

    def connection_made(self, transport: Any) -> None:
        global refused
        _no_delay(transport)
        super().connection_made(transport)  # type: ignore[misc]
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        # this machine's own address is a local proxy (every user's connections) or the operator
        if host and self.client_connections and host not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            if _open.get(host, 0) >= self.client_connections:
                refused += 1
                transport.abort()  # at once, and without a response: the client is flooding
                return
            _open[host] = _open.get(host, 0) + 1
            self._peer = host
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._peer:
            left = _open.get(self._peer, 1) - 1
            if left > 0:
                _open[self._peer] = left
            else:
                _open.pop(self._peer, None)
            self._peer = ""
        super().connection_lost(exc)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm()


class TimedH11Protocol(_HeaderDeadline, H11Protocol):
    """uvicorn's h11 protocol (pure Python) with a deadline for each request's headers."""

    def handle_events(self) -> None:
        super().handle_events()
        self._after_input()


def protocol(name: str = "auto") -> type[asyncio.Protocol]:
    """The HTTP protocol class for ``serve --http``: h11, httptools (the extra ``fast``), or auto
    (httptools when it is installed), each with the header deadline and TCP_NODELAY."""
    if name not in ("auto", "h11", "httptools"):
        raise OverdueBotError(f"unknown HTTP protocol {name!r}: h11, httptools or auto")
    if name != "h11":
        try:
            from .fast import TimedHttpToolsProtocol
        except ImportError:
            if name == "httptools":
                raise MissingExtraError("--http httptools", "fast") from None
        else:
            return TimedHttpToolsProtocol
    return TimedH11Protocol
