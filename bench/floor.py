#!/usr/bin/env python3
"""The "floor" baseline for vault scanning.

The least work any link scanner must do: walk every ``.md`` file (os.walk,
skipping dot folders such as ``.obsidian``/``.git``/``.trash``), read it as
bytes, decode UTF-8 and run one compiled wikilink regex with ``findall``.
vaultsync's scanner is compared against this number.

Usage::

    python bench/floor.py VAULT [--repeat 2]

API::

    floor_seconds(vault) -> (elapsed_seconds, total_matches)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

__all__ = ["floor_seconds", "WIKILINK"]

WIKILINK = re.compile(r"\[\[([^\]]+)\]\]")


def floor_seconds(vault: Path) -> tuple[float, int]:
    """Return (elapsed seconds measured with time.perf_counter, total regex matches)."""
    findall = WIKILINK.findall
    join = os.path.join
    total = 0
    t0 = time.perf_counter()
    for dirpath, dirnames, filenames in os.walk(vault):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.endswith(".md"):
                continue
            with open(join(dirpath, name), "rb") as f:
                data = f.read()
            total += len(findall(data.decode("utf-8")))
    return time.perf_counter() - t0, total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Time the floor baseline (walk + read + decode + one regex).")
    ap.add_argument("vault", type=Path)
    ap.add_argument("--repeat", type=int, default=2, help="runs (the first may be a cold cache)")
    args = ap.parse_args(argv)
    for i in range(max(1, args.repeat)):
        secs, matches = floor_seconds(args.vault)
        print(f"run {i + 1}: {secs:.3f} s  {matches} matches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
