"""Card text: a slice of an Obsidian note -> the HTML Anki shows. Pure (no file access).

Obsidian constructs are swapped for placeholders before markdown-it sees the text and swapped
back after: each is a replacement (a span of the note and the HTML it stands for, given by
:mod:`exporters.cardhtml`: timestamps as links to their second of the video, wikilinks as
``obsidian://`` links, image embeds as ``<img>`` tags, math as MathJax's delimiters, comments and
block ids as nothing), so markdown never touches them.

markdown-it-py renders about 1-2 MB/s, and a deck of heading cards renders every line of its notes,
so plain paragraphs and headings (no markup but ``*emphasis*``/``**strong**`` with plain contents)
take a fast path that produces byte-identical output (tests/exporters/test_anki.py compares the two
on the sample and synthetic vaults); everything else goes through markdown-it as one piece.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from collections.abc import Sequence
from itertools import islice

from markdown_it import MarkdownIt

Span = tuple[int, int]
Replacement = tuple[Span, str]  # a span of the note text and the HTML that stands for it

_MD = MarkdownIt("commonmark", {"html": True, "breaks": True}).enable(["table", "strikethrough"])
_PLACEHOLDERS = [f"\ue000{n}\ue001" for n in range(1024)]  # the placeholder for replacement n
# Constructs that tie blank-line-separated chunks together (fences, HTML blocks of types 1-5,
# link reference definitions): a fragment holding one is rendered by markdown-it as a whole.
_GLOBAL = re.compile(r"```|~~~|<(?:!|\?|pre|script|style|textarea)|\n[ >*+\-\d.)]*\[[^\]\n]+\]:", re.IGNORECASE)  # on "\n" + text
_BLANK_RUN = re.compile(r"\n(?:[ \t]*\n)+")
_SPECIAL = re.compile(r"[\\`_\[\]<>|\t\r\x00~&]")  # one character class: Python's re scans it fast
_ENTITY = re.compile(r"&(?:#|[A-Za-z][A-Za-z0-9]*;)")
# a line that could start or underline a block: list item, quote, heading, break, setext, code
_FAST_BAD_LINE = re.compile(r"\n(?: {0,3}(?:[-+*](?:[ ]|$)|>|#{1,6}(?:[ ]|$)|\d{1,9}[.)](?:[ ]|$)|(?:\*[ ]*){3,}$|(?:-[ ]*)+$|=+[ ]*$)| {4})", re.MULTILINE)  # matched against "\n" + text
# a line that is one paragraph of plain text, rendered as itself: starts with a letter (no block
# syntax), then letters, digits, spaces and punctuation with no meaning in markdown
_PLAIN_LINE = re.compile(r"[^\W\d_](?:[^\W_]|[ ,.;:'()?!\u2018\u2019-])*")
_ATX = re.compile(r" {0,3}(#{1,6})(?:[ ]+(.*?))?(?:[ ]+#+)?[ ]*")
_LIST_ITEM = re.compile(r"[-+*][ ]")
_LIST_START = re.compile(r"[-+*](?:[ \t]|$)", re.MULTILINE)  # a bullet item, empty ones too
_ITEM = re.compile(r"([-+*])[ ]{1,4}(\S.*)")
# *em* / **strong** around plain text: opener after a space or punctuation, closer before one
# (or, when the text ends in punctuation, before a space), so the CommonMark flanking rules agree.
# (The opener is matched first and the lookbehind checks the character before it, so the regex
# engine can jump from one "*" to the next instead of trying the lookbehind at every position.)
_EMPHASIS = re.compile(
    r"(\*(?<![^\s.,;:!?()\"']\*)\*?)"
    r"([^\W_](?:[^*\n]*?[^\W_])?(?=\1(?![^\s.,;:!?()\"']))|[^\W_][^*\n]*?[.,;:!?](?=\1(?!\S)))\1"
)


def render_markdown(markdown: str) -> str:
    """Markdown with placeholders -> HTML, through the fast path where it is exact."""
    if not markdown or markdown.isspace():
        return ""
    if ("<" in markdown or "```" in markdown or "~~~" in markdown or "]:" in markdown) and _GLOBAL.search("\n" + markdown):
        return str(_MD.render(markdown))
    chunks = [c for c in _BLANK_RUN.split(markdown) if c and not c.isspace()]
    out: list[str] = []
    slow = -1  # the first of consecutive chunks markdown-it must see together
    for i, chunk in enumerate(chunks):
        fast = _render_fast(chunk)
        if fast is None and _LIST_ITEM.match(chunk):
            # a list alone between paragraphs: a blank line before or after would make it loose
            lonely = all(not _LIST_START.match(c) and not c[:1].isspace() for c in chunks[i - 1 : i] + chunks[i + 1 : i + 2])
            fast = _render_list(chunk) if lonely else None
        elif fast is None and chunk.startswith(">"):
            fast = _render_quote(chunk)
        if fast is None:
            slow = i if slow < 0 else slow
            continue
        if slow >= 0:
            out.append(_MD.render(_between(markdown, chunks, slow, i)))
            slow = -1
        out.append(fast)
    if slow >= 0:
        out.append(_MD.render(_between(markdown, chunks, slow, len(chunks))))
    return "".join(out)


def _between(markdown: str, chunks: list[str], first: int, stop: int) -> str:
    """``chunks[first:stop]`` with the blank lines between them as written."""
    pos = 0
    for chunk in chunks[:first]:
        pos = markdown.find(chunk, pos) + len(chunk)
    start = pos = markdown.find(chunks[first], pos)
    for chunk in chunks[first:stop]:
        pos = markdown.find(chunk, pos) + len(chunk)
    return markdown[start:pos]


def _render_list(chunk: str) -> str | None:
    """A tight bullet list of one-line plain items."""
    marker = chunk[0]
    items = []
    for line in chunk.split("\n"):
        m = _ITEM.fullmatch(line)
        if m is None or m.group(1) != marker or _FAST_BAD_LINE.match("\n" + m.group(2)):
            return None
        inner = _inline_fast(m.group(2).strip())
        if inner is None or not inner:
            return None
        items.append(f"<li>{inner}</li>\n")
    return "<ul>\n" + "".join(items) + "</ul>\n"


def _render_quote(chunk: str) -> str | None:
    """A blockquote holding one plain paragraph (every line marked)."""
    lines = chunk.split("\n")
    if not all(line.startswith(">") for line in lines):
        return None
    inner = "\n".join(line[2:] if line.startswith("> ") else line[1:] for line in lines)
    if not inner.strip() or _BLANK_RUN.search(inner) or inner[:1].isspace():
        return None
    body = _render_fast(inner)
    return None if body is None else f"<blockquote>\n{body}</blockquote>\n"


def _render_fast(chunk: str) -> str | None:
    """A paragraph (optionally after ATX headings) of plain text, or None when it needs markdown-it."""
    if chunk[:1].isspace():
        return None
    out = []
    text = chunk
    if chunk[:1] == "#":  # (not indented, so only a "#" can start a heading)
        lines = chunk.split("\n")
        while lines and (h := _ATX.fullmatch(lines[0])) is not None:
            if h.group(2) and not h.group(2).strip("#"):
                return None  # "## #": only a closing sequence, which markdown-it drops
            inner = _inline_fast(h.group(2) or "")
            if inner is None:
                return None
            out.append(f"<h{len(h.group(1))}>{inner}</h{len(h.group(1))}>\n")
            lines.pop(0)
        text = "\n".join(lines)
        if not text.strip():  # nothing after the headings but spaces or a line break
            return "".join(out)
    if _FAST_BAD_LINE.search("\n" + text):
        return None
    inner = _inline_fast(text.strip())
    if inner is None:
        return None
    out.append(f"<p>{inner}</p>\n")
    return "".join(out)


def _inline_fast(text: str) -> str | None:
    for m in _SPECIAL.finditer(text):
        c = m.group()
        if c == "~" and not text.startswith("~~", m.start()) or c == "&" and not _ENTITY.match(text, m.start()):
            continue  # a lone tilde, an ampersand that starts no entity: plain text
        return None
    text = text.replace("&", "&amp;").replace('"', "&quot;")
    if "*" in text:
        text = _EMPHASIS.sub(_emphasis, text)
        if "*" in text:
            return None
    if "\n" in text:
        # breaks=True: every line break is a <br />, the spaces around it dropped
        text = "<br />\n".join(line.strip(" ") for line in text.split("\n"))
    return text


def _emphasis(m: re.Match[str]) -> str:
    tag = "strong" if len(m.group(1)) == 2 else "em"
    return f"<{tag}>{m.group(2)}</{tag}>"


def render_fragment(text: str, span: Span, replacements: Sequence[Replacement]) -> str:
    """Render ``text[span]``, each replacement span (sorted by start) inside it standing for its HTML."""
    start, end = span
    parts: list[str] = []
    htmls: list[str] = []
    cursor = start
    for (a, b), value in islice(replacements, bisect_left(replacements, start, key=_start), None):
        if a >= end:
            break
        if a < cursor or b > end:
            continue  # overlaps an earlier replacement or leaves the fragment
        parts.append(text[cursor:a])
        if value:
            n = len(htmls)
            parts.append(_PLACEHOLDERS[n] if n < len(_PLACEHOLDERS) else f"\ue000{n}\ue001")
            htmls.append(value)
        cursor = b
    parts.append(text[cursor:end])
    rendered = render_markdown("".join(parts))
    return _fill(rendered, htmls) if htmls else rendered


def _fill(rendered: str, htmls: list[str]) -> str:
    """Each placeholder ``\\ue000N\\ue001`` -> ``htmls[N]``: what ``re.sub("\\ue000(\\d+)\\ue001", ...)`` gives,
    without a Python call per match."""
    pieces = rendered.split("\ue000")
    out = [pieces[0]]
    for piece in islice(pieces, 1, None):
        n, closed, rest = piece.partition("\ue001")
        if closed and n.isdecimal():  # isdecimal: what \d matches
            out.append(htmls[int(n)])
            out.append(rest)
        else:
            out.append("\ue000")
            out.append(piece)
    return "".join(out)


def _start(replacement: Replacement) -> int:
    return replacement[0][0]


def render_inline(text: str, span: Span, replacements: Sequence[Replacement]) -> str:
    """Like :func:`render_fragment` for one line, without the paragraph around it."""
    start, end = span
    if _PLAIN_LINE.fullmatch(text, start, end):  # most headings: words and harmless punctuation
        i = bisect_left(replacements, start, key=_start)
        if i == len(replacements) or replacements[i][0][0] >= end:
            return text[start:end].strip()
    rendered = render_fragment(text, span, replacements).strip()
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        return rendered[3:-4]
    return rendered


def math_html(source: str) -> str:
    """``$x$`` / ``$$x$$`` -> MathJax delimiters Anki understands, HTML-escaped."""
    if source.startswith("$$"):
        return "\\[" + html.escape(source[2:-2].strip(), quote=False) + "\\]"
    return "\\(" + html.escape(source[1:-1], quote=False) + "\\)"


def link_html(href: str, label: str) -> str:
    return f'<a href="{html.escape(href)}">{html.escape(label, quote=False)}</a>'

