#!/usr/bin/env python3
"""Wall time of each query command as a whole process, beside Python's own start-up.

    python bench/cli.py [--notes 20000] [--repeat 7]

On the benchmark vault of real notes (bench/realvault.py; the synthetic one of bench/synth.py
without ../shared), index already built, page cache warm: ``--help``, ``links``, ``backlinks``,
``unresolved``, ``stats``, ``status`` and ``scan`` with nothing changed, each the median of
``--repeat`` runs, beside ``python -c pass`` and ``python -c "import vaultsync"`` measured in the
same run. Without a daemon every query first brings the index up to date (a warm, stat-only scan);
the second column runs each query while ``vaultsync watch`` holds the vault (the index is live, so
a query reads it as it is).
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
sys.path.insert(0, str(HERE))

from realvault import ensure_real_vault  # noqa: E402
from synth import generate  # noqa: E402

TARGETS = {"--help": 0.150, "links": 0.200, "backlinks": 0.200, "stats": 0.200, "status": 0.200,
           "unresolved": 0.300, "scan": 0.500}  # fmt: skip


def wall(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    vault = ensure_real_vault(Path(f"/tmp/vaultsync-real-{args.notes}"), args.notes)
    if vault is None:
        vault = Path(f"/tmp/vaultsync-bench-{args.notes}")
        if not (vault / ".synth-complete").exists():
            shutil.rmtree(vault, ignore_errors=True)
            generate(vault, args.notes, seed=1)
            (vault / ".synth-complete").write_text(str(args.notes))
    py = sys.executable
    vs = [py, "-m", "vaultsync"]
    subprocess.run([*vs, "scan", str(vault)], stdout=subprocess.DEVNULL, check=False)
    note = sorted(p for p in vault.rglob("*.md") if ".vaultsync" not in p.parts)[len(list(vault.iterdir())) // 2]
    uri = note.relative_to(vault).as_posix()
    commands = {
        "--help": [*vs, "--help"],
        "links": [*vs, "links", uri, str(vault)],
        "backlinks": [*vs, "backlinks", uri, str(vault)],
        "unresolved": [*vs, "unresolved", str(vault)],
        "stats": [*vs, "stats", str(vault)],
        "status": [*vs, "status", str(vault)],
        "scan": [*vs, "scan", str(vault)],
    }
    base = wall([py, "-c", "pass"], args.repeat)
    imp = wall([py, "-c", "import vaultsync"], args.repeat)
    alone = {name: wall(argv, args.repeat) for name, argv in commands.items()}
    daemon = subprocess.Popen([*vs, "watch", str(vault)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = vault / ".vaultsync" / "daemon.json"
        deadline = time.time() + 60
        while time.time() < deadline and not (lock.exists() and '"watching"' in lock.read_text()):
            time.sleep(0.2)
        live = {name: wall(argv, args.repeat) for name, argv in commands.items() if name not in ("scan", "--help")}
    finally:
        daemon.terminate()
        daemon.wait(30)
    notes = sum(1 for _ in vault.rglob("*.md"))
    print(f"{notes:,} notes in {vault}; {os.cpu_count()} cores; median of {args.repeat}; whole processes")
    print(f"python -c pass: {base * 1000:.0f} ms; python -c 'import vaultsync': {imp * 1000:.0f} ms")
    print(f"{'command':<12}{'ms':>8}{'x pass':>8}{'ms, daemon running':>20}{'target ms':>11}")
    for name, seconds in alone.items():
        running = f"{live[name] * 1000:.0f}" if name in live else "-"
        print(f"{name:<12}{seconds * 1000:>8.0f}{seconds / base:>8.1f}{running:>20}{TARGETS[name] * 1000:>11.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
