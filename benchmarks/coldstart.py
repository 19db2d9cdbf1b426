"""Cold start of a freshly installed wheel: a new venv, an empty cache, the first answer.

    python benchmarks/coldstart.py [--source DIR] [--label NAME]

Builds a wheel of the source tree (default: this checkout), installs it with its dependencies in
a new venv, and runs `Bot().reply(...)` three times in fresh processes with empty cache folders
(OVERDUE_BOT_CACHE and XDG_CACHE_HOME): wall time from interpreter start to the first answer
and peak RSS.  Then once more with the cache the first run left (a second start).  Appends the
figures to benchmarks/results/coldstart.json under ``--label``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROBE = """
import resource, time
t0 = time.perf_counter()
from overdue_bot import Bot
bot = Bot()
r = bot.reply("逾期两天会联系我的联系人吗", session_id="cold")
assert r.text
print(round(time.perf_counter() - t0, 3), round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
"""


def _run(python: pathlib.Path, cache: pathlib.Path) -> tuple[float, float, float]:
    env = {
        "OVERDUE_BOT_CACHE": str(cache / "cache"),
        "XDG_CACHE_HOME": str(cache / "xdg"),
        "PATH": "/usr/bin:/bin",
        "HOME": str(cache),
    }
    started = time.perf_counter()
    out = subprocess.run([str(python), "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    inner, rss = out.stdout.split()
    return round(wall, 3), float(inner), float(rss)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default=str(ROOT))
    ap.add_argument("--label", default="current")
    args = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="overdue-bot-cold-"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(work / "dist"), args.source],
        check=True,
    )
    wheel = next((work / "dist").glob("*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    python = work / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    cold = [_run(python, work / f"home{i}") for i in range(3)]
    warm = _run(python, work / "home0")  # the cache the first cold run wrote
    result = {
        "label": args.label,
        "wheel": wheel.name,
        "wheel_mb": round(wheel.stat().st_size / 1e6, 2),
        "cold_first_answer_s_median": statistics.median(c[1] for c in cold),
        "cold_process_wall_s_median": statistics.median(c[0] for c in cold),
        "cold_peak_rss_mb_median": statistics.median(c[2] for c in cold),
        "second_start_first_answer_s": warm[1],
        "second_start_peak_rss_mb": warm[2],
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    out = ROOT / "benchmarks" / "results" / "coldstart.json"
    runs = json.loads(out.read_text(encoding="utf-8")) if out.exists() else []
    runs = [r for r in runs if r.get("label") != args.label] + [result]
    out.write_text(json.dumps(runs, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
