#!/usr/bin/env python3
"""Instructions a cold scan and ``normalize --check`` execute, counted by valgrind: the one figure a
shared, noisy machine cannot blur.

    python bench/instructions.py [--notes 2000] [--baseline CHECKOUT] [--ops scan,check]

Wall-clock runs on this project's 2-core machine vary by up to 40% from one minute to the next
(other work shares it), which hides a 10% change. Counting instructions does not: the same code on
the same notes executes the same count, run after run. Each figure is one in-process run (jobs=1,
no full-text index, so it counts the parse and the rows, not FTS5), from starting Python to the
index published, on ``--notes`` notes spread over the real-notes vault (``bench/realvault.py``,
when ``../shared`` is there) and of the synthetic one (``bench/synth.py``, seed 1), each copied
into a vault of its own. ``--baseline`` is another checkout of vaultsync (a ``git worktree`` of an
older commit, its C extension built), counted in the same run; each figure is printed with its
ratio to the baseline's. 2,000 notes leave the memos (link resolution, times, link texts) colder
than a whole vault's scan does, so their misses weigh more here. The
wall-clock figures users wait for are ``bench/realvault.py``'s.
Without valgrind the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from realvault import ensure_real_vault  # noqa: E402
from synth import generate  # noqa: E402

# Runs inside the counted process (from "/", so that the current folder's vaultsync is not the one
# imported). It names the modules of this tree and of the tree before the redesign (flat
# modules), so that either can be the baseline.
_PROGRAM = """
import sys, vaultsync
assert vaultsync.__file__.startswith(sys.argv[1]), vaultsync.__file__
try:  # the flat modules first: an editable install would fill in this tree's sub-packages
    from vaultsync.vault import Vault
    from vaultsync import indexing
    from vaultsync.normalizing import WriteMode, normalize_vault
except ImportError:
    from vaultsync.fs.vault import Vault
    from vaultsync.store import indexing
    from vaultsync.rewrite.normalize_files import WriteMode, normalize_vault
assert indexing.__file__.startswith(sys.argv[1]), indexing.__file__
from vaultsync.config import load_settings
vault = Vault(sys.argv[2])
if sys.argv[3] == "scan":
    indexing.rebuild_index(vault, jobs=1)
else:
    normalize_vault(vault, load_settings(vault.root).normalize, WriteMode.CHECK, jobs=1)
print("done")
"""


def subset(source: Path, dest: Path, notes: int) -> Path:
    """``notes`` notes of ``source`` spread evenly over it (every k-th in path order, so that every
    channel is in it, not the first few), copied once into ``dest``."""
    marker = dest / ".subset-complete"
    if marker.exists() and marker.read_text() == f"{source}:{notes}:spread":
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    (dest / ".obsidian").mkdir(parents=True)
    files = sorted(p for p in source.rglob("*.md") if not any(part.startswith(".") for part in p.relative_to(source).parts))
    step = max(1, len(files) // notes)
    for src in files[::step][:notes]:
        target = dest / src.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    marker.write_text(f"{source}:{notes}:spread")
    return dest


def count(tree: Path, vault: Path, op: str) -> int:
    """Instructions of one run of ``op`` on ``vault`` with the vaultsync of ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree), VAULTSYNC_FULLTEXT="0")
    argv = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    argv += [sys.executable, "-c", _PROGRAM, str(tree), str(vault), op]
    done = subprocess.run(argv, env=env, cwd="/", capture_output=True, text=True, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if "done" not in done.stdout or found is None:
        raise SystemExit(f"{tree} {op} on {vault} failed:\n{done.stderr[-1500:]}")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--baseline", type=Path, default=None, help="another vaultsync checkout, counted in the same run")
    ap.add_argument("--ops", default="scan,check")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts")
        return 0
    vaults: dict[str, Path] = {}
    real = ensure_real_vault(Path("/tmp/vaultsync-real-20000"))
    if real is not None:
        vaults["real"] = subset(real, Path(f"/tmp/vaultsync-instructions-real-{args.notes}"), args.notes)
    synthetic = Path("/tmp/vaultsync-bench-20000")
    if not (synthetic / ".synth-complete").exists():
        shutil.rmtree(synthetic, ignore_errors=True)
        generate(synthetic, 20_000, seed=1)
        (synthetic / ".synth-complete").write_text("20000")
    vaults["synthetic"] = subset(synthetic, Path(f"/tmp/vaultsync-instructions-synthetic-{args.notes}"), args.notes)
    trees = [ROOT] + ([args.baseline.resolve()] if args.baseline else [])
    jobs = [(tree, name, op) for name in vaults for op in args.ops.split(",") for tree in trees]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # each count is its own process
        counts = dict(zip(jobs, pool.map(lambda job: count(job[0], vaults[job[1]], job[2]), jobs)))
    print(f"{args.notes:,} notes a vault; millions of instructions, one in-process run each (jobs=1, no full text)")
    print(f"{'vault':<11}{'op':<7}{'this tree':>11}" + (f"{'baseline':>11}{'ratio':>8}" if args.baseline else ""))
    for name in vaults:
        for op in args.ops.split(","):
            mine = counts[(ROOT, name, op)] / 1e6
            line = f"{name:<11}{op:<7}{mine:>11,.0f}"
            if args.baseline:
                base = counts[(args.baseline.resolve(), name, op)] / 1e6
                line += f"{base:>11,.0f}{mine / base:>8.2f}"
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
