"""The full-text index: every note's passages in an FTS5 table of ``index.sqlite``.

Owns the table's schema, its rows (built from a note's text and the scanner's results by
:func:`passage_rows`, in the worker that parses the note), their writes and deletes, and the
``MATCH`` queries that read it. :mod:`vaultsync.store.index` creates the table with the rest of the
schema and calls :func:`write_passages` / :func:`delete_passages` in the transaction that writes
or deletes a note's other rows; it knows nothing else of it.

One row per passage (:mod:`vaultsync.text.passages`); its rowid is ``file id << 20 | ordinal``,
so a note's rows are one rowid range. Columns searched: ``title`` (the note's title, else its file
name, and its aliases), ``heading`` (the heading path) and ``body``; ranked by BM25 with the title
weighted 2, the heading 1.5 and the body 1 (see WEIGHTS). Text goes through :func:`fold` on the way in and so
do query terms: NFC, and the Turkish dotless ``ı`` as ``i`` (the tokenizer lower-cases ``I`` to
``i``, so "Işık" and "ışık" would otherwise never meet). The tokenizer is ``unicode61`` with
``remove_diacritics 2`` (accents, cedillas and the like dropped) and combining marks counted as
letters (without that Devanagari words would be cut at every vowel sign). CJK text has no spaces
between words: a run of CJK characters is one token, found whole or by prefix (``東京*``).
Where folding changed a passage's text, the original is kept in ``shown`` for display.
"""

from __future__ import annotations

import json
import os
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from vaultsync.text.names import basename, stem
from vaultsync.text.parse import body_start, frontmatter_aliases
from vaultsync.text.passages import Passage, note_passages

TABLE = "fulltext"
TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
# title, heading, body: every passage carries its note's title, so a larger title weight would
# drown the body's own matches in BM25's saturation (a one-word tag line would outrank the passage)
WEIGHTS = (2.0, 1.5, 1.0)
COLUMNS = ("title", "heading", "body")
SCHEMA = f"""
CREATE VIRTUAL TABLE {TABLE} USING fts5(
    title, heading, body, line UNINDEXED, line_end UNINDEXED, seconds UNINDEXED, video UNINDEXED,
    shown UNINDEXED, tokenize="{TOKENIZER}"
);
INSERT INTO {TABLE}({TABLE}, rank) VALUES('rank', 'bm25({", ".join(map(str, WEIGHTS))})');
"""
MARK_START, MARK_END = "\x02", "\x03"  # around matched words in StoredHit.body
_ID_BITS = 20
_LAST = (1 << _ID_BITS) - 1
_FOLD = str.maketrans({"ı": "i"})
_COLS = "title, heading, body, line, line_end, seconds, video, shown"

# (ordinal, title, heading, body, line, line_end, seconds, video, shown): one passage's row
PassageRow = tuple[int, str, str, str, int, int, "int | None", "str | None", "str | None"]


def is_enabled() -> bool:
    """False when ``VAULTSYNC_FULLTEXT=0``: a switch for ``bench/search.py`` only, to time a
    cold scan without the full-text rows (an index built so finds nothing until rebuilt)."""
    return os.environ.get("VAULTSYNC_FULLTEXT", "1") != "0"


def fold(text: str) -> str:
    """Text as the full-text index holds it, and as query terms are looked up (see above)."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text.translate(_FOLD) if "ı" in text else text


def fold_name(text: str) -> str:
    """A file name or path as ``file:`` and ``path:`` compare it: case and accents dropped."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# -- rows --------------------------------------------------------------------------------------------


def passage_rows(
    text: str,
    uri: str,
    title: str | None,
    video_id: str | None,
    frontmatter: str | None,
    headings: str | None,
    timestamps: str | None,
) -> list[PassageRow]:
    """A note's full-text rows from its text and what the index stores of it (the frontmatter,
    headings and timestamps as JSON, see :class:`vaultsync.store.index.NoteRows`). A note with no
    passage gets one empty one, so that its title and aliases are still found."""
    if not is_enabled():
        return []
    found = note_passages(text, body_start(text), json.loads(headings or "[]"), json.loads(timestamps or "[]"))
    if not found:
        found = [Passage("", 1, 1, "", None, None)]
    names = [title or stem(uri)]
    if frontmatter and "liases" in frontmatter:
        names += frontmatter_aliases(json.loads(frontmatter))
    folded_title = fold(" ".join(names))
    rows: list[PassageRow] = []
    for ordinal, p in enumerate(found[: _LAST + 1]):
        heading, body = fold(p.heading), fold(p.text)
        shown = None if heading == p.heading and body == p.text else json.dumps([p.heading, p.text], ensure_ascii=False)
        rows.append((ordinal, folded_title, heading, body, p.line, p.line_end, p.seconds, p.video_id or video_id, shown))
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
    if column not in COLUMNS:
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
    order) among the notes ``filters`` admits. Raises sqlite3.OperationalError on a bad expression."""
    conn.create_function("vs_path", 1, fold_name, deterministic=True)
    conn.create_function("vs_file", 1, _file_name, deterministic=True)
    where, params = _note_conditions(filters)
    cols = f"f.uri, f.title, {TABLE}.heading, highlight({TABLE}, 2, char(2), char(3)), {TABLE}.shown, " + (
        f"{TABLE}.line, {TABLE}.line_end, {TABLE}.seconds, {TABLE}.video"
    )
    cond = "".join(f" AND {w}" for w in where)
    if match is None:
        sql = (
            f"SELECT {cols}, 0.0 FROM files f CROSS JOIN {TABLE} ON {TABLE}.rowid BETWEEN f.id << {_ID_BITS} "  # noqa: S608
            f"AND (f.id << {_ID_BITS}) | {_LAST} WHERE f.is_note = 1{cond} ORDER BY f.id, {TABLE}.rowid LIMIT ?"
        )
        rows = conn.execute(sql, [*params, limit])
    else:
        sql = (
            f"SELECT {cols}, {TABLE}.rank FROM {TABLE} CROSS JOIN files f ON f.id = {TABLE}.rowid >> {_ID_BITS} "  # noqa: S608
            f"WHERE {TABLE} MATCH ?{cond} ORDER BY {TABLE}.rank, {TABLE}.rowid LIMIT ?"
        )
        rows = conn.execute(sql, [match, *params, limit])
    return [StoredHit(*row) for row in rows]


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


def _file_name(uri: str) -> str:
    return fold_name(basename(uri))


def _note_conditions(filters: Filters) -> tuple[list[str], list[object]]:
    """SQL conditions on ``f`` (files) and ``fulltext`` for ``filters``, with their parameters."""
    where: list[str] = [] if filters.include_excluded else ["f.excluded = 0"]
    params: list[object] = []
    for value, negated in filters.files:
        where.append(f"{'NOT ' if negated else ''}instr(vs_file(f.uri), ?)")
        params.append(value)
    for value, negated in filters.paths:
        where.append(f"{'NOT ' if negated else ''}instr(vs_path(f.uri), ?)")
        params.append(value)
    for value, negated in filters.tags:
        where.append(f"f.id {'NOT ' if negated else ''}IN (SELECT src FROM tags WHERE tag = ? COLLATE NOCASE OR substr(tag, 1, ?) = ? COLLATE NOCASE)")
        params += [value, len(value) + 1, value + "/"]
    for value, negated in filters.videos:
        where.append(f"{TABLE}.video IS {'NOT ' if negated else ''}?")
        params.append(value)
    if filters.exclude is not None:
        where.append(f"{TABLE}.rowid NOT IN (SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH ?)")
        params.append(filters.exclude)
    if filters.among is not None:
        where.append("f.uri IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(sorted(filters.among), ensure_ascii=False))
    return where, params


__all__ = ["Filters", "StoredHit", "fold", "fold_name", "passage_rows", "search", "write_passages"]
