"""The tokenizer of a note body, in Python: the reference the C extension is held to. Pure.

:func:`tokenize_python` finds each construct by its own regex and keeps, where constructs overlap
(code, math, HTML, markdown links, tags, block ids), the one that starts first, as Obsidian's
tokenizer does; it gives positions only (:class:`Tokens`). ``vaultsync._cscan.tokenize`` gives the
same from C (``tests/test_cscan.py`` holds the two to it); :mod:`vaultsync.text.scan` turns either
into links, timestamps, tags, headings and block ids. Skipped, per OBSIDIAN.md 5.5: fenced and
indented code, inline code, ``$``/``$$`` math, HTML blocks, inline HTML tags and comments,
autolinks. Bare URLs need no pass of their own: they hold no whitespace and no ``[``, so no
wikilink, tag or block id can start inside one. ``%%comments%%`` are not skipped (Obsidian indexes
links inside them).

Known simplifications, each a deliberate choice:
- Setext headings (``Title\\n===``) are not heading targets; only ATX headings at top level are.
- Fences nested in list items count only when indented at most 3 spaces.
- HTML blocks are CommonMark types 1, 2 and 6 (``<div>``, ``<table>``, ``<pre>``, comments ...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

_ATTRS = r"""(?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*"""
_HTML_BLOCK6 = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|"
    "dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]|head|"
    "header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|"
    "param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul"
)

# Each construct has its own regex with a literal first character, which Python's `re` finds with
# a fast search; one alternation of them all would be several times slower on 200 MB of notes.
WIKI = re.compile(r"\[\[([^\[\]\n]*(?:\](?!\])[^\[\]\n]*|\[(?!\[)[^\[\]\n]*)*)\]\]")
# The link text's repetitions are possessive (Python 3.11+): its alternatives start with different
# characters and each matches in exactly one way, so giving back cannot find another match, and
# a failed try at every `[` of a note full of wikilinks stays linear instead of backtracking.
MDLINK = re.compile(
    r"""\[((?:[^\[\]\n\\]++|\\.|\n(?![ \t]*\r?\n)|\[[^\[\]\n]*+\])*+)\]"""
    r"""\([ \t]*(<[^<>\n]*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*)"""
    r"""(?:[ \t]+(?:"[^"\n]*"|'[^'\n]*'))?[ \t]*\)"""
)
ANCHOR_PREFIX = '<a class="yt-timestamp" data-t="'
_ANCHOR_FAST = re.compile(r'<a class="yt-timestamp" data-t="([^"<>]*)">(\[?[^<\[]*)</a>')
ANCHOR_ANY = re.compile(r"""<a\b(""" + _ATTRS + r""")\s*>([^<]*)</a\s*>""")
ANCHOR_LOOSE = re.compile(r"<a\s([^<>]*)>([^<]*)</a\s*>")
_STAMP_ATTRS = re.compile(r"data-t|timestamp|\byt\W")  # an anchor of a timestamp, typos included
_HTML_TAG = re.compile(r"<(?:!--[\s\S]*?-->|/?[A-Za-z][A-Za-z0-9-]*" + _ATTRS + r"\s*/?>|[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>)")
_OTHER_HTML = re.compile(r'<(?!a class="yt-timestamp" data-t="|/a>|br ?/?>)')
_TAG = re.compile(r"""#(?<!\S#)[^\u2000-\u206F\u2E00-\u2E7F'!"#$%&()*+,.:;<=>?@^`{|}~\[\]\\\s]+""")
_HEADING = re.compile(r"\n([ ]{0,3}(#{1,6}))(?=[ \t\r\n]|\Z)([^\n]*)")
_HEADING_FIRST = re.compile(r"([ ]{0,3}(#{1,6}))(?=[ \t\r\n]|\Z)([^\n]*)")
_BLOCK = re.compile(r"\^(?<![^ \t\n]\^)([A-Za-z0-9-]+)(?=[ \t]*\r?$)", re.M)
MD_STAMP = re.compile(r"\[(\d{1,3}:\d\d(?::\d\d)?)\]\(https://www\.youtube\.com/watch\?v=([A-Za-z0-9_-]+)&t=([0-9]+)s\)")
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

REGION_KINDS = ("fence", "mblock", "hblock", "code", "comment", "dmath", "math", "indented_code")
"""The kinds of skipped regions; a region's kind is its index here."""
_REGION_INDEX = {name: k for k, name in enumerate(REGION_KINDS)}
ANY, LOOSE = -1, -2  # an anchor token's third item for _ANCHOR_ANY and _ANCHOR_LOOSE (else: the quote)


class Tokens(NamedTuple):
    """A body's constructs after the sweep, as positions into the text, each list in order.

    - ``wikis``: ``(start, end)`` of ``[[...]]`` (without an embed's ``!``);
    - ``anchors``: ``(start, end, q)``: the timestamp anchor of :data:`ANCHOR_PREFIX` with its
      ``data-t`` closed by the quote at ``q``; or ``q`` :data:`ANY` / :data:`LOOSE`, another
      anchor of a timestamp that :data:`ANCHOR_ANY` / :data:`ANCHOR_LOOSE` matches at ``start``;
    - ``md_stamps``: ``(start, end, label_end, id_end)`` of :data:`MD_STAMP` (not after ``!``);
    - ``md_links``: ``(start, end)`` of :data:`MDLINK`;
    - ``tags``, ``blocks``: ``(start, end)`` of ``#tag`` and ``^id``;
    - ``headings``: ``(line_start, hashes_start, hashes_end, line_end)``;
    - ``skipped``: ``(kind, start, end)``, kind an index of :data:`REGION_KINDS`, by span.
    """

    wikis: list[tuple[int, int]]
    anchors: list[tuple[int, int, int]]
    md_stamps: list[tuple[int, int, int, int]]
    md_links: list[tuple[int, int]]
    tags: list[tuple[int, int]]
    blocks: list[tuple[int, int]]
    headings: list[tuple[int, int, int, int]]
    skipped: list[tuple[int, int, int]]


def tokenize_python(text: str, start: int) -> Tokens:
    """The :class:`Tokens` of ``text[start:]`` (a BOM at 0 is the caller's: see ``scan_body``)."""
    skips = _skip_matches(text, start)
    skipped = [(_REGION_INDEX[m.lastgroup or "code"], *m.span()) for m in skips if m.lastgroup != "esc"]
    regions = [m.span() for m in skips]
    if (
        _MAYBE_INDENTED_CODE.search(text, start - 1 if start else 0) is not None
        or _FIRST_LINE_INDENTED.match(text, start) is not None
    ):
        for span in _indented_code(text, start):
            skipped.append((_REGION_INDEX["indented_code"], *span))
            regions.append(span)

    fast = list(_ANCHOR_FAST.finditer(text, start))
    anchors = [(m.start(), m.end(), m.end(1)) for m in fast]
    sweep = bool(regions)
    if text.count("<a", start) > len(anchors):
        starts = {m.start() for m in fast}
        extra = [(m.start(), m.end(), ANY) for m in ANCHOR_ANY.finditer(text, start) if m.start() not in starts and _STAMP_ATTRS.search(m.group(1))]
        if text.count("<a", start) > len(anchors) + len(extra):
            # anchors whose attributes are damaged (`data-05:08">`, an unclosed quote)
            known = starts | {a[0] for a in extra}
            extra += [(m.start(), m.end(), LOOSE) for m in ANCHOR_LOOSE.finditer(text, start) if m.start() not in known and _STAMP_ATTRS.search(m.group(1))]
        if extra:
            anchors = sorted(anchors + extra)
            sweep = True  # generic anchors may hold anything
    html = [m.span() for m in _HTML_TAG.finditer(text, start)] if _OTHER_HTML.search(text, start) else []
    wikis = [m.span() for m in WIKI.finditer(text, start)]
    # the canonical markdown timestamps the normalizer writes: most of a normalized note's links
    md_stamps = [(m.start(), m.end(), m.end(1), m.end(2)) for m in MD_STAMP.finditer(text, start) if text[m.start() - 1 : m.start()] != "!"]
    mds: list[tuple[int, int]] = []
    if text.count("](", start) > len(md_stamps):
        starts = {m[0] for m in md_stamps}
        mds = [m.span() for m in MDLINK.finditer(text, start) if m.start() not in starts]
    tags = [m.span() for m in _TAG.finditer(text, start)] if "#" in text else []
    blocks = [m.span() for m in _BLOCK.finditer(text, start)] if "^" in text else []
    heads = [(m.start(1), m.start(2), m.end(2), m.end(3)) for m in _HEADING.finditer(text, start - 1 if start else 0)]
    if start == 0 or text[start - 1] != "\n":
        first = _HEADING_FIRST.match(text, start)
        if first is not None:
            heads.insert(0, (first.start(1), first.start(2), first.end(2), first.end(3)))

    if sweep or html or mds or tags or blocks:
        keep = _sweep(regions, html, [anchors, wikis, mds, tags, blocks, md_stamps], heads, start)
        anchors = [m for m in anchors if (_R_ANCHOR, m[0]) in keep]
        wikis = [m for m in wikis if (_R_WIKI, m[0]) in keep]
        mds = [m for m in mds if (_R_MD, m[0]) in keep]
        tags = [m for m in tags if (_R_TAG, m[0]) in keep]
        blocks = [m for m in blocks if (_R_BLOCK, m[0]) in keep]
        md_stamps = [m for m in md_stamps if (_R_MD_STAMP, m[0]) in keep]
        heads = [h for h in heads if (_R_HEAD, h[0]) in keep]
    return Tokens(wikis, anchors, md_stamps, mds, tags, blocks, heads, sorted(skipped, key=lambda r: (r[1], r[2])))


# Ranks in the sweep: at equal starts the lower rank wins.
_R_SKIP, _R_HEAD, _R_ANCHOR, _R_HTML, _R_WIKI, _R_MD, _R_TAG, _R_BLOCK, _R_MD_STAMP = range(9)
_KIND_RANKS = (_R_ANCHOR, _R_WIKI, _R_MD, _R_TAG, _R_BLOCK, _R_MD_STAMP)  # the order of sweep()'s ``kinds``


def _sweep(
    regions: list[tuple[int, int]],
    html: list[tuple[int, int]],
    kinds: Sequence[Sequence[tuple[int, ...]]],
    heads: list[tuple[int, int, int, int]],
    start: int,
) -> set[tuple[int, int]]:
    """Keep, in document order, each construct that starts after the previous kept one ended.

    Returns the kept ``(rank, start)`` pairs of headings and of ``kinds``.
    """
    cands: list[tuple[int, int, int]] = [(s, _R_SKIP, e) for s, e in regions]
    cands += [(s, _R_HTML, e) for s, e in html]
    cands += [(h[0], _R_HEAD, h[2]) for h in heads]
    for rank, ms in zip(_KIND_RANKS, kinds, strict=True):
        cands += [(m[0], rank, m[1]) for m in ms]
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
