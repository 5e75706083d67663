"""Shared value types: links, timestamps, headings, tags, block ids, scanned notes, diagnostics.

Offsets (``span``) are ``(start, end)`` indices into the note's whole ``text`` (a ``str``,
BOM included when the file has one), so a rewrite can splice them without touching anything else.

The per-occurrence types (Link, Timestamp, Tag, Heading, BlockId, Region) are NamedTuples, not
frozen dataclasses: a 20,000-note vault holds over a million of them, and a frozen dataclass costs
about three times as much to create. They are just as immutable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple

Span = tuple[int, int]


class LinkKind(str, Enum):
    """How a reference is written."""

    WIKI = "wiki"  # [[target#sub|display]]
    EMBED = "embed"  # ![[target]]
    MARKDOWN = "markdown"  # [display](target.md)
    MARKDOWN_EMBED = "markdown_embed"  # ![alt](image.png)
    FRONTMATTER = "frontmatter"  # key: "[[target]]"

    @property
    def is_embed(self) -> bool:
        return self in (LinkKind.EMBED, LinkKind.MARKDOWN_EMBED)

    @property
    def is_body_wiki(self) -> bool:
        """Counted as a "link" by ``vaultsync scan``: wikilinks and wiki embeds in the body."""
        return self in (LinkKind.WIKI, LinkKind.EMBED)


class TimestampForm(str, Enum):
    """The spellings of a video timestamp the scanner recognises."""

    HTML = "html"  # <a class="yt-timestamp" data-t="00:01:23">[00:01:23]</a>
    HTML_HREF = "html_href"  # the same anchor with an href
    MARKDOWN = "markdown"  # [01:23](https://www.youtube.com/watch?v=ID&t=83s) or youtu.be/ID?t=83


class Link(NamedTuple):
    """One reference to another file (or to the note itself).

    ``target`` is the link path as Obsidian resolves it: trimmed, NBSP to space, NFC,
    markdown destinations decoded like ``decodeURI``. ``subpath`` keeps its leading ``#``.
    """

    kind: LinkKind
    span: Span
    target: str
    subpath: str = ""
    display: str | None = None


class Timestamp(NamedTuple):
    """A timestamp anchor pointing at a second of a video."""

    form: TimestampForm
    span: Span
    seconds: int | None  # None when neither data-t nor the label holds a time
    label: str
    data_t: str | None = None  # the HTML anchor's data-t, verbatim
    video_id: str | None = None  # from the href, when the anchor carries one


class Heading(NamedTuple):
    level: int
    text: str
    span: Span  # the whole heading line, without its line ending


class Tag(NamedTuple):
    name: str  # without '#', case kept
    span: Span


class BlockId(NamedTuple):
    id: str
    span: Span  # the '^id' marker


class Region(NamedTuple):
    """A stretch of text that links must not be looked for in (code, math, HTML)."""

    kind: str
    span: Span


@dataclass(frozen=True, slots=True)
class Scan:
    """Everything the scanner found in one note, in document order per kind."""

    links: tuple[Link, ...] = ()
    timestamps: Sequence[Timestamp] = ()  # the scanner gives a ScannedTimestamps (vaultsync.text.scan)
    tags: tuple[Tag, ...] = ()
    headings: tuple[Heading, ...] = ()
    blocks: tuple[BlockId, ...] = ()
    skipped: tuple[Region, ...] = ()


@dataclass(frozen=True, slots=True)
class Frontmatter:
    """The frontmatter of a note, split off byte-exactly.

    ``raw`` is ``text[start:end]`` including both ``---`` fences and the closing line ending;
    ``body_start == end``. ``data`` is the parsed mapping, or None when there is no block,
    the YAML is invalid (``error`` says why) or it is not a mapping.
    """

    start: int = 0
    end: int = 0
    data: dict[str, Any] | None = None
    error: str | None = None

    @property
    def present(self) -> bool:
        return self.end > self.start


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found in the vault: data, not an exception."""

    uri: str
    code: str
    message: str
    severity: Severity = Severity.WARNING
    span: Span | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # workers send many of these back: as constructor arguments they pickle ~3x faster
        # than through the frozen slots dataclass's field-by-field state
        return Diagnostic, (self.uri, self.code, self.message, self.severity, self.span)


@dataclass(frozen=True, slots=True)
class ParsedNote:
    """A note after parsing and scanning (pure result, no resolution yet)."""

    uri: str
    frontmatter: Frontmatter
    scan: Scan
    title: str | None = None
    video_id: str | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=())
