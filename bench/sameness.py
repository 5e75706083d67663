#!/usr/bin/env python3
"""Fingerprint what vaultsync produces from a set of vaults, to show a refactor changed nothing.

    python bench/sameness.py OUT.json [VAULT ...] [--exports VAULT]

For each vault (default: the two folders of ``../shared/fixtures/``), on a fresh copy in a temp
folder: the index after ``vaultsync scan --rebuild``, table by table (sha256 of the sorted rows,
with the columns that hold times left out), and the bytes of every note after
``vaultsync normalize`` (sha256 per note). For ``--exports`` (default: tubegraph-sample) the PDF,
EPUB and Anki exports' content (PDF text per page, EPUB members, the Anki collection's notes).
Two such files are compared with ``python bench/sameness.py --compare A.json B.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent.parent / "shared" / "fixtures"
TIME_COLUMNS = {"mtime", "ctime", "mtime_ns", "ctime_ns", "scanned", "updated", "value"}


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "vaultsync", *args], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()[:16]


def index_tables(db: Path) -> dict[str, str]:
    """Each table as rows keyed by uri (file ids, inodes and times depend on the run, not the rules)."""
    con = sqlite3.connect(db)
    uri = dict(con.execute("select id, uri from files"))

    def uris(ids: str | None) -> list[str] | None:
        return None if ids is None else sorted(uri.get(i, "?") for i in json.loads(ids))

    def links(text: str | None) -> str:
        rows = json.loads(text or "[]")
        for row in rows:
            if isinstance(row, list) and len(row) > 6 and isinstance(row[6], int):
                row[6] = uri.get(row[6], "?")
        return json.dumps(rows)

    tables: dict[str, list[str]] = {"files": [], "occurrences": [], "tags": [], "diagnostics": []}
    skip = TIME_COLUMNS | {"id", "inode"}
    cols = [r[1] for r in con.execute("pragma table_info(files)") if r[1] not in skip]
    for row in con.execute(f"select {', '.join(cols)} from files"):
        tables["files"].append(repr(row))
    for i, lk, ts, hd, bl in con.execute("select id, links, timestamps, headings, blocks from occurrences"):
        tables["occurrences"].append(repr((uri.get(i), links(lk), ts, hd, bl)))
    for src, *rest in con.execute("select * from tags"):
        tables["tags"].append(repr((uri.get(src), *rest)))
    for src, *rest in con.execute("select * from diagnostics"):
        tables["diagnostics"].append(repr((uri.get(src), *rest)))
    back: dict[str, list[str]] = {}
    for dest, _n, srcs in con.execute("select dest, n, srcs from backrefs"):
        back.setdefault(uri.get(dest, "?"), []).extend(uris(srcs) or [])
    tables["backrefs"] = [repr((k, sorted(v))) for k, v in back.items()]
    keys: dict[str, tuple[list[str], list[str]]] = {}
    if "unresolved" in {r[1] for r in con.execute("pragma table_info(linkkeys)")}:  # schema <= 4
        for key, srcs, unresolved in con.execute("select key, srcs, unresolved from linkkeys"):
            have = keys.setdefault(key, ([], []))
            have[0].extend(uris(srcs) or [])
            have[1].extend(uris(unresolved) or [])
    else:  # since schema 5 the notes with unresolved links under a name come from their links
        for key, srcs in con.execute("select key, srcs from linkkeys"):
            keys.setdefault(key, ([], []))[0].extend(uris(srcs) or [])
        for i, lk in con.execute("select id, links from occurrences where links is not null"):
            for link in json.loads(lk):
                if link[6] is None:  # rows.StoredLink: [kind, start, end, target, subpath, display, dest, candidates]
                    target = link[3].lower()
                    keys[target[target.rfind("/") + 1 :]][1].append(uri.get(i, "?"))
    tables["linkkeys"] = [repr((k, sorted(a), sorted(b))) for k, (a, b) in keys.items()]
    con.close()
    return {name: f"{len(rows)} rows {_sha(chr(10).join(sorted(rows)))}" for name, rows in tables.items()}


def vault_print(vault: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "v"
        shutil.copytree(vault, copy, symlinks=True, ignore=shutil.ignore_patterns(".vaultsync"))
        _cli("scan", str(copy), "--rebuild")
        tables = index_tables(copy / ".vaultsync" / "index.sqlite")
        _cli("normalize", str(copy))
        notes = {p.relative_to(copy).as_posix(): _sha(p.read_bytes())
                 for p in sorted(copy.rglob("*.md")) if ".vaultsync" not in p.parts}  # fmt: skip
    return {"index": tables, "normalized": notes}


def export_print(vault: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "v"
        shutil.copytree(vault, copy, symlinks=True, ignore=shutil.ignore_patterns(".vaultsync"))
        for fmt, name in (("pdf", "x.pdf"), ("epub", "x.epub"), ("anki", "x.apkg")):
            target = Path(tmp) / name
            _cli("export", fmt, str(copy), "-o", str(target), "--title", "Sameness")
            if not target.exists():
                out[fmt] = "missing"
            elif fmt == "pdf":
                from pypdf import PdfReader  # noqa: PLC0415 (a test extra)

                reader = PdfReader(target)
                out[fmt] = {f"page {i:04d}": _sha(page.extract_text() + _uris(page))
                            for i, page in enumerate(reader.pages)}  # fmt: skip
            else:
                with zipfile.ZipFile(target) as z:
                    members = {i.filename: _sha(z.read(i)) for i in z.infolist()}
                out[fmt] = _anki_notes(target) if fmt == "anki" else members
    return out


def _uris(page: object) -> str:
    """The link targets on a PDF page (external uris and internal destinations), in order."""
    out = []
    for annot in page.get("/Annots") or []:  # type: ignore[attr-defined]
        obj = annot.get_object()
        action = obj.get("/A") or {}
        out.append(str(action.get("/URI") or action.get("/D") or obj.get("/Dest") or ""))
    return repr(out)


def _anki_notes(apkg: Path) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(apkg) as z:
        name = "collection.anki21" if "collection.anki21" in z.namelist() else "collection.anki2"
        z.extract(name, tmp)
        con = sqlite3.connect(Path(tmp) / name)
        rows = sorted(repr(r) for r in con.execute("select guid, flds, tags from notes"))
        media = sorted(json.loads(z.read("media")).values()) if "media" in z.namelist() else []
        con.close()
    return {"notes": f"{len(rows)} {_sha(chr(10).join(rows))}", "media": _sha(repr(media))}


def compare(a: dict, b: dict, where: str = "") -> list[str]:
    diffs = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            diffs += compare(x, y, f"{where}/{key}")
        elif x != y:
            diffs.append(f"{where}/{key}: {x} -> {y}")
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path)
    ap.add_argument("vaults", nargs="*", type=Path)
    ap.add_argument("--exports", type=Path, default=FIXTURES / "tubegraph-sample")
    ap.add_argument("--compare", nargs=2, type=Path)
    args = ap.parse_args()
    if args.compare:
        diffs = compare(*(json.loads(p.read_text()) for p in args.compare))
        print("\n".join(diffs) or "identical")
        return 1 if diffs else 0
    vaults = args.vaults or [FIXTURES / s for s in ("tubegraph-sample", "tubegraph-more")]
    result = {v.name: vault_print(v) for v in vaults if v.is_dir()}
    if args.exports.is_dir():
        result["exports"] = export_print(args.exports)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
