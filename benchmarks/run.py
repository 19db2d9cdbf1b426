"""overdue-bot against what a team would use instead, measured side by side in one run.

    python benchmarks/run.py [--quick]        (make bench)

1. Accuracy and per-message latency on the real questions and on our held-out file, for
   overdue-bot's parse(), TF-IDF (character 1–3-grams) + linear SVM and + logistic regression
   trained with scikit-learn on exactly ``bot.examples``, and rapidfuzz ``extractOne`` (WRatio)
   over the raw example texts.  Ratios ours / theirs.
2. Start-up of fresh processes: ``python -c pass``, stock jieba's first cut, overdue-bot's
   first answer (wall time and peak memory).
3. Throughput in one process, memory per session at 10k and 100k sessions, and the HTTP
   server under 50 concurrent clients with 1 and 2 workers.
4. Scaling: parse latency with the examples multiplied by 1, 4 and 16.

Needs scikit-learn (benchmark only).  Writes benchmarks/results/run.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from overdue_bot import Bot  # noqa: E402
from overdue_bot.testing.evaluate import Case, load_cases, slot_ok  # noqa: E402

SETS = {"real": ROOT.parent / "shared/eval/real_labeled.yaml", "heldout": ROOT / "tests/data/heldout.yaml"}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def measure(predict: Callable[[str], tuple[str, dict[str, Any] | None]], cases: list[Case]) -> dict[str, Any]:
    for c in cases[:20]:
        predict(c.text)
    lat, ok, slots_ok = [], 0, 0
    for c in cases:
        t0 = time.perf_counter()
        intent, slots = predict(c.text)
        lat.append((time.perf_counter() - t0) * 1000)
        ok += intent == c.intent
        if slots is not None:
            slots_ok += set(slots) == set(c.slots) and all(slot_ok(c.slots[k], slots[k]) for k in c.slots)
    has_slots = predict(cases[0].text)[1] is not None
    return {
        "accuracy": round(ok / len(cases), 4),
        "slot_accuracy": round(slots_ok / len(cases), 4) if has_slots else None,
        "p50_ms": round(pct(lat, 0.5), 3),
        "p99_ms": round(pct(lat, 0.99), 3),
    }


def systems(bot: Bot) -> dict[str, Callable[[str], tuple[str, dict[str, Any] | None]]]:
    from rapidfuzz import fuzz, process
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    texts = [t for t, _ in bot.examples]
    labels = [i for _, i in bot.examples]
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    x = vec.fit_transform(texts)
    svm = LinearSVC(C=1.0).fit(x, labels)
    logreg = LogisticRegression(C=10.0, max_iter=2000).fit(x, labels)

    def ours(t: str) -> tuple[str, dict[str, Any]]:
        p = bot.parse(t)
        return p.intent, p.slots

    def fuzzy(t: str) -> tuple[str, None]:
        hit = process.extractOne(t, texts, scorer=fuzz.WRatio)
        return (labels[hit[2]] if hit else "out_of_scope"), None

    return {
        "overdue-bot": ours,
        "tfidf+svm": lambda t: (str(svm.predict(vec.transform([t]))[0]), None),
        "tfidf+logreg": lambda t: (str(logreg.predict(vec.transform([t]))[0]), None),
        "rapidfuzz WRatio": fuzzy,
    }


def fresh(code: str) -> tuple[float, float]:
    """Wall seconds and peak RSS MB of a new interpreter running code."""
    # VmHWM, not ru_maxrss: the latter also counts the parent's pages copied before exec
    wrapper = (
        "import time\nt0 = time.perf_counter()\n" + code + "\nhwm = [l for l in open('/proc/self/status') "
        "if l.startswith('VmHWM')][0].split()[1]\nprint(time.perf_counter() - t0, int(hwm) / 1024)"
    )
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", wrapper],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        )
        wall = time.perf_counter() - t0
        runs.append((wall, float(out.stdout.split()[1])))
    return round(statistics.median(r[0] for r in runs), 3), round(statistics.median(r[1] for r in runs), 1)


def session_memory(bot: Bot, n: int) -> float:
    from overdue_bot.stores import MemoryStore

    b = bot.with_store(MemoryStore(max_sessions=n + 1))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        b.store.set(
            f"user-{i}",
            {
                "state": "idle",
                "slots": {"platform": "花呗", "days_overdue": i % 90 + 1},
                "last_intent": "credit_report",
                "pending": None,
                "asks": 0,
                "options": [],
            },
        )
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return round((after - before) / n)


def scaled(bot: Bot, factor: int, cases: list[Case]) -> dict[str, float]:
    """A knowledge base with every intent's examples multiplied by factor (varied copies)."""
    rng = random.Random(factor)
    fillers = ["请问", "我想问下", "你好", "麻烦问一下", "急", "在线等", "那个", "就是说"]
    folder = pathlib.Path(tempfile.mkdtemp())
    src = ROOT / "intents"
    for f in src.glob("*.yaml"):
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        if "intents" in data and factor > 1:
            for it in data["intents"].values():
                base = list(it["examples"])
                extra = []
                for k in range(factor - 1):
                    for e in base:
                        extra.append(
                            f"{rng.choice(fillers)}{e}{'呢' * (k % 2)}{rng.choice(['', '啊', '呀'])}"
                        )
                it["examples"] = base + extra
        (folder / f.name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cache_dir = tempfile.mkdtemp()  # keep the real index cache out of it
    old = os.environ.get("OVERDUE_BOT_CACHE")
    os.environ["OVERDUE_BOT_CACHE"] = cache_dir
    try:
        t0 = time.perf_counter()
        b = Bot(folder)
        build = time.perf_counter() - t0
        lat = []
        for _ in range(2):
            for c in cases:
                t1 = time.perf_counter()
                b.parse(c.text)
                lat.append((time.perf_counter() - t1) * 1000)
        return {
            "examples": len(b.examples),
            "build_s": round(build, 1),
            "p50_ms": round(pct(lat, 0.5), 3),
            "p99_ms": round(pct(lat, 0.99), 3),
        }
    finally:
        shutil.rmtree(folder)
        shutil.rmtree(cache_dir)
        if old is None:
            os.environ.pop("OVERDUE_BOT_CACHE", None)
        else:
            os.environ["OVERDUE_BOT_CACHE"] = old


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the HTTP load and the 16× scaling")
    args = ap.parse_args()
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d")}
    bot = Bot()
    sets = {name: load_cases(path) for name, path in SETS.items() if path.exists()}

    print("== accuracy and latency (one process, one run)")
    table: dict[str, dict[str, Any]] = {}
    for sys_name, predict in systems(bot).items():
        for set_name, cases in sets.items():
            table.setdefault(sys_name, {})[set_name] = measure(predict, cases)
    result["accuracy"] = table
    print(
        f"{'system':<18}"
        + "".join(f"{s + ' acc':>13}{s + ' slots':>14}{'p50 ms':>8}{'p99 ms':>8}" for s in sets)
    )
    for name, row in table.items():
        cells = ""
        for s in sets:
            r = row[s]
            cells += (
                f"{r['accuracy']:>13.4f}{(r['slot_accuracy'] if r['slot_accuracy'] is not None else '-'):>14}"
            )
            cells += f"{r['p50_ms']:>8.3f}{r['p99_ms']:>8.3f}"
        print(f"{name:<18}{cells}")
    ours = table["overdue-bot"]
    ratios = {
        other: {
            s: {
                "accuracy": round(ours[s]["accuracy"] / table[other][s]["accuracy"], 3),
                "p99": round(ours[s]["p99_ms"] / table[other][s]["p99_ms"], 3),
            }
            for s in sets
        }
        for other in table
        if other != "overdue-bot"
    }
    result["ratios_ours_over_theirs"] = ratios
    print("\nratios, overdue-bot / baseline (accuracy ↑ better, p99 ↓ better)")
    for other, r in ratios.items():
        print(
            f"  {other:<18}"
            + "  ".join(f"{s}: accuracy ×{v['accuracy']}, p99 ×{v['p99']}" for s, v in r.items())
        )

    print("\n== start-up (fresh processes, median of 5)")
    start = {
        "python -c pass": fresh("pass"),
        "import jieba; jieba.lcut(…)": fresh(
            "import jieba\njieba.setLogLevel(60)\njieba.lcut('好分期逾期两天会联系我的联系人吗')"
        ),
        "overdue-bot first answer": fresh(
            "from overdue_bot import Bot\nBot().parse('好分期逾期两天会联系我的联系人吗')"
        ),
    }
    result["startup"] = {k: {"wall_s": v[0], "peak_mb": v[1]} for k, v in start.items()}
    for k, (wall, mb) in start.items():
        print(f"  {k:<32}{wall:>7.3f} s {mb:>7.1f} MB")

    print("\n== throughput and memory")
    texts = [c.text for c in sets["real"]] if "real" in sets else ["逾期会上征信吗"]
    t0 = time.perf_counter()
    for _ in range(3):
        for t in texts:
            bot.parse(t)
    mps = round(3 * len(texts) / (time.perf_counter() - t0))
    result["throughput"] = {
        "parse_per_s": mps,
        "bytes_per_session_10k": session_memory(bot, 10_000),
        "bytes_per_session_100k": session_memory(bot, 100_000),
    }
    print(f"  parse(): {mps} messages/s in one process")
    print(
        f"  memory per session: {result['throughput']['bytes_per_session_10k']} B at 10k, "
        f"{result['throughput']['bytes_per_session_100k']} B at 100k"
    )
    if not args.quick:
        from tests.http_server import Server

        from benchmarks.load import run_load

        http = {}
        for workers in (1, 2):
            db = pathlib.Path(tempfile.mkdtemp()) / "s.db"
            server = Server("--workers", str(workers), "--store", f"sqlite:///{db}", "--rate-session", "0")
            try:
                asyncio.run(run_load(server.port, 200, 10, texts))
                http[f"{workers} worker(s)"] = asyncio.run(run_load(server.port, 4000, 50, texts))
            finally:
                server.stop()
                shutil.rmtree(db.parent)
        result["http"] = http
        for k, r in http.items():
            print(
                f"  HTTP {k}: {r['rps']} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors']}"
            )

    print("\n== scaling with the knowledge base")
    cases = sets.get("real", [])[:300]
    result["scaling"] = {}
    for factor in (1, 4) if args.quick else (1, 4, 16):
        r = scaled(bot, factor, cases)
        result["scaling"][f"{factor}x"] = r
        print(
            f"  {factor:>2}× ({r['examples']} examples): p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
            f"first build {r['build_s']} s"
        )
    out = ROOT / "benchmarks/results"
    out.mkdir(exist_ok=True)
    (out / "run.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten: {out / 'run.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
