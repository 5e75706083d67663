#!/usr/bin/env python3
"""MCP benchmark: each read tool's latency through the SDK's stdio client, beside two baselines.

    python bench/mcp_tools.py [--notes 20000] [--calls 200] [--real-dir DIR] [--synthetic-dir DIR]

Starts ``python -m vaultsync mcp VAULT --refresh 0`` on the 20,000-note vault of real notes
(``bench/realvault.py``, skipped without ``../shared``) and on the synthetic one (``bench/synth.py``,
seed 1), and calls each read tool ``--calls`` times through ``mcp.ClientSession`` over stdio, on
notes picked from the index (the ten most linked, then a random sample). Each latency is measured
by the client from sending the request to having the parsed answer, so the client's own share
(Python, on the same cores) is included. The vault-wide answers (``unresolved`` of the vault,
``list_notes``) are cached until the index changes: each distinct query's first call, which
computes the answer, is shown apart ("first call"). Baselines measured in the same run: an MCP ``ping`` round
trip (the protocol's own floor), and the same call in this process on :class:`VaultTools` (what
the work costs without the protocol). Target (issue 19): each read tool <= 50 ms p95.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
import anyio  # noqa: E402
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402

sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from realvault import ensure_real_vault  # noqa: E402
from scan import ensure_vault  # noqa: E402

from vaultsync.config import load_settings  # noqa: E402
from vaultsync.fs.vault import Vault  # noqa: E402
from vaultsync.mcp.host import McpHost  # noqa: E402
from vaultsync.mcp.tools import VaultTools  # noqa: E402

TARGET_MS = 50.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def pick_notes(vault: Path, count: int) -> tuple[list[str], list[str]]:
    """Notes to ask about (the most linked, then a random sample), and the vault's top folders."""
    conn = sqlite3.connect(vault / ".vaultsync" / "index.sqlite")
    rows = conn.execute("SELECT f.uri, b.n FROM backrefs b JOIN files f ON f.id=b.dest WHERE f.uri LIKE '%.md'").fetchall()
    uris = [u for (u,) in conn.execute("SELECT uri FROM files WHERE is_note=1")]
    conn.close()
    rows.sort(key=lambda r: -r[1])
    rng = random.Random(1)
    notes = [u for u, _ in rows[:10]] + rng.sample(uris, min(count, len(uris)))
    folders = sorted({u.split("/", 1)[0] for u in uris if "/" in u})
    return notes, rng.sample(folders, min(20, len(folders)))


# the tools whose vault-wide answers are cached until the index changes, and how many distinct
# queries each label asks (their first calls are timed apart: each computes the answer)
CACHED = {"unresolved (vault)": 1, "list_notes (vault)": 1}


def cases(notes: list[str], folders: list[str]) -> dict[str, Callable[[int], tuple[str, dict[str, Any]]]]:
    """tool label -> (i -> (tool, arguments)) for the i-th call."""
    CACHED["list_notes (folder)"] = len(folders)
    return {
        "read_note": lambda i: ("read_note", {"path": notes[i % len(notes)]}),
        "links": lambda i: ("links", {"path": notes[i % len(notes)]}),
        "backlinks": lambda i: ("backlinks", {"path": notes[i % len(notes)]}),
        "unresolved (note)": lambda i: ("unresolved", {"path": notes[i % len(notes)]}),
        "unresolved (vault)": lambda i: ("unresolved", {}),
        "list_notes (folder)": lambda i: ("list_notes", {"folders": [folders[i % len(folders)]]}),
        "list_notes (vault)": lambda i: ("list_notes", {"offset": (i * 100) % 1_000}),
    }


async def time_calls(calls: int, call: Callable[[int], Awaitable[object]], first: int = 10) -> tuple[list[float], list[float]]:
    """(the first ``first`` calls: warm-up, and each distinct query's first, uncached call; then
    ``calls`` more), in ms."""
    out: tuple[list[float], list[float]] = ([], [])
    for i in range(first + calls):
        started = time.perf_counter()
        await call(i)
        out[i >= first].append((time.perf_counter() - started) * 1000)
    return out


Timings = dict[str, tuple[list[float], list[float]]]


async def through_mcp(vault: Path, calls: int, table: dict[str, Callable[[int], tuple[str, dict[str, Any]]]]) -> Timings:
    params = StdioServerParameters(command=sys.executable, args=["-m", "vaultsync", "mcp", str(vault), "--refresh", "0"],
                                   env={"PYTHONPATH": str(HERE.parent), "PATH": os.environ.get("PATH", "")})  # fmt: skip
    results: Timings = {}
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        results["ping (baseline)"] = await time_calls(calls, lambda i: session.send_ping())
        for label, make in table.items():

            async def one(i: int, make: Callable[[int], tuple[str, dict[str, Any]]] = make) -> None:
                tool, arguments = make(i)
                result = await session.call_tool(tool, arguments)
                if result.is_error:
                    raise SystemExit(f"{tool} {arguments}: {result.content}")

            results[label] = await time_calls(calls, one, max(10, CACHED.get(label, 0)))
    return results


def in_process(vault: Path, calls: int, table: dict[str, Callable[[int], tuple[str, dict[str, Any]]]]) -> Timings:
    v = Vault(vault)
    tools = VaultTools(McpHost(v, load_settings(v.root), refresh_s=0), allow_writes=False, output=None)
    results: Timings = {}
    try:
        for label, make in table.items():

            async def one(i: int, make: Callable[[int], tuple[str, dict[str, Any]]] = make) -> None:
                tool, arguments = make(i)
                getattr(tools, tool)(**arguments)

            results[label] = anyio.run(time_calls, calls, one, max(10, CACHED.get(label, 0)))
    finally:
        tools.close()
    return results


def report(label: str, vault: Path, calls: int) -> bool:
    started = time.perf_counter()
    v = Vault(vault)
    McpHost(v, load_settings(v.root), refresh_s=0).catch_up()  # the index up to date, as the server's start does
    print(f"\n{label}: {vault} (index caught up in {time.perf_counter() - started:.1f} s)")
    notes, folders = pick_notes(vault, 300)
    table = cases(notes, folders)
    mcp = anyio.run(through_mcp, vault, calls, table)
    local = in_process(vault, calls, table)
    ping = mcp.pop("ping (baseline)")[1]
    print(f"{'tool':<22}{'MCP p50':>9}{'p95':>8}{'in-process p50':>16}{'p95':>8}{'first call':>12}   ms; {calls} calls each")
    print(f"{'ping (baseline)':<22}{percentile(ping, 50):>9.2f}{percentile(ping, 95):>8.2f}")
    ok = True
    for name, (firsts, values) in mcp.items():
        p95 = percentile(values, 95)
        ok &= p95 <= TARGET_MS
        cold = f"{statistics.median(firsts[: CACHED[name]]):>12.1f}" if name in CACHED else ""
        print(f"{name:<22}{percentile(values, 50):>9.2f}{p95:>8.2f}{percentile(local[name][1], 50):>16.2f}"
              f"{percentile(local[name][1], 95):>8.2f}{cold}{'' if p95 <= TARGET_MS else '   over target'}")  # fmt: skip
    print("first call: the median of each distinct query's first call through MCP (cached tools: the answer is computed)")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--real-dir", type=Path, default=None)
    ap.add_argument("--synthetic-dir", type=Path, default=None)
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; latency from the client's request to its parsed answer; target p95 <= {TARGET_MS:.0f} ms")
    ok = True
    real = ensure_real_vault(args.real_dir or Path(f"/tmp/vaultsync-real-{args.notes}"), args.notes)
    if real is None:
        print("no ../shared/fixtures: no real-notes figures")
    else:
        ok &= report(f"real notes ({args.notes:,})", real, args.calls)
    synthetic = ensure_vault(args.synthetic_dir or Path(f"/tmp/vaultsync-bench-{args.notes}"), args.notes)
    ok &= report(f"synthetic ({args.notes:,})", synthetic, args.calls)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
