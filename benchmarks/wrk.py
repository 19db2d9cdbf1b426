"""HTTP load measured by wrk, a client in C on its own thread, against `overdue-bot serve` on
127.0.0.1 and against the ceiling (a bare Starlette app, benchmarks/ceiling.py), in one run.

    python benchmarks/wrk.py [--seconds 10] [--connections 50] [--rounds 3] [--before COMMIT]
                                                                    (needs wrk: apt install wrk)

Every configuration: the HTTP parser and event loop (h11 + asyncio, the pure-Python default;
httptools + asyncio, the extra ``fast``; httptools + uvloop, opt-in), the store (memory,
SQLite) and 1 or 2 workers.  wrk
posts /v1/chat turns over 50 kept-open connections, cycling through the real questions and 1,000
session ids (benchmarks/chat.lua); each run is preceded by a 2-second warm-up.  The client's own
CPU use is measured and reported: the server has the rest of the machine's 2 cores.
The whole matrix runs ``--rounds`` times and each row is its median round (every round's req/s
is kept in ``rounds_rps``): one configuration measured minutes apart moved by ±30 % here.
Writes benchmarks/results/wrk.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.http_server import Server, free_port  # noqa: E402

from benchmarks import earlier  # noqa: E402
from benchmarks.load import questions  # noqa: E402

STACKS = {
    "h11+asyncio": ("h11", "asyncio"),
    "httptools+uvloop": ("httptools", "uvloop"),
    "httptools+asyncio": ("httptools", "asyncio"),
    "h11+uvloop": ("h11", "uvloop"),
}
#: what a full run measures: the pure-Python default, the extra 'fast' (httptools on asyncio) and
#: uvloop beside it (opt-in: it measured slower with the turns run in the loop)
MAIN = ["h11+asyncio", "httptools+asyncio", "httptools+uvloop"]


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and every live process below it (its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    used: dict[int, float] = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        p = int(stat.parent.name)
        parent[p] = int(fields[1])
        used[p] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += used.get(p, 0.0)
        todo += [c for c, pp in parent.items() if pp == p]
    return total


def wrk(port: int, seconds: int, connections: int, texts: pathlib.Path, pid: int) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = server_cpu(pid)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "benchmarks/chat.lua"),
            f"http://127.0.0.1:{port}",
            "--",
            str(texts),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    served = server_cpu(pid) - cpu_before
    row = json.loads(out.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    row["rps"] = round(row["requests"] / row["duration_s"], 1)
    row["client_cpu"] = round(cpu / row["duration_s"], 3)  # share of one core
    # the server's CPU per request: steadier than req/s on a shared machine
    row["server_cpu_ms"] = round(served / row["requests"] * 1000, 3)
    return row


class Ceiling:
    """benchmarks/ceiling.py in a process of its own."""

    def __init__(self, http: str, loop: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks/ceiling.py"), str(self.port), http, loop],
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the ceiling app did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--stacks", nargs="+", default=MAIN, choices=list(STACKS))
    ap.add_argument("--stores", nargs="+", default=["memory", "sqlite"], choices=["memory", "sqlite"])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-ceiling", action="store_true")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="run the whole matrix this many times; each row is its median round (req/s moved ±30 %% "
        "between two runs of one configuration minutes apart on this shared machine)",
    )
    ap.add_argument(
        "--before",
        metavar="COMMIT",
        help="also measure the bot at this commit (h11 + asyncio, without the extras), in the same run",
    )
    args = ap.parse_args()
    if not shutil.which("wrk"):
        print("benchmarks/wrk.py needs wrk: apt install wrk", file=sys.stderr)
        return 2
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(json.dumps(t, ensure_ascii=False) for t in questions()) + "\n")
        texts = pathlib.Path(f.name)
    runs: dict[str, list[dict[str, float]]] = {}

    def measure(name: str, server: Server | Ceiling) -> None:
        try:
            wrk(server.port, 2, args.connections, texts, server.proc.pid)  # warm every worker
            row = wrk(server.port, args.seconds, args.connections, texts, server.proc.pid)
        finally:
            server.stop()
        runs.setdefault(name, []).append(row)
        print(
            f"{name:<40}{row['rps']:>9}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
            f"{row['socket_errors'] + row['non_2xx']:>7}{row['client_cpu']:>8.0%}{row['server_cpu_ms']:>8.3f}",
            flush=True,
        )

    before = earlier.checkout(args.before) if args.before else None
    for round_no in range(1, args.rounds + 1):
        print(f"round {round_no} of {args.rounds}")
        matrix(args, before, measure)
    texts.unlink()
    results = {}
    for name, rows in runs.items():
        rows = sorted(rows, key=lambda r: r["rps"])
        results[name] = {**rows[(len(rows) - 1) // 2], "rounds_rps": [r["rps"] for r in rows]}
    print(f"median of {args.rounds} round(s):")
    for name, row in results.items():
        print(
            f"{name:<40}{row['rps']:>9}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['server_cpu_ms']:>8.3f}"
        )
    if len(results) < 2 * len(MAIN) * 2 + len(MAIN):
        return 0  # a partial run: the recorded full one stays
    out = ROOT / "benchmarks/results/wrk.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def matrix(args: argparse.Namespace, before: pathlib.Path | None, measure: Any) -> None:
    """One round: every configuration asked for, each on a fresh server."""
    print(f"{'':<40}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}{'client':>8}{'cpu ms':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        if before is not None:
            env = earlier.env(before)
            for store in args.stores:
                for workers in args.workers:
                    url = f"sqlite:///{tmp}/before-{workers}.db" if store == "sqlite" else "memory"
                    server = Server(
                        "--workers", str(workers), "--store", url, "--rate-session", "0", env=env, http=None
                    )
                    measure(f"before ({args.before[:7]}), {store}, {workers} worker(s)", server)
        for stack in args.stacks:
            http, loop = STACKS[stack]
            if not args.no_ceiling:
                measure(f"ceiling (bare Starlette), {stack}", Ceiling(http, loop))
            for store in args.stores:
                for workers in args.workers:
                    url = f"sqlite:///{tmp}/{stack}-{workers}.db" if store == "sqlite" else "memory"
                    server = Server(
                        "--workers",
                        str(workers),
                        "--store",
                        url,
                        "--rate-session",
                        "0",
                        "--http",
                        http,
                        "--loop",
                        loop,
                    )
                    measure(f"bot, {store}, {workers} worker(s), {stack}", server)


if __name__ == "__main__":
    sys.exit(main())
