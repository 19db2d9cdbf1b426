"""Memory per session in the default MemoryStore, and reply throughput in one process.

    python benchmarks/sessions.py [N]

Each session gets two real turns (a platform, days, an intent), so it holds what a real
conversation leaves behind.  Memory is traced with tracemalloc around the replies.
"""

from __future__ import annotations

import pathlib
import sys
import time
import tracemalloc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "src"))

from overdue_bot import Bot  # noqa: E402


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    bot = Bot()
    bot.reply("你好", session_id="warm")
    bot.reset("warm")
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    for i in range(n):
        bot.reply(f"花呗逾期{i % 90 + 1}天了", session_id=f"user-{i}")
        bot.reply("会上征信吗", session_id=f"user-{i}")
    elapsed = time.perf_counter() - t0
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"sessions: {len(bot.store)}")  # type: ignore[arg-type]
    print(f"memory per session: {(after - before) / n:.0f} bytes")
    print(f"replies per second (one thread, traced): {2 * n / elapsed:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
