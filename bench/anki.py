#!/usr/bin/env python3
"""Anki benchmark: heading cards (one per ``##`` section) from the synthetic vault into an .apkg.

    python bench/anki.py [--notes 2400] [--repeat 3] [--jobs N]

The synthetic vault (bench/synth.py, seed 1) has about 4.4 level-2 headings per note, so 2,400
notes give about 10,300 cards. The index is built first and not timed; the timed part is the
export itself (read, parse, extract, render, write the package). Target: 10,000 cards <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from scan import ensure_vault  # noqa: E402

from exporters.anki import exporter  # noqa: E402
from vaultsync.export.registry import ExportRequest  # noqa: E402
from vaultsync.export.selection import Selection, select_notes  # noqa: E402
from vaultsync.fs.vault import Vault  # noqa: E402
from vaultsync.store.indexing import update_index  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=2_400)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=0)
    args = ap.parse_args()
    root = ensure_vault(Path(f"/tmp/vaultsync-bench-{args.notes}"), args.notes)
    vault = Vault(root)
    index, _ = update_index(vault)
    uris = tuple(select_notes(index, Selection()))
    times, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            options = {"jobs": str(args.jobs)} if args.jobs else {}  # 0: one worker per core
            request = ExportRequest(vault, index, uris, Path(tmp) / "deck.apkg", "bench", options)
            started, before = time.perf_counter(), os.times()
            result = exporter.export(request)
            times.append(time.perf_counter() - started)
            after = os.times()  # CPU seconds of this process and its forked workers: less load-dependent
            cpu.append(sum(after[:4]) - sum(before[:4]))
        size_mb = result.output.stat().st_size / 1e6
    index.close()
    cards = result.details["cards"]
    best, median = min(times), statistics.median(times)
    print(f"{len(uris):,} notes -> {cards:,} cards, {result.details['decks']} decks, {size_mb:.1f} MB package")
    print(f"export: best {best:.2f} s, median {median:.2f} s ({cards / median:,.0f} cards/s); target 10,000 cards <= 3 s")
    print(f"CPU time (all processes): median {statistics.median(cpu):.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0 if cards >= 10_000 and median <= 3.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
