"""parse() on the real questions, an earlier commit beside the working tree, in one run.

    python benchmarks/versus.py [--before 13b949c]      (writes benchmarks/results/versus.json)

Each configuration runs in a fresh process: intent accuracy, slot accuracy (every slot of an
utterance right), and parse() p50/p99 over the questions (each percentile the best of 5 passes,
after one warm-up pass).  The earlier commit runs without the extras (benchmarks/earlier.py);
the working tree runs with jieba and, when installed, with rjieba.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import earlier  # noqa: E402

REAL = ROOT.parent / "shared" / "eval" / "real_labeled.yaml"
PROBE = """
import json, statistics, sys, time
from overdue_bot import Bot
from overdue_bot.testing.evaluate import evaluate, load_cases
cases = load_cases(sys.argv[1])
bot = Bot()
report = evaluate(cases, bot.parse)
right, slots = report.intent_correct, report.slot_correct
items = [{"text": c.text} for c in cases]
p50 = p99 = 1e9
for _ in range(5):
    lat = []
    for x in items:
        t = time.perf_counter(); bot.parse(x["text"]); lat.append(time.perf_counter() - t)
    lat.sort()
    p50, p99 = min(p50, statistics.median(lat)), min(p99, lat[int(len(lat) * 0.99)])
seg = getattr(bot.nlu.tokenizer, "segmenter", "") or "jieba"
print(json.dumps({"intent": right, "slots": slots, "of": len(items), "p50_ms": round(p50 * 1000, 3),
                  "p99_ms": round(p99 * 1000, 3), "segmenter": seg}))
"""


def probe(env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(REAL)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    row: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return row


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--before",
        default="13b949c",
        help="the earlier commit (default: the start of issue 17's second half)",
    )
    args = ap.parse_args()
    if not REAL.exists():
        print(f"needs {REAL}", file=sys.stderr)
        return 2
    here = {"PYTHONPATH": str(ROOT / "src")}
    rows = {
        f"before ({args.before})": probe(earlier.env(earlier.checkout(args.before))),
        "now, jieba": probe({**here, "OVERDUE_BOT_SEGMENTER": "jieba"}),
        "now, rjieba (extra 'fast')": probe(here),
    }
    print(f"{'':<28}{'intent':>9}{'slots':>9}{'p50 ms':>9}{'p99 ms':>9}  segmenter")
    for name, r in rows.items():
        print(
            f"{name:<28}{r['intent']:>5}/{r['of']}{r['slots']:>5}/{r['of']}{r['p50_ms']:>9}{r['p99_ms']:>9}  {r['segmenter']}"
        )
    out = ROOT / "benchmarks" / "results" / "versus.json"
    out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
