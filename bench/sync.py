#!/usr/bin/env python3
"""Git sync benchmark: one cycle on a 20,000-note repository with a local bare remote.

    python bench/sync.py [--notes 20000] [--changed 1 100] [--repeat 3]

Two clones of the synthetic vault (bench/synth.py) share a bare remote under /tmp (kept between
runs). For each size N it times two kinds of cycle on the laptop, median of --repeat:

- local: N notes edited on the laptop; commit, fetch (nothing new), push;
- both:  N other notes edited and pushed from the desktop first; commit, fetch, predict with
         merge-tree, rebase, push, and refresh the laptop's index for the N pulled notes.

Target: a one-note cycle <= 1.5 s.
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
sys.path.insert(0, str(HERE.parent))

from scan import ensure_vault  # noqa: E402

from vaultsync.config import GitSettings  # noqa: E402
from vaultsync.fs.vault import Vault  # noqa: E402
from vaultsync.store.indexing import Indexer, rebuild_index  # noqa: E402
from vaultsync.sync.cycle import setup_repository, sync_vault  # noqa: E402

SETTINGS = GitSettings(max_delete_share=1.0)


def prepare(notes: int) -> tuple[Path, Path]:
    """The laptop and desktop clones (built once, reused while the marker file exists)."""
    base = Path(f"/tmp/vaultsync-bench-sync-{notes}")
    laptop, desktop, remote = base / "laptop", base / "desktop", base / "remote.git"
    if not (base / ".complete").exists():
        source = ensure_vault(Path(f"/tmp/vaultsync-bench-{notes}"), notes)
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        started = time.perf_counter()
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
        shutil.copytree(source, laptop, ignore=shutil.ignore_patterns(".vaultsync", ".synth-complete"))
        setup_repository(laptop, str(remote), SETTINGS)
        sync_vault(laptop, SETTINGS)
        subprocess.run(["git", "clone", "-q", str(remote), str(desktop)], check=True)
        print(f"built the repositories in {time.perf_counter() - started:.1f} s", flush=True)
        (base / ".complete").write_text("ok")
    return laptop, desktop


def edit(root: Path, uris: list[str], tag: str) -> None:
    for uri in uris:
        with open(root / uri, "a", encoding="utf-8") as fh:
            fh.write(f"\nedited in run {tag}\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--changed", type=int, nargs="+", default=[1, 100])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
    os.environ.setdefault("GIT_COMMITTER_NAME", "bench")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@example.com")
    laptop, desktop = prepare(args.notes)
    sync_vault(desktop, SETTINGS)  # both sides level before timing
    sync_vault(laptop, SETTINGS)
    vault = Vault(laptop)
    index, _ = rebuild_index(vault)
    indexer = Indexer(vault, index)
    tracked = subprocess.run(["git", "ls-files", "-z", "*.md"], cwd=laptop, capture_output=True, text=True, check=True)
    uris = sorted(tracked.stdout.split("\0")[:-1])
    print(f"{len(uris):,} notes tracked; median of {args.repeat}", flush=True)
    print(f"{'changed':>8} {'kind':>6} {'seconds':>8}  per run")
    stamp = str(int(time.time()))
    cursor = 0
    for n in args.changed:
        for kind in ("local", "both"):
            runs = []
            for r in range(args.repeat):
                mine = uris[cursor : cursor + n]
                theirs = uris[cursor + n : cursor + 2 * n]
                cursor += 2 * n
                if kind == "both":
                    edit(desktop, theirs, f"{stamp}-{r}")
                    sync_vault(desktop, SETTINGS)
                edit(laptop, mine, f"{stamp}-{r}")
                started = time.perf_counter()
                report = sync_vault(laptop, SETTINGS, indexer=indexer)
                runs.append(time.perf_counter() - started)
                assert report.pushed and report.committed == {"modified": n}, report
                assert len(report.changed) == (n if kind == "both" else 0), report
            print(f"{n:>8} {kind:>6} {statistics.median(runs):>8.3f}  " + " ".join(f"{s:.3f}" for s in runs), flush=True)
            sync_vault(desktop, SETTINGS)
    index.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
