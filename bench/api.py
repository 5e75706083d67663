#!/usr/bin/env python3
"""API benchmark on the synthetic vault: backlinks request latency, one client and many at once.

    python bench/api.py [--notes 20000] [--requests 2000] [--clients 50]

Starts ``python -m vaultsync serve`` on the synthetic vault (``/tmp/vaultsync-bench-<N>``, made by
``bench/synth.py`` if missing), then times ``GET /notes/{path}/backlinks`` over keep-alive
connections from this process: first one client in a loop, then ``--clients`` threads at once.
Latency is measured by the client from sending the request to the last byte of the answer, so
the client's own share (Python, on the same cores) is included. Target: p95 <= 20 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scan import ensure_vault


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start_server(vault: Path) -> tuple[subprocess.Popen[bytes], dict]:
    api_file = vault / ".vaultsync" / "api.json"
    proc = subprocess.Popen([sys.executable, "-m", "vaultsync", "serve", str(vault), "--refresh", "0"], cwd=HERE.parent)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"vaultsync serve exited with {proc.returncode}")
        try:
            info = json.loads(api_file.read_text())
            if info.get("pid") == proc.pid:
                return proc, info
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start")


def pick_notes(vault: Path, count: int) -> list[tuple[str, int]]:
    """Notes with backlinks: the most linked ones and a random sample (uri, backlink count)."""
    conn = sqlite3.connect(vault / ".vaultsync" / "index.sqlite")
    rows = conn.execute("SELECT f.uri, b.n FROM backrefs b JOIN files f ON f.id=b.dest WHERE f.uri LIKE '%.md'").fetchall()
    conn.close()
    rows.sort(key=lambda r: -r[1])
    rng = random.Random(1)
    return rows[:10] + rng.sample(rows[10:], min(count, len(rows) - 10))


def client_loop(port: int, token: str, paths: list[str], n: int, out: list[float], errors: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    for i in range(n):
        path = paths[i % len(paths)]
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        out.append(time.perf_counter() - started)
        if resp.status != 200:
            errors.append(f"{resp.status} {body[:200]!r}")
    conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=2000, help="requests of the single client")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--per-client", type=int, default=100)
    args = ap.parse_args()

    vault = ensure_vault(Path(f"/tmp/vaultsync-bench-{args.notes}"), args.notes)
    started = time.perf_counter()
    proc, info = start_server(vault)
    print(f"server up in {time.perf_counter() - started:.1f} s (index brought up to date first)")
    try:
        notes = pick_notes(vault, 500)
        paths = [f"/notes/{quote(uri, safe='')}/backlinks" for uri, _ in notes]
        counts = [n for _, n in notes]
        port, token = info["port"], info["token"]

        warm: list[float] = []
        errors: list[str] = []
        client_loop(port, token, paths, 200, warm, errors)
        single: list[float] = []
        client_loop(port, token, paths, args.requests, single, errors)

        many: list[float] = []
        threads = []
        shuffled = paths[:]
        random.Random(2).shuffle(shuffled)
        wall = time.perf_counter()
        for k in range(args.clients):
            mine: list[str] = shuffled[k::args.clients] or shuffled
            t = threading.Thread(target=client_loop, args=(port, token, mine, args.per_client, many, errors))
            threads.append(t)
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - wall
        if errors:
            print(f"{len(errors)} failed requests, e.g. {errors[0]}")
            return 1
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)

    print(f"\nvault: {args.notes:,} notes; {len(notes)} notes with backlinks "
          f"(median {statistics.median(counts)}, max {max(counts)} backlinks each); {os.cpu_count()} cores")  # fmt: skip
    print(f"{'GET /notes/{path}/backlinks':<34}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>9}")
    for name, values, seconds in [
        ("1 client, keep-alive", single, sum(single)),
        (f"{args.clients} concurrent clients", many, wall),
    ]:
        print(f"{name:<34}{len(values):>9}{percentile(values, 50) * 1000:>9.2f}{percentile(values, 95) * 1000:>9.2f}"
              f"{percentile(values, 99) * 1000:>9.2f}{len(values) / seconds:>9.0f}")  # fmt: skip
    p95 = percentile(single, 95) * 1000
    print(f"\ntarget p95 <= 20 ms (1 client): {'met' if p95 <= 20 else 'MISSED'} ({p95:.2f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
