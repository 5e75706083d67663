"""The stored layout of a note's rows in the index: named types, their JSON, and the one way a
note's rows are made. Pure: no SQL (:mod:`vaultsync.store.index` writes and reads the rows), no
files (:mod:`vaultsync.store.indexing` reads the notes).

A file gives one :class:`NoteRows`: its ``files`` row, its ``occurrences`` row (links,
timestamps, headings and block ids, each a JSON array of arrays, the arrays in the field order of
:class:`StoredLink`, :class:`StoredTimestamp`, :class:`~vaultsync.model.Heading` and
:class:`~vaultsync.model.BlockId`), its :class:`TagRow` and :class:`DiagnosticRow` rows, and the
facts ``backrefs`` and ``linkkeys`` hold for it. :func:`note_rows` makes them from a parsed note,
whichever path reads the note (cold scan workers, warm scans, the daemon's refresh).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from vaultsync.fs.vault import FileStat
from vaultsync.model import BlockId, Heading, LinkKind, ParsedNote, Timestamp, TimestampForm
from vaultsync.text.names import basename
from vaultsync.text.scan import ScannedTimestamps

LINK_COUNT_KEYS = ("links", "resolved", "ambiguous", "embeds", "other_links")
_BODY_KINDS = ("wiki", "embed")
_HTML = TimestampForm.HTML
_KIND_VALUES = {kind: kind.value for kind in LinkKind}
# Made once: json.dumps builds an encoder per call. Rows are acyclic, so no circular check; the
# frontmatter keeps it (YAML aliases can make a mapping hold itself).
_ENCODE = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
_ENCODE_FRONTMATTER = json.JSONEncoder(ensure_ascii=False, default=str).encode
# The C scanner json.loads ends in, without loads' and decode's Python layers (a third of the
# time of a small frontmatter); the text is ours, written by _ENCODE_FRONTMATTER, no whitespace around.
_SCAN_JSON: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

Resolve = Callable[[str], tuple[int | None, int, str]]
"""Link target -> (dest id, candidates, link key) for the note being stored."""


class StoredLink(NamedTuple):
    """One link of a note, as ``occurrences.links`` stores it (an array in this field order)."""

    kind: str  # a LinkKind value
    start: int
    end: int
    target: str
    subpath: str
    display: str | None
    dest: int | None  # the id of the file the link opens
    candidates: int  # how many files the target could mean (> 1: ambiguous)


LINK_FIELDS = StoredLink._fields


class StoredTimestamp(NamedTuple):
    """One timestamp, as ``occurrences.timestamps`` stores it: ``[start, end, seconds]`` for the
    plain HTML anchor, all five fields for the other forms. Labels and ``data-t`` stay in the note
    (the span finds them): a vault holds over a million anchors."""

    start: int
    end: int
    seconds: int | None
    form: str = "html"  # a TimestampForm value
    video_id: str | None = None


class TagRow(NamedTuple):
    """A row of ``tags``: a body tag at its span, a frontmatter tag at the frontmatter's."""

    src: int
    tag: str
    start: int
    end: int


class DiagnosticRow(NamedTuple):
    """A row of ``diagnostics``."""

    src: int
    code: str
    message: str
    severity: str


class LinkCounts(NamedTuple):
    """A note's share of the link totals (LINK_COUNT_KEYS; the ``n_*`` columns of ``files``)."""

    links: int = 0  # body wikilinks and embeds
    resolved: int = 0
    ambiguous: int = 0
    embeds: int = 0
    other_links: int = 0  # markdown and frontmatter links


class NoteRows(NamedTuple):
    """Everything stored for one file."""

    id: int
    uri: str
    is_note: bool
    stat: FileStat
    excluded: bool
    title: str | None = None
    video_id: str | None = None
    frontmatter: str | None = None  # JSON text
    error: str | None = None
    links: str | None = None  # JSON: StoredLink per link
    missing: str | None = None  # JSON: the target of each unresolved link (encode_missing)
    link_counts: LinkCounts = LinkCounts()
    dests: Sequence[int] = ()  # see link_facts
    keys: Sequence[str] = ()
    tags: Sequence[TagRow] = ()
    diagnostics: Sequence[DiagnosticRow] = ()
    n_timestamps: int = 0
    timestamps: str | None = None  # JSON: StoredTimestamp per timestamp
    headings: str | None = None  # JSON: Heading per heading
    blocks: str | None = None  # JSON: BlockId per block id
    passages: Sequence[Any] = ()  # full-text rows (vaultsync.store.fulltext.PassageRow)


def note_rows(resolve: Resolve, file_id: int, st: FileStat, excluded: bool, note: ParsedNote) -> NoteRows:
    """A parsed note's rows, its links resolved by ``resolve``."""
    scan, fm = note.scan, note.frontmatter
    links: list[StoredLink] = []
    dests: list[int] = []
    keys: list[str] = []
    body = resolved = ambiguous = embeds = 0
    new, values = tuple.__new__, _KIND_VALUES  # a NamedTuple's own __new__, an Enum's .value: Python code
    for link_kind, (start, end), target, subpath, display in scan.links:
        dest, candidates, key = resolve(target)
        kind = values[link_kind]
        links.append(new(StoredLink, (kind, start, end, target, subpath, display, dest, candidates)))
        keys.append(key)
        if dest is not None:
            dests.append(dest)
        if kind in _BODY_KINDS:
            body += 1
            resolved += dest is not None
            ambiguous += candidates > 1
            embeds += kind == "embed"
    tags = [TagRow(file_id, t.name, t.span[0], t.span[1]) for t in scan.tags]
    from vaultsync.text.parse import frontmatter_tags  # noqa: PLC0415 - here, so that reading the index needs no YAML

    tags += [TagRow(file_id, name, fm.start, fm.end) for name in frontmatter_tags(fm.data)]
    return NoteRows(
        id=file_id,
        uri=note.uri,
        is_note=True,
        stat=st,
        excluded=excluded,
        title=note.title,
        video_id=note.video_id,
        frontmatter=None if fm.data is None else _ENCODE_FRONTMATTER(fm.data),
        links=encode_links(links) if links else None,
        missing=encode_missing(links),
        link_counts=LinkCounts(body, resolved, ambiguous, embeds, len(links) - body),
        dests=dests,
        keys=keys,
        tags=tags,
        diagnostics=[DiagnosticRow(file_id, d.code, d.message, d.severity.value) for d in note.diagnostics],
        n_timestamps=len(scan.timestamps),
        timestamps=encode_timestamps(scan.timestamps) if scan.timestamps else None,
        headings=_ENCODE(scan.headings) if scan.headings else None,  # NamedTuples are arrays
        blocks=_ENCODE(scan.blocks) if scan.blocks else None,
    )


def unreadable_rows(file_id: int, uri: str, st: FileStat, excluded: bool, code: str, reason: str) -> NoteRows:
    """The rows of a note that could not be read: its error and a warning."""
    return NoteRows(file_id, uri, True, st, excluded, error=reason, diagnostics=[DiagnosticRow(file_id, code, reason, "warning")])


def attachment_rows(file_id: int, uri: str, st: FileStat, excluded: bool) -> NoteRows:
    """The rows of a file that is not a note: its ``files`` row only."""
    return NoteRows(file_id, uri, False, st, excluded)


# -- the stored JSON ------------------------------------------------------------------------------


def encode_links(links: Sequence[StoredLink]) -> str:
    return _ENCODE(links)


def encode_missing(links: Sequence[StoredLink]) -> str | None:
    """The targets of the unresolved links, in order (None when every link resolves)."""
    missing = [link.target for link in links if link.dest is None]
    return _ENCODE(missing) if missing else None


def decode_missing(text: str | None) -> list[str]:
    return _SCAN_JSON(text, 0)[0] if text else []


def decode_links(text: str | None) -> list[StoredLink]:
    return [StoredLink(*link) for link in json.loads(text)] if text else []


def timestamp_rows(stamps: Iterable[Timestamp]) -> list[tuple[Any, ...]]:
    """The stored layout of timestamps (see StoredTimestamp), as plain tuples. The scanner's
    :class:`~vaultsync.text.scan.ScannedTimestamps` holds the plain anchors' rows already."""
    if isinstance(stamps, ScannedTimestamps):
        return [_timestamp_row(e) if type(e) is Timestamp else e for e in stamps.entries()]
    return [_timestamp_row(t) for t in stamps]


def _timestamp_row(t: Timestamp) -> tuple[Any, ...]:
    (s, e), seconds, form = t.span, t.seconds, t.form
    return (s, e, seconds) if form is _HTML else (s, e, seconds, form.value, t.video_id)


def encode_timestamps(stamps: Iterable[Timestamp]) -> str:
    return _ENCODE(timestamp_rows(stamps))


def decode_timestamps(text: str | None) -> list[StoredTimestamp]:
    return [StoredTimestamp(*t) for t in json.loads(text)] if text else []


def decode_headings(text: str | None) -> list[Heading]:
    return [Heading(h[0], h[1], (h[2][0], h[2][1])) for h in json.loads(text)] if text else []


def decode_blocks(text: str | None) -> list[BlockId]:
    return [BlockId(b[0], (b[1][0], b[1][1])) for b in json.loads(text)] if text else []


def encode_ids(ids: Iterable[int]) -> str:
    """A list of ids as JSON text, as json.dumps writes it (``backrefs`` and ``linkkeys``)."""
    return "[" + ", ".join(map(str, ids)) + "]"


def decode_ids(text: str | None) -> list[int]:
    return json.loads(text) if text else []


def decode_frontmatter(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    value: dict[str, Any] = _SCAN_JSON(text, 0)[0]
    return value


# -- facts derived from the links ----------------------------------------------------------------


def link_key(target: str) -> str:
    """The name a link looks up (its lower-cased last segment): links are re-resolved by it."""
    return basename(target.lower())


def link_counts_of(links: Sequence[StoredLink]) -> LinkCounts:
    """One note's share of the link totals."""
    body = [link for link in links if link.kind in _BODY_KINDS]
    resolved = sum(link.dest is not None for link in body)
    ambiguous = sum(link.candidates > 1 for link in body)
    embeds = sum(link.kind == "embed" for link in body)
    return LinkCounts(len(body), resolved, ambiguous, embeds, len(links) - len(body))


def link_facts(links: Sequence[StoredLink]) -> tuple[list[int], list[str]]:
    """The destinations of resolved links and the key of every link: what backrefs and linkkeys
    hold for one note."""
    dests = [link.dest for link in links if link.dest is not None]
    keys = [link_key(link.target) for link in links]
    return dests, keys
