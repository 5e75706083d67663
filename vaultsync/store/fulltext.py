"""The full-text index: every note's passages in an FTS5 table of ``index.sqlite``.

Owns the table's schema, its rows (built from a note's text and the scanner's results by
:func:`passage_rows`, in the worker that parses the note), their writes and deletes, and the
``MATCH`` queries that read it. :mod:`vaultsync.store.index` creates the table with the rest of the
schema and calls :func:`write_passages` / :func:`delete_passages` in the transaction that writes
or deletes a note's other rows, and :func:`merge_part` when a cold scan merges a worker's part;
it knows nothing else of it.

One row per passage (:mod:`vaultsync.text.passages`); its rowid is ``file id << 20 | ordinal``,
so a note's rows are one rowid range. Columns searched: ``title`` (the note's title, else its file
name, and its aliases), ``heading`` (the heading path), ``body`` and ``video`` (the governing
timestamp's video id, for ``video:``); ranked by BM25 with the title weighted 2, the heading 1.5
and the body 1 (see WEIGHTS), exactly up to CANDIDATES matches and among a bounded set beyond. Text goes through :func:`fold` on the way in and so
do query terms: NFC, and the Turkish dotless ``ı`` as ``i`` (the tokenizer lower-cases ``I`` to
``i``, so "Işık" and "ışık" would otherwise never meet). The tokenizer is ``unicode61`` with
``remove_diacritics 2`` (accents, cedillas and the like dropped) and combining marks counted as
letters (without that Devanagari words would be cut at every vowel sign). CJK text has no spaces
between words: a run of CJK characters is one token, found whole or by prefix (``東京*``).
Where folding changed a passage's text, the original is kept in ``shown`` for display.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from vaultsync.model import Heading
from vaultsync.text.names import basename, stem

TABLE = "fulltext"
TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
# title, heading, body, video: every passage carries its note's title, so a larger title weight
# would drown the body's own matches in BM25's saturation (a tag line would outrank the passage);
# the video id is searchable (video:ID intersects in the index) but weighs nothing
WEIGHTS = (2.0, 1.5, 1.0, 0.0)
COLUMNS = ("title", "heading", "body", "video")
# A query matching more passages than this is ranked among the passages where it matches a
# title or heading and the first CANDIDATES in note order (at most CANDIDATES of each): ranking
# is the cost of a query (5-10 µs a passage on a busy 2-core machine), and a word found in 90,000
# of 472,000 passages would take half a second. Up to CANDIDATES matches the order is BM25's.
CANDIDATES = 1000
# Bytes of new terms FTS5 gathers in memory before it writes them out as a segment (its default is
# 1 MB): a cold scan inserts ~470,000 passages in one transaction, and with fewer, larger segments
# it merges less: 7.4 s instead of 11.1 s for those of 20,000 real notes. A small transaction
# (the daemon's) never fills it.
HASH_SIZE = 16 << 20
SCHEMA = f"""
CREATE VIRTUAL TABLE {TABLE} USING fts5(
    title, heading, body, video, line UNINDEXED, line_end UNINDEXED, seconds UNINDEXED, shown UNINDEXED,
    tokenize="{TOKENIZER}"
);
INSERT INTO {TABLE}({TABLE}, rank) VALUES('hashsize', {HASH_SIZE});
"""
# The same columns in a plain table, for a cold scan's part (see vaultsync.store.index)
PART_SCHEMA = f"""
CREATE TABLE {TABLE}(rowid INTEGER PRIMARY KEY, title, heading, body, video, line, line_end, seconds, shown);
"""
MARK_START, MARK_END = "\x02", "\x03"  # around matched words in StoredHit.body
_ID_BITS = 20
_LAST = (1 << _ID_BITS) - 1
_FOLD = str.maketrans({"ı": "i"})
_COLS = "title, heading, body, video, line, line_end, seconds, shown"
_BM25 = f"bm25({TABLE}, {', '.join(map(str, WEIGHTS))})"

# (ordinal, title, heading, body, video, line, line_end, seconds, shown): one passage's row
PassageRow = tuple[int, str, str, str, "str | None", int, int, "int | None", "str | None"]


def is_enabled() -> bool:
    """False when ``VAULTSYNC_FULLTEXT=0``: a switch for ``bench/search.py`` only, to time a
    cold scan without the full-text rows (an index built so finds nothing until rebuilt)."""
    return os.environ.get("VAULTSYNC_FULLTEXT", "1") != "0"


def fold(text: str) -> str:
    """Text as the full-text index holds it, and as query terms are looked up (see above)."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text.translate(_FOLD) if "ı" in text else text


@functools.lru_cache(maxsize=1 << 16)
def fold_name(text: str) -> str:
    """A file name or path as ``file:`` and ``path:`` compare it: case and accents dropped."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# -- rows --------------------------------------------------------------------------------------------


def passage_rows(
    text: str,
    uri: str,
    title: str | None,
    video_id: str | None,
    frontmatter: str | None,
    headings: Sequence[Heading],
    timestamps: Sequence[Sequence[Any]],
) -> list[PassageRow]:
    """A note's full-text rows from its text, its frontmatter as the index stores it (JSON), its
    headings and its timestamps in their stored layout (:func:`vaultsync.store.rows.timestamp_rows`).
    A note with no passage gets one empty one, so that its title and aliases are still found."""
    if not is_enabled():
        return []
    from vaultsync.text.parse import body_start, frontmatter_aliases  # noqa: PLC0415 - a query needs neither
    from vaultsync.text.passages import Passage, note_passages  # noqa: PLC0415

    found = note_passages(text, body_start(text), headings, timestamps)
    if not found:
        found = [Passage("", 1, 1, "", None, None)]
    names = [title or stem(uri)]
    if frontmatter and "liases" in frontmatter:
        names += frontmatter_aliases(json.loads(frontmatter))
    folded_title = fold(" ".join(names))
    rows: list[PassageRow] = []
    append = rows.append
    folded: dict[str, str] = {}  # heading path -> folded: a section's passages share it
    for ordinal, (heading_path, line, line_end, body_text, seconds, own_video) in enumerate(found[: _LAST + 1]):
        heading = folded.get(heading_path)
        if heading is None:
            heading = folded[heading_path] = fold(heading_path)
        body = fold(body_text)
        shown = None if heading == heading_path and body == body_text else json.dumps([heading_path, body_text], ensure_ascii=False)
        append((ordinal, folded_title, heading, body, own_video or video_id, line, line_end, seconds, shown))
    return rows


def write_passages(conn: sqlite3.Connection, notes: Iterable[tuple[int, Sequence[PassageRow]]]) -> None:
    """Insert the rows of ``(file id, rows)`` pairs (old rows must be deleted first)."""
    conn.executemany(
        f"INSERT INTO {TABLE}(rowid, {_COLS}) VALUES(?,?,?,?,?,?,?,?,?)",  # noqa: S608 - fixed names
        [((file_id << _ID_BITS) | r[0], *r[1:]) for file_id, rows in notes for r in rows],
    )


def delete_passages(conn: sqlite3.Connection, file_id: int) -> None:
    """Delete one file's rows."""
    low = file_id << _ID_BITS
    conn.execute(f"DELETE FROM {TABLE} WHERE rowid BETWEEN ? AND ?", (low, low | _LAST))  # noqa: S608


def merge_part(conn: sqlite3.Connection, schema: str) -> None:
    """Copy the rows of the attached database ``schema`` (a cold scan's part) into this one."""
    conn.execute(f"INSERT INTO main.{TABLE}(rowid, {_COLS}) SELECT rowid, {_COLS} FROM {schema}.{TABLE}")  # noqa: S608


def dump(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """uri -> the note's rows in order, ids left out: what a rebuild must reproduce."""
    out: dict[str, list[tuple[object, ...]]] = {}
    for uri, *row in conn.execute(
        f"SELECT f.uri, t.rowid & {_LAST}, {', '.join('t.' + c for c in _COLS.split(', '))} FROM {TABLE} t JOIN files f ON f.id = t.rowid >> {_ID_BITS} "  # noqa: S608
        "ORDER BY f.uri, t.rowid"
    ):
        out.setdefault(uri, []).append(tuple(row))
    return out


# -- queries -----------------------------------------------------------------------------------------


def phrase(text: str, *, prefix: bool = False) -> str | None:
    """A term or phrase as an FTS5 string (folded and quoted), ``*`` after it for a prefix; None
    when it holds no letter or digit (the tokenizer would find no token in it)."""
    folded = fold(text)
    if not any(c.isalnum() for c in folded):
        return None
    return '"' + folded.replace('"', '""') + '"' + (" *" if prefix else "")


def in_column(column: str, expression: str) -> str:
    """``expression`` matched in one column only (``heading`` or ``body``)."""
    if column not in COLUMNS:  # title, heading, body, video
        raise ValueError(column)
    return f"{column} : ({expression})"


class StoredHit(NamedTuple):
    """One passage found, as the table holds it."""

    uri: str
    title: str | None
    heading: str
    body: str  # folded, matched words between MARK_START and MARK_END
    shown: str | None  # JSON [heading, body] as written, when folding changed them
    line: int
    line_end: int
    seconds: int | None
    video: str | None
    rank: float


class Filters(NamedTuple):
    """Conditions on the note of a passage; each item is ``(value, negated)``."""

    files: tuple[tuple[str, bool], ...] = ()  # a substring of the file name (fold_name)
    paths: tuple[tuple[str, bool], ...] = ()  # a substring of the vault path (fold_name)
    tags: tuple[tuple[str, bool], ...] = ()  # a tag, or a parent of it (#a finds #a/b)
    videos: tuple[tuple[str, bool], ...] = ()  # the passage's video id, exactly
    among: frozenset[str] | None = None  # only these note uris (a selection)
    include_excluded: bool = False  # userIgnoreFilters' notes too
    exclude: str | None = None  # an FTS5 expression passages must not match (with no match given)


def search(conn: sqlite3.Connection, match: str | None, filters: Filters, limit: int) -> list[StoredHit]:
    """The best ``limit`` passages for an FTS5 ``match`` expression (None: every passage, in note
    order) among the notes ``filters`` admits (see CANDIDATES for the order of a query matching
    very many). Raises sqlite3.OperationalError on a bad expression."""
    allowed, banned = _notes(conn, filters)
    # video:ID is looked up in the index (its column), then checked exactly (ids are case-sensitive)
    videos = [in_column("video", q) for v, negated in filters.videos if not negated and (q := phrase(v)) is not None]
    focus = None if match is None else f"{{title heading}} : ({match})"
    if videos:
        match = " AND ".join(([f"({match})"] if match is not None else []) + videos)
        focus = match if focus is None else " AND ".join([focus, *videos])
    cond, params = _conditions(filters)
    if match is None or focus is None:
        if allowed is not None:
            cond += " AND f.id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(allowed)))
        if banned:
            cond += " AND f.excluded = 0"
        sql = (
            f"SELECT t.rowid, 0.0 FROM files f CROSS JOIN {TABLE} t ON t.rowid BETWEEN f.id << {_ID_BITS} "  # noqa: S608
            f"AND (f.id << {_ID_BITS}) | {_LAST} WHERE f.is_note = 1{cond} ORDER BY f.id, t.rowid LIMIT ?"
        )
        found = conn.execute(sql, [*params, limit]).fetchall()
    else:
        chosen = _candidates(conn, focus, allowed, banned) | _candidates(conn, match, allowed, banned)
        sql = (
            f"SELECT t.rowid, {_BM25.replace(TABLE + ',', f't.{TABLE},')} AS score FROM {TABLE} t "  # noqa: S608
            f"WHERE t.{TABLE} MATCH ? AND t.rowid + 0 IN (SELECT value FROM json_each(?)){cond} ORDER BY score, t.rowid LIMIT ?"
        )
        found = conn.execute(sql, [match, json.dumps(sorted(chosen)), *params, limit]).fetchall()
    return [_stored_hit(conn, match, rowid, score) for rowid, score in found]


def _candidates(conn: sqlite3.Connection, match: str, allowed: set[int] | None, banned: set[int]) -> set[int]:
    """The rowids of the first CANDIDATES passages matching ``match`` in notes allowed."""
    out: set[int] = set()
    cursor = conn.execute(f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH ?", (match,))  # noqa: S608
    for (rowid,) in cursor:
        note = rowid >> _ID_BITS
        if (allowed is None or note in allowed) and note not in banned:
            out.add(rowid)
            if len(out) >= CANDIDATES:
                break
    cursor.close()
    return out


def _stored_hit(conn: sqlite3.Connection, match: str | None, rowid: int, score: float) -> StoredHit:
    cols = "f.uri, f.title, t.heading, {body}, t.shown, t.line, t.line_end, t.seconds, t.video"
    head = f"FROM {TABLE} t CROSS JOIN files f ON f.id = t.rowid >> {_ID_BITS} WHERE t.rowid = ?"
    if match is None:
        row = conn.execute(f"SELECT {cols.format(body='t.body')} {head}", (rowid,)).fetchone()  # noqa: S608
    else:
        marked = cols.format(body=f"highlight(t.{TABLE}, 2, '{MARK_START}', '{MARK_END}')")
        row = conn.execute(f"SELECT {marked} {head} AND t.{TABLE} MATCH ?", (rowid, match)).fetchone()  # noqa: S608
    return StoredHit._make((*row, score))


def shown_text(hit: StoredHit) -> tuple[str, str]:
    """A hit's heading path and text as written (NFC; as long as the folded text)."""
    if hit.shown is None:
        return hit.heading, hit.body.replace(MARK_START, "").replace(MARK_END, "")
    heading, body = json.loads(hit.shown)
    return unicodedata.normalize("NFC", heading), unicodedata.normalize("NFC", body)


def latest_seconds(conn: sqlite3.Connection, uris: Iterable[str]) -> dict[str, int]:
    """uri -> the latest second a passage of the note points at (for the hours rule)."""
    out: dict[str, int] = {}
    for uri in uris:
        row = conn.execute(
            f"SELECT MAX(t.seconds) FROM files f JOIN {TABLE} t ON t.rowid BETWEEN f.id << {_ID_BITS} "  # noqa: S608
            f"AND (f.id << {_ID_BITS}) | {_LAST} WHERE f.uri = ?",
            (uri,),
        ).fetchone()
        if row and row[0] is not None:
            out[uri] = int(row[0])
    return out


def _conditions(filters: Filters) -> tuple[str, list[object]]:
    """SQL conditions on the passages (``t``) for ``filters``' video ids and exclusion."""
    where: list[str] = []
    params: list[object] = []
    for value, negated in filters.videos:
        where.append(f"t.video IS {'NOT ' if negated else ''}?")
        params.append(value)
    if filters.exclude is not None:
        where.append(f"t.rowid NOT IN (SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH ?)")
        params.append(filters.exclude)
    return "".join(f" AND {w}" for w in where), params


def _notes(conn: sqlite3.Connection, filters: Filters) -> tuple[set[int] | None, set[int]]:
    """(the ids of the notes the file name, path and tag filters and the selection admit, None
    when none is given; the ids of the notes userIgnoreFilters hides, unless they are wanted)."""
    banned = set() if filters.include_excluded else {i for (i,) in conn.execute("SELECT id FROM files WHERE excluded = 1")}
    allowed: set[int] | None = None
    if filters.among is not None:
        allowed = {
            i
            for (i,) in conn.execute(
                "SELECT id FROM files WHERE is_note = 1 AND uri IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(filters.among), ensure_ascii=False),),
            )
        }
    named = [(value, negated, True) for value, negated in filters.files]
    named += [(value, negated, False) for value, negated in filters.paths]
    for value, negated, file_name in named:
        found = _named(conn, value, file_name)
        allowed = _narrow(conn, allowed, found, negated)
    for value, negated in filters.tags:  # #a finds #a/b, as the export selection's tag rule and Obsidian's tag:
        tagged = {
            src
            for (src,) in conn.execute(
                "SELECT src FROM tags WHERE tag = ? COLLATE NOCASE OR substr(tag, 1, ?) = ? COLLATE NOCASE",
                (value, len(value) + 1, value + "/"),
            )
        }
        allowed = _narrow(conn, allowed, tagged, negated)
    return allowed, banned


def _narrow(conn: sqlite3.Connection, allowed: set[int] | None, found: set[int], negated: bool) -> set[int]:
    if not negated:
        return found if allowed is None else allowed & found
    if allowed is None:
        allowed = {i for (i,) in conn.execute("SELECT id FROM files WHERE is_note = 1")}
    return allowed - found


def _named(conn: sqlite3.Connection, value: str, file_name: bool) -> set[int]:
    """The notes whose file name (or vault path) holds ``value`` (folded, :func:`fold_name`).
    SQLite's LIKE folds ASCII only, so it picks out the candidates: its matches, and every path
    with other characters (``café`` holds ``cafe``); :func:`fold_name` decides."""
    pattern = "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(
        "SELECT id, uri FROM files WHERE is_note = 1 AND (uri LIKE ? ESCAPE '\\' OR uri GLOB '*[^ -~]*')",
        (pattern,),
    )
    return {i for i, uri in rows if value in fold_name(basename(uri) if file_name else uri)}


__all__ = ["Filters", "StoredHit", "fold", "fold_name", "passage_rows", "search", "write_passages"]
