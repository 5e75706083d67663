#!/usr/bin/env python3
"""Search benchmark: query latency in process and through the HTTP API, index size, and what the
full-text index costs a cold scan and a one-note refresh; on the real and the synthetic vault.

    python bench/search.py [--notes 20000] [--vaults real,synth] [--repeat 1] [--queries 200]

The vaults are ``bench/realvault.py``'s ``ensure_real_vault`` (real notes copied from
``../shared/fixtures``; skipped without it) and ``bench/synth.py``'s synthetic one, each in a
folder of its own (``/tmp/vaultsync-search-{real,synth}-<N>``) so that this script's index never
replaces another benchmark's. For each vault:

- the cold scan as a whole process, ``python -m vaultsync scan --rebuild``, without the full-text
  rows (``VAULTSYNC_FULLTEXT=0``, a switch for this script) and with them, alternating, the
  median of ``--repeat`` runs each; and the index's size each way;
- a fixed list of ``--queries`` queries made from the vault with a fixed seed: frequent and
  rare words, middling ones, phrases taken from passages, prefixes, OR, exclusions and the
  operators (``section:``, ``file:``, ``path:``, ``tag:``, ``video:``); each run twice in process
  (:func:`vaultsync.search.engine.search`, limit 20), p50/p95 of the second round;
- the same queries through ``GET /search`` of a ``vaultsync serve`` process, one keep-alive
  client, timed from sending to the last byte (p50/p95);
- a one-note refresh (``Indexer.refresh`` after appending a line to a note), median of 20, with
  the full-text rows and without.

Targets: p50 <= 10 ms, p95 <= 50 ms in process, p95 <= 30 ms through the API; the full-text
index adds <= 30% to the cold scan and <= 2 ms to a one-note refresh.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from api import percentile, start_server  # noqa: E402
from realvault import ensure_real_vault  # noqa: E402
from scan import ensure_vault  # noqa: E402

from vaultsync.fs.vault import Vault  # noqa: E402
from vaultsync.search.engine import search  # noqa: E402
from vaultsync.store.indexing import Indexer, update_index  # noqa: E402
from vaultsync.store.rows import decode_timestamps, encode_timestamps
from vaultsync.text.parse import body_start  # noqa: E402
from vaultsync.text.passages import note_passages  # noqa: E402
from vaultsync.text.scan import scan_body  # noqa: E402

WORD = re.compile(r"[^\W\d_]{3,}")


def cold_scan(vault: Path, fulltext: bool) -> tuple[float, int]:
    env = {**os.environ, "VAULTSYNC_FULLTEXT": "1" if fulltext else "0", "PYTHONPATH": str(HERE.parent)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vaultsync", "scan", "--rebuild", "--json", str(vault)], env=env,
                   check=True, stdout=subprocess.DEVNULL, cwd=HERE.parent)  # fmt: skip
    seconds = time.perf_counter() - started
    return seconds, (vault / ".vaultsync" / "index.sqlite").stat().st_size


def make_queries(vault: Path, count: int, seed: int = 7) -> list[str]:
    """A fixed mix of queries drawn from the vault's own words (the same for the same vault)."""
    rng = random.Random(seed)
    notes = sorted(p for p in vault.rglob("*.md") if ".vaultsync" not in p.parts and ".obsidian" not in p.parts)
    sample = rng.sample(notes, min(400, len(notes)))
    freq: collections.Counter[str] = collections.Counter()
    passages: list[str] = []
    headings: list[str] = []
    videos: list[str] = []
    for path in sample:
        text = path.read_text(encoding="utf-8", errors="replace")
        start = body_start(text)
        scanned = scan_body(text, start)
        found = note_passages(text, start, scanned.headings, decode_timestamps(encode_timestamps(scanned.timestamps)))
        passages += [p.text for p in found if len(p.text.split()) >= 6]
        headings += [h for p in found for h in p.heading.split(" > ")[-1:] if h and "[" not in h]
        freq.update(w.lower() for w in WORD.findall(text[start:]) if w.isascii())
        videos += re.findall(r"(?m)^videoId: ([\w-]{11})$", text[:start])
    ranked = [w for w, _ in freq.most_common() if len(w) > 3 and w not in {"class", "timestamp", "data"}]
    frequent, rare, middle = ranked[:60], [w for w in ranked if freq[w] == 1], ranked[200:2000]
    folders = sorted({p.parent.relative_to(vault).as_posix() for p in sample})
    picks = {
        "frequent": [rng.choice(frequent) for _ in range(count * 20 // 100)],
        "rare": rng.sample(rare, min(len(rare), count * 20 // 100)),
        "middle": rng.sample(middle, count * 15 // 100),
        "phrase": [],
        "prefix": [rng.choice(middle)[:5] + "*" for _ in range(count * 10 // 100)],
        "or": [f"{rng.choice(middle)} OR {rng.choice(middle)}" for _ in range(count * 10 // 100)],
        "exclusion": [f"{rng.choice(frequent)} -{rng.choice(frequent)}" for _ in range(count * 5 // 100)],
        "operator": [],
    }
    for text in rng.sample(passages, count * 15 // 100):
        words = WORD.findall(text)
        at = rng.randrange(max(1, len(words) - 3))
        picks["phrase"].append('"' + " ".join(words[at : at + rng.choice((2, 3))]) + '"')
    for i in range(count - sum(len(v) for v in picks.values())):
        word = rng.choice(middle)
        picks["operator"].append([
            f'section:"{rng.choice(headings).split()[0]}" {word}' if headings else word,
            f"file:{rng.choice(notes).stem[:6]} {rng.choice(frequent)}",
            f"path:{rng.choice(folders)[:8]} {word}",
            f"video:{rng.choice(videos)} {rng.choice(frequent)}" if videos else word,
            f"{word} tag:youtube",
        ][i % 5])  # fmt: skip
    return [q for group in picks.values() for q in group][:count]


def in_process(vault: Path, queries: list[str]) -> tuple[list[float], int]:
    index, _ = update_index(Vault(vault))
    try:
        hits = 0
        for query in queries:  # a first round: the page cache and SQLite's own cache warm
            hits += bool(search(index, query))
        times = []
        for query in queries:
            started = time.perf_counter()
            search(index, query)
            times.append(time.perf_counter() - started)
        return times, hits
    finally:
        index.close()


def through_api(vault: Path, queries: list[str]) -> list[float]:
    proc, info = start_server(vault)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=60)
        headers = {"Authorization": f"Bearer {info['token']}"}
        times = []
        for rnd in range(2):
            for query in queries:
                started = time.perf_counter()
                conn.request("GET", "/search?" + urlencode({"q": query, "limit": 20}), headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    raise SystemExit(f"GET /search?q={query!r}: {resp.status}")
                if rnd:
                    times.append(time.perf_counter() - started)
        conn.close()
        return times
    finally:
        proc.terminate()
        proc.wait()


def refresh_ms(vault: Path, fulltext: bool, rounds: int = 20) -> float:
    os.environ["VAULTSYNC_FULLTEXT"] = "1" if fulltext else "0"
    index, _ = update_index(Vault(vault))
    indexer = Indexer(Vault(vault), index)
    note = sorted(uri for uri in indexer.stored if uri.endswith(".md"))[len(indexer.stored) // 2]
    path = vault / note
    original = path.read_bytes()
    times = []
    try:
        for i in range(rounds):
            path.write_bytes(original + f"\nA line added by bench/search.py, round {i}.\n".encode())
            started = time.perf_counter()
            indexer.refresh([note])
            times.append(time.perf_counter() - started)
    finally:
        path.write_bytes(original)
        indexer.refresh([note])
        index.close()
        os.environ["VAULTSYNC_FULLTEXT"] = "1"
    return statistics.median(times) * 1000


def measure(name: str, vault: Path, args: argparse.Namespace) -> dict[str, object]:
    print(f"== {name}: {vault}", flush=True)
    scans: dict[bool, list[float]] = {False: [], True: []}
    sizes: dict[bool, int] = {}
    for _ in range(args.repeat):
        for fulltext in (False, True):
            seconds, sizes[fulltext] = cold_scan(vault, fulltext)
            scans[fulltext].append(seconds)
            print(f"   cold scan, full text {'on ' if fulltext else 'off'}: {seconds:.2f} s, index {sizes[fulltext] / 1e6:.0f} MB", flush=True)
    without, with_ = statistics.median(scans[False]), statistics.median(scans[True])
    queries = make_queries(vault, args.queries)
    times, found = in_process(vault, queries)
    api_times = through_api(vault, queries)
    refresh = {flag: refresh_ms(vault, flag) for flag in (False, True)}
    slowest = sorted(zip(times, queries, strict=True), reverse=True)[:5]
    result = {
        "vault": name, "notes": args.notes, "queries": len(queries), "queries_with_hits": found,
        "cold_scan_s": {"without_fulltext": round(without, 2), "with_fulltext": round(with_, 2),
                        "added_pct": round(100 * (with_ / without - 1), 1)},
        "index_mb": {"without_fulltext": round(sizes[False] / 1e6, 1), "with_fulltext": round(sizes[True] / 1e6, 1)},
        "in_process_ms": {"p50": round(percentile(times, 50) * 1000, 2), "p95": round(percentile(times, 95) * 1000, 2),
                          "max": round(max(times) * 1000, 1)},
        "api_ms": {"p50": round(percentile(api_times, 50) * 1000, 2), "p95": round(percentile(api_times, 95) * 1000, 2)},
        "refresh_ms": {"without_fulltext": round(refresh[False], 2), "with_fulltext": round(refresh[True], 2),
                       "added": round(refresh[True] - refresh[False], 2)},
        "slowest": [[round(t * 1000, 1), q] for t, q in slowest],
    }  # fmt: skip
    print(json.dumps(result, ensure_ascii=False, indent=1), flush=True)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--vaults", default="real,synth")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = ap.parse_args()
    results = []
    for name in args.vaults.split(","):
        if name == "real":
            vault = ensure_real_vault(Path(f"/tmp/vaultsync-search-real-{args.notes}"), args.notes)
            if vault is None:
                print("no ../shared/fixtures: the real vault is skipped")
                continue
        else:
            vault = ensure_vault(Path(f"/tmp/vaultsync-search-synth-{args.notes}"), args.notes)
        results.append(measure(name, vault, args))
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
