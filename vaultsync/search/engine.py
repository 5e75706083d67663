"""Full-text search over an open index, to the second of the video: a query -> ranked hits.

A hit is one passage (:mod:`vaultsync.text.passages`): its note (uri, title), heading path, line
range, a snippet of its text with the matched words marked, and where the passage has a video,
the second its governing timestamp points at, as a link (``video_url``) and a clock label. The
query language is :mod:`vaultsync.search.query`'s; it is compiled here into an FTS5 expression
through :mod:`vaultsync.store.fulltext`, which owns the table and its SQL. A selection of notes
(``--folder``, ``--tag``, ``--where``) comes in as ``among``, the set of uris the export
selection (:func:`vaultsync.export.selection.chosen_notes`) gives, so both read it one way.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any as AnyValue

from vaultsync.errors import QueryError
from vaultsync.search import DEFAULT_LIMIT
from vaultsync.search.query import All, Any, Field, Node, Not, Query, Term, parse_query
from vaultsync.store import fulltext
from vaultsync.store.index import Index
from vaultsync.text.names import stem
from vaultsync.text.timestamps import clock, needs_hours, video_url

MAX_LIMIT = 500
SNIPPET_CHARS = 200
_MARKERS = re.compile(f"({fulltext.MARK_START}|{fulltext.MARK_END})")


@dataclass(frozen=True, slots=True)
class Hit:
    """One passage found."""

    uri: str
    title: str
    heading: str  # the heading path, "Top > Sub"; "" before the first heading
    line: int  # 1-based
    line_end: int
    snippet: str
    marks: tuple[tuple[int, int], ...]  # [start, end) of each matched word in snippet
    seconds: int | None  # the governing timestamp's second
    clock: str | None  # its label, MM:SS or HH:MM:SS (the note's hours rule)
    video_id: str | None
    video_url: str | None  # that second (the start of the video when no timestamp governs)
    score: float  # BM25, higher is better

    def as_dict(self) -> dict[str, AnyValue]:
        return {
            "uri": self.uri, "title": self.title, "heading": self.heading, "line": self.line,
            "line_end": self.line_end, "snippet": self.snippet, "marks": [list(m) for m in self.marks],
            "seconds": self.seconds, "clock": self.clock, "video_id": self.video_id,
            "video_url": self.video_url, "score": round(self.score, 4),
        }  # fmt: skip


def search(
    index: Index,
    query: str | Query,
    *,
    limit: int = DEFAULT_LIMIT,
    among: Collection[str] | None = None,
    include_excluded: bool = False,
) -> list[Hit]:
    """The best ``limit`` passages for ``query`` (text or parsed), best first, among the notes
    ``among`` (None: every note not hidden by userIgnoreFilters unless ``include_excluded``).

    Raises :class:`QueryError` for a query that cannot be read.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"the limit must be from 1 to {MAX_LIMIT}, not {limit}")
    parsed = parse_query(query) if isinstance(query, str) else query
    match, exclude = _compile_top(parsed.text)
    if match is None and exclude is not None and not parsed.filters and among is None:
        raise QueryError("the search query only excludes: add a word to find", hint="write word -excluded")
    filters = _filters(parsed, among, include_excluded, exclude if match is None else None)
    try:
        rows = fulltext.search(index.conn, match, filters, limit)
        latest = fulltext.latest_seconds(index.conn, {r.uri for r in rows})
    except sqlite3.OperationalError as exc:  # never expected: the expression is built, not typed
        raise QueryError("the search query cannot be run", hint="simplify it, or quote unusual words") from exc
    return [_hit(row, latest.get(row.uri)) for row in rows]


def result(query: str, hits: list[Hit]) -> dict[str, AnyValue]:
    """The JSON shape of a search, shared by ``vaultsync search --json`` and ``GET /search``."""
    return {"query": query, "count": len(hits), "hits": [h.as_dict() for h in hits]}


# -- compiling ---------------------------------------------------------------------------------------


def _compile_top(node: Node | None) -> tuple[str | None, str | None]:
    """(what to match, what to exclude when nothing is to be matched): ``-a -b`` with filters only
    is an exclusion of ``a OR b`` from the filtered notes."""
    if node is None:
        return None, None
    items = node.items if isinstance(node, All) else (node,)
    if items and all(isinstance(item, Not) for item in items):
        negatives = [e for item in items if isinstance(item, Not) and (e := _compile(item.item)) is not None]
        return None, " OR ".join(negatives) if negatives else None
    compiled = _compile(node)
    if compiled is None:
        raise QueryError("the search query has no word to find (only punctuation)", hint='quote symbols, e.g. "C++"')
    return compiled, None


def _compile(node: Node) -> str | None:
    """An FTS5 expression for ``node``; None when it holds no word the tokenizer would see."""
    if isinstance(node, Term):
        return fulltext.phrase(node.text, prefix=node.prefix)
    if isinstance(node, Field):
        inner = _compile(node.item)
        return None if inner is None else fulltext.in_column(node.column, inner)
    if isinstance(node, Any):
        parts = []
        for item in node.items:
            if isinstance(item, Not):
                raise QueryError("'-' cannot be one side of OR in the search query", hint="write (a -b) OR c")
            if (compiled := _compile(item)) is not None:
                parts.append(compiled)
        return None if not parts else parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    if isinstance(node, Not):
        raise QueryError("'-' needs something to find beside it in the search query", hint="write word -excluded")
    assert isinstance(node, All)
    positives = [c for item in node.items if not isinstance(item, Not) and (c := _compile(item)) is not None]
    negatives = [c for item in node.items if isinstance(item, Not) and (c := _compile(item.item)) is not None]
    if not positives:
        if negatives:
            raise QueryError("a group of exclusions only in the search query", hint="write (word -excluded)")
        return None
    expression = "(" + " AND ".join(positives) + ")"
    for negative in negatives:
        expression += f" NOT {negative}"
    return f"({expression})" if negatives else expression


def _filters(parsed: Query, among: Collection[str] | None, include_excluded: bool, exclude: str | None) -> fulltext.Filters:
    by_kind: dict[str, list[tuple[str, bool]]] = {"file": [], "path": [], "tag": [], "video": []}
    for f, negated in parsed.filters:
        value = f.value if f.kind in ("tag", "video") else fulltext.fold_name(f.value)
        by_kind[f.kind].append((value, negated))
    return fulltext.Filters(
        files=tuple(by_kind["file"]), paths=tuple(by_kind["path"]), tags=tuple(by_kind["tag"]),
        videos=tuple(by_kind["video"]), among=None if among is None else frozenset(among),
        include_excluded=include_excluded or among is not None, exclude=exclude,
    )  # fmt: skip


# -- hits --------------------------------------------------------------------------------------------


def _hit(row: fulltext.StoredHit, latest: int | None) -> Hit:
    heading, body = fulltext.shown_text(row)
    snippet, marks = _snippet(row.body, body)
    seconds = row.seconds
    return Hit(
        uri=row.uri, title=row.title or stem(row.uri), heading=heading, line=row.line, line_end=row.line_end,
        snippet=snippet, marks=marks, seconds=seconds,
        clock=None if seconds is None else clock(seconds, needs_hours([seconds, latest])),
        video_id=row.video, video_url=None if row.video is None else video_url(row.video, seconds or 0),
        score=-row.rank,
    )  # fmt: skip


def _snippet(marked: str, shown: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``shown`` (the passage's text as written, as long as ``marked`` without its markers)
    cut to about SNIPPET_CHARS around the first match, and where the matched words are in it."""
    marks: list[tuple[int, int]] = []
    size, opened = 0, 0
    for piece in _MARKERS.split(marked):
        if piece == fulltext.MARK_START:
            opened = size
        elif piece == fulltext.MARK_END:
            marks.append((opened, size))
        else:
            size += len(piece)
    text = shown if len(shown) == size else _MARKERS.sub("", marked)
    if len(text) <= SNIPPET_CHARS:
        return text, tuple(marks)
    first = marks[0][0] if marks else 0
    begin = max(0, first - SNIPPET_CHARS // 3)
    if begin:
        space = text.find(" ", begin, first)
        begin = space + 1 if space >= 0 else begin
    end = min(len(text), begin + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > first else end
    lead = "… " if begin else ""
    cut = lead + text[begin:end] + (" …" if end < len(text) else "")
    shift = len(lead) - begin
    return cut, tuple((s + shift, e + shift) for s, e in marks if s >= begin and e <= end)


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Hit", "result", "search"]
