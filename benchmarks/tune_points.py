"""The recorded choice of the point settings (MatcherConfig.point_*): how follow-ups are read.

    python benchmarks/tune_points.py     (a few minutes; writes benchmarks/results/tune_points.{json,md})

Each setting is tried one at a time against the shipped configuration, on two measures:

* the real questions (../shared/eval, 561) asked as the first message of a conversation: the
  intent of the bot's reply (a point may name the topic where the topic matcher is unsure, so
  this is the reply's, not only the parse's) and, for the one setting that changes the topic
  matcher (point_examples), the parse too;
* the scripted conversations of tests/dialogues: turns failing and conversations passing, and
  the span repetition of their replies.

The conversations were written with the points (their authors saw where forms went), so they
overstate; the real questions were written by nobody here and decide where the two disagree.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import tempfile
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ["OVERDUE_BOT_CACHE"] = tempfile.mkdtemp(prefix="overdue-bot-tune-points-")

import yaml  # noqa: E402

from overdue_bot import Bot  # noqa: E402
from overdue_bot.config import DEFAULT  # noqa: E402
from overdue_bot.testing.dialogues import figures, run_paths  # noqa: E402

REAL = ROOT.parent / "shared" / "eval" / "real_labeled.yaml"
RESULTS = ROOT / "benchmarks" / "results"
#: one change at a time against the shipped values (``{}`` is the shipped configuration)
TRIALS: list[dict[str, Any]] = [
    {},
    {"point_seeds": 0},
    {"point_seeds": 6, "point_epochs": 8},
    {"point_examples": True},
    {"point_rescue": 9.0},
    {"point_lead": 0.1},
    {"point_lead": 0.2},
    {"point_rescue": 0.4},
    {"point_raw_words": False},
    {"point_focus": 0.05},
    {"point_follow": 0.25},
    {"point_direct": 0.6},
]


def measure(changes: dict[str, Any], real: list[dict[str, Any]]) -> dict[str, Any]:
    bot = Bot(config=DEFAULT.with_(**changes))
    parsed = sum(bot.parse(x["text"]).intent == x["intent"] for x in real)
    replied = sum(
        (bot.reply(x["text"], session_id=f"t{i}").intent or "out_of_scope") == x["intent"]
        for i, x in enumerate(real)
    )
    results = run_paths([ROOT / "tests" / "dialogues"], bot)
    return {
        "changes": changes,
        "real_parse": parsed,
        "real_reply": replied,
        "real": len(real),
        "dialogues_passed": sum(r.ok for r in results),
        "dialogues": len(results),
        "turns_failed": sum(len(r.failures) for r in results),
        "turns": sum(len(r.dialogue.turns) for r in results),
        "span_repetition": round(figures(results).span_repetition, 4),
    }


def main() -> int:
    if not REAL.exists():
        print(f"needs {REAL} (the real questions)")
        return 1
    real = yaml.safe_load(REAL.read_text(encoding="utf-8"))
    rows = []
    for changes in TRIALS:
        row = measure(changes, real)
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tune_points.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    lines = [
        "| change (else as shipped) | real: reply | real: parse | conversations passed | turns failed | span repetition |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        name = ", ".join(f"{k}={v}" for k, v in r["changes"].items()) or "shipped"
        lines.append(
            f"| {name} | {r['real_reply']}/{r['real']} | {r['real_parse']}/{r['real']} | "
            f"{r['dialogues_passed']}/{r['dialogues']} | {r['turns_failed']}/{r['turns']} | "
            f"{r['span_repetition']:.2%} |"
        )
    (RESULTS / "tune_points.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
