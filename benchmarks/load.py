"""Load on a real `overdue-bot serve` on 127.0.0.1: requests per second and p50/p99 latency.

    python benchmarks/load.py [--requests 4000] [--clients 50] [--workers 1 2] [--store URL]

Each of the concurrent clients keeps one HTTP/1.1 connection open and posts /v1/chat turns of
its own session, cycling through the real questions.  The client is a small asyncio loop in
this process (no extra dependency); it shares the machine's 2 cores with the server, so the
figures are a floor.  Writes benchmarks/results/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.http_server import Server  # noqa: E402


def questions() -> list[str]:
    import yaml

    path = ROOT.parent / "shared/eval/real_labeled.yaml"
    if path.exists():
        return [x["text"] for x in yaml.safe_load(path.read_text(encoding="utf-8"))]
    return ["好分期逾期两天会联系我的联系人吗", "那会上征信吗", "还不上怎么办"]


async def client(port: int, cid: int, n: int, texts: list[str], lat: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i in range(n):
            body = json.dumps(
                {"session_id": f"load-{cid}", "text": texts[(cid * 7 + i) % len(texts)]}, ensure_ascii=False
            ).encode("utf-8")
            req = (
                f"POST /v1/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            t0 = time.perf_counter()
            writer.write(req)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            lat.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                errors.append(str(status))
    finally:
        writer.close()


async def run_load(port: int, total: int, clients: int, texts: list[str]) -> dict[str, float]:
    lat: list[float] = []
    errors: list[str] = []
    per = total // clients
    t0 = time.perf_counter()
    await asyncio.gather(*(client(port, c, per, texts, lat, errors) for c in range(clients)))
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "requests": len(lat),
        "errors": len(errors),
        "rps": round(len(lat) / wall, 1),
        "p50_ms": round(statistics.median(lat), 2),
        "p99_ms": round(lat[int(0.99 * len(lat)) - 1], 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--store", default=None, help="default: a SQLite file (shared by the workers)")
    args = ap.parse_args()
    texts = questions()
    results = {}
    for workers in args.workers:
        store = args.store or f"sqlite:///{ROOT}/benchmarks/results/load-{workers}.db"
        server = Server(
            "--workers", str(workers), "--store", store, "--rate-session", "0"
        )  # a load test is no abuse
        try:
            asyncio.run(run_load(server.port, 200, 10, texts))  # warm every worker
            results[f"{workers} worker(s)"] = asyncio.run(
                run_load(server.port, args.requests, args.clients, texts)
            )
        finally:
            server.stop()
            for suffix in ("", "-wal", "-shm"):
                pathlib.Path(f"{ROOT}/benchmarks/results/load-{workers}.db{suffix}").unlink(missing_ok=True)
    out = ROOT / "benchmarks/results"
    out.mkdir(exist_ok=True)
    (out / "load.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"{'':<14}{'requests':>9}{'errors':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in results.items():
        print(f"{name:<14}{r['requests']:>9}{r['errors']:>7}{r['rps']:>9}{r['p50_ms']:>9}{r['p99_ms']:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
