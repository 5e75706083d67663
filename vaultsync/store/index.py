"""The persistent index: a SQLite file at ``<vault>/.vaultsync/index.sqlite``.

Owns the schema, row writes and every query (links, backlinks, unresolved, stats). It never reads
notes; :mod:`vaultsync.store.indexing` feeds it. The schema is versioned: a file with another version, or
one SQLite cannot read, is never trusted, and the caller rebuilds it from the vault.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vaultsync.errors import StoreError
from vaultsync.fs.vault import FileStat
from vaultsync.store.rows import (
    NoteRows,
    StoredLink,
    decode_blocks,
    decode_frontmatter,
    decode_headings,
    decode_ids,
    decode_links,
    decode_timestamps,
    encode_ids,
    encode_links,
    link_counts_of,
    link_facts,
    link_key,
)

SCHEMA_VERSION = 3  # 3: links as one JSON array per note, in `occurrences`; backlinks and link keys per target
INDEX_NAME = "index.sqlite"

# 16 KiB pages: a note's occurrences row (about 3 KB of JSON) packs better than in 4 KiB ones, so
# the index is smaller and a cold scan writes, merges and fsyncs less.
_SCHEMA = """
PRAGMA page_size=16384;
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files(
    id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    is_note INTEGER NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,
    excluded INTEGER NOT NULL DEFAULT 0,
    title TEXT, video_id TEXT, frontmatter TEXT, error TEXT,
    -- the note's share of the totals (timestamps; LINK_COUNT_KEYS)
    n_timestamps INTEGER NOT NULL DEFAULT 0,
    n_links INTEGER NOT NULL DEFAULT 0, n_resolved INTEGER NOT NULL DEFAULT 0,
    n_ambiguous INTEGER NOT NULL DEFAULT 0, n_embeds INTEGER NOT NULL DEFAULT 0, n_other INTEGER NOT NULL DEFAULT 0
);
-- A note's occurrence lists, as JSON arrays of arrays: its links in order (LINK_FIELDS; dest is
-- the id of the file the link opens), timestamps (scan.stored_timestamps), headings and block ids
-- (the fields of model.Heading and model.BlockId). Read per note, never joined, so rows would only
-- cost time; kept out of `files`, whose rows a warm scan reads all of.
CREATE TABLE occurrences(id INTEGER PRIMARY KEY, links TEXT, timestamps TEXT, headings TEXT, blocks TEXT);
-- Who links to a file: the ids of the notes whose links open it, one per link (JSON; any order).
-- A destination may have several rows (a cold scan writes one per worker); readers take them all.
CREATE TABLE backrefs(dest INTEGER NOT NULL, n INTEGER NOT NULL, srcs TEXT NOT NULL);
-- Who looks a name up (link_key): source ids, one per link, so links are re-resolved when a file
-- of that name appears or goes; and the same for the links among them left unresolved.
CREATE TABLE linkkeys(key TEXT NOT NULL, srcs TEXT NOT NULL, unresolved TEXT);
CREATE TABLE tags(src INTEGER NOT NULL, tag TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL);
CREATE TABLE diagnostics(src INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, severity TEXT NOT NULL);
"""
# Created after a bulk load, which is faster than maintaining them row by row.
_INDEXES = """
CREATE INDEX IF NOT EXISTS backrefs_dest ON backrefs(dest);
CREATE INDEX IF NOT EXISTS linkkeys_key ON linkkeys(key);
CREATE INDEX IF NOT EXISTS tags_src ON tags(src);
CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS diagnostics_src ON diagnostics(src);
"""
_CHILD_TABLES = ("tags", "diagnostics")
_TABLES = {"meta", "files", "occurrences", "backrefs", "linkkeys", *_CHILD_TABLES}

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

    @classmethod
    def reopen_fresh(cls, path: Path) -> Index:
        """Another connection to an index :meth:`create_fresh` made, for a worker process."""
        conn = _connect(path)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        return cls(conn, path)

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

    def _insert_files(self, notes: Sequence[NoteRows]) -> None:
        c = self.conn
        c.executemany(
            "INSERT OR REPLACE INTO files VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(n.id, n.uri, int(n.is_note), n.stat.size, n.stat.mtime_ns, n.stat.ctime_ns, n.stat.inode,
              int(n.excluded), n.title, n.video_id, n.frontmatter, n.error, n.n_timestamps, *n.link_counts)
             for n in notes],
        )  # fmt: skip
        c.executemany(
            "INSERT OR REPLACE INTO occurrences VALUES(?,?,?,?,?)",
            [(n.id, n.links, n.timestamps, n.headings, n.blocks) for n in notes if n.is_note],
        )
        c.executemany("INSERT INTO tags VALUES(?,?,?,?)", [r for n in notes for r in n.tags])
        c.executemany("INSERT INTO diagnostics VALUES(?,?,?,?)", [r for n in notes for r in n.diagnostics])

    def put_files(self, notes: Iterable[NoteRows]) -> None:
        """Insert or replace files with all their rows (the caller holds the transaction)."""
        notes = list(notes)
        self._invalidate_counts()
        refs = _RefChanges()
        for n in notes:
            before = link_facts(self._stored_links(n.id))
            after = (list(n.dests), list(n.keys), list(n.unresolved))
            # a save seldom changes where a note links: then backrefs and linkkeys stay as they are
            if sorted(before[0]) != sorted(after[0]) or sorted(before[1]) != sorted(after[1]) or (
                sorted(before[2]) != sorted(after[2])
            ):
                refs.remove(n.id, *before)
                refs.add(n.id, *after)
            self._delete_children(n.id)
        self._insert_files(notes)
        refs.apply(self.conn)

    def delete_files(self, ids: Iterable[int]) -> None:
        self._invalidate_counts()
        refs = _RefChanges()
        for file_id in ids:
            old = self._stored_links(file_id)
            if old:
                refs.remove(file_id, *link_facts(old))
            refs.drop_dest(file_id)
            self._delete_children(file_id)
            self.conn.execute("DELETE FROM files WHERE id=?", (file_id,))
        refs.apply(self.conn)

    def _stored_links(self, file_id: int) -> list[StoredLink]:
        row = self.conn.execute("SELECT links FROM occurrences WHERE id=?", (file_id,)).fetchone()
        return decode_links(row[0]) if row else []

    def _delete_children(self, file_id: int) -> None:
        self.conn.execute("DELETE FROM occurrences WHERE id=?", (file_id,))
        for table in _CHILD_TABLES:
            self.conn.execute(f"DELETE FROM {table} WHERE src=?", (file_id,))  # noqa: S608 - fixed names

    @classmethod
    def create_part(cls, path: Path) -> Index:
        """A scratch database with the index's tables, which one worker fills during a cold scan
        (with a :class:`BulkWriter`) and :meth:`merge_part` then copies in; nothing in it needs to
        survive a crash."""
        path.unlink(missing_ok=True)
        conn = _connect(path)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.executescript(_SCHEMA)
        return cls(conn, path)

    def merge_part(self, part: Path) -> None:
        """Copy every row of a part (see :meth:`create_part`) into this fresh index, in SQLite
        itself. Call it outside a transaction; the part's file is left for the caller to delete."""
        self._invalidate_counts()
        c = self.conn
        c.execute("ATTACH DATABASE ? AS part", (str(part),))
        try:
            with self.transaction():
                for table in ("files", "occurrences", "backrefs", "linkkeys", *_CHILD_TABLES):
                    c.execute(f"INSERT INTO main.{table} SELECT * FROM part.{table}")  # noqa: S608 - fixed names
        finally:
            c.execute("DETACH DATABASE part")

    def bulk_writer(self) -> BulkWriter:
        """A writer for a fresh index (see :class:`BulkWriter`)."""
        return BulkWriter(self)

    def set_excluded(self, excluded_uris: set[str]) -> None:
        self._invalidate_counts()
        self.conn.execute("UPDATE files SET excluded=0")
        self.conn.executemany("UPDATE files SET excluded=1 WHERE uri=?", ((u,) for u in excluded_uris))

    def sources_with_keys(self, keys: Iterable[str]) -> dict[int, str]:
        """id -> uri of the notes holding a link whose lookup key (:func:`link_key`) is among ``keys``."""
        ids: set[int] = set()
        for key in set(keys):
            for (srcs,) in self.conn.execute("SELECT srcs FROM linkkeys WHERE key=?", (key,)):
                ids.update(decode_ids(srcs))
        return self._uris_of(ids)

    def relink(self, keys: Iterable[str], resolve: Callable[[str, str], tuple[str | None, int]]) -> int:
        """Re-resolve the stored links whose lookup key is among ``keys`` with ``resolve(target,
        source uri) -> (dest uri, candidates)``; return how many changed."""
        keys = set(keys)
        changed = 0
        refs = _RefChanges()
        for src, uri in sorted(self.sources_with_keys(keys).items()):
            old = self._stored_links(src)
            new = list(old)
            for k, link in enumerate(new):
                if link_key(link.target) not in keys:
                    continue
                dest, candidates = resolve(link.target, uri)
                dest_id = None if dest is None else self.file_id(dest)
                if (link.dest, link.candidates) != (dest_id, candidates):
                    new[k] = link._replace(dest=dest_id, candidates=candidates)
                    changed += 1
            if new != old:
                refs.remove(src, *link_facts(old))
                refs.add(src, *link_facts(new))
                self.conn.execute("UPDATE occurrences SET links=? WHERE id=?", (encode_links(new), src))
                self.conn.execute(
                    "UPDATE files SET n_links=?, n_resolved=?, n_ambiguous=?, n_embeds=?, n_other=? WHERE id=?",
                    (*link_counts_of(new), src),
                )
        if changed:
            self._invalidate_counts()
            refs.apply(self.conn)
        return changed

    # -- queries ---------------------------------------------------------------------------------

    def uris(self, notes_only: bool = False) -> list[str]:
        sql = "SELECT uri FROM files" + (" WHERE is_note=1" if notes_only else "") + " ORDER BY uri"
        return [r[0] for r in self.conn.execute(sql)]

    def is_note(self, uri: str) -> bool:
        """Whether ``uri`` is an indexed note."""
        return self.conn.execute("SELECT 1 FROM files WHERE uri=? AND is_note=1", (uri,)).fetchone() is not None

    def note_rows(self) -> list[tuple[str, str | None, dict[str, Any] | None, bool]]:
        """(uri, title, frontmatter, excluded) of every note."""
        rows = self.conn.execute("SELECT uri, title, frontmatter, excluded FROM files WHERE is_note=1")
        return [(u, t, decode_frontmatter(fm), bool(ex)) for u, t, fm, ex in rows]

    def tag_rows(self) -> list[tuple[str, str]]:
        """(uri, tag) of every tag occurrence, frontmatter tags included."""
        return [(r[0], r[1]) for r in self.conn.execute("SELECT f.uri, t.tag FROM tags t JOIN files f ON f.id=t.src")]

    def frontmatter(self, uri: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT frontmatter FROM files WHERE uri=?", (uri,)).fetchone()
        return decode_frontmatter(row[0]) if row else None

    def headings(self, uri: str) -> list[tuple[int, str, list[int]]]:
        """(level, text, span) of a note's headings."""
        row = self.conn.execute(
            "SELECT o.headings FROM files f JOIN occurrences o ON o.id=f.id WHERE f.uri=?", (uri,)
        ).fetchone()
        return [(h.level, h.text, list(h.span)) for h in decode_headings(row[0])] if row else []

    def set_read_only(self) -> None:
        """This connection never writes (a reader beside the daemon's writer)."""
        self.conn.execute("PRAGMA query_only=1")

    def file_id(self, uri: str) -> int | None:
        row = self.conn.execute("SELECT id FROM files WHERE uri=?", (uri,)).fetchone()
        return None if row is None else int(row[0])

    def _uris_of(self, ids: Iterable[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        ids = sorted(set(ids))
        for at in range(0, len(ids), 500):
            batch = ids[at : at + 500]
            sql = "SELECT id, uri FROM files WHERE id IN (%s)" % ",".join("?" * len(batch))  # noqa: S608 - placeholders
            out.update(self.conn.execute(sql, batch))
        return out

    def note(self, uri: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT f.uri, f.title, f.video_id, f.excluded, f.error, f.frontmatter, o.timestamps, o.headings, "
            "o.blocks FROM files f LEFT JOIN occurrences o ON o.id=f.id WHERE f.uri=?",
            (uri,),
        ).fetchone()
        if row is None:
            return None
        return {
            "uri": row[0],
            "title": row[1],
            "video_id": row[2],
            "excluded": bool(row[3]),
            "error": row[4],
            "frontmatter": decode_frontmatter(row[5]),
            "timestamps": [
                {"span": [s.start, s.end], "seconds": s.seconds, "form": s.form, "video_id": s.video_id}
                for s in decode_timestamps(row[6])
            ],
            "headings": [{"level": h.level, "text": h.text, "span": list(h.span)} for h in decode_headings(row[7])],
            "blocks": [{"id": b.id, "span": list(b.span)} for b in decode_blocks(row[8])],
            "tags": [r[0] for r in self.conn.execute(
                "SELECT t.tag FROM tags t JOIN files f ON f.id=t.src WHERE f.uri=? ORDER BY t.start", (uri,)
            )],
        }  # fmt: skip

    def links_from(self, uri: str) -> list[dict[str, Any]]:
        row = self.conn.execute(
            "SELECT o.links FROM files f JOIN occurrences o ON o.id=f.id WHERE f.uri=?", (uri,)
        ).fetchone()
        links = decode_links(row[0]) if row else []
        dests = self._uris_of(link.dest for link in links if link.dest is not None)
        return [
            {"kind": k, "span": [s, e], "target": t, "subpath": sub, "display": d,
             "dest": None if dest is None else dests.get(dest), "ambiguous": cands > 1}
            for k, s, e, t, sub, d, dest, cands in links
        ]  # fmt: skip

    def backlinks(self, uri: str) -> list[dict[str, Any]]:
        dest = self.file_id(uri)
        srcs = [s for (ids,) in self.conn.execute("SELECT srcs FROM backrefs WHERE dest=?", (dest,)) for s in decode_ids(ids)]
        uris = self._uris_of(srcs)
        return [
            {"source": uris[src], "kind": k, "span": [s, e], "target": t, "subpath": sub, "display": d}
            for src, links in sorted(self._links_of(uris), key=lambda r: uris[r[0]])
            for k, s, e, t, sub, d, link_dest, _ in links
            if link_dest == dest
        ]

    def _links_of(self, ids: Iterable[int]) -> Iterator[tuple[int, list[StoredLink]]]:
        """(id, stored links) of the given files."""
        ids = sorted(set(ids))
        for at in range(0, len(ids), 500):
            batch = ids[at : at + 500]
            sql = "SELECT id, links FROM occurrences WHERE id IN (%s)" % ",".join("?" * len(batch))  # noqa: S608 - placeholders
            for file_id, links in self.conn.execute(sql, batch):
                yield file_id, decode_links(links)

    def link_rows(self) -> list[tuple[str, int, str, str, str, str | None, str | None, int]]:
        """Every stored link as (source uri, ordinal, kind, target, subpath, display, dest uri,
        candidates): the whole link table, for tests and tools."""
        uris = dict(self.conn.execute("SELECT id, uri FROM files"))
        return [
            (uri, ordinal, k, t, sub, d, None if dest is None else uris.get(dest), cands)
            for uri, links in self.conn.execute(
                "SELECT f.uri, o.links FROM files f JOIN occurrences o ON o.id=f.id WHERE o.links IS NOT NULL"
            )
            for ordinal, (k, _s, _e, t, sub, d, dest, cands) in enumerate(decode_links(links))
        ]

    def unresolved(self) -> list[dict[str, Any]]:
        """Missing targets, keyed like Obsidian's ``unresolvedLinks``, most referenced first."""
        ids: set[int] = set()
        for (srcs,) in self.conn.execute("SELECT unresolved FROM linkkeys WHERE unresolved IS NOT NULL"):
            ids.update(decode_ids(srcs))
        per_target: dict[str, tuple[int, set[int]]] = {}
        for src, links in self._links_of(ids):
            for link in links:
                if link.dest is None:
                    count, sources = per_target.get(link.target, (0, set()))
                    sources.add(src)
                    per_target[link.target] = (count + 1, sources)
        out: dict[str, dict[str, Any]] = {}
        for target, (count, sources) in per_target.items():
            key = target[:-3] if target.lower().endswith(".md") else target
            entry = out.setdefault(key, {"target": key, "count": 0, "sources": 0})
            entry["count"] += count
            entry["sources"] += len(sources)
        return sorted(out.values(), key=lambda e: (-e["count"], e["target"]))

    def link_counts(self) -> dict[str, int]:
        """Counts over body wikilinks and embeds (the ``links`` of ``vaultsync scan``)."""
        row = self.conn.execute(
            "SELECT SUM(n_links), SUM(n_resolved), SUM(n_ambiguous), SUM(n_embeds), SUM(n_other) FROM files"
        ).fetchone()
        links, resolved, ambiguous, embeds, other = (int(v or 0) for v in row)
        return {
            "links": links,
            "resolved": resolved,
            "unresolved": links - resolved,
            "ambiguous": ambiguous,
            "embeds": embeds,
            "other_links": other,
        }

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

    def read_counts(self) -> dict[str, int]:
        """:meth:`counts` for a reader that must not write: the cached totals if there are any,
        else computed and not stored. One read of the cache, so a writer that clears it meanwhile
        (the daemon's next batch) cannot make this write."""
        cached = self.get_meta("counts")
        return dict(json.loads(cached)) if cached is not None else self._count()

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
            "SELECT f.uri, SUM(b.n) AS n FROM backrefs b JOIN files f ON f.id=b.dest GROUP BY b.dest "
            "ORDER BY n DESC, f.uri LIMIT ?",
            (limit,),
        )
        return [(r[0], int(r[1])) for r in rows]

    def stored_diagnostics(self) -> list[tuple[str, str, str, str]]:
        rows = self.conn.execute(
            "SELECT f.uri, d.code, d.message, d.severity FROM diagnostics d JOIN files f ON f.id=d.src "
            "ORDER BY f.uri"
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]


class _RefChanges:
    """Edits to backrefs and linkkeys for a few notes, applied row by row (warm updates)."""

    def __init__(self) -> None:
        self.dests: dict[int, list[int]] = {}  # dest -> sources to add; every row touched is listed
        self.keys: dict[str, list[int]] = {}
        self.unresolved: dict[str, list[int]] = {}
        self.removed: set[int] = set()
        self.dropped: set[int] = set()

    def remove(self, src: int, dests: Sequence[int], keys: Sequence[str], unresolved: Sequence[str]) -> None:
        self.removed.add(src)
        for d in dests:
            self.dests.setdefault(d, [])
        for k in (*keys, *unresolved):
            self.keys.setdefault(k, [])

    def add(self, src: int, dests: Sequence[int], keys: Sequence[str], unresolved: Sequence[str]) -> None:
        self.removed.add(src)  # a source's old rows always go first
        _group(self.dests, dests, src)
        _group(self.keys, keys, src)
        _group(self.unresolved, unresolved, src)

    def drop_dest(self, dest: int) -> None:
        self.dropped.add(dest)

    def apply(self, c: sqlite3.Connection) -> None:
        gone = self.removed
        for dest, added in self.dests.items():
            rows = c.execute("SELECT srcs FROM backrefs WHERE dest=?", (dest,)).fetchall()
            srcs = sorted([s for (ids,) in rows for s in decode_ids(ids) if s not in gone] + added)
            c.execute("DELETE FROM backrefs WHERE dest=?", (dest,))
            if srcs and dest not in self.dropped:
                c.execute("INSERT INTO backrefs VALUES(?,?,?)", (dest, len(srcs), encode_ids(srcs)))
        for dest in self.dropped - self.dests.keys():
            c.execute("DELETE FROM backrefs WHERE dest=?", (dest,))
        for key in self.keys:
            rows = c.execute("SELECT srcs, unresolved FROM linkkeys WHERE key=?", (key,)).fetchall()
            srcs = sorted([s for r in rows for s in decode_ids(r[0]) if s not in gone] + self.keys[key])
            missing = [s for r in rows for s in decode_ids(r[1]) if s not in gone]
            missing = sorted(missing + self.unresolved.get(key, []))
            c.execute("DELETE FROM linkkeys WHERE key=?", (key,))
            if srcs:
                c.execute(
                    "INSERT INTO linkkeys VALUES(?,?,?)", (key, encode_ids(srcs), encode_ids(missing) if missing else None)
                )


class BulkWriter:
    """Fills a fresh index: files go in as they come; backrefs and linkkeys are gathered in memory
    and written once by :meth:`finish`, one row per target rather than one per link. Source ids
    are written in ascending order."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.dests: dict[int, list[int]] = {}
        self.keys: dict[str, list[int]] = {}
        self.unresolved: dict[str, list[int]] = {}
        self._last = 0  # the largest id put so far
        self._ascending = True  # whether files came in ascending id order (else finish sorts)

    def put(self, notes: Sequence[NoteRows]) -> None:
        dests, keys, unresolved = self.dests, self.keys, self.unresolved
        for n in notes:
            _group(dests, n.dests, n.id)
            _group(keys, n.keys, n.id)
            _group(unresolved, n.unresolved, n.id)
        if notes:
            self._ascending = self._ascending and notes[0].id > self._last
            self._last = max(self._last, notes[-1].id)
        self.index._insert_files(notes)

    def finish(self) -> None:
        c = self.index.conn
        if not self._ascending:
            for groups in (self.dests, self.keys, self.unresolved):
                for ids in groups.values():
                    ids.sort()
        c.executemany("INSERT INTO backrefs VALUES(?,?,?)", [(d, len(s), encode_ids(s)) for d, s in self.dests.items()])
        missing = self.unresolved
        c.executemany(
            "INSERT INTO linkkeys VALUES(?,?,?)",
            [(k, encode_ids(s), encode_ids(missing[k]) if k in missing else None) for k, s in self.keys.items()],
        )


def _group(groups: dict[Any, list[int]], keys: Iterable[Any], value: int) -> None:
    """Append ``value`` to the list of each key in ``groups``, starting lists as needed."""
    for k in keys:
        got = groups.get(k)
        if got is None:
            groups[k] = [value]
        else:
            got.append(value)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn
