#!/usr/bin/env python3
"""Export benchmark: one 500-note channel of the synthetic vault to EPUB and to PDF, beside plain
pandoc (its default markdown reader) on the raw concatenated notes, in the same run: to EPUB, and
pandoc's own PDF route (markdown -> typst with its default template -> typst compile) for each PDF.

    python bench/export.py [--notes 20000] [--channel channel_000] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from scan import ensure_vault  # noqa: E402

from exporters.pandoc import run_pandoc  # noqa: E402
from vaultsync.export.registry import ExportRequest, load_exporter  # noqa: E402
from vaultsync.export.selection import Selection, select_notes  # noqa: E402
from vaultsync.fs.vault import Vault  # noqa: E402
from vaultsync.store.indexing import update_index  # noqa: E402


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
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for label, chosen in ((f"{len(uris)} notes", uris), (f"{len(small)} notes, 3 MB", small)):
            for fmt in ("epub", "pdf"):
                exporter = load_exporter(fmt)
                started = time.perf_counter()
                result = exporter.export(ExportRequest(vault, index, tuple(chosen), out / f"x.{fmt}", args.channel))
                rows.append((f"export {fmt} ({label})", time.perf_counter() - started, result.output.stat().st_size))
        baselines = {}
        if not args.skip_baseline:
            raw = "\n\n".join(vault.path_for(u).read_text(encoding="utf-8") for u in uris)
            started = time.perf_counter()
            run_pandoc(["-f", "markdown", "-t", "epub3", "-o", str(out / "plain.epub"), "--metadata", "title=plain"], raw.encode())
            baselines["epub", len(uris)] = time.perf_counter() - started
            rows.append((f"plain pandoc -> epub ({len(uris)} notes)", baselines["epub", len(uris)], (out / "plain.epub").stat().st_size))
            for chosen in (uris, small):
                seconds = plain_pdf(vault, chosen, out)
                baselines["pdf", len(chosen)] = seconds
                rows.append((f"plain pandoc -> typst -> pdf ({len(chosen)} notes)", seconds, (out / "plain.pdf").stat().st_size))
    index.close()
    load_after = os.getloadavg()
    print(f"\n{len(uris)} notes of {args.channel}, {size_mb:.1f} MB; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"{'measure':<52}{'seconds':>9}{'MB out':>9}")
    for name, seconds, size in rows:
        print(f"{name:<52}{seconds:>9.2f}{size / 1e6:>9.2f}")
    if baselines:
        for (name, seconds, _), fmt, count in zip(rows[:4], ("epub", "pdf", "epub", "pdf"), (len(uris), len(uris), len(small), len(small)), strict=True):
            base = baselines.get((fmt, count))
            if base:
                print(f"{name}: {base / seconds:.1f}x faster than plain pandoc on the same notes")
    print("targets: EPUB <= 15 s, PDF <= 20 s, >= 5x faster than plain pandoc")
    return 0


def plain_pdf(vault: Vault, uris: list[str], out: Path) -> float:
    """pandoc's own PDF route on the raw notes: markdown -> typst (its default template) -> typst compile."""
    import typst

    raw = "\n\n".join(vault.path_for(u).read_text(encoding="utf-8") for u in uris)
    started = time.perf_counter()
    source = out / "plain.typ"
    source.write_bytes(run_pandoc(["-f", "markdown", "-t", "typst", "-s", "--metadata", "title=plain"], raw.encode()))
    (out / "plain.pdf").write_bytes(typst.compile(str(source), root=str(out)))
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
