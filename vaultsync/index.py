"""The persistent index: a SQLite file at ``<vault>/.vaultsync/index.sqlite``.

Owns the schema, row writes and every query (links, backlinks, unresolved, stats). It never reads
notes; :mod:`vaultsync.indexing` feeds it. The schema is versioned: a file with another version, or
one SQLite cannot read, is never trusted, and the caller rebuilds it from the vault.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaultsync.errors import StoreError
from vaultsync.vault import FileStat

SCHEMA_VERSION = 2  # 2: timestamps stored compactly (scan.stored_timestamps)
INDEX_NAME = "index.sqlite"

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files(
    id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    is_note INTEGER NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,
    excluded INTEGER NOT NULL DEFAULT 0,
    title TEXT, video_id TEXT, frontmatter TEXT, error TEXT,
    -- per-note occurrence lists, as JSON arrays of arrays (scan.stored_timestamps; the fields of
    -- model.Heading and model.BlockId): read per note, never joined, so rows would only cost time
    n_timestamps INTEGER NOT NULL DEFAULT 0, timestamps TEXT, headings TEXT, blocks TEXT
);
CREATE TABLE links(
    src INTEGER NOT NULL, ord INTEGER NOT NULL, kind TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    target TEXT NOT NULL, subpath TEXT NOT NULL, display TEXT,
    key TEXT NOT NULL, dest TEXT, candidates INTEGER NOT NULL
);
CREATE TABLE tags(src INTEGER NOT NULL, tag TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL);
CREATE TABLE diagnostics(src INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, severity TEXT NOT NULL);
"""
# Created after a bulk load, which is faster than maintaining them row by row.
_INDEXES = """
CREATE INDEX IF NOT EXISTS links_src ON links(src);
CREATE INDEX IF NOT EXISTS links_dest ON links(dest);
CREATE INDEX IF NOT EXISTS links_key ON links(key);
CREATE INDEX IF NOT EXISTS tags_src ON tags(src);
CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS diagnostics_src ON diagnostics(src);
"""
_CHILD_TABLES = ("links", "tags", "diagnostics")
_TABLES = {"meta", "files", *_CHILD_TABLES}


@dataclass(frozen=True, slots=True)
class NoteRows:
    """Everything stored for one file, as produced by a parser worker."""

    id: int
    uri: str
    is_note: bool
    stat: FileStat
    excluded: bool
    title: str | None = None
    video_id: str | None = None
    frontmatter: str | None = None  # JSON text
    error: str | None = None
    links: Sequence[tuple[Any, ...]] = ()  # (src, ord, kind, start, end, target, subpath, display, key, dest, candidates)
    tags: Sequence[tuple[Any, ...]] = ()
    diagnostics: Sequence[tuple[Any, ...]] = ()
    n_timestamps: int = 0
    timestamps: str | None = None  # JSON
    headings: str | None = None  # JSON
    blocks: str | None = None  # JSON


class Index:
    """An open index database."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open_existing(cls, path: Path) -> Index | None:
        """Open a trusted index, or None when it is missing, corrupt or of another schema version."""
        if not path.exists():
            return None
        try:
            conn = _connect(path)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if row is None or int(row[0]) != SCHEMA_VERSION or not _TABLES <= tables:
                conn.close()
                return None
            conn.execute("PRAGMA journal_mode=WAL")
        except (sqlite3.DatabaseError, ValueError):
            return None
        return cls(conn, path)

    @classmethod
    def create_fresh(cls, path: Path) -> Index:
        """Start a new index in a temp file beside ``path``; :meth:`publish` moves it into place."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        for stale in (tmp, Path(f"{tmp}-journal")):
            stale.unlink(missing_ok=True)
        try:
            conn = _connect(tmp)
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.executescript(_SCHEMA)
            conn.execute("INSERT INTO meta VALUES('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot create the index at {tmp}: {exc}") from exc
        return cls(conn, tmp)

    def publish(self, final: Path) -> None:
        """Finish a fresh index (indexes, fsync) and atomically replace ``final`` with it."""
        self.conn.executescript(_INDEXES)
        self.conn.commit()
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.close()
        for side in ("-wal", "-shm", "-journal"):
            Path(f"{final}{side}").unlink(missing_ok=True)
        with open(self.path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self.path, final)
        self.path = final
        self.conn = _connect(final)
        self.conn.execute("PRAGMA journal_mode=WAL")

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            self.conn.execute("BEGIN")
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    # -- meta ------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, value))

    # -- writes ----------------------------------------------------------------------------------

    def file_stats(self) -> dict[str, tuple[int, FileStat]]:
        """uri -> (id, stat) for every indexed file."""
        rows = self.conn.execute("SELECT uri, id, size, mtime_ns, ctime_ns, inode FROM files")
        return {r[0]: (r[1], FileStat(r[2], r[3], r[4], r[5])) for r in rows}

    def next_id(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM files").fetchone()
        return int(row[0])

    def put_files(self, notes: Iterable[NoteRows], *, fresh: bool = False) -> None:
        """Insert or replace files with all their rows (the caller holds the transaction).

        ``fresh`` skips deleting old rows: for a new index, where there are none.
        """
        c = self.conn
        notes = list(notes)
        self._invalidate_counts()
        if not fresh:
            for n in notes:
                self._delete_children(n.id)
        c.executemany(
            "INSERT OR REPLACE INTO files VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(n.id, n.uri, int(n.is_note), n.stat.size, n.stat.mtime_ns, n.stat.ctime_ns, n.stat.inode,
              int(n.excluded), n.title, n.video_id, n.frontmatter, n.error, n.n_timestamps, n.timestamps,
              n.headings, n.blocks) for n in notes],
        )  # fmt: skip
        _insert_rows(c, "links", 11, [r for n in notes for r in n.links])
        c.executemany("INSERT INTO tags VALUES(?,?,?,?)", [r for n in notes for r in n.tags])
        c.executemany("INSERT INTO diagnostics VALUES(?,?,?,?)", [r for n in notes for r in n.diagnostics])

    @classmethod
    def create_part(cls, path: Path) -> Index:
        """A scratch database with the index's tables, which one worker fills during a cold scan
        and :meth:`merge_part` then copies in; nothing in it needs to survive a crash."""
        path.unlink(missing_ok=True)
        conn = _connect(path)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.executescript(_SCHEMA)
        return cls(conn, path)

    def merge_part(self, part: Path) -> None:
        """Copy every row of a part (see :meth:`create_part`) into this index, in SQLite itself.
        Call it outside a transaction; the part's file is left for the caller to delete."""
        self._invalidate_counts()
        self.conn.execute("ATTACH DATABASE ? AS part", (str(part),))
        try:
            with self.transaction():
                for table in ("files", *_CHILD_TABLES):
                    self.conn.execute(f"INSERT INTO main.{table} SELECT * FROM part.{table}")  # noqa: S608 - fixed names
        finally:
            self.conn.execute("DETACH DATABASE part")

    def delete_files(self, ids: Iterable[int]) -> None:
        self._invalidate_counts()
        for file_id in ids:
            self._delete_children(file_id)
            self.conn.execute("DELETE FROM files WHERE id=?", (file_id,))

    def _delete_children(self, file_id: int) -> None:
        for table in _CHILD_TABLES:
            self.conn.execute(f"DELETE FROM {table} WHERE src=?", (file_id,))  # noqa: S608 - fixed names

    def set_excluded(self, excluded_uris: set[str]) -> None:
        self._invalidate_counts()
        self.conn.execute("UPDATE files SET excluded=0")
        self.conn.executemany("UPDATE files SET excluded=1 WHERE uri=?", ((u,) for u in excluded_uris))

    def links_with_keys(self, keys: Iterable[str]) -> list[tuple[int, int, str, str]]:
        """(rowid, src id, src uri, target) of links whose lookup key is among ``keys``."""
        out: list[tuple[int, int, str, str]] = []
        for key in set(keys):
            out.extend(
                self.conn.execute(
                    "SELECT l.rowid, l.src, f.uri, l.target FROM links l JOIN files f ON f.id=l.src WHERE l.key=?",
                    (key,),
                )
            )
        return out

    def set_link_resolution(self, updates: Iterable[tuple[str | None, int, int]]) -> None:
        """Apply (dest, candidates, rowid) triples."""
        self._invalidate_counts()
        self.conn.executemany("UPDATE links SET dest=?, candidates=? WHERE rowid=?", updates)

    # -- queries ---------------------------------------------------------------------------------

    def uris(self, notes_only: bool = False) -> list[str]:
        sql = "SELECT uri FROM files" + (" WHERE is_note=1" if notes_only else "") + " ORDER BY uri"
        return [r[0] for r in self.conn.execute(sql)]

    def note(self, uri: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT uri, title, video_id, excluded, error, frontmatter, timestamps, headings, blocks "
            "FROM files WHERE uri=?",
            (uri,),
        ).fetchone()
        if row is None:
            return None
        stamps = json.loads(row[6] or "[]")
        return {
            "uri": row[0],
            "title": row[1],
            "video_id": row[2],
            "excluded": bool(row[3]),
            "error": row[4],
            "frontmatter": json.loads(row[5]) if row[5] else None,
            "timestamps": [
                {"span": s[:2], "seconds": s[2], "form": s[3] if len(s) > 3 else "html",
                 "video_id": s[4] if len(s) > 3 else None}
                for s in stamps
            ],
            "headings": [{"level": h[0], "text": h[1], "span": h[2]} for h in json.loads(row[7] or "[]")],
            "blocks": [{"id": b[0], "span": b[1]} for b in json.loads(row[8] or "[]")],
            "tags": [r[0] for r in self.conn.execute(
                "SELECT t.tag FROM tags t JOIN files f ON f.id=t.src WHERE f.uri=? ORDER BY t.start", (uri,)
            )],
        }  # fmt: skip

    def links_from(self, uri: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            'SELECT l.kind, l.start, l."end", l.target, l.subpath, l.display, l.dest, l.candidates '
            "FROM links l JOIN files f ON f.id=l.src WHERE f.uri=? ORDER BY l.ord",
            (uri,),
        )
        return [_link_dict(r) for r in rows]

    def backlinks(self, uri: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            'SELECT f.uri, l.kind, l.start, l."end", l.target, l.subpath, l.display '
            "FROM links l JOIN files f ON f.id=l.src WHERE l.dest=? ORDER BY f.uri, l.ord",
            (uri,),
        )
        return [
            {"source": r[0], "kind": r[1], "span": [r[2], r[3]], "target": r[4], "subpath": r[5], "display": r[6]}
            for r in rows
        ]

    def unresolved(self) -> list[dict[str, Any]]:
        """Missing targets, keyed like Obsidian's ``unresolvedLinks``, most referenced first."""
        rows = self.conn.execute(
            "SELECT l.target, COUNT(*), COUNT(DISTINCT l.src) FROM links l "
            "WHERE l.dest IS NULL GROUP BY l.target ORDER BY COUNT(*) DESC, l.target"
        )
        out: dict[str, dict[str, Any]] = {}
        for target, count, sources in rows:
            key = target[:-3] if target.lower().endswith(".md") else target
            entry = out.setdefault(key, {"target": key, "count": 0, "sources": 0})
            entry["count"] += count
            entry["sources"] += sources
        return sorted(out.values(), key=lambda e: (-e["count"], e["target"]))

    def link_counts(self) -> dict[str, int]:
        """Counts over body wikilinks and embeds (the ``links`` of ``vaultsync scan``)."""
        row = self.conn.execute(
            "SELECT SUM(body), SUM(body AND dest IS NOT NULL), SUM(body AND candidates > 1), SUM(kind='embed'), "
            "SUM(NOT body) FROM (SELECT kind IN ('wiki', 'embed') AS body, kind, dest, candidates FROM links)"
        ).fetchone()
        links, resolved = int(row[0] or 0), int(row[1] or 0)
        return {
            "links": links,
            "resolved": resolved,
            "unresolved": links - resolved,
            "ambiguous": int(row[2] or 0),
            "embeds": int(row[3] or 0),
            "other_links": int(row[4] or 0),
        }

    def set_counts(self, counts: dict[str, int]) -> None:
        """Store totals computed while writing (see :func:`row_counts`), sparing :meth:`counts` a pass."""
        self.set_meta("counts", json.dumps(counts))

    def _invalidate_counts(self) -> None:
        self.conn.execute("DELETE FROM meta WHERE key='counts'")

    def counts(self) -> dict[str, int]:
        """Vault totals; cached in ``meta`` until the next write, so an idle warm scan is cheap."""
        cached = self.get_meta("counts")
        if cached is not None:
            return dict(json.loads(cached))
        counts = self._count()
        self.set_meta("counts", json.dumps(counts))
        return counts

    def _count(self) -> dict[str, int]:
        files = self.conn.execute(
            "SELECT SUM(is_note=1), SUM(is_note=0), SUM(excluded=1), SUM(error IS NOT NULL), "
            "COALESCE(SUM(n_timestamps), 0) FROM files"
        ).fetchone()
        stamps = files[4]
        return {
            "notes": int(files[0] or 0),
            "attachments": int(files[1] or 0),
            "excluded": int(files[2] or 0),
            "unreadable": int(files[3] or 0),
            "timestamps": int(stamps),
            **self.link_counts(),
        }

    def tag_counts(self) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            "SELECT lower(t.tag), COUNT(*) FROM tags t JOIN files f ON f.id=t.src "
            "WHERE f.excluded=0 GROUP BY lower(t.tag) ORDER BY COUNT(*) DESC, lower(t.tag)"
        )
        return [(r[0], int(r[1])) for r in rows]

    def most_linked(self, limit: int = 10) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            "SELECT dest, COUNT(*) FROM links WHERE dest IS NOT NULL GROUP BY dest "
            "ORDER BY COUNT(*) DESC, dest LIMIT ?",
            (limit,),
        )
        return [(r[0], int(r[1])) for r in rows]

    def stored_diagnostics(self) -> list[tuple[str, str, str, str]]:
        rows = self.conn.execute(
            "SELECT f.uri, d.code, d.message, d.severity FROM diagnostics d JOIN files f ON f.id=d.src "
            "ORDER BY f.uri"
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]


def _link_dict(r: Sequence[Any]) -> dict[str, Any]:
    return {
        "kind": r[0],
        "span": [r[1], r[2]],
        "target": r[3],
        "subpath": r[4],
        "display": r[5],
        "dest": r[6],
        "ambiguous": r[7] > 1,
    }


COUNT_KEYS = (
    "notes", "attachments", "excluded", "unreadable", "timestamps",
    "links", "resolved", "unresolved", "ambiguous", "embeds", "other_links",
)  # fmt: skip


def row_counts(n: NoteRows) -> list[int]:
    """One file's share of :meth:`Index.counts`, in ``COUNT_KEYS`` order."""
    body = [link for link in n.links if link[2] in ("wiki", "embed")]
    resolved = sum(link[9] is not None for link in body)
    return [
        int(n.is_note), int(not n.is_note), int(n.excluded), int(n.error is not None), n.n_timestamps,
        len(body), resolved, len(body) - resolved, sum(link[10] > 1 for link in body),
        sum(link[2] == "embed" for link in body), len(n.links) - len(body),
    ]  # fmt: skip


_ROWS_PER_INSERT = 64


@functools.cache
def _insert_sql(table: str, columns: int, rows: int) -> str:
    one = "(" + ",".join("?" * columns) + ")"
    return f"INSERT INTO {table} VALUES " + ",".join([one] * rows)  # noqa: S608 - fixed names


def _insert_rows(c: sqlite3.Connection, table: str, columns: int, rows: list[tuple[Any, ...]]) -> None:
    """Insert many rows, 64 to a statement: a third faster than executemany, which steps once a row."""
    for at in range(0, len(rows), _ROWS_PER_INSERT):
        batch = rows[at : at + _ROWS_PER_INSERT]
        c.execute(_insert_sql(table, columns, len(batch)), list(itertools.chain.from_iterable(batch)))


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn
