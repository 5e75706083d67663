#!/usr/bin/env python3
"""Bases benchmark: one view over 20,000 notes filtering on a property and on a tag, beside the
index's plain note listing, in process and as a whole ``vaultsync base`` process.

    python bench/bases.py [--notes 20000] [--repeat 5]

Vaults: the real-notes one (bench/realvault.py ``ensure_real_vault``; skipped without
``../shared``) and the synthetic one (bench/synth.py, seed 1), each built once under /tmp with
its own name (so other benchmarks' indexes are not touched). Two ``.base`` files are written at
the vault root. Figures are medians of ``--repeat`` runs, page cache and index warm:

- in process, from an open index: the baseline ``Index.note_rows()`` (every note's uri, title
  and frontmatter, which a view needs at least), then ``VaultData`` + ``evaluate_base`` for each
  view (target: <= 200 ms);
- as whole processes: ``vaultsync scan`` (warm: the floor of any command that refreshes the
  index first) beside ``vaultsync base FILE --json``.

Each figure is printed as wall time and CPU time: on a shared machine the wall time includes the
time other jobs held the cores, the CPU time does not.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from realvault import ensure_real_vault  # noqa: E402
from scan import ensure_vault  # noqa: E402

from vaultsync.bases import VaultData, evaluate_base, load_base  # noqa: E402
from vaultsync.fs.vault import Vault  # noqa: E402
from vaultsync.store.indexing import update_index  # noqa: E402

BASES = {
    "property": """filters:
  and:
    - videoId.startsWith("a") || title.lower().contains("history")
views:
  - type: table
    name: Property
    order: [file.name, title, videoId]
    sort:
      - property: title
        direction: ASC
    limit: 100
""",
    "tag": """filters: file.hasTag("{tag}")
views:
  - type: table
    name: Tag
    order: [file.name, title, file.folder]
    sort:
      - property: file.name
        direction: ASC
""",
}


def _median(fn, repeat: int) -> tuple[float, float, object]:
    """Median wall time and median CPU time (this process) of ``repeat`` runs, and the last
    result. On a shared machine the CPU time is the closer to what the code costs on an idle core."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process(argv: list[str], repeat: int) -> tuple[float, float]:
    """Median wall and CPU time (the process and its children) of a whole command."""

    def run() -> float:
        before = _children_cpu()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return _children_cpu() - before

    run()  # warm
    walls, cpus = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        cpus.append(run())
        walls.append(time.perf_counter() - started)
    return statistics.median(walls), statistics.median(cpus)


def _common_tag(index) -> str:
    counts = index.tag_counts()
    return counts[0][0] if counts else "none"


def measure(name: str, root: Path, repeat: int) -> None:
    vault = Vault(root)
    index, _ = update_index(vault)
    try:
        tag = _common_tag(index)
        for kind, text in BASES.items():
            (root / f"bench-{kind}.base").write_text(text.replace("{tag}", tag), encoding="utf-8")
        notes = len(index.uris(notes_only=True))
        print(f"\n{name}: {notes:,} notes at {root} (tag filter: #{tag}); wall ms / CPU ms")
        listing, listing_cpu, _ = _median(index.note_rows, repeat)
        print(f"  baseline Index.note_rows()             {listing * 1000:7.1f} / {listing_cpu * 1000:7.1f}")
        for kind, text in BASES.items():
            base = load_base(text.replace("{tag}", tag), f"bench-{kind}.base")

            def view(base=base):
                return evaluate_base(base, VaultData(index, vault))

            seconds, cpu, table = _median(view, repeat)
            rows = len(table.rows)  # type: ignore[attr-defined]
            matched = table.matched  # type: ignore[attr-defined]
            print(f"  view on a {kind:<8} (VaultData + eval)  {seconds * 1000:7.1f} / {cpu * 1000:7.1f}  "
                  f"({cpu / listing_cpu:.1f}x the baseline's CPU; {matched:,} matched, {rows:,} shown)")  # fmt: skip
    finally:
        index.close()
    py = sys.executable
    scan, scan_cpu = _process([py, "-m", "vaultsync", "scan", str(root)], repeat)
    print(f"  process: vaultsync scan (warm)          {scan * 1000:7.1f} / {scan_cpu * 1000:7.1f}")
    for kind in BASES:
        seconds, cpu = _process([py, "-m", "vaultsync", "base", f"bench-{kind}.base", str(root), "--json"], repeat)
        print(f"  process: vaultsync base ({kind:<8})     {seconds * 1000:7.1f} / {cpu * 1000:7.1f}  "
              f"(+{(cpu - scan_cpu) * 1000:.0f} ms CPU over the scan)")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    real = ensure_real_vault(Path(f"/tmp/vaultsync-bases-real-{args.notes}"), args.notes)
    if real is None:
        print("real-notes vault: skipped (../shared/fixtures is not present)")
    else:
        measure("real notes", real, args.repeat)
    synth = ensure_vault(Path(f"/tmp/vaultsync-bases-synth-{args.notes}"), args.notes)
    measure("synthetic", synth, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
