"""The ceiling for benchmarks/wrk.py: a bare Starlette app that answers /v1/chat with constant
JSON, under the same uvicorn, protocol and event loop as ``overdue-bot serve``.

    python benchmarks/ceiling.py PORT [h11|httptools] [asyncio|uvloop]
"""

from __future__ import annotations

import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ANSWER = {"text": "好的", "intent": "greeting", "state": "idle", "session_id": "x"}


async def chat(request: Request) -> JSONResponse:
    await request.json()  # read and parse the body, as the bot's endpoint does
    return JSONResponse(ANSWER)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/v1/chat", chat, methods=["POST"]), Route("/healthz", health)])


def main() -> None:
    import uvicorn

    from overdue_bot.channels.protocol import protocol

    port = int(sys.argv[1])
    http = sys.argv[2] if len(sys.argv) > 2 else "h11"
    loop = sys.argv[3] if len(sys.argv) > 3 else "asyncio"
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        http=protocol(http),
        loop=loop,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
