#!/usr/bin/env python3
"""Normalize benchmark: normalize a whole synthetic vault, then --check the normalized vault.

    python bench/normalize.py [--notes 20000] [--jobs N]

Works on a copy of the synthetic vault (bench/synth.py, seed 1) so the scan benchmark's vault stays
as generated. The floor (walk + read + one regex) and a cold index scan are measured in the same
run; the target is ``normalize --check`` on the normalized vault <= 2x the cold scan.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from floor import floor_seconds  # noqa: E402
from scan import ensure_vault  # noqa: E402

from vaultsync.config import NormalizeSettings  # noqa: E402
from vaultsync.fs.vault import Vault  # noqa: E402
from vaultsync.rewrite.normalize_files import WriteMode, normalize_vault  # noqa: E402
from vaultsync.store.indexing import rebuild_index  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    source = ensure_vault(Path(f"/tmp/vaultsync-bench-{args.notes}"), args.notes)
    vault = Path(f"/tmp/vaultsync-bench-{args.notes}-normalize")
    shutil.rmtree(vault, ignore_errors=True)
    shutil.copytree(source, vault, ignore=shutil.ignore_patterns(".vaultsync"))
    settings = NormalizeSettings()

    floor_seconds(vault)
    floor = statistics.median(floor_seconds(vault)[0] for _ in range(args.repeat))
    colds = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        index, _ = rebuild_index(Vault(vault), jobs=args.jobs)
        index.close()
        colds.append(time.perf_counter() - started)
    cold = statistics.median(colds)

    started = time.perf_counter()
    first = normalize_vault(Vault(vault), settings, WriteMode.WRITE, jobs=args.jobs)
    write_s = time.perf_counter() - started
    checks = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        report = normalize_vault(Vault(vault), settings, WriteMode.CHECK, jobs=args.jobs)
        checks.append(time.perf_counter() - started)
        assert report.files_changed == 0, "normalizing twice changed something"
    check = statistics.median(checks)

    c = first.counts
    print(f"\nvault: {first.files_scanned:,} notes; first run changed {first.files_changed:,} notes: "
          f"{c['timestamps_rewritten']:,} timestamps, {c['links_trimmed']:,} links trimmed, "
          f"{c['links_repaired']:,} repaired, {c['links_unresolved']:,} left unresolved")  # fmt: skip
    print(f"{'measure':<42}{'seconds':>9}{'x floor':>9}{'x cold scan':>13}")
    for name, seconds in [
        ("floor (walk + read + 1 regex)", floor),
        ("cold scan (index rebuild)", cold),
        ("normalize, writing (first run)", write_s),
        ("normalize --check, normalized vault", check),
    ]:
        print(f"{name:<42}{seconds:>9.3f}{seconds / floor:>9.2f}{seconds / cold:>13.2f}")
    print("target: normalize --check <= 2x cold scan")
    shutil.rmtree(vault, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
