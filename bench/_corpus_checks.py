"""Checks of bench/corpus.py that read notes and indexes (no subprocesses): the index tables of two
scans compared by uri, and what must hold for every note that ``vaultsync normalize`` rewrote."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from vaultsync.model import LinkKind
from vaultsync.store import fulltext
from vaultsync.text.normalize import note_video_id
from vaultsync.text.parse import parse_note, split_frontmatter
from vaultsync.text.resolve import NameTable
from vaultsync.text.timestamps import envelope

WATCH = "https://www.youtube.com/watch?v="
_STAT_COLUMNS = {"id", "mtime_ns", "ctime_ns", "inode"}


@dataclass(frozen=True, slots=True)
class Violation:
    op: str
    note: str
    check: str
    detail: str


def vault_files(root: Path) -> list[str]:
    """Every file of the vault (hidden folders and files left out), as sorted vault paths."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = Path(dirpath).relative_to(root)
        out += [(rel / f).as_posix() for f in filenames if not f.startswith(".")]
    return sorted(out)


def notes_of(root: Path) -> list[str]:
    return [u for u in vault_files(root) if u.endswith(".md")]


# -- scan: two indexes, table by table --------------------------------------------------------------


def _canonical_tables(db: Path, root: Path) -> dict[str, dict[str, Any]]:
    """Each table as {key: value} with every id replaced by its file's uri (and the copy's root
    path replaced by VAULT), so two indexes of two copies compare equal when they say the same."""
    con = sqlite3.connect(db)
    try:
        uri_of = dict(con.execute("SELECT id, uri FROM files"))
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out: dict[str, dict[str, Any]] = {}

        def u(i: Any) -> Any:
            return uri_of.get(i, f"<id {i}>") if i is not None else None

        def srcs(text: str | None) -> list[Any]:
            return sorted(map(str, map(u, json.loads(text)))) if text else []

        for table in names:
            if table.startswith(fulltext.TABLE):
                # FTS5's own tables hold segments whose bytes depend on the order rows went in (a
                # cold scan's parts), not on what is indexed: the rows themselves are compared
                if table == fulltext.TABLE:
                    out[table] = {str(k): v for k, v in fulltext.dump(con).items()}
                continue
            cur = con.execute(f'SELECT * FROM "{table}"')
            cols = [d[0] for d in cur.description]
            rows = [dict(zip(cols, r, strict=True)) for r in cur]
            tab: dict[str, Any] = {}
            if table == "files":
                for r in rows:
                    tab[r["uri"]] = {k: v for k, v in r.items() if k not in _STAT_COLUMNS}
            elif table == "occurrences":
                for r in rows:
                    links = json.loads(r["links"]) if r["links"] else []
                    for link in links:
                        if len(link) > 6:
                            link[6] = u(link[6])
                    tab[u(r["id"])] = {**r, "id": None, "links": links}
            elif table == "backrefs":
                merged: dict[str, list[Any]] = {}
                for r in rows:
                    merged.setdefault(u(r["dest"]), []).extend(srcs(r["srcs"]))
                tab = {k: sorted(v) for k, v in merged.items()}
            elif table == "linkkeys":
                for r in rows:
                    tab.setdefault(r["key"], []).extend(srcs(r["srcs"]))
                tab = {k: sorted(v) for k, v in tab.items()}
            elif table in ("tags", "diagnostics"):
                for r in rows:
                    values = [str(v).replace(str(root), "VAULT") for k, v in r.items() if k != "src"]
                    tab.setdefault(u(r["src"]), []).append(values)
                tab = {k: sorted(v) for k, v in tab.items()}
            elif table == "meta":
                tab = {r["key"]: r["value"] for r in rows if "second" not in r["key"] and "time" not in r["key"]}
            else:
                tab = {str(i): r for i, r in enumerate(rows)}
            out[table] = tab
        return out
    finally:
        con.close()


def compare_indexes(a_db: Path, a_root: Path, b_db: Path, b_root: Path) -> list[Violation]:
    """The C index (a) against the pure-Python one (b): one violation per differing key per table."""
    a, b = _canonical_tables(a_db, a_root), _canonical_tables(b_db, b_root)
    found = []
    for table in sorted(set(a) | set(b)):
        if table not in a or table not in b:
            found.append(Violation("scan", "-", "table-missing", f"{table} only in {'C' if table in a else 'Python'} index"))
            continue
        ta, tb = a[table], b[table]
        for key in sorted(set(ta) | set(tb), key=str):
            if ta.get(key) != tb.get(key):
                va, vb = ta.get(key), tb.get(key)
                if isinstance(va, dict) and isinstance(vb, dict):
                    diff = {k: (va.get(k), vb.get(k)) for k in set(va) | set(vb) if va.get(k) != vb.get(k)}
                    detail = "; ".join(f"{k}: C={x!r:.160} Python={y!r:.160}" for k, (x, y) in sorted(diff.items()))
                else:
                    detail = f"C={va!r:.200} Python={vb!r:.200}"
                found.append(Violation("scan", str(key), f"index-{table}", detail))
    return found


# -- normalize: one note before and after ----------------------------------------------------------


def _allowed_spans(text: str, parsed: Any) -> list[tuple[int, int]]:
    spans = []
    for s in parsed.scan.timestamps:
        spans.append(s.span)
        spans.append(envelope(text, s.span)[0])
    spans += [link.span for link in parsed.scan.links if link.kind in (LinkKind.WIKI, LinkKind.EMBED)]
    return sorted(spans)


def _inside(spans: list[tuple[int, int]], a: int, b: int) -> bool:
    return any(s <= a and b <= e for s, e in spans)


def _gaps_kept(old: str, new: str, spans: list[tuple[int, int]]) -> bool:
    """Exact test: the text between the (merged) spans appears in the new text in order, first gap
    at the start and last at the end. SequenceMatcher's alignment may wander across a span edge."""
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    gaps = [old[a:b] for a, b in zip([0] + [e for _, e in merged], [s for s, _ in merged] + [len(old)], strict=True)]
    if not new.startswith(gaps[0]) or not new.endswith(gaps[-1]):
        return False
    pos = len(gaps[0])
    for gap in gaps[1:-1]:
        found = new.find(gap, pos)
        if found < 0:
            return False
        pos = found + len(gap)
    return pos <= len(new) - len(gaps[-1]) or len(gaps) == 1


def _changed_regions(old: str, new: str) -> list[tuple[int, int]]:
    """The old text's changed regions (offsets into ``old``): SequenceMatcher over lines, then
    over the characters of each changed run of lines (one character-level pass over a whole note
    is quadratic and took seconds a note)."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    starts_a = [0]
    for line in a:
        starts_a.append(starts_a[-1] + len(line))
    out = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        base = starts_a[i1]
        sm = SequenceMatcher(None, "".join(a[i1:i2]), "".join(b[j1:j2]), autojunk=False)
        out += [(base + x1, base + x2) for t, x1, x2, _, _ in sm.get_opcodes() if t != "equal"]
    return out


_CANON_MD = re.compile(r"\[[^\]\n]*\]\((https://www\.youtube\.com/watch\?v=[\w-]+&t=\d+s)\)\Z")
_CANON_HTML = re.compile(r'<a [^>]*href="(https://www\.youtube\.com/watch\?v=[\w-]+&amp;t=\d+s|https://www\.youtube\.com/watch\?v=[\w-]+&t=\d+s)"[^>]*>.*</a>\Z', re.DOTALL)


def _canonical_url(raw: str) -> str | None:
    m = _CANON_MD.match(raw) or _CANON_HTML.match(raw)
    return m.group(1).replace("&amp;", "&") if m else None


def _links(parsed: Any) -> list[Any]:
    return [link for link in parsed.scan.links if link.kind != LinkKind.FRONTMATTER]


class NormalizeStats:
    def __init__(self) -> None:
        self.anchors = 0
        self.with_reading = 0
        self.dead: Counter[str] = Counter()
        self.dead_list: list[tuple[str, str, str, str]] = []  # note, form, raw, why
        self.repaired = 0


def check_note(uri: str, old_b: bytes, new_b: bytes, names: NameTable, stats: NormalizeStats) -> list[Violation]:
    """What must hold for one note after a write run of ``vaultsync normalize``."""
    out: list[Violation] = []

    def bad(check: str, detail: str) -> None:
        out.append(Violation("normalize", uri, check, detail))

    try:
        old, new = old_b.decode("utf-8"), new_b.decode("utf-8")
    except UnicodeDecodeError:
        if old_b != new_b:
            bad("non-utf8-changed", "a note that is not UTF-8 was rewritten")
        return out
    if old.startswith("\ufeff") != new.startswith("\ufeff"):
        bad("bom", "the BOM changed")
    if old.count("\r\n") != new.count("\r\n"):
        bad("line-endings", f"\\r\\n count {old.count(chr(13) + chr(10))} -> {new.count(chr(13) + chr(10))}")
    if old.endswith("\n") != new.endswith("\n"):
        bad("final-newline", "the final newline changed")
    fo, fn = split_frontmatter(old), split_frontmatter(new)
    if old[fo.start : fo.end] != new[fn.start : fn.end]:
        bad("frontmatter", "the frontmatter bytes changed")
    po, pn = parse_note(uri, old), parse_note(uri, new)
    video = note_video_id(po)
    # dead anchors and readings (counted also for unchanged notes)
    old_ts, new_ts = po.scan.timestamps, pn.scan.timestamps
    stats.anchors += len(old_ts)
    if len(new_ts) < len(old_ts):
        bad("timestamp-count", f"{len(old_ts)} -> {len(new_ts)}")
    paired = len(new_ts) == len(old_ts)
    wikis = [k.span for k in po.scan.links if k.kind in (LinkKind.WIKI, LinkKind.EMBED)]
    for i, s in enumerate(old_ts):
        vid = s.video_id or video
        raw_old = old[s.span[0] : s.span[1]]
        in_link = any(a <= s.span[0] and s.span[1] <= b for a, b in wikis)
        if s.seconds is None or vid is None or in_link:
            why = "no reading" if s.seconds is None else "no video id" if vid is None else "inside a wikilink's text"
            stats.dead[f"{why}: {s.form.value}"] += 1
            stats.dead_list.append((uri, s.form.value, raw_old[:120], why))
            continue
        stats.with_reading += 1
        if not paired:
            continue
        t = new_ts[i]
        raw_new = new[t.span[0] : t.span[1]]
        want = f"{WATCH}{vid}&t={s.seconds}s"
        got = _canonical_url(raw_new)
        if got != want:
            bad("reading-not-linked", f"{raw_old[:100]!r} -> {raw_new[:100]!r} (want {want})")
    if old == new:
        return out
    # losslessness
    spans = _allowed_spans(old, po)
    # the exact gap test is linear; SequenceMatcher (slow on these notes) only locates a failure
    outside = [] if _gaps_kept(old, new, spans) else [r for r in _changed_regions(old, new) if not _inside(spans, *r)]
    if outside:
        i1, i2 = outside[0]
        bad("lossless", f"{len(outside)} changed region(s) outside any rewritten span, first at {i1}: {old[max(0, i1 - 30) : i2 + 30]!r}")
    # links Obsidian reads
    lo, ln = _links(po), _links(pn)
    if len(lo) != len(ln):
        a = Counter((x.kind.value, x.target) for x in lo)
        b = Counter((x.kind.value, x.target) for x in ln)
        bad("links", f"{len(lo)} links -> {len(ln)}; lost {sorted((a - b).elements())[:5]}, gained {sorted((b - a).elements())[:5]}")
        return out
    for x, y in zip(lo, ln, strict=True):
        raw_x, raw_y = old[x.span[0] : x.span[1]], new[y.span[0] : y.span[1]]
        if raw_x == raw_y:
            if (x.kind, x.target, x.subpath, x.display) != (y.kind, y.target, y.subpath, y.display):
                bad("links", f"{raw_x!r} reads differently after the note changed around it")
            continue
        if x.kind not in (LinkKind.WIKI, LinkKind.EMBED) or x.kind != y.kind:
            bad("links", f"a {x.kind.value} link was rewritten: {raw_x!r} -> {raw_y!r}")
            continue
        dx, dy = names.resolve(x.target, uri).dest, names.resolve(y.target, uri).dest
        if dx is None and dy is not None:
            stats.repaired += 1
        elif dx != dy:
            bad("link-destination", f"{raw_x!r} -> {raw_y!r}: {dx} -> {dy}")
        if x.subpath.strip() != y.subpath.strip() and x.subpath.replace(" ", "") != y.subpath.replace(" ", ""):
            bad("link-subpath", f"{raw_x!r} -> {raw_y!r}")
    return out


# -- the report ---------------------------------------------------------------------------------------


def report(run: Any, as_json: bool) -> None:
    """The table, the counts, the dead anchors and the violations (the first 20 per check), or one JSON object with all."""
    if as_json:
        print(json.dumps({"table": [{"op": o, "notes": n, "violations": v, "seconds": round(s, 2)} for o, n, v, s in run.rows],
                          "violations": [v.__dict__ if hasattr(v, "__dict__") else {"op": v.op, "note": v.note, "check": v.check,
                                                                                    "detail": v.detail} for v in run.violations],
                          **run.info}, ensure_ascii=False, indent=1))  # fmt: skip
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title=f"corpus check: {len(run.notes)} notes, {len(run.folders)} folders")
    for col in ("operation", "notes", "violations", "seconds"):
        table.add_column(col, justify="left" if col == "operation" else "right")
    for op, notes, n, seconds in run.rows:
        table.add_row(op, f"{notes:,}", str(n), f"{seconds:.1f}")
    console.print(table)
    for key in ("scan_counts", "normalize_counts", "anchors"):
        if key in run.info:
            console.print(f"{key}: {json.dumps(run.info[key], ensure_ascii=False)}", markup=False)
    dead = run.info.get("dead_anchors") or []
    for d in dead[:20]:  # type: ignore[union-attr]
        console.print(f"  dead anchor ({d['why']}): {d['note']}: {d['text']!r}", markup=False)
    if len(dead) > 20:  # type: ignore[arg-type]
        console.print(f"  ... {len(dead) - 20} more dead anchors (--json lists all)", markup=False)  # type: ignore[arg-type]
    by_check: dict[tuple[str, str], list[Violation]] = {}
    for v in run.violations:
        by_check.setdefault((v.op, v.check), []).append(v)
    for (op, check), found in by_check.items():
        console.print(f"[bold]{op} / {check}[/bold]: {len(found)}")
        for v in found[:20]:
            console.print(f"  {v.note}: {v.detail}", markup=False)
        if len(found) > 20:
            console.print(f"  ... {len(found) - 20} more (--json lists all)", markup=False)
