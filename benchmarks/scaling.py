"""How build time and parse latency grow with the knowledge base (issue 17).

    python benchmarks/scaling.py [--examples 1 4 16] [--intents 1 4 8]

The shipped knowledge base is grown synthetically: ×m examples gives every intent m−1 more copies
of each example with a different filler word appended (so they are not identical); ×m intents
clones every intent m−1 times under new names, each clone's examples marked with its own word,
so the clones compete as real neighbours would.  Each size is built BUILDS times with ``model.build``
(pure: no cache; the best time counts) and then parses the real questions (best of PASSES passes).  Writes
benchmarks/results/scaling.json, with each size's build time and p99 as a ratio to 1×.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import statistics
import sys
import time
from dataclasses import replace

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import yaml  # noqa: E402

from overdue_bot.kb import loader  # noqa: E402
from overdue_bot.model import build  # noqa: E402

FILLERS = [
    "呀",
    "啊",
    "呢",
    "请问",
    "麻烦问下",
    "想知道",
    "急",
    "在线等",
    "谢谢",
    "求解答",
    "问一下",
    "帮忙看看",
    "怎么说",
    "真的吗",
    "好吗",
    "是不是",
]
PASSES = 5
BUILDS = 2
MARKS = ["甲", "乙", "丙", "丁", "戊", "己", "庚", "辛"]


def grown(kb, examples: int, intents: int):
    out = []
    for it in kb.intents:
        exs = tuple(
            e + (FILLERS[(k - 1) % len(FILLERS)] if k else "") for e in it.examples for k in range(examples)
        )
        out.append(replace(it, examples=exs))
        for c in range(1, intents):
            if it.name in ("distress", "out_of_scope"):
                continue
            mark = MARKS[c % len(MARKS)] * 2
            out.append(replace(it, name=f"{it.name}_{c}", examples=tuple(mark + e for e in exs)))
    return replace(kb, intents=tuple(out))


def measure(kb, texts: list[str]) -> dict[str, float]:
    # the build's best of BUILDS: a second one moved the 1× time, every ratio's denominator, by ±20 %
    built = math.inf
    for _ in range(BUILDS):
        started = time.perf_counter()
        model = build(kb)
        model.nlu.parse("你好")
        built = min(built, time.perf_counter() - started)
    # each percentile is the best of PASSES passes over the questions: one pass on a shared
    # 2-core machine moves p99 by ±15 %
    p50, p99 = math.inf, math.inf
    for _ in range(PASSES):
        times = []
        for t in texts:
            s = time.perf_counter()
            model.nlu.parse(t)
            times.append(time.perf_counter() - s)
        times.sort()
        p50 = min(p50, statistics.median(times))
        p99 = min(p99, times[int(len(times) * 0.99)])
    return {
        "examples": sum(len(it.examples) for it in kb.intents),
        "intents": len(kb.intents),
        "build_s": round(built, 2),
        "parse_p50_ms": round(p50 * 1000, 3),
        "parse_p99_ms": round(p99 * 1000, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--intents", type=int, nargs="+", default=[1, 4, 8])
    args = ap.parse_args()
    kb = loader.load()
    real = ROOT.parent / "shared" / "eval" / "real_labeled.yaml"
    texts = (
        [x["text"] for x in yaml.safe_load(real.read_text(encoding="utf-8"))]
        if real.exists()
        else ["逾期会上征信吗"]
    )
    rows = {}
    for m in args.examples:
        rows[f"{m}x examples"] = row = measure(grown(kb, m, 1), texts)
        print(f"{m}x examples", row, flush=True)
    for m in args.intents:
        if m == 1:
            continue
        rows[f"{m}x intents"] = row = measure(grown(kb, 1, m), texts)
        print(f"{m}x intents", row, flush=True)
    base = rows.get("1x examples")
    if base:
        for row in rows.values():
            row["build_ratio"] = round(row["build_s"] / base["build_s"], 1)
            row["p99_ratio"] = round(row["parse_p99_ms"] / base["parse_p99_ms"], 2)
    out = ROOT / "benchmarks" / "results" / "scaling.json"
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
