"""Link and anchor scanning: note body -> links, timestamps, tags, headings, block ids. Pure.

Whichever construct starts first wins, as in Obsidian's tokenizer (`` `[[x]]` `` is code,
``[[a `b` c]]`` is a link). Skipped, per OBSIDIAN.md 5.5: fenced and indented code, inline code,
``$``/``$$`` math, HTML blocks, inline HTML tags and comments, autolinks. Bare URLs need no pass of
their own: they hold no whitespace and no ``[``, so no wikilink, tag or block id can start inside
one. ``%%comments%%`` are not skipped (Obsidian indexes links inside them).

Known simplifications, each a deliberate choice:
- Setext headings (``Title\\n===``) are not heading targets; only ATX headings at top level are.
- Fences nested in list items count only when indented at most 3 spaces.
- HTML blocks are CommonMark types 1, 2 and 6 (``<div>``, ``<table>``, ``<pre>``, comments ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple
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
from vaultsync.text.names import JS_WHITESPACE, URIDecodeError, clean_string, decode_uri, split_alias, split_subpath
from vaultsync.text.timestamps import read_clock

IndexLink = tuple[str, int, int, str, str, "str | None"]  # (kind, start, end, target, subpath, display)


class IndexScan(NamedTuple):
    """What the index stores of a note body (see :func:`scan_for_index`)."""

    links: list[IndexLink]
    n_timestamps: int
    timestamps: str | None  # JSON, see :func:`stored_timestamps`
    headings: str | None  # JSON, as json.dumps(Scan.headings, ensure_ascii=False)

_ATTRS = r"""(?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*"""
_HTML_BLOCK6 = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|"
    "dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]|head|"
    "header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|"
    "param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul"
)

# Each construct has its own regex with a literal first character, which Python's `re` finds with
# a fast search; one alternation of them all would be several times slower on 200 MB of notes.
_WIKI = re.compile(r"\[\[([^\[\]\n]*(?:\](?!\])[^\[\]\n]*|\[(?!\[)[^\[\]\n]*)*)\]\]")
# The link text's repetitions are possessive (Python 3.11+): its alternatives start with different
# characters and each matches in exactly one way, so giving back cannot find another match, and
# a failed try at every `[` of a note full of wikilinks stays linear instead of backtracking.
_MDLINK = re.compile(
    r"""\[((?:[^\[\]\n\\]++|\\.|\n(?![ \t]*\r?\n)|\[[^\[\]\n]*+\])*+)\]"""
    r"""\([ \t]*(<[^<>\n]*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*)"""
    r"""(?:[ \t]+(?:"[^"\n]*"|'[^'\n]*'))?[ \t]*\)"""
)
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_ANCHOR_FAST = re.compile(r'<a class="yt-timestamp" data-t="([^"<>]*)">(\[?[^<\[]*)</a>')
_ANCHOR_ANY = re.compile(r"""<a\b(""" + _ATTRS + r""")\s*>([^<]*)</a\s*>""")
_ANCHOR_LOOSE = re.compile(r"<a\s([^<>]*)>([^<]*)</a\s*>")
_STAMP_ATTRS = re.compile(r"data-t|timestamp|\byt\W")  # an anchor of a timestamp, typos included
_HTML_TAG = re.compile(r"<(?:!--[\s\S]*?-->|/?[A-Za-z][A-Za-z0-9-]*" + _ATTRS + r"\s*/?>|[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>)")
_ASCII_DIGITS = re.compile(r"[0-9]+")  # JavaScript's \\d: a tag of digits only is no tag
_OTHER_HTML = re.compile(r'<(?!a class="yt-timestamp" data-t="|/a>|br ?/?>)')
_TAG = re.compile(r"""#(?<!\S#)[^\u2000-\u206F\u2E00-\u2E7F'!"#$%&()*+,.:;<=>?@^`{|}~\[\]\\\s]+""")
_HEADING = re.compile(r"\n([ ]{0,3}(#{1,6}))(?=[ \t\r\n]|\Z)([^\n]*)")
_HEADING_FIRST = re.compile(r"([ ]{0,3}(#{1,6}))(?=[ \t\r\n]|\Z)([^\n]*)")
_BLOCK = re.compile(r"\^(?<![^ \t\n]\^)([A-Za-z0-9-]+)(?=[ \t]*\r?$)", re.M)
_MD_STAMP = re.compile(r"\[(\d{1,3}:\d\d(?::\d\d)?)\]\(https://www\.youtube\.com/watch\?v=([A-Za-z0-9_-]+)&t=([0-9]+)s\)")
# Regions where nothing is looked for. The regex is only tried (with .match) at the positions of
# its trigger characters, left to right, so openers and closers pair up as a tokenizer pairs them.
_LINE_START = r"(?:(?<![^\n])|(?<=^[ ])|(?<=^[ ]{2})|(?<=^[ ]{3}))"
# A line that ends a paragraph: inline code and math cannot run across it.
_BLOCK_START = (
    r"[ \t]*\r?(?:\n|\Z)|[ ]{0,3}(?:`{3}|~{3}|\#{1,6}(?:[ \t\r\n]|\Z)|>|\$\$|</?(?i:"
    + _HTML_BLOCK6
    + r")(?=[\s/>]))"
)
_SKIP = re.compile(
    r"""
    (?P<fence>""" + _LINE_START + r"""(?:(?P<fb>`{3,})[^`\n]*|(?P<ft>~{3,})[^\n]*)
        (?:\n(?:[^\n]*\n)*?[ ]{0,3}(?(fb)(?P=fb)`*|(?P=ft)~*)[ \t]*\r?(?=\n|\Z)|(?:\n[^\n]*)*\Z))
  | (?P<mblock>""" + _LINE_START + r"""\$\$[\s\S]*?(?:\$\$|\Z))
  | (?P<hblock>""" + _LINE_START + r"""(?:
        <(?P<h1>(?i:script|pre|style|textarea))(?=[\s>]|$)[\s\S]*?(?:</(?i:script|pre|style|textarea)>[^\n]*|\Z)
      | </?(?i:""" + _HTML_BLOCK6 + r""")(?=[\s/>]|$)[^\n]*(?:\n(?![ \t]*\r?(?:\n|\Z))[^\n]*)*
    ))
  | (?P<esc>\\[!-/:-@\[-`{-~])
  | (?P<code>(?<!`)(?P<bt>`+)(?!`)(?:[^\n]|\n(?!""" + _BLOCK_START + r"""))*?(?<!`)(?P=bt)(?!`))
  | (?P<comment><!--[\s\S]*?(?:-->|\Z))
  | (?P<dmath>\$\$(?:[^\n]|\n(?!""" + _BLOCK_START + r"""))*?\$\$)
  | (?P<math>\$(?![ \t$])(?:\\.|[^$\\\n])+?(?<![ \t\\])\$(?!\d))
    """,
    re.M | re.X,
)
_HTML_BLOCK_START = re.compile(r"\n[ ]{0,3}<")
_FIRST_LINE_HTML = re.compile(r"[ ]{0,3}<")

# A line indented as code right after a blank line: the only trigger for the slower line pass.
_MAYBE_INDENTED_CODE = re.compile(r"\n[ \t]*\r?\n(?: {4}|[ ]{0,3}\t)[^\n]*\S")
_FIRST_LINE_INDENTED = re.compile(r"(?: {4}|[ ]{0,3}\t)[^\n]*\S")
_LIST_ITEM = re.compile(r"[ ]{0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|\r?$)")
_FENCE_LINE = re.compile(r"[ ]{0,3}(`{3,}|~{3,})")

_T_PARAM = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?")
_ATTR = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:|//")
_YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"})



def scan_body(text: str, start: int = 0) -> Scan:
    """Scan ``text`` from ``start`` (the end of the frontmatter) to its end; spans index ``text``.

    Bodies of the common shapes (wikilinks, timestamp anchors, headings, plain text) are scanned
    by the C extension, which declines anything else (see :func:`scan_for_index`); the result is
    the same either way.
    """
    if _cscan is not None:
        found = _cscan.scan_objects(text, start)
        if found is not None:
            links, stamps, heads = found
            return Scan(links=tuple(links), timestamps=tuple(stamps), headings=tuple(heads))
    return scan_body_python(text, start)


def scan_body_to_normalize(text: str, start: int, hours_always: bool) -> tuple[Scan, bool] | None:
    """:func:`scan_body` for ``normalize``'s timestamp shortcut, in C: the markdown timestamps
    already written exactly as ``normalize.canonical_timestamp`` writes them are left out, and
    ``hours`` (``hours_always``, or any timestamp an hour or more in) comes with the scan. None
    where the C pass declines the body (or is not built)."""
    if _cscan is None:
        return None
    found = _cscan.scan_to_normalize(text, start, hours_always)
    if found is None:
        return None
    links, stamps, heads, hours = found
    return Scan(links=tuple(links), timestamps=tuple(stamps), headings=tuple(heads)), hours


def scan_body_python(text: str, start: int = 0) -> Scan:
    """:func:`scan_body` without the C fast path.

    Each construct is found by its own regex. Where constructs can overlap (code, math, HTML,
    markdown links, tags, block ids), a sweep in document order keeps the one that starts first,
    as Obsidian's tokenizer does; notes with only wikilinks and anchors skip the sweep.
    """
    if start == 0 and text.startswith("\ufeff"):
        # Obsidian never sees the BOM. A newline in its place keeps every offset and makes the
        # first line start a line, as it does for Obsidian.
        text, start = "\n" + text[1:], 1
    skips = _skip_matches(text, start)
    skipped = [Region(m.lastgroup or "code", m.span()) for m in skips if m.lastgroup != "esc"]
    regions = [m.span() for m in skips]
    if (
        _MAYBE_INDENTED_CODE.search(text, start - 1 if start else 0) is not None
        or _FIRST_LINE_INDENTED.match(text, start) is not None
    ):
        for span in _indented_code(text, start):
            skipped.append(Region("indented_code", span))
            regions.append(span)

    anchors = list(_ANCHOR_FAST.finditer(text, start))
    sweep = bool(regions)
    if text.count("<a", start) > len(anchors):
        fast = {m.start() for m in anchors}
        extra = [m for m in _ANCHOR_ANY.finditer(text, start) if m.start() not in fast and _STAMP_ATTRS.search(m.group(1))]
        if text.count("<a", start) > len(anchors) + len(extra):
            # anchors whose attributes are damaged (`data-05:08">`, an unclosed quote)
            known = fast | {m.start() for m in extra}
            extra += [m for m in _ANCHOR_LOOSE.finditer(text, start) if m.start() not in known and _STAMP_ATTRS.search(m.group(1))]
        if extra:
            anchors = sorted(anchors + extra, key=_match_start)
            sweep = True  # generic anchors may hold anything
    html = [m.span() for m in _HTML_TAG.finditer(text, start)] if _OTHER_HTML.search(text, start) else []
    wikis = list(_WIKI.finditer(text, start))
    # the canonical markdown timestamps the normalizer writes: most of a normalized note's links
    stamps_md = [m for m in _MD_STAMP.finditer(text, start) if text[m.start() - 1 : m.start()] != "!"]
    mds: list[re.Match[str]] = []
    if text.count("](", start) > len(stamps_md):
        fast_md = {m.start() for m in stamps_md}
        mds = [m for m in _MDLINK.finditer(text, start) if m.start() not in fast_md]
    tags = list(_TAG.finditer(text, start)) if "#" in text else []
    blocks = list(_BLOCK.finditer(text, start)) if "^" in text else []
    heads = list(_HEADING.finditer(text, start - 1 if start else 0))
    if start == 0 or text[start - 1] != "\n":
        first = _HEADING_FIRST.match(text, start)
        if first is not None:
            heads.insert(0, first)

    if sweep or html or mds or tags or blocks:
        kinds = [anchors, wikis, mds, tags, blocks, stamps_md]
        keep = _sweep(regions, html, kinds, heads, start)
        anchors, wikis, mds, tags, blocks, stamps_md = (
            [m for m in ms if (rank, m.start()) in keep] for rank, ms in zip(_KIND_RANKS, kinds, strict=True)
        )
        heads = [m for m in heads if (_R_HEAD, m.start(1)) in keep]

    links = [link for m in wikis if (link := _wikilink(text, m)) is not None]
    clocks = _CLOCKS
    stamps = []
    for m in anchors:
        if m.re is _ANCHOR_FAST:
            data_t, label = m.groups()
            seconds = clocks.get(data_t, -1)
            if seconds == -1:
                seconds = _clock(data_t)
            stamps.append(Timestamp(_HTML, m.span(), seconds if seconds is not None else parse_clock(label), label, data_t, None))
        else:
            stamps.append(_html_timestamp(m))
    for m in stamps_md:
        md_label, video_id, t_param = m.groups()
        stamps.append(Timestamp(TimestampForm.MARKDOWN, m.span(), int(t_param), md_label, None, video_id))
    for m in mds:
        item = _markdown_link(text, m)
        if isinstance(item, Link):
            links.append(item)
        elif item is not None:
            stamps.append(item)
    if mds or (stamps_md and anchors):
        links.sort(key=_span_start)
        stamps.sort(key=_span_start)
    return Scan(
        links=tuple(links),
        timestamps=tuple(stamps),
        tags=tuple(Tag(m.group()[1:], m.span()) for m in tags if not _ASCII_DIGITS.fullmatch(m.group(), 1)),
        headings=tuple(_heading(m) for m in heads),
        blocks=tuple(BlockId(m.group(1), m.span()) for m in blocks),
        skipped=tuple(sorted(skipped, key=lambda r: r.span)),
    )


_HTML = TimestampForm.HTML


def _match_start(m: re.Match[str]) -> int:
    return m.start()


def _span_start(item: Link | Timestamp) -> int:
    return item.span[0]


# Ranks in the sweep: at equal starts the lower rank wins.
_R_SKIP, _R_HEAD, _R_ANCHOR, _R_HTML, _R_WIKI, _R_MD, _R_TAG, _R_BLOCK, _R_MD_STAMP = range(9)
_KIND_RANKS = (_R_ANCHOR, _R_WIKI, _R_MD, _R_TAG, _R_BLOCK, _R_MD_STAMP)  # the order of sweep()'s ``kinds``


def _sweep(
    regions: list[tuple[int, int]],
    html: list[tuple[int, int]],
    kinds: list[list[re.Match[str]]],
    heads: list[re.Match[str]],
    start: int,
) -> set[tuple[int, int]]:
    """Keep, in document order, each construct that starts after the previous kept one ended.

    Returns the kept ``(rank, start)`` pairs of headings and of ``kinds``.
    """
    cands: list[tuple[int, int, int]] = [(s, _R_SKIP, e) for s, e in regions]
    cands += [(s, _R_HTML, e) for s, e in html]
    cands += [(m.start(1), _R_HEAD, m.end(2)) for m in heads]
    for rank, ms in zip(_KIND_RANKS, kinds, strict=True):
        cands += [(m.start(), rank, m.end()) for m in ms]
    cands.sort()
    keep: set[tuple[int, int]] = set()
    cursor = start
    for s, rank, e in cands:
        if s >= cursor:
            cursor = e
            keep.add((rank, s))
    return keep


def _skip_matches(text: str, start: int) -> list[re.Match[str]]:
    """Code, math, HTML blocks, comments and escapes, tried only where their first character is."""
    triggers: list[int] = []
    for needle in ("`", "$", "\\", "~~~", "<!--"):
        at = text.find(needle, start)
        while at >= 0:
            triggers.append(at)
            at = text.find(needle, at + len(needle))
    first_line = _FIRST_LINE_HTML.match(text, start)
    if first_line is not None:
        triggers.append(first_line.end() - 1)
    triggers += [m.end() - 1 for m in _HTML_BLOCK_START.finditer(text, start)]
    if not triggers:
        return []
    triggers.sort()
    found: list[re.Match[str]] = []
    cursor = start
    for at in triggers:
        if at < cursor:
            continue
        m = _SKIP.match(text, at)
        if m is not None:
            found.append(m)
            cursor = m.end()
    return found


def _sort_key(c: tuple[int, int, int, object]) -> tuple[int, int]:
    return c[0], c[1]


def _heading(m: re.Match[str]) -> Heading:
    rest = m.group(3)
    stripped = rest.rstrip("\r")
    return Heading(len(m.group(2)), _heading_text(stripped), (m.start(1), m.end(3) - (len(rest) - len(stripped))))


def _heading_text(rest: str) -> str:
    rest = rest.strip()
    if not rest.endswith("#"):
        return rest
    # a closing sequence of '#' is not part of the heading (CommonMark)
    closing = re.search(r"(?:^|[ \t]+)#+$", rest)
    if closing:
        rest = rest[: closing.start()]
    return rest.strip()


def parse_wikilink_inner(inner: str) -> tuple[str, str, str | None] | None:
    """Obsidian's ``parseAliasLink`` + ``cleanString`` + ``parseLinktext`` on the text between
    the brackets: ``(linkpath, subpath, display)``, or None when it is no link."""
    if inner.isascii() and not any(c in inner for c in "|#\\"):
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


def _wikilink(text: str, m: re.Match[str]) -> Link | None:
    s, e = m.span()
    parsed = parse_wikilink_inner(m.group(1))
    if parsed is None:
        return None
    path, subpath, display = parsed
    if s > 0 and text[s - 1] == "!":
        return Link(LinkKind.EMBED, (s - 1, e), path, subpath, display)
    return Link(LinkKind.WIKI, (s, e), path, subpath, display)


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


def _indented_code(text: str, start: int) -> list[tuple[int, int]]:
    """Indented code blocks in ``text[start:]``.

    An indented line is code only after a blank line, outside a fence, and not in a list
    (where indentation continues the item, as in CommonMark).
    """
    end = len(text)
    code: list[tuple[int, int]] = []
    fence: str | None = None
    block_start = -1
    pos = start
    prev_blank = True
    in_list = False
    while pos < end:
        nl = text.find("\n", pos)
        line_end = end if nl < 0 else nl + 1
        line = text[pos:line_end].rstrip("\r\n")
        blank = not line.strip()
        indented = line.startswith(("    ", "\t", " \t", "  \t", "   \t"))
        if fence is not None:
            closing = _FENCE_LINE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                if not line[closing.end() :].strip():
                    fence = None
            prev_blank = blank
            pos = line_end
            continue
        if block_start >= 0:
            if not blank and not indented:
                code.append((block_start, _trim_blank_tail(text, block_start, pos)))
                block_start = -1
        if fence is None and block_start < 0:
            opening = _FENCE_LINE.match(line)
            if opening and not indented:
                fence = opening.group(1)
            elif indented and not blank and prev_blank and not in_list:
                block_start = pos
            elif not blank:
                if _LIST_ITEM.match(line):
                    in_list = True
                elif not indented:
                    in_list = False
        prev_blank = blank
        pos = line_end
    if block_start >= 0:
        code.append((block_start, _trim_blank_tail(text, block_start, end)))
    return code


def _trim_blank_tail(text: str, block_start: int, block_end: int) -> int:
    """End of an indented code block without its trailing blank lines."""
    chunk = text[block_start:block_end]
    stripped = chunk.rstrip(" \t\r\n")
    nl = chunk.find("\n", len(stripped))
    return block_start + (len(chunk) if nl < 0 else nl + 1)


def stored_timestamps(stamps: tuple[Timestamp, ...]) -> str:
    """Timestamps as the index stores them: a JSON array of ``[start, end, seconds]`` for the
    plain HTML anchor, ``[start, end, seconds, form, video_id]`` for the other forms. Labels and
    ``data-t`` are left in the note (the span finds them): a vault holds over a million anchors."""
    return json.dumps(
        [[t.span[0], t.span[1], t.seconds] if t.form is _HTML else [t.span[0], t.span[1], t.seconds, t.form.value, t.video_id] for t in stamps],
        ensure_ascii=False,
    )


def index_scan(scan: Scan) -> IndexScan:
    """The index's view of a full scan: links as tuples, timestamps and headings as JSON."""
    links = [(link.kind.value, link.span[0], link.span[1], link.target, link.subpath, link.display) for link in scan.links]
    return IndexScan(
        links,
        len(scan.timestamps),
        stored_timestamps(scan.timestamps) if scan.timestamps else None,
        # NamedTuples serialise as JSON arrays in C
        json.dumps(scan.headings, ensure_ascii=False) if scan.headings else None,
    )


def scan_for_index(text: str, start: int = 0) -> IndexScan | None:
    """``index_scan(scan_body(text, start))`` computed in C in one pass, for bodies of the common
    shapes (wikilinks, timestamp anchors, headings, plain text); None for any other body (code,
    math, escapes, other HTML, markdown links, tags, block ids), or when the C extension is not
    built. The result has no tags and no block ids, because a body with either gives None.
    """
    if _cscan is None:
        return None
    found = _cscan.scan_index(text, start)
    return None if found is None else IndexScan(*found)


def index_note(
    text: str,
    start: int,
    src_id: int,
    memo: dict[str, tuple[int | None, int, str]],
    shared: dict[str, tuple[int | None, int, str]],
    miss: Callable[[str, str, str], tuple[int | None, int, str]],
    uri: str,
    folder: str,
) -> tuple[Any, ...] | None:
    """:func:`scan_for_index` with the links resolved and laid out as the index stores them, in C:
    ``(links_json, link_counts, dests, keys, unresolved, n_timestamps, timestamps, headings)`` as
    ``indexing._rows`` makes them (see ``index.NoteRows``), or None where ``scan_for_index`` gives
    None. A target is looked up in ``memo`` (the source folder's), then ``shared``, else
    ``miss(target, uri, folder)`` resolves it; the empty target is the note itself.
    """
    if _cscan is None:
        return None
    found: tuple[Any, ...] | None = _cscan.index_note(text, start, src_id, memo, shared, miss, uri, folder)
    return found


from vaultsync.text._native import cscan as _cscan  # noqa: E402 - built by setup.py; optional

if _cscan is not None:
    _cscan.configure(
        parse_wikilink_inner, parse_clock, Link, Timestamp, Heading,
        LinkKind.WIKI, LinkKind.EMBED, TimestampForm.HTML, TimestampForm.MARKDOWN,
    )  # fmt: skip
