#!/usr/bin/env python3
"""Export benchmark: one 500-note channel of the synthetic vault to EPUB and to PDF, beside plain
pandoc (its default markdown reader) on the raw concatenated notes, in the same run.

    python bench/export.py [--notes 20000] [--channel channel_000] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from scan import ensure_vault  # noqa: E402

from exporters.pandoc import run_pandoc  # noqa: E402
from vaultsync.exporting import ExportRequest, load_exporter  # noqa: E402
from vaultsync.indexing import update_index  # noqa: E402
from vaultsync.selection import Selection, select_notes  # noqa: E402
from vaultsync.vault import Vault  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--channel", default="channel_000")
    ap.add_argument("--skip-baseline", action="store_true", help="plain pandoc takes minutes")
    args = ap.parse_args()
    root = ensure_vault(Path(f"/tmp/vaultsync-bench-{args.notes}"), args.notes)
    vault = Vault(root)
    index, _ = update_index(vault)
    uris = select_notes(index, Selection.parse(folders=[args.channel]))
    size_mb = sum(vault.path_for(u).stat().st_size for u in uris) / 1e6
    # the yardstick is "500 notes, about 3 MB"; synthetic notes are larger, so time both
    small, total = [], 0
    for uri in uris:
        if total > 3_000_000:
            break
        small.append(uri)
        total += vault.path_for(uri).stat().st_size
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for label, chosen in ((f"{len(uris)} notes", uris), (f"{len(small)} notes, 3 MB", small)):
            for fmt in ("epub", "pdf"):
                exporter = load_exporter(fmt)
                started = time.perf_counter()
                result = exporter.export(ExportRequest(vault, index, tuple(chosen), out / f"x.{fmt}", args.channel))
                rows.append((f"export {fmt} ({label})", time.perf_counter() - started, result.output.stat().st_size))
        if not args.skip_baseline:
            raw = "\n\n".join(vault.path_for(u).read_text(encoding="utf-8") for u in uris)
            started = time.perf_counter()
            run_pandoc(["-f", "markdown", "-t", "epub3", "-o", str(out / "plain.epub"), "--metadata", "title=plain"], raw.encode())
            rows.append((f"plain pandoc -> epub ({len(uris)} notes)", time.perf_counter() - started, (out / "plain.epub").stat().st_size))
    index.close()
    print(f"\n{len(uris)} notes of {args.channel}, {size_mb:.1f} MB")
    print(f"{'measure':<44}{'seconds':>9}{'MB out':>9}")
    for name, seconds, size in rows:
        print(f"{name:<44}{seconds:>9.2f}{size / 1e6:>9.2f}")
    if not args.skip_baseline:
        base = rows[-1][1]
        for name, seconds, _ in rows[:2]:
            print(f"{name}: {base / seconds:.1f}x faster than plain pandoc on the same notes")
    print("targets: EPUB <= 15 s, PDF <= 20 s, >= 5x faster than plain pandoc")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
