"""Shared fixtures: one Bot over the shipped knowledge base for the whole run."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# the tests build many small knowledge bases; they keep their indexes in a folder of their own (and
# so do the servers they start), so `make test` never evicts the index a user's `make chat` reads
os.environ["OVERDUE_BOT_CACHE"] = str(ROOT / ".test-cache")

from overdue_bot import Bot  # noqa: E402


@pytest.fixture(scope="session")
def bot() -> Bot:
    return Bot()


@pytest.fixture()
def fresh_bot(bot: Bot) -> Bot:
    """A bot sharing the built knowledge but with its own empty session store."""
    from overdue_bot.stores import MemoryStore

    return bot.with_store(MemoryStore())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(binary: str = "redis-server", port: int | None = None) -> tuple[Any, str]:
    """A redis-server on 127.0.0.1 that answers (or pytest.fail); returns the process and its URL."""
    import subprocess
    import time

    import redis

    port = port or _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("redis-server did not start")


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on 127.0.0.1, started for this test run (installed by .ci/run)."""
    import os
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("OVERDUE_BOT_REQUIRE_REDIS"):
            pytest.fail("redis-server is not installed (CI installs it with apt-get)")
        pytest.skip("redis-server is not installed; `apt-get install redis-server` to run these tests")
    pytest.importorskip("redis")
    proc, url = start_redis(binary)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
