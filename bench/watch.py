#!/usr/bin/env python3
"""Daemon benchmark on the synthetic vault: save-to-normalized latency, a rename with 100 backlinks,
and CPU use while idle.

    python bench/watch.py [--notes 20000] [--saves 200]

Runs the real daemon (real watchdog) on a copy of the synthetic vault with the default debounce.
A save's latency runs from the write to the end of the batch that normalized it and updated the
index; "processing" is that batch's own time, the rest is debounce and event delivery.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from scan import ensure_vault  # noqa: E402

from vaultsync.config import Settings  # noqa: E402
from vaultsync.daemon.loop import BatchReport, Daemon, Hooks  # noqa: E402
from vaultsync.fs.vault import Vault  # noqa: E402
from vaultsync.store.indexing import rebuild_index  # noqa: E402

ANCHOR = '<a class="yt-timestamp" data-t="00:02:03">[00:02:03]</a>'


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--saves", type=int, default=200)
    ap.add_argument("--idle-s", type=float, default=10.0)
    args = ap.parse_args()
    source = ensure_vault(Path(f"/tmp/vaultsync-bench-{args.notes}"), args.notes)
    root = Path(f"/tmp/vaultsync-bench-{args.notes}-watch")
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".vaultsync"))
    hub = root / "hub" / "hub_note.md"
    hub.parent.mkdir()
    hub.write_text("---\ntitle: Hub\n---\nlinked from 100 notes\n")
    for i in range(100):
        (root / "hub" / f"spoke_{i:03}.md").write_text("---\ntitle: spoke\n---\nsee [[hub_note]] and [[hub_note|the hub]]\n")
    index, _ = rebuild_index(Vault(root))
    index.close()

    batches: list[BatchReport] = []
    done = threading.Condition()

    def after_batch(report: BatchReport) -> None:
        with done:
            batches.append(report)
            done.notify_all()

    daemon = Daemon(Vault(root), Settings(), Hooks(after_batch=after_batch))
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    while daemon.state != "watching":
        time.sleep(0.05)
    time.sleep(1)

    notes = sorted(root.glob("channel_00*/*.md"))[: args.saves]
    latencies, processing = [], []
    for i, path in enumerate(notes):
        text = path.read_text(encoding="utf-8") + f"\nA new line {i} {ANCHOR}\n"
        with done:
            seen = len(batches)
            started = time.perf_counter()
            path.write_text(text, encoding="utf-8")
            while not any(b.normalized for b in batches[seen:]):
                if not done.wait(timeout=10):
                    raise SystemExit(f"no batch normalized {path}")
            finished = time.perf_counter()
        batch = next(b for b in batches[seen:] if b.normalized)
        latencies.append(finished - started)
        processing.append(batch.seconds)
        time.sleep(0.15)  # let the echo batch of our own write go by
    with done:
        seen = len(batches)
        started = time.perf_counter()
        os.rename(hub, hub.with_name("hub_renamed.md"))
        while not any(b.moved for b in batches[seen:]):
            done.wait(timeout=30)
        rename_s = time.perf_counter() - started
    rename_batch = next(b for b in batches[seen:] if b.moved)
    time.sleep(2)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    time.sleep(args.idle_s)
    idle_cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100
    daemon.stop()
    thread.join(timeout=30)

    debounce = [t - p for t, p in zip(latencies, processing, strict=True)]
    print(f"\nvault: {args.notes:,} notes + 101 hub notes; {len(latencies)} saves; default debounce (quiet 100 ms, max 1 s)")
    print(f"{'measure':<44}{'p50 ms':>9}{'p95 ms':>9}")
    for name, values in [
        ("save -> normalized on disk + index updated", latencies),
        ("  of which processing (the batch)", processing),
        ("  of which debounce and event delivery", debounce),
    ]:
        print(f"{name:<44}{percentile(values, 50) * 1000:>9.1f}{percentile(values, 95) * 1000:>9.1f}")
    print(f"rename of a note with 100 backlinks: {rename_s * 1000:.0f} ms end to end, "
          f"{rename_batch.seconds * 1000:.0f} ms processing, {rename_batch.links_updated} links updated")  # fmt: skip
    print(f"idle CPU over {args.idle_s:.0f} s: {idle_cpu:.2f}% of one core")
    print("targets: p95 <= 300 ms; one-note batch processing <= 30 ms; idle CPU near 0")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
