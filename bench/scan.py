#!/usr/bin/env python3
"""Scan benchmark: cold scan, warm scan with nothing changed, one changed note; each beside the floor.

    python bench/scan.py [--notes 20000] [--dir /tmp/vaultsync-bench-20000] [--jobs N]

The synthetic vault (bench/synth.py, seed 1) is generated once and reused. The floor (bench/floor.py:
walk, read, decode and one regex over every note) is measured in the same run, page cache warm,
and every figure is printed with its ratio to it; the cold scan's ratio is the median of its runs
each divided by the floor run just before it. Peak memory is the largest resident set of the
main process and of any worker. If ``obsidiantools`` is installed it is timed on the same vault.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from floor import floor_seconds  # noqa: E402
from synth import generate  # noqa: E402

from vaultsync.fs.vault import Vault  # noqa: E402
from vaultsync.store.indexing import Indexer, update_index  # noqa: E402


def ensure_vault(path: Path, notes: int) -> Path:
    marker = path / ".synth-complete"
    if not marker.exists():
        shutil.rmtree(path, ignore_errors=True)
        print(f"generating {notes:,} notes into {path} ...", flush=True)
        generate(path, notes, seed=1)
        marker.write_text(str(notes))
    return path


def timed_scan(vault: Path, jobs: int | None) -> tuple[float, dict]:
    started = time.perf_counter()
    index, report = update_index(Vault(vault), jobs=jobs)
    index.close()
    return time.perf_counter() - started, report.as_dict()


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--jobs", type=int, default=None, help="parser processes (default: all cores)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    vault = ensure_vault(args.dir or Path(f"/tmp/vaultsync-bench-{args.notes}"), args.notes)
    size_mb = sum(p.stat().st_size for p in vault.rglob("*.md")) / 1e6

    floor_seconds(vault)  # warm the page cache
    # Paired: each cold scan runs right after a floor run and is divided by it, so a change in the
    # machine's speed during the run (a shared VM's neighbours) weighs on both sides of the ratio.
    floors, colds = [], []
    for _ in range(args.repeat):
        floors.append(floor_seconds(vault)[0])
        shutil.rmtree(vault / ".vaultsync", ignore_errors=True)
        seconds, cold = timed_scan(vault, args.jobs)
        colds.append(seconds)
    floor = statistics.median(floors)
    cold_s = statistics.median(colds)
    cold_ratio = statistics.median(c / f for f, c in zip(floors, colds, strict=True))
    cold_peak = peak_mb()

    warm = [timed_scan(vault, args.jobs) for _ in range(args.repeat)]
    warm_s = statistics.median(s for s, _ in warm)
    warm_read = max(r["files_read"] for _, r in warm)

    target = sorted(vault.glob("channel_000/*.md"))[1]
    original = target.read_bytes()
    ones = []
    try:
        for i in range(args.repeat):
            target.write_bytes(original + f"\nedit {i} [[channel_001]]\n".encode())
            ones.append(timed_scan(vault, args.jobs))
    finally:
        target.write_bytes(original)
        timed_scan(vault, args.jobs)
    one_s = statistics.median(s for s, _ in ones)
    one_read = max(r["files_read"] for _, r in ones)

    # the daemon's path: the index and name table stay open, the changed path is known
    index, _ = update_index(Vault(vault))
    indexer = Indexer(Vault(vault), index)
    uri = target.relative_to(vault).as_posix()
    refreshes = []
    try:
        for i in range(max(args.repeat, 5)):
            target.write_bytes(original + f"\nedit {i} [[channel_002]]\n".encode())
            refreshes.append(indexer.refresh([uri]))
    finally:
        target.write_bytes(original)
        indexer.refresh([uri])
        index.close()
    refresh_s = statistics.median(r.seconds for r in refreshes)
    refresh_read = max(r.files_read for r in refreshes)

    print(f"\nvault: {cold['notes']:,} notes, {size_mb:,.0f} MB, {cold['links']:,} links, "
          f"{cold['timestamps']:,} timestamps; {os.cpu_count()} cores; median of {args.repeat}")  # fmt: skip
    rows = [
        ("floor (walk + read + 1 regex)", floor, "-", ""),
        ("cold scan (parse, resolve, SQLite)", cold_s, cold["files_read"], "target <= 3x floor"),
        ("warm scan, nothing changed", warm_s, warm_read, "target <= 0.5 s, 0 files read"),
        ("warm scan (walk), one note changed", one_s, one_read, "the CLI's path"),
        ("refresh of one changed note", refresh_s, refresh_read, "the daemon's path; target <= 50 ms"),
    ]
    print(f"{'measure':<38}{'seconds':>9}{'x floor':>9}{'files read':>12}  note")
    for name, seconds, read, note in rows:
        ratio = cold_ratio if seconds is cold_s else seconds / floor
        print(f"{name:<38}{seconds:>9.3f}{ratio:>9.2f}{read!s:>12}  {note}")
    print(f"cold scan / floor, each pair: {', '.join(f'{c / f:.2f}' for f, c in zip(floors, colds, strict=True))}")
    print(f"peak memory (largest process): {cold_peak:,.0f} MB (target <= 500 MB)")

    try:
        import obsidiantools.api as otools  # type: ignore[import-not-found]
    except ImportError:
        print("obsidiantools: not installed (pip install obsidiantools to compare)")
    else:
        started = time.perf_counter()
        otools.Vault(vault).connect()
        other = time.perf_counter() - started
        print(f"obsidiantools connect: {other:.3f} s = {other / cold_s:.2f}x our cold scan")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
