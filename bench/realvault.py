#!/usr/bin/env python3
"""The benchmark vault of real notes, and the cold scan and ``normalize --check`` on it as whole processes.

    python bench/realvault.py [--notes 20000] [--dir /tmp/vaultsync-real-20000] [--repeat 3]

The vault is made from the channels of ``../shared/fixtures/`` (tubegraph-more, then tubegraph-sample),
each copied under new folder names (``<channel>~2``, ``<channel>~3``, ...) until it holds ``--notes``
notes; links keep their targets, so every copy resolves as Obsidian would resolve duplicates. It is
built once and reused (a marker file records how many notes it holds). Without ``../shared`` there
is nothing to copy and the script says so and exits 0. Other benchmarks call :func:`ensure_real_vault`.

Figures, each the median of ``--repeat`` runs, page cache warm, measured as whole processes
(what a user waits for): the floor (``bench/floor.py`` as its own process: walk, read, decode, one
regex), ``vaultsync scan --rebuild`` and ``vaultsync normalize --check``, on this vault and on the
synthetic one (``bench/synth.py``), each with its ratio to the floor of the same vault and run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent.parent / "shared" / "fixtures"
SOURCES = ("tubegraph-more", "tubegraph-sample")

__all__ = ["ensure_real_vault", "FIXTURES"]


def _channels() -> list[Path]:
    found = []
    for source in SOURCES:
        root = FIXTURES / source
        if root.is_dir():
            found += sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return found


def ensure_real_vault(path: Path, notes: int = 20_000) -> Path | None:
    """Build (once) and return a vault of ``notes`` real notes, or None without ``../shared``."""
    marker = path / ".realvault-complete"
    if marker.exists() and marker.read_text() == str(notes):
        return path
    channels = _channels()
    if not channels:
        return None
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / ".obsidian").mkdir()
    print(f"copying real notes into {path} until it holds {notes:,} ...", flush=True)
    count, copy = 0, 1
    while count < notes:
        for channel in channels:
            files = sorted(channel.rglob("*.md"))
            if not files:
                continue
            name = channel.name if copy == 1 else f"{channel.name}~{copy}"
            for src in files:
                if count >= notes:
                    break
                dest = path / name / src.relative_to(channel)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
                count += 1
            if count >= notes:
                break
        copy += 1
    marker.write_text(str(notes))
    return path


def _run(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(vault: Path, repeat: int) -> dict[str, float]:
    py = sys.executable
    floor_cmd = [py, str(HERE / "floor.py"), str(vault), "--repeat", "1"]
    scan_cmd = [py, "-m", "vaultsync", "scan", str(vault), "--rebuild"]
    check_cmd = [py, "-m", "vaultsync", "normalize", str(vault), "--check"]
    _run(floor_cmd)  # warm the page cache
    _run(scan_cmd)
    floors, scans, checks = [], [], []
    for _ in range(repeat):
        floors.append(_run(floor_cmd))
        scans.append(_run(scan_cmd))
        checks.append(_run(check_cmd))
    floor, scan, check = (statistics.median(x) for x in (floors, scans, checks))
    return {"floor": floor, "scan": scan, "check": check}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--synthetic-dir", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    real = ensure_real_vault(args.dir or Path(f"/tmp/vaultsync-real-{args.notes}"), args.notes)
    if real is None:
        print(f"no fixtures at {FIXTURES}: nothing to copy, no real-notes figures")
        return 0
    sys.path.insert(0, str(HERE))
    from synth import generate  # noqa: PLC0415

    synthetic = args.synthetic_dir or Path(f"/tmp/vaultsync-bench-{args.notes}")
    if not (synthetic / ".synth-complete").exists():
        shutil.rmtree(synthetic, ignore_errors=True)
        generate(synthetic, args.notes, seed=1)
        (synthetic / ".synth-complete").write_text(str(args.notes))
    print(f"{os.cpu_count()} cores; median of {args.repeat}; whole processes, page cache warm")
    print(f"{'vault':<12}{'floor s':>9}{'scan --rebuild s':>18}{'x floor':>9}{'normalize --check s':>21}{'x scan':>8}")
    for label, vault in (("real", real), ("synthetic", synthetic)):
        m = measure(vault, args.repeat)
        print(f"{label:<12}{m['floor']:>9.3f}{m['scan']:>18.3f}{m['scan'] / m['floor']:>9.2f}"
              f"{m['check']:>21.3f}{m['check'] / m['scan']:>8.2f}")  # fmt: skip
    print("targets (issue 16): real scan <= 3x floor; normalize --check <= 2x scan; synthetic no slower")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
