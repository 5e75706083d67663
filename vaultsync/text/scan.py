"""Link and anchor scanning: note body -> links, timestamps, tags, headings, block ids. Pure.

The body is tokenized first (:mod:`vaultsync.text.tokens`: the C extension's ``tokenize`` where it
is built, else ``tokenize_python``, the reference; the same positions either way), and this module
turns the positions into values: it splits wikilinks (:func:`vaultsync.text.names.split_alias`),
reads times (:func:`vaultsync.text.timestamps.read_clock`), decodes markdown destinations and
YouTube urls. Whichever construct starts first wins, as in Obsidian's tokenizer (`` `[[x]]` ``
is code, ``[[a `b` c]]`` is a link); what is skipped is listed in :mod:`vaultsync.text.tokens`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload
from urllib.parse import parse_qs, urlsplit

from vaultsync.model import (
    BlockId,
    Heading,
    Link,
    LinkKind,
    Region,
    Scan,
    Tag,
    Timestamp,
    TimestampForm,
)
from vaultsync.text._native import tokenize as _c_tokenize
from vaultsync.text.names import JS_WHITESPACE, URIDecodeError, clean_string, decode_uri, split_alias, split_subpath
from vaultsync.text.timestamps import read_clock
from vaultsync.text.tokens import ANCHOR_ANY, ANCHOR_LOOSE, ANCHOR_PREFIX, ANY, MDLINK, REGION_KINDS, Tokens, tokenize_python

_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_ASCII_DIGITS = re.compile(r"[0-9]+")  # JavaScript's \\d: a tag of digits only is no tag
_T_PARAM = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?")
_ATTR = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:|//")
_YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"})
_HTML, _MARKDOWN = TimestampForm.HTML, TimestampForm.MARKDOWN
_WIKI, _EMBED = LinkKind.WIKI, LinkKind.EMBED
_PREFIX = len(ANCHOR_PREFIX)
_WATCH_AT = len("](https://www.youtube.com/watch?v=")  # from a markdown timestamp's "]" to its video id
_Tokenize = Callable[[str, int], tuple[list[Any], ...]]


def scan_body(text: str, start: int = 0) -> Scan:
    """Scan ``text`` from ``start`` (the end of the frontmatter) to its end; spans index ``text``.

    The tokens come from C where the extension is built (see :mod:`vaultsync.text._native`),
    else from :func:`vaultsync.text.tokens.tokenize_python`; the result is the same either way.
    """
    return _scan(text, start, _tokenize)


def scan_body_python(text: str, start: int = 0) -> Scan:
    """:func:`scan_body` with the Python tokenizer, the reference (tests compare the two)."""
    return _scan(text, start, tokenize_python)


def _scan(text: str, start: int, tokenize: _Tokenize) -> Scan:
    if start == 0 and text.startswith("\ufeff"):
        # Obsidian never sees the BOM. A newline in its place keeps every offset and makes the
        # first line start a line, as it does for Obsidian.
        text, start = "\n" + text[1:], 1
    return scan_tokens(text, Tokens(*tokenize(text, start)))


def scan_tokens(text: str, tokens: Tokens) -> Scan:
    """The values of a body's tokens (from either tokenizer)."""
    wikis, anchors, md_stamps, mds, tags, blocks, heads, skipped = tokens
    new = tuple.__new__  # a NamedTuple's own __new__ is a Python function: too slow for a million
    links: list[Link] = []
    for s, e in wikis:
        parsed = parse_wikilink_inner(text[s + 2 : e - 2])
        if parsed is not None:
            embed = s > 0 and text[s - 1] == "!"
            links.append(new(Link, (_EMBED, (s - 1, e), *parsed) if embed else (_WIKI, (s, e), *parsed)))
    clocks, prefix = _CLOCKS, _PREFIX  # locals: a vault has a million anchors
    entries: list[tuple[int, int, int | None] | Timestamp] = []  # see ScannedTimestamps
    append = entries.append
    for s, e, q in anchors:
        if q >= 0:  # the plain anchor, read without a regex and kept as its row
            data_t = text[s + prefix : q]
            seconds = clocks.get(data_t, -1)
            if seconds == -1:
                seconds = _clock(data_t)
            if seconds is None:  # (the memo holds an unreadable data-t as None: read once)
                seconds = parse_clock(text[q + 2 : e - 4])
            append((s, e, seconds))
        else:
            m = (ANCHOR_ANY if q == ANY else ANCHOR_LOOSE).match(text, s)
            assert m is not None, "the tokenizer found this anchor"  # noqa: S101 - an invariant
            append(_html_timestamp(m))
    for s, e, label_end, id_end in md_stamps:
        video_id = text[label_end + _WATCH_AT : id_end]
        entries.append(new(Timestamp, (_MARKDOWN, (s, e), int(text[id_end + 3 : e - 2]), text[s + 1 : label_end], None, video_id)))
    for s, _e in mds:
        m = MDLINK.match(text, s)
        assert m is not None, "the tokenizer found this link"  # noqa: S101 - an invariant
        item = _markdown_link(text, m)
        if isinstance(item, Link):
            links.append(item)
        elif item is not None:
            entries.append(item)
    if mds or (md_stamps and anchors):
        links.sort(key=_span_start)
        entries.sort(key=_entry_start)
    return Scan(
        links=tuple(links),
        timestamps=ScannedTimestamps(text, entries),
        tags=tuple(Tag(text[s + 1 : e], (s, e)) for s, e in tags if not _ASCII_DIGITS.fullmatch(text, s + 1, e)),
        headings=_headings(text, heads),
        blocks=tuple(BlockId(text[s + 1 : e], (s, e)) for s, e in blocks),
        skipped=tuple(Region(REGION_KINDS[k], (s, e)) for k, s, e in skipped),
    )


def _span_start(item: Link) -> int:
    return item.span[0]


def _entry_start(entry: tuple[int, int, int | None] | Timestamp) -> int:
    return entry.span[0] if isinstance(entry, Timestamp) else entry[0]


class ScannedTimestamps(Sequence[Timestamp]):
    """A note's timestamps in document order: a sequence of :class:`Timestamp`, equal to the
    tuple of them.

    The plain anchor (``<a class="yt-timestamp" data-t="…">label</a>``, nearly all of a vault's
    million) is held as ``(start, end, seconds)``, its row as the index stores it, and cut into a
    Timestamp (label and ``data-t`` from the text) when the sequence is first read; the index
    takes the rows as they are (:meth:`entries`), so a cold scan makes no object per anchor.
    """

    __slots__ = ("_text", "_entries", "_items")

    def __init__(self, text: str, entries: list[tuple[int, int, int | None] | Timestamp]) -> None:
        self._text = text
        self._entries = entries
        self._items: tuple[Timestamp, ...] | None = None

    def entries(self) -> list[tuple[int, int, int | None] | Timestamp]:
        """Each timestamp as ``(start, end, seconds)`` when it is a plain anchor, else as its
        :class:`Timestamp`."""
        return self._entries

    def _all(self) -> tuple[Timestamp, ...]:
        items = self._items
        if items is None:
            text, new, html, prefix = self._text, tuple.__new__, _HTML, _PREFIX
            out = []
            for entry in self._entries:
                if isinstance(entry, Timestamp):
                    out.append(entry)
                    continue
                s, e, seconds = entry
                q = text.index('"', s + prefix)  # the plain anchor's data-t holds no quote
                out.append(new(Timestamp, (html, (s, e), seconds, text[q + 2 : e - 4], text[s + prefix : q], None)))
            items = self._items = tuple(out)
        return items

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    @overload
    def __getitem__(self, i: int) -> Timestamp: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Timestamp, ...]: ...
    def __getitem__(self, i: int | slice) -> Timestamp | tuple[Timestamp, ...]:
        return self._all()[i]

    def __iter__(self) -> Iterator[Timestamp]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, ScannedTimestamps)):
            return self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return repr(self._all())

    def __reduce__(self) -> tuple[Any, ...]:
        return ScannedTimestamps, (self._text, self._entries)


def _headings(text: str, heads: list[tuple[int, int, int, int]]) -> tuple[Heading, ...]:
    new, out = tuple.__new__, []
    for line_start, hashes_start, hashes_end, line_end in heads:
        rest = text[hashes_end:line_end]
        name = rest.strip()
        if name.endswith("#") or rest.endswith("\r"):  # a closing sequence, a CR before the line end
            out.append(_heading(text, line_start, hashes_start, hashes_end, line_end))
        else:  # the usual heading, for which _heading gives the same
            out.append(new(Heading, (hashes_end - hashes_start, name, (line_start, line_end))))
    return tuple(out)


def _heading(text: str, line_start: int, hashes_start: int, hashes_end: int, line_end: int) -> Heading:
    rest = text[hashes_end:line_end]
    stripped = rest.rstrip("\r")
    return Heading(hashes_end - hashes_start, _heading_text(stripped), (line_start, line_end - (len(rest) - len(stripped))))


def _heading_text(rest: str) -> str:
    rest = rest.strip()
    if not rest.endswith("#"):
        return rest
    # a closing sequence of '#' is not part of the heading (CommonMark)
    closing = re.search(r"(?:^|[ \t]+)#+$", rest)
    if closing:
        rest = rest[: closing.start()]
    return rest.strip()


@functools.lru_cache(maxsize=1 << 16)  # a vault repeats its link texts: channels, topics
def parse_wikilink_inner(inner: str) -> tuple[str, str, str | None] | None:
    """Obsidian's ``parseAliasLink`` + ``cleanString`` + ``parseLinktext`` on the text between
    the brackets: ``(linkpath, subpath, display)``, or None when it is no link."""
    if "|" not in inner and "#" not in inner and "\\" not in inner and inner.isascii():
        target = inner.strip(JS_WHITESPACE)  # the common case, and what follows would give the same
        return (target, "", None) if target else None
    inner = inner.strip(JS_WHITESPACE)
    if not inner:
        return None
    target, display, _ = split_alias(inner)
    if target.endswith("\\"):  # Obsidian drops a trailing backslash: [[a\]] links to a
        target = target[:-1]
    path, subpath = split_subpath(clean_string(target))
    return path, subpath, display


def _markdown_link(text: str, m: re.Match[str]) -> Link | Timestamp | None:
    s, e = m.span()
    dest = m.group(2) or ""
    if dest.startswith("<"):
        dest = dest[1:-1]
    if "\\" in dest:
        dest = _MD_ESCAPE.sub(r"\1", dest)
    label = m.group(1)
    image = s > 0 and text[s - 1] == "!"
    span = (s - 1 if image else s, e)
    if not dest:
        return None
    if _SCHEME.match(dest):
        found = youtube_time(dest)
        if found is None or image:
            return None
        video_id, seconds = found
        return Timestamp(TimestampForm.MARKDOWN, span, seconds, label, None, video_id)
    try:
        decoded = decode_uri(dest)
    except URIDecodeError:
        return None  # decodeURI throws: Obsidian does not treat it as an internal link
    path, subpath = split_subpath(clean_string(decoded))
    kind = LinkKind.MARKDOWN_EMBED if image else LinkKind.MARKDOWN
    return Link(kind, span, path, subpath, label)


def _html_timestamp(m: re.Match[str]) -> Timestamp:
    span = m.span()
    label = m.group(2)
    attrs = {
        a.group(1).lower(): a.group(2) or a.group(3) or a.group(4) or ""
        for a in _ATTR.finditer(m.group(1))
    }
    data_t = attrs.get("data-t")
    seconds = parse_clock(data_t) if data_t is not None else None
    if seconds is None:
        seconds = parse_clock(label)
    href = attrs.get("href")
    video_id = None
    if href:
        found = youtube_time(href)
        if found is not None:
            video_id = found[0]
            if seconds is None:
                seconds = found[1]
    form = TimestampForm.HTML_HREF if href is not None else TimestampForm.HTML
    return Timestamp(form, span, seconds, label, data_t, video_id)


_CLOCKS: dict[str, int | None] = {}


def _clock(data_t: str) -> int | None:
    """parse_clock, memoised: the same few thousand times recur across a vault."""
    if len(_CLOCKS) > 100_000:
        _CLOCKS.clear()
    seconds = _CLOCKS[data_t] = parse_clock(data_t)
    return seconds


parse_clock = read_clock  # the reading of a written time is vaultsync.text.timestamps' rule


_CANONICAL_URL = re.compile(r"https://www\.youtube\.com/watch\?v=([A-Za-z0-9_-]+)&t=([0-9]+)s")


def youtube_time(url: str) -> tuple[str, int] | None:
    """``(video_id, seconds)`` of a YouTube URL that carries a ``t`` parameter, else None."""
    canonical = _CANONICAL_URL.fullmatch(url)  # what the normalizer writes: most links, no parsing
    if canonical is not None:
        return canonical.group(1), int(canonical.group(2))
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    query = parse_qs(parts.query)
    if host in _YOUTUBE_HOSTS and parts.path == "/watch":
        video_id = (query.get("v") or [""])[0]
    elif host == "youtu.be":
        video_id = parts.path.strip("/")
    else:
        return None
    t_values = query.get("t") or query.get("start")
    if not video_id or not t_values:
        return None
    m = _T_PARAM.fullmatch(t_values[0])
    if m is None or not any(m.groups()):
        return None
    h, mi, s = (int(g or 0) for g in m.groups())
    return video_id, h * 3600 + mi * 60 + s


_tokenize: _Tokenize = _c_tokenize if _c_tokenize is not None else tokenize_python
