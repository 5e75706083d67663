#!/usr/bin/env python3
"""Corpus check: every operation of vaultsync over a copy of a real vault, and what must hold for
every note, each note that breaks it named.

    python bench/corpus.py VAULT [--ops scan,normalize,export,anki,daemon|all] [--json] [--limit-notes N]

VAULT is any vault folder (a folder of channel folders); it is only read. ``--limit-notes N`` keeps
the first N notes (by path) of each top-level folder. Operations:

- scan: ``vaultsync scan --rebuild`` with the C extension and with ``VAULTSYNC_NO_C=1``, each on
  its own copy; the two SQLite indexes compared table by table, ids replaced by uris.
- normalize: a write run, then per note: losslessness (every changed region inside a timestamp or
  wikilink span of the old note), frontmatter, BOM, line endings, final newline; the links
  Obsidian reads (a rewritten link keeps its destination); timestamps never fewer; every anchor
  with a reading became a canonical link, the others listed as dead; idempotence (``--check``
  exits 0 and a second write run changes nothing).
- export: per top-level folder an EPUB (epubcheck: no error, no warning) and a PDF (pypdf finds
  every note's title).
- anki: per top-level folder a deck imported into a fresh collection with the ``anki`` package;
  one note edited and re-exported, the re-import adds no note.
- daemon: ``vaultsync watch`` on a copy as it was before normalizing; every note saved once as an
  editor saves (temp file, os.replace); when quiet, the vault must equal a ``normalize`` run's.

Exit 1 on any violation.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _corpus_checks import (
    NormalizeStats,
    Violation,
    check_note,
    compare_indexes,
    notes_of,
    report,
    vault_files,
)

from vaultsync.text.resolve import NameTable

# bench/anki.py would shadow the official anki package that the anki check imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

OPS = ("scan", "normalize", "export", "anki", "daemon")
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
EPUBCHECK_ENV = {**ENV, "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


def vaultsync(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vaultsync", *args], capture_output=True, text=True,
                          env=env or ENV, timeout=timeout, check=False)  # fmt: skip


class Run:
    def __init__(self, source: Path, work: Path, limit: int | None) -> None:
        self.work = work
        self.orig = work / "orig"
        self.copy_source(source, limit)
        self.notes = notes_of(self.orig)
        self.folders = sorted({u.split("/")[0] for u in self.notes if "/" in u})
        self.violations: list[Violation] = []
        self.rows: list[tuple[str, int, int, float]] = []
        self.info: dict[str, object] = {}
        self._normalized: Path | None = None

    def copy_source(self, source: Path, limit: int | None) -> None:
        ignore = shutil.ignore_patterns(".vaultsync", ".git", ".trash")
        if limit is None:
            shutil.copytree(source, self.orig, ignore=ignore, symlinks=True)
            return
        kept: dict[str, int] = {}
        for uri in vault_files(source):
            top = uri.split("/")[0] if "/" in uri else ""
            if uri.endswith(".md"):
                if kept.get(top, 0) >= limit:
                    continue
                kept[top] = kept.get(top, 0) + 1
            (self.orig / uri).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / uri, self.orig / uri)
        if (source / ".obsidian").is_dir():
            shutil.copytree(source / ".obsidian", self.orig / ".obsidian")

    def copy(self, name: str) -> Path:
        dest = self.work / name
        shutil.copytree(self.orig, dest, symlinks=True)
        return dest

    def add(self, found: list[Violation]) -> None:
        self.violations += found

    def timed(self, op: str, fn: Callable[[], int]) -> None:
        started = time.perf_counter()
        before = len(self.violations)
        try:
            notes = fn()
        except Exception as exc:  # noqa: BLE001 - one broken operation must not hide the others
            notes = 0
            self.add([Violation(op, "-", "crashed", f"{type(exc).__name__}: {exc}"[:500])])
        self.rows.append((op, notes, len(self.violations) - before, time.perf_counter() - started))

    # -- scan -----------------------------------------------------------------------------------

    def op_scan(self) -> int:
        roots = {"C": self.copy("scan-c"), "Python": self.copy("scan-py")}
        counts = {}
        for label, root in roots.items():
            env = {**ENV, "VAULTSYNC_NO_C": "1"} if label == "Python" else ENV
            proc = vaultsync("scan", str(root), "--rebuild", "--json", env=env)
            if proc.returncode != 0:
                self.add([Violation("scan", "-", "exit", f"{label} scan exited {proc.returncode}: {proc.stderr[-400:]}")])
                return len(self.notes)
            counts[label] = json.loads(proc.stdout)
        self.info["scan_counts"] = counts["C"]
        keys = ("notes", "links", "resolved", "unresolved", "ambiguous", "embeds", "timestamps")
        for k in keys:
            if counts["C"].get(k) != counts["Python"].get(k):
                self.add([Violation("scan", "-", "counts", f"{k}: C={counts['C'].get(k)} Python={counts['Python'].get(k)}")])
        db = Path(".vaultsync") / "index.sqlite"
        self.add(compare_indexes(roots["C"] / db, roots["C"], roots["Python"] / db, roots["Python"]))
        return len(self.notes)

    # -- normalize ------------------------------------------------------------------------------

    def normalized(self) -> Path:
        """A copy after one write run of ``vaultsync normalize`` (made once)."""
        if self._normalized is None:
            root = self.copy("normalized")
            proc = vaultsync("normalize", str(root), "--json")
            if proc.returncode != 0:
                self.add([Violation("normalize", "-", "exit", f"write run exited {proc.returncode}: {proc.stderr[-400:]}")])
            else:
                self.info["normalize_counts"] = {k: v for k, v in json.loads(proc.stdout).items() if not isinstance(v, (list, dict))}
            self._normalized = root
        return self._normalized

    def op_normalize(self) -> int:
        root = self.normalized()
        names = NameTable(vault_files(self.orig))
        stats = NormalizeStats()
        for uri in self.notes:
            self.add(check_note(uri, (self.orig / uri).read_bytes(), (root / uri).read_bytes(), names, stats))
        check = vaultsync("normalize", str(root), "--check")
        if check.returncode != 0:
            changed = re.findall(r"^would change: (.*)$", check.stdout, re.MULTILINE) or ["-"]
            self.add([Violation("normalize", u, "idempotence-check", f"--check exited {check.returncode} after a write run") for u in changed])
        first = {u: (root / u).read_bytes() for u in self.notes}
        again = vaultsync("normalize", str(root), "--json")
        for uri in self.notes:
            if (root / uri).read_bytes() != first[uri]:
                self.add([Violation("normalize", uri, "idempotence-write", "a second write run changed the note")])
        if again.returncode != 0:
            self.add([Violation("normalize", "-", "exit", f"second write run exited {again.returncode}")])
        share = (sum(stats.dead.values()) / stats.anchors) if stats.anchors else 0.0
        self.info["anchors"] = {"total": stats.anchors, "with_reading": stats.with_reading, "dead": sum(stats.dead.values()),
                                "dead_share": round(share, 6), "dead_by_kind": dict(stats.dead), "repaired_links": stats.repaired}  # fmt: skip
        self.info["dead_anchors"] = [{"note": n, "form": f, "text": t, "why": w} for n, f, t, w in stats.dead_list]
        return len(self.notes)

    # -- export ---------------------------------------------------------------------------------

    def export_copy(self) -> Path:
        path = self.work / "export"
        return path if path.exists() else self.copy("export")

    def export(self, fmt: str, folder: str, out: Path, root: Path | None = None) -> bool:
        proc = vaultsync("export", fmt, str(root or self.export_copy()), "--folder", folder, "-o", str(out), "--json")
        if proc.returncode != 0:
            self.add([Violation(fmt, folder, "export", f"exit {proc.returncode}: {proc.stderr[-600:]}")])
        return proc.returncode == 0

    def op_export(self) -> int:
        from pypdf import PdfReader

        out = self.work / "out"
        out.mkdir(exist_ok=True)
        epubs = []
        for i, folder in enumerate(self.folders):
            if self.export("epub", folder, out / f"f{i:02d}.epub"):
                epubs.append((folder, out / f"f{i:02d}.epub"))
        pending, checks = list(epubs), []

        def start_checks() -> None:  # at most two JVMs at once
            while pending and sum(p.poll() is None for _, p in checks) < 2:
                folder, path = pending.pop(0)
                checks.append((folder, subprocess.Popen([sys.executable, "-m", "epubcheck", str(path)], stdout=subprocess.PIPE,
                                                        stderr=subprocess.STDOUT, text=True, env=EPUBCHECK_ENV)))  # fmt: skip

        start_checks()
        titles = self.titles()
        for i, folder in enumerate(self.folders):
            start_checks()
            pdf = out / f"f{i:02d}.pdf"
            if not self.export("pdf", folder, pdf):
                continue
            wanted = {uri: _squash(titles.get(uri, "")) for uri in self.notes if uri.startswith(folder + "/")}
            text = ""
            for page in PdfReader(pdf).pages:  # page by page: the contents come first, and a whole PDF takes minutes
                text += _squash(page.extract_text() or "")
                wanted = {u: t for u, t in wanted.items() if t not in text}
                if not wanted:
                    break
            for uri in wanted:
                self.add([Violation("pdf", uri, "title-in-pdf", f"title {titles.get(uri)!r} not found in {folder}'s PDF text")])
        done = 0
        while done < len(checks) or pending:
            start_checks()
            folder, proc = checks[done]
            done += 1
            try:
                output, _ = proc.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                proc.kill()
                output, _ = proc.communicate()
                self.add([Violation("epub", folder, "epubcheck", "epubcheck took over 600 s")])
            problems = [line.strip() for line in output.splitlines() if re.match(r"\s*(FATAL|ERROR|WARNING)\b", line)]
            self.add([Violation("epub", folder, "epubcheck", p[:400]) for p in problems])
            if proc.returncode != 0 and not problems:
                self.add([Violation("epub", folder, "epubcheck", f"exit {proc.returncode}: {output[-300:]}")])
        return len(self.notes)

    def titles(self) -> dict[str, str]:
        import sqlite3

        root = self.export_copy()
        vaultsync("scan", str(root))
        con = sqlite3.connect(root / ".vaultsync" / "index.sqlite")
        try:
            return {u: t or Path(u).stem for u, t in con.execute("SELECT uri, title FROM files WHERE is_note")}
        finally:
            con.close()

    # -- anki -----------------------------------------------------------------------------------

    def op_anki(self) -> int:
        from anki.collection import Collection
        from anki.import_export_pb2 import (
            ImportAnkiPackageOptions,
            ImportAnkiPackageRequest,
        )

        root = self.copy("anki")
        out = self.work / "anki-out"
        out.mkdir()
        for i, folder in enumerate(self.folders):
            deck = out / f"f{i:02d}.apkg"
            if not self.export("anki", folder, deck, root):
                continue
            (out / f"col{i}").mkdir()
            col = Collection(str(out / f"col{i}" / "collection.anki2"))
            try:
                col.import_anki_package(ImportAnkiPackageRequest(package_path=str(deck), options=ImportAnkiPackageOptions()))
                before = len(col.find_notes(""))
                if before == 0:
                    self.add([Violation("anki", folder, "import", "the deck imported no note")])
                    continue
                edited = next(u for u in self.notes if u.startswith(folder + "/"))
                with open(root / edited, "a", encoding="utf-8") as f:
                    f.write("\nAn added closing line.\n")
                if not self.export("anki", folder, deck, root):
                    continue
                col.import_anki_package(ImportAnkiPackageRequest(package_path=str(deck), options=ImportAnkiPackageOptions()))
                after = len(col.find_notes(""))
                if after != before:
                    self.add([Violation("anki", edited, "reimport", f"{before} notes -> {after} after editing this note and re-importing")])
            finally:
                col.close()
        return len(self.notes)

    # -- daemon ---------------------------------------------------------------------------------

    def op_daemon(self) -> int:
        expected = self.normalized()
        root = self.copy("daemon")
        log = open(self.work / "daemon.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([sys.executable, "-m", "vaultsync", "watch", str(root)], stdout=log, stderr=subprocess.STDOUT,
                                env=ENV, start_new_session=True)  # fmt: skip
        try:
            if not self.wait(root, lambda s: s.get("state") == "watching", 180):
                self.add([Violation("daemon", "-", "start", f"not watching after 180 s: {self.status(root)}")])
                return 0
            for uri in self.notes:
                path = root / uri
                data = (self.orig / uri).read_bytes()
                tmp = path.with_name(f".{path.name}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)
            settled = {"n": 0, "last": None}

            def quiet(s: dict) -> bool:
                key = (s.get("batches"), s.get("queue"))
                idle = not s.get("queue") and s.get("state") == "watching"  # not "processing" a batch
                settled["n"] = settled["n"] + 1 if key == settled["last"] and idle else 0
                settled["last"] = key
                return settled["n"] >= 6  # 3 s without a new batch
            if not self.wait(root, quiet, 600):
                self.add([Violation("daemon", "-", "quiet", f"still busy after 600 s: {self.status(root)}")])
            for uri in self.notes:
                if (root / uri).read_bytes() != (expected / uri).read_bytes():
                    self.add([Violation("daemon", uri, "equals-normalize", "the daemon's result differs from vaultsync normalize's")])
            errors = self.status(root).get("errors") or []
            self.add([Violation("daemon", "-", "errors", str(e)[:300]) for e in errors])
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
            log.close()
        return len(self.notes)

    def status(self, root: Path) -> dict:
        proc = vaultsync("status", str(root), "--json", timeout=60)
        try:
            return json.loads(proc.stdout)
        except ValueError:
            return {}

    def wait(self, root: Path, ok: Callable[[dict], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ok(self.status(root)):
                return True
            time.sleep(0.5)
        return False


def _squash(text: str) -> str:
    text = "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")  # bidi isolates, ZWJ: not drawn
    text = text.translate({0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"'})  # typst's smart quotes
    return re.sub(r"\s+", "", text).casefold()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("vault", type=Path)
    ap.add_argument("--ops", default="all", help=f"comma-separated: {','.join(OPS)} (default all)")
    ap.add_argument("--json", action="store_true", help="one JSON object, every violation listed")
    ap.add_argument("--limit-notes", type=int, default=None, help="at most N notes from each top-level folder")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (its path goes to stderr)")
    args = ap.parse_args(argv)
    ops = OPS if args.ops == "all" else tuple(o.strip() for o in args.ops.split(",") if o.strip())
    unknown = [o for o in ops if o not in OPS]
    if unknown or not args.vault.is_dir():
        ap.error(f"unknown ops {unknown}" if unknown else f"not a folder: {args.vault}")
    work = Path(tempfile.mkdtemp(prefix="vaultsync-corpus-"))
    try:
        run = Run(args.vault.resolve(), work, args.limit_notes)
        for op in ops:
            run.timed(op, getattr(run, f"op_{op}"))
        report(run, args.json)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if run.violations else 0


if __name__ == "__main__":
    sys.exit(main())
