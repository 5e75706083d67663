"""The persistent index: a SQLite file at ``<vault>/.vaultsync/index.sqlite``.

Owns the schema, opening and publishing the file, and the row writes; the queries are
:mod:`vaultsync.store.queries` (which :class:`Index` is built on), the layout of the rows
:mod:`vaultsync.store.rows`, the reverse tables :mod:`vaultsync.store.refs`. It never reads
notes; :mod:`vaultsync.store.indexing` feeds it. The schema is versioned: a file with another version, or
one SQLite cannot read, is never trusted, and the caller rebuilds it from the vault.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from vaultsync.errors import StoreError
from vaultsync.fs.vault import FileStat, Vault
from vaultsync.store import fulltext
from vaultsync.store.queries import IndexQueries
from vaultsync.store.refs import BulkWriter, RefChanges
from vaultsync.store.rows import NoteRows, StoredLink, decode_ids, decode_links, encode_links, encode_missing, link_counts_of, link_facts, link_key

SCHEMA_VERSION = 5  # 3: links as one JSON array per note, in `occurrences`; backlinks and link keys per target; 4: full text; 5: missing targets
INDEX_NAME = "index.sqlite"

# 16 KiB pages: a note's occurrences row (about 3 KB of JSON) packs better than in 4 KiB ones, so
# the index is smaller and a cold scan writes, merges and fsyncs less.
_BASE_SCHEMA = """
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
-- the id of the file the link opens), timestamps (rows.StoredTimestamp), headings and block ids
-- (the fields of model.Heading and model.BlockId). Read per note, never joined, so rows would only
-- cost time; kept out of `files`, whose rows a warm scan reads all of.
-- `missing` is the targets of the note's unresolved links, one per link (JSON; rows.encode_missing),
-- so that listing them reads no link lists.
CREATE TABLE occurrences(id INTEGER PRIMARY KEY, links TEXT, timestamps TEXT, headings TEXT, blocks TEXT, missing TEXT);
-- Who links to a file: the ids of the notes whose links open it, one per link (JSON; any order).
-- A destination may have several rows (a cold scan writes one per worker); readers take them all.
CREATE TABLE backrefs(dest INTEGER NOT NULL, n INTEGER NOT NULL, srcs TEXT NOT NULL);
-- Who looks a name up (link_key): source ids, one per link, so links are re-resolved when a file
-- of that name appears or goes (a note's unresolved targets are in occurrences.missing).
CREATE TABLE linkkeys(key TEXT NOT NULL, srcs TEXT NOT NULL);
CREATE TABLE tags(src INTEGER NOT NULL, tag TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL);
CREATE TABLE diagnostics(src INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, severity TEXT NOT NULL);
"""
_SCHEMA = _BASE_SCHEMA + fulltext.SCHEMA  # full-text search: its own table (vaultsync.store.fulltext)
# A cold scan's part keeps its passages in a plain table: FTS5 cannot copy an index between
# databases, so the text is tokenized once, when the part is merged, not in the worker as well.
_PART_SCHEMA = _BASE_SCHEMA + fulltext.PART_SCHEMA
# Created after a bulk load, which is faster than maintaining them row by row.
_INDEXES = """
CREATE INDEX IF NOT EXISTS backrefs_dest ON backrefs(dest);
CREATE INDEX IF NOT EXISTS linkkeys_key ON linkkeys(key);
CREATE INDEX IF NOT EXISTS tags_src ON tags(src);
CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS diagnostics_src ON diagnostics(src);
-- the few files userIgnoreFilters hides, which every search leaves out (a scan of files: 1.3 ms)
CREATE INDEX IF NOT EXISTS files_excluded ON files(id) WHERE excluded = 1;
"""
_CHILD_TABLES = ("tags", "diagnostics")
_TABLES = {"meta", "files", "occurrences", "backrefs", "linkkeys", *_CHILD_TABLES, fulltext.TABLE}

class Index(IndexQueries):
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

    def discard(self) -> None:
        """Close a fresh index that will not be published (a failed cold scan) and delete it."""
        self.conn.close()
        for path in (self.path, Path(f"{self.path}-journal")):
            path.unlink(missing_ok=True)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            self.conn.execute("BEGIN")
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

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
            "INSERT OR REPLACE INTO occurrences VALUES(?,?,?,?,?,?)",
            [(n.id, n.links, n.timestamps, n.headings, n.blocks, n.missing) for n in notes if n.is_note],
        )
        c.executemany("INSERT INTO tags VALUES(?,?,?,?)", [r for n in notes for r in n.tags])
        c.executemany("INSERT INTO diagnostics VALUES(?,?,?,?)", [r for n in notes for r in n.diagnostics])
        fulltext.write_passages(c, ((n.id, n.passages) for n in notes))  # full-text search

    def put_files(self, notes: Iterable[NoteRows]) -> None:
        """Insert or replace files with all their rows (the caller holds the transaction)."""
        notes = list(notes)
        self._invalidate_counts()
        refs = RefChanges()
        for n in notes:
            before = link_facts(self._stored_links(n.id))
            after = (list(n.dests), list(n.keys))
            # a save seldom changes where a note links: then backrefs and linkkeys stay as they are
            if sorted(before[0]) != sorted(after[0]) or sorted(before[1]) != sorted(after[1]):
                refs.remove(n.id, *before)
                refs.add(n.id, *after)
            self._delete_children(n.id)
        self._insert_files(notes)
        refs.apply(self.conn)

    def delete_files(self, ids: Iterable[int]) -> None:
        self._invalidate_counts()
        refs = RefChanges()
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
        fulltext.delete_passages(self.conn, file_id)  # full-text search
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
        conn.executescript(_PART_SCHEMA)
        return cls(conn, path)

    def remove_parts(self) -> None:
        """Delete the parts (see :meth:`create_part`) beside this fresh index, a failed worker's too."""
        for part in self.path.parent.glob(f"{self.path.name}.part-*"):
            part.unlink(missing_ok=True)

    def merge_part(self, part: Path) -> None:
        """Copy every row of a part (see :meth:`create_part`) into this fresh index, in SQLite
        itself, then delete the part. Call it outside a transaction."""
        self._invalidate_counts()
        c = self.conn
        c.execute("ATTACH DATABASE ? AS part", (str(part),))
        try:
            with self.transaction():
                for table in ("files", "occurrences", "backrefs", "linkkeys", *_CHILD_TABLES):
                    c.execute(f"INSERT INTO main.{table} SELECT * FROM part.{table}")  # noqa: S608 - fixed names
                fulltext.merge_part(c, "part")  # full-text search
        finally:
            c.execute("DETACH DATABASE part")
        part.unlink(missing_ok=True)

    def bulk_writer(self, writer: BulkWriter | None = None) -> BulkWriter:
        """A writer for a fresh index or part (see :class:`BulkWriter`); given ``writer``, that
        one writes here from now on, what it has gathered included."""
        if writer is None:
            return BulkWriter(self.conn, self._insert_files)
        writer.retarget(self.conn, self._insert_files)
        return writer

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
        refs = RefChanges()
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
                self.conn.execute("UPDATE occurrences SET links=?, missing=? WHERE id=?", (encode_links(new), encode_missing(new), src))
                self.conn.execute(
                    "UPDATE files SET n_links=?, n_resolved=?, n_ambiguous=?, n_embeds=?, n_other=? WHERE id=?",
                    (*link_counts_of(new), src),
                )
        if changed:
            self._invalidate_counts()
            refs.apply(self.conn)
        return changed


def index_path(vault: Vault) -> Path:
    return vault.state_dir / INDEX_NAME


def open_index(vault: Vault) -> Index | None:
    """The vault's index if it can be trusted, else None."""
    return Index.open_existing(index_path(vault))


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn
