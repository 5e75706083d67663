"""Typst for the PDF pipeline's common blocks, byte for byte what pandoc's typst writer gives.

Headings with ids, paragraphs and tight bullet lists of text, links, *emph* and **strong**, and
the pipeline's callout and embed boxes are written here; :func:`note_parts` leaves every other
block, and every note with constructs that span blocks (code fences, HTML, footnotes, definitions,
indented continuations, other divs), to pandoc. tests/exporters/test_pdf_fast.py checks the output
against pandoc on generated and real notes.
"""

from __future__ import annotations

import re
import unicodedata

# inline -------------------------------------------------------------------------------------

# a character whose typst form is a backslash and itself (pandoc's typst writer)
_TYPST_SPECIAL = set("[]#<>\\$*_@`~")
# markdown backslash escapes the fast path understands (the pipeline's _escape, and a few more)
_MD_ESCAPABLE = set("\\`*_[]<>#|()!.-+:;,'\"/=~$@%&?{}^")
# characters that are literal in commonmark_x text and need no care in typst (checked against pandoc)
_PLAIN = re.compile(r"[^\\`*_\[\]<>#|!$@~^{}&:=/.\u00a0\u2018\u2019\u201c\u201d\u2013\u2014\n\r\t-]")
_LINK = re.compile(r"\[((?:[^\[\]\\]|\\.)*)\]\((#[a-z][a-z0-9-]*|https?://[A-Za-z0-9._~:/?#@!$&'+,;=%-]+)\)")


class NotSimple(Exception):
    """The text uses markdown the fast path leaves to pandoc."""


_UNICODE = {"\u2019": "'", "\u2013": "--", "\u2014": "---", "\u2018": "\u2018", "\u201c": "\u201c", "\u201d": "\u201d", "\u00a0": "~"}
_PH = "\ue000"  # stands for a link while emphasis is matched


_ATTN = re.compile(r"[^\w ,?)\u00b0\u00b7]|_")  # characters worth a closer look
_ELLIPSIS = "\u2026"


def _text(raw: str, at_start: bool, underscores: int = 0) -> str:
    """Literal markdown text (no markup left but backslash escapes) -> typst."""
    if raw[:1].isdigit() and re.match(r"\d+\.", raw):
        raise NotSimple("number")  # pandoc escapes a would-be enum marker at the start of content
    out = []
    i, n = 0, len(raw)
    while True:
        m = _ATTN.search(raw, i)
        if m is None:
            out.append(raw[i:])
            break
        if m.start() > i:
            out.append(raw[i : m.start()])
        i = m.start()
        c = raw[i]
        if c == "\\":
            if i + 1 >= n or raw[i + 1] not in _MD_ESCAPABLE:
                raise NotSimple("backslash")
            c = raw[i + 1]
            i += 2
            if c == "|":
                out.append(c)
            elif c in _TYPST_SPECIAL:
                out.append("\\" + c)
            else:
                raise NotSimple("escape")
            continue
        if c == ".":
            if raw.startswith("...", i):
                if raw.startswith("....", i):
                    raise NotSimple("dots")
                out.append(_ELLIPSIS)
                i += 3
                continue
            out.append(c)
        elif c == "-":
            if raw.startswith("----", i):
                raise NotSimple("dashes")
            out.append(c)
        elif c == "&":
            if re.match(r"&[#A-Za-z0-9]+;", raw[i:]):
                raise NotSimple("entity")
            out.append(c)
        elif c == ":":
            if re.match(r":[A-Za-z0-9_+-]+:", raw[i:]):
                raise NotSimple("emoji")
            out.append(c)
        elif c == "/":
            out.append("\\/" if i > 0 and raw[i - 1] == "/" else "/")
        elif c == "!":
            if raw[i + 1 : i + 2] in ("[", _PH):
                raise NotSimple("image")
            out.append(c)
        elif c in _UNICODE:
            out.append(_UNICODE[c])
        elif c == "~":
            before = raw[i - 1] if i > 0 else " "
            if not (before == " " and i + 1 < n and raw[i + 1] not in " ~\ue001"):
                raise NotSimple("tilde")  # one that could close a ~subscript~ or ~~strikeout~~
            out.append("\\~")
        elif c == "\ue001":
            out.append(" \\\n")
            if raw[i + 1 : i + 2] in ("", " ", "(", "=", "/", "+", "-") or _ORDERED.match(raw, i + 1) or re.match(r"\d+\.", raw[i + 1 :]):
                raise NotSimple("line start after break")
        elif c == "_":
            if not (underscores == 1 or (0 < i < n - 1 and raw[i - 1].isalnum() and raw[i + 1].isalnum())):
                raise NotSimple("underscore")
            out.append("\\_")
        elif c == "|" or c == "=":
            out.append(c)
        elif c == ";":
            if not (i > 0 and raw[i - 1].isalnum()):
                raise NotSimple("semicolon")  # pandoc escapes one that starts a word
            out.append(c)
        elif c == "(":
            if i == 0 or raw[i - 1] in "\"'\u2018\u2019\u201c\u201d":
                raise NotSimple("paren after markup")  # pandoc escapes it there
            out.append(c)
        elif _PLAIN.match(c) and unicodedata.category(c)[0] not in "ZC":  # odd spaces, controls: pandoc
            out.append(c)
        else:
            raise NotSimple(f"char {c!r}")
        i += 1
    text = "".join(out)
    if at_start and text[:1] in ("(", "=", "/", "+", "-"):
        raise NotSimple("line start")
    return text


def _flank_open(s: str, i: int, width: int) -> bool:
    before = s[i - 1] if i > 0 else " "
    after = s[i + width] if i + width < len(s) else " "
    return before in " (" and (after.isalnum() or after == _PH)


def _flank_close(s: str, i: int, width: int) -> bool:
    before = s[i - 1] if i > 0 else " "
    after = s[i + width] if i + width < len(s) else " "
    return (before.isalnum() or before == _PH or before in ".,:;!?)") and after in " .,:;!?)"


def inline(s: str, at_start: bool = True) -> str:
    """commonmark_x inline markdown -> typst: text, links, *emph* and **strong** (links inside them); else NotSimple."""
    if _PH in s:
        raise NotSimple("placeholder")
    s = re.sub(" {2,}", " ", s)
    links: list[str] = []
    underscores = len(re.findall(r"(?<!\\)(?:\\\\)*_", _LINK.sub(lambda m: m.group(1), s)))

    def link(m: re.Match[str]) -> str:
        if m.start() > 0 and s[m.start() - 1] in "\\!":
            raise NotSimple("escaped bracket or image")
        body, dest = m.group(1), m.group(2)
        if not body:
            raise NotSimple("empty link")
        inner = _spans(body, False, [], underscores)
        if dest.startswith("#"):
            links.append(f"#link(<{dest[1:]}>)[{inner}]")
        else:
            if body == dest or body.replace("\\", "") == dest:
                raise NotSimple("autolink-like")
            links.append(f'#link("{dest}")[{inner}]')
        return _PH

    flat = _LINK.sub(link, s)
    _check_quotes(flat)
    return _spans(flat, at_start, links, underscores)


def _check_quotes(s: str) -> None:
    """Straight quotes the way pandoc's smart reader keeps them: apostrophes in words, "paired" quotes."""
    n = len(s)
    i = s.find("'")
    while i >= 0:
        if not (0 < i < n - 1 and s[i - 1].isalnum() and s[i + 1].isalnum()):
            raise NotSimple("single quote")
        i = s.find("'", i + 1)
    quotes = [m.start() for m in re.finditer('"', s)] if '"' in s else []
    if len(quotes) % 2:
        raise NotSimple("unpaired quote")
    for k in range(0, len(quotes), 2):
        a, b = quotes[k], quotes[k + 1]
        if not ((a == 0 or s[a - 1] in " (") and a + 1 < n and s[a + 1].isalnum()):
            raise NotSimple("quote")
        if not (s[b - 1].isalnum() or s[b - 1] in ".,!?") or not (b + 1 == n or s[b + 1] in " .,;:!?)"):
            raise NotSimple("quote")


_STAR_OR_ESCAPE = re.compile(r"[\\*]")


def _spans(s: str, at_start: bool, links: list[str], underscores: int) -> str:
    """**strong** and *emph* (not nested in each other) around literal text and link placeholders."""
    if not s:
        return ""
    if "[" in s.replace("\\[", "") or "]" in s.replace("\\]", ""):
        raise NotSimple("bracket")
    out: list[str] = []
    i = start = 0
    n = len(s)
    while True:
        m = _STAR_OR_ESCAPE.search(s, i)
        if m is None:
            break
        i = m.start()
        if s[i] == "\\":
            i += 2
            continue
        run = 1
        while i + run < n and s[i + run] == "*":
            run += 1
        if run > 2 or not _flank_open(s, i, run):
            raise NotSimple("emphasis")
        close = _closer(s, i + run, run)
        content = s[i + run : close]
        if content != content.strip() or re.search(r"(?<!\\)(\\\\)*\\$", content):
            raise NotSimple("emphasis")
        out.append(_pieces(s[start:i], at_start and start == 0, links, underscores))
        inner = _spans(content, False, links, underscores) if run == 2 else _pieces(content, False, links, underscores)
        out.append(("#strong[" if run == 2 else "#emph[") + inner + "]")
        i = start = close + run
    out.append(_pieces(s[start:], at_start and start == 0, links, underscores))
    return "".join(out)


def _closer(s: str, j: int, run: int) -> int:
    """Where the ``run`` asterisks opened before ``j`` close; inside ``**``, ``*emph*`` pairs are skipped."""
    n = len(s)
    inner = False
    while True:
        j = s.find("*", j)
        if j < 0:
            raise NotSimple("emphasis")
        if s[j - 1] == "\\":
            raise NotSimple("emphasis")
        width = 1
        while j + width < n and s[j + width] == "*":
            width += 1
        if width == run and not inner:
            if not _flank_close(s, j, run):
                raise NotSimple("emphasis")
            return j
        if run == 2 and width == 1:
            if not inner and not _flank_open(s, j, 1):
                raise NotSimple("emphasis")
            if inner and not _flank_close(s, j, 1):
                raise NotSimple("emphasis")
            inner = not inner
            j += 1
            continue
        raise NotSimple("emphasis")


def _pieces(s: str, at_start: bool, links: list[str], underscores: int) -> str:
    parts = s.split(_PH)
    out = [_text(parts[0], at_start, underscores)]
    for part in parts[1:]:
        out.append(links.pop(0))
        out.append(_text(part, False, underscores))
    return "".join(out)


# blocks -------------------------------------------------------------------------------------

_HEADING = re.compile(r"(#{1,6})[ \t]+(.*?)[ \t]+\{#([a-z][a-z0-9-]*)\}[ \t]*")
_BULLET = re.compile(r"([-*+])[ ]{1,4}(?=\S)(.*)")
_SAFE_LINE_START = re.compile(r"[^\s#>\-*+=|<`~:\[!\d{}_^$]|\*\*?(?=[^\s*])|\[(?!\s*[xX ]?\s*\])|\d+(?![.)\d])")
_ORDERED = re.compile(r"\(?(?:\d{1,9}|[A-Za-z]|[ivxlcdmIVXLCDM]+|#)[.)](?:\s|$)")  # fancy_lists markers


def block(text: str) -> str:
    """One block (no blank lines) -> typst, or NotSimple. ATX headings end the lines before them."""
    out: list[str] = []
    group: list[str] = []
    for line in text.split("\n"):
        m = _HEADING.fullmatch(line)
        if m is None:
            group.append(line)
            continue
        if group:
            out.append(_lines(group) + "\n\n")
            group = []
        title = m.group(2)
        if title.endswith("#") and not title.endswith("\\#"):
            raise NotSimple("closing hashes")
        out.append("=" * len(m.group(1)) + " " + inline(title, at_start=False) + "\n<" + m.group(3) + ">\n")
    if group:
        out.append(_lines(group))
    return "".join(out).rstrip("\n")


def _lines(lines: list[str]) -> str:
    """A tight bullet list of one-line items, or a paragraph."""
    if all(_BULLET.fullmatch(line) for line in lines):
        if len({line[0] for line in lines}) != 1:
            raise NotSimple("mixed markers")
        items = []
        for line in lines:
            item = line[1:].lstrip(" ")
            if not _SAFE_LINE_START.match(item) or _ORDERED.match(item) or re.match(r"\[[ xX]\]", item) or item.rstrip() != item:
                raise NotSimple("item")
            if re.fullmatch(r"[-*_ ]+", item):
                raise NotSimple("rule")
            items.append("- " + inline(item, at_start=False))
        return "\n".join(items)
    joined = []
    for k, line in enumerate(lines):
        if not _SAFE_LINE_START.match(line) or _ORDERED.match(line) or "\t" in line or "\ue001" in line:
            raise NotSimple("paragraph line")
        if re.fullmatch(r"[=\-*_ ]+", line):
            raise NotSimple("setext or rule")
        text = line.rstrip(" ")
        if k < len(lines) - 1:
            trailing = len(text) - len(text.rstrip("\\"))
            if line.endswith("  "):
                text += "\ue001"  # hard line break
            elif trailing % 2:
                text = text[:-1].rstrip(" ") + "\ue001"
            else:
                text += " "
        joined.append(text)
    return inline("".join(joined), at_start=True)


# notes ----------------------------------------------------------------------------------

# constructs that span blank lines or refer across blocks: such a note goes to pandoc whole
_WHOLE_NOTE = re.compile(r"^(?:[ ]{0,3}(?:```|~~~|<|\[\^|\[[^\]\n]+\]:|[:~][ \t])|[ \t]+\S)", re.MULTILINE)
_DIV_OPEN = re.compile(r"::: \{\.(callout \.callout-[a-z0-9-]+|embed)\}")
_BOXES = {  # the typst-callouts.lua filter's boxes, for the divs the pipeline writes
    "callout": '#block(fill: rgb("#eef3fb"), stroke: (left: 3pt + rgb("#4a7bd0")), inset: (x: 10pt, y: 8pt), radius: 2pt, width: 100%, breakable: true)[',
    "embed": "#block(stroke: (left: 2pt + luma(170)), inset: (left: 10pt, y: 4pt), width: 100%, breakable: true)[",
}


def note_parts(chunk: str) -> list[tuple[bool, str]]:
    """One note's markdown as (already typst?, text) parts: fast-path typst and runs left to pandoc."""
    lines = chunk.split("\n")
    depth = 0
    for line in lines:
        if line.startswith(":::"):
            if _DIV_OPEN.fullmatch(line):
                depth += 1
            elif line == ":::" and depth:
                depth -= 1
            else:
                return [(False, chunk)]
    if depth or _WHOLE_NOTE.search(chunk):
        return [(False, chunk)]
    parts: list[tuple[bool, str]] = []
    pending: list[str] = []  # markdown blocks for pandoc

    def flush() -> None:
        if pending:
            parts.append((False, "\n\n".join(pending)))
            pending.clear()

    def emit(typst: str) -> None:
        flush()
        parts.append((True, typst))

    current: list[str] = []

    def end_block() -> None:
        if not current:
            return
        text = "\n".join(current)
        current.clear()
        try:
            emit(block(text))
        except NotSimple:
            pending.append(text)

    for line in lines:
        if line.startswith(":::"):
            end_block()
            m = _DIV_OPEN.fullmatch(line)
            emit(_BOXES["callout" if m.group(1).startswith("callout") else "embed"] if m else "]")
        elif not line.strip():
            end_block()
        else:
            current.append(line)
    end_block()
    flush()
    return parts
