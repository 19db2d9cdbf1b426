"""Cold start and per-message latency of overdue-bot, measured in fresh processes.

    python benchmarks/latency.py [--messages FILE]

Cold start: wall time of a new process from ``import overdue_bot`` to the first parse() result
(median of 5 runs).  Latency: parse() and reply() over the labelled questions, p50/p99.
Writes benchmarks/results/latency.json.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
COLD = """
import time
t0 = time.perf_counter()
from overdue_bot import Bot
bot = Bot()
bot.parse("好分期逾期两天会联系我的联系人吗")
t1 = time.perf_counter()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(t1 - t0, int(hwm) / 1024)
"""


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", default=str(ROOT.parent / "shared/eval/real_labeled.yaml"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    cold, rss = [], []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True)
        t, m = out.stdout.split()
        cold.append(float(t))
        rss.append(float(m))
    sys.path.insert(0, str(ROOT / "src"))
    import yaml

    from overdue_bot import Bot

    path = pathlib.Path(args.messages)
    texts = (
        [x["text"] for x in yaml.safe_load(path.read_text(encoding="utf-8"))]
        if path.exists()
        else ["好分期逾期两天会联系我的联系人吗", "逾期会上征信吗", "还不上怎么办"]
    )
    bot = Bot()
    for t in texts[:50]:
        bot.parse(t)
    parse_ms, reply_ms = [], []
    for _ in range(3):
        for t in texts:
            t0 = time.perf_counter()
            bot.parse(t)
            parse_ms.append((time.perf_counter() - t0) * 1000)
    for i, t in enumerate(texts):
        t0 = time.perf_counter()
        bot.reply(t, session_id=f"s{i % 50}")
        reply_ms.append((time.perf_counter() - t0) * 1000)
    result = {
        "cold_start_s_median": round(statistics.median(cold), 3),
        "cold_start_peak_rss_mb": round(statistics.median(rss), 1),
        "parse_ms_p50": round(pct(parse_ms, 0.5), 3),
        "parse_ms_p99": round(pct(parse_ms, 0.99), 3),
        "reply_ms_p50": round(pct(reply_ms, 0.5), 3),
        "reply_ms_p99": round(pct(reply_ms, 0.99), 3),
        "messages": len(texts),
        "examples": len(bot.examples),
    }
    out = ROOT / "benchmarks/results"
    out.mkdir(exist_ok=True)
    (out / "latency.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for k, v in result.items():
        print(f"{k:>24}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
