"""parse() on the real questions and on our own held-out files, an earlier commit beside the
working tree, in one run.

    python benchmarks/versus.py [--before dafb188]      (writes benchmarks/results/versus.json)

Each configuration runs in a fresh process: intent accuracy and slot accuracy (every slot of an
utterance right) on each labelled file, the share of off-topic messages answered with a debt
intent, and parse() p50/p99 over the real questions (each percentile the best of 5 passes, after
one warm-up pass).  The files are the working tree's, for both: the earlier commit is measured on
the same questions.  It runs without the extras (benchmarks/earlier.py); the working tree runs
with jieba and, when installed, with rjieba.
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
DATA = ROOT / "tests" / "data"
#: our own labelled files, written apart from intents/ (measured when present)
LABELLED = ("heldout.yaml", "heldout_users.yaml", "heldout_web.yaml", "new_intents.yaml", "stories.yaml")
#: our own off-topic files: a debt intent is a false accept
OFF_TOPIC = ("off_topic.yaml", "off_topic_final.yaml", "off_topic_near.yaml")
#: the taxonomy's intents that are no debt answer (small talk, a person, distress)
NOT_DEBT = {
    "greet",
    "goodbye",
    "thanks",
    "help",
    "affirm",
    "deny",
    "inform",
    "human_agent",
    "out_of_scope",
    "distress",
}
PROBE = """
import json, statistics, sys, time
import yaml
from overdue_bot import Bot
from overdue_bot.testing.evaluate import evaluate, load_cases
real, labelled, off, not_debt = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), set(json.loads(sys.argv[4]))
bot = Bot()
files = {}
for path in labelled:
    r = evaluate(load_cases(path), bot.parse)
    files[path.rsplit("/", 1)[-1]] = {"intent": r.intent_correct, "slots": r.slot_correct, "of": r.total}
for path in off:
    texts = yaml.safe_load(open(path, encoding="utf-8"))
    wrong = sum(bot.parse(t).intent not in not_debt for t in texts)
    files[path.rsplit("/", 1)[-1]] = {"false_accepts": wrong, "of": len(texts)}
cases = load_cases(real)
report = evaluate(cases, bot.parse)
right, slots = report.intent_correct, report.slot_correct
items = [c.text for c in cases]
p50 = p99 = 1e9
for _ in range(5):
    lat = []
    for x in items:
        t = time.perf_counter(); bot.parse(x); lat.append(time.perf_counter() - t)
    lat.sort()
    p50, p99 = min(p50, statistics.median(lat)), min(p99, lat[int(len(lat) * 0.99)])
seg = getattr(bot.nlu.tokenizer, "segmenter", "") or "jieba"
print(json.dumps({"intent": right, "slots": slots, "of": len(items), "p50_ms": round(p50 * 1000, 3),
                  "p99_ms": round(p99 * 1000, 3), "segmenter": seg, "files": files}))
"""


def probe(env: dict[str, str]) -> dict[str, object]:
    labelled = [str(DATA / n) for n in LABELLED if (DATA / n).exists()]
    off = [str(DATA / n) for n in OFF_TOPIC if (DATA / n).exists()]
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            str(REAL),
            json.dumps(labelled),
            json.dumps(off),
            json.dumps(sorted(NOT_DEBT)),
        ],
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
        default="dafb188",
        help="the earlier commit (default: the start of issue 24)",
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
    names = list(next(iter(rows.values()))["files"])  # type: ignore[call-overload]
    print()
    print("our own files: intent right of labelled questions; off_topic*: answered with a debt intent")
    print(f"{'':<28}" + "".join(f"{n.removesuffix('.yaml')[:16]:>17}" for n in names))
    for name, r in rows.items():
        files = r["files"]  # type: ignore[index]
        cells = []
        for n in names:
            f = files.get(n, {})
            if "false_accepts" in f:
                cells.append(f"{f['false_accepts']}/{f['of']} wrong")
            elif f:
                cells.append(f"{f['intent']}/{f['of']}")
            else:
                cells.append("-")
        print(f"{name:<28}" + "".join(f"{c:>17}" for c in cells))
    out = ROOT / "benchmarks" / "results" / "versus.json"
    out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
