"""The Obsidian syntax every export meets, read the same way for pages and for cards. Pure.

What a ``%%comment%%`` hides, ``==highlights==``, heading slugs and Obsidian's ``stripHeading``
(how ``[[note#Heading]]`` finds its heading), the section an ``![[note#heading]]`` or
``![[note#^block]]`` embed takes, callouts as pandoc fenced divs, and how every timestamp shows:
:func:`shown_timestamps` applies the rules of :mod:`vaultsync`'s timestamps module (the envelope
a rewrite replaces, the label every output shows, the hours rule) once per note, for the pipeline
(markdown links) and the Anki cards (HTML links) alike.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from vaultsync import ParsedNote, TimestampForm, display_label, envelope, needs_hours

Span = tuple[int, int]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")  # what an image embed shows, in every export
COMMENT = re.compile(r"%%[\s\S]*?(?:%%|\Z)")
HIGHLIGHT = re.compile(r"==(?=[^\s=])([^\n]*?[^\s=])==")
_SLUG = re.compile(r"[^a-z0-9]+")
_STRIP_HEADING = re.compile(r"[!\"#$%&()*+,.:;<=>?@^`{|}~/\[\]\\\r\n]")
_CALLOUT = re.compile(r"^>\s*\[!([A-Za-z0-9_-]+)\]([+-]?)[ \t]*(.*)$")
_LIST_LINE = re.compile(r"[ \t]*(?:[-+*]|\d{1,9}[.)])[ \t]")
_BREAK_LINE = re.compile(r"[ \t]*$|[ ]{0,3}#{1,6}(?:[ \t]|$)|[ ]{0,3}(?:`{3}|~{3})")
_MARKDOWN = TimestampForm.MARKDOWN


def inside(pos: int, spans: list[Span]) -> bool:
    return any(a <= pos < b for a, b in spans)


def comment_spans(text: str, parsed: ParsedNote) -> list[Span]:
    """``%%comments%%`` outside code: hidden in Obsidian's reading view and left out of exports."""
    code = [r.span for r in parsed.scan.skipped]
    return [m.span() for m in COMMENT.finditer(text, parsed.frontmatter.end) if not inside(m.start(), code)]


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def strip_heading(text: str) -> str:
    """Obsidian's ``stripHeading``: punctuation to spaces, whitespace collapsed, lower-cased."""
    return " ".join(_STRIP_HEADING.sub(" ", text).split()).lower()


# -- timestamps ------------------------------------------------------------------------------------


class ShownStamp(NamedTuple):
    """How one timestamp of a note shows in an export: the text it replaces, its label, and (when
    it has a second and a video) the second it links to."""

    span: Span  # what the rendering replaces: the anchor with its envelope (a wrapping link, brackets)
    label: str  # the text every output shows
    video: str | None  # the video it links to; None when it links nowhere (no second or no video)
    seconds: int  # the second it links to (0 when it links nowhere)
    at: int  # where the anchor itself starts


def shown_timestamps(text: str, parsed: ParsedNote, video: str | None, always_hours: bool = False) -> tuple[bool, list[ShownStamp]]:
    """The note's hours rule (``HH:MM:SS`` throughout a note that reaches an hour, or everywhere
    with ``always_hours``: the vault's ``timestamp-hours = "always"``) and each of its timestamps
    as every export shows it; ``video`` is the note's own (its frontmatter's)."""
    stamps = parsed.scan.timestamps
    hours = needs_hours([t.seconds for t in stamps], always_hours)
    shown: list[ShownStamp] = []
    append = shown.append
    for t in stamps:  # a note has dozens: the loop is kept lean
        seconds = t.seconds
        vid = t.video_id or video
        span, kept, _ = envelope(text, t.span)  # a wrapping link or brackets go with it
        label = display_label(t.label, seconds, hours, markdown=t.form is _MARKDOWN, kept=kept)
        if seconds is None or not vid:
            append(ShownStamp(span, label, None, 0, t.span[0]))
        else:
            append(ShownStamp(span, label, vid, seconds, t.span[0]))
    return hours, shown


# -- sections and callouts -----------------------------------------------------------------------


def section(text: str, parsed: ParsedNote, subpath: str) -> str | None:
    """The part of a note an ``![[note#heading]]`` or ``![[note#^block]]`` embed takes (None: the
    whole note; empty: no such heading or block)."""
    parts = [p for p in subpath.split("#") if p]
    if not parts:
        return None
    body_start = parsed.frontmatter.end
    if parts[-1].startswith("^"):
        for b in parsed.scan.blocks:
            if b.id.lower() == parts[-1][1:].lower():
                return _block_text(text, body_start, b.span)
        return ""
    heads = parsed.scan.headings
    for i, h in enumerate(heads):
        if strip_heading(h.text) == strip_heading(parts[-1]):
            end = next((n.span[0] for n in heads[i + 1 :] if n.level <= h.level), len(text))
            return text[h.span[0] : end]
    return ""


def _block_text(text: str, body_start: int, span: Span) -> str:
    """The block an ``^id`` names: its list item, or its paragraph (not the heading above it)."""
    line_start = text.rfind("\n", body_start, span[0]) + 1 or body_start
    line_end = text.find("\n", span[1])
    line_end = len(text) if line_end < 0 else line_end
    if _LIST_LINE.match(text, line_start):
        return text[line_start:line_end]
    start = line_start
    while start > body_start:
        prev = text.rfind("\n", body_start, start - 1) + 1 or body_start
        if _BREAK_LINE.match(text[prev : start - 1]):
            break
        start = prev
    return text[start:line_end]


def callouts(body: str) -> str:
    """``> [!type] Title`` blockquotes -> ``::: {.callout .callout-type}`` divs with a bold title."""
    if "[!" not in body:
        return body
    lines = body.split("\n")
    out: list[str] = []
    fence: str | None = None
    i = 0
    while i < len(lines):
        opener = re.match(r"[ ]{0,3}(`{3,}|~{3,})", lines[i])
        if opener and (fence is None or opener.group(1).startswith(fence)):
            fence = None if fence else opener.group(1)[:3]
        m = _CALLOUT.match(lines[i]) if fence is None else None
        if m is None:
            out.append(lines[i])
            i += 1
            continue
        kind = m.group(1).lower()
        title = m.group(3).strip() or kind.replace("-", " ").capitalize()
        content = []
        i += 1
        while i < len(lines) and lines[i].startswith(">"):
            content.append(re.sub(r"^> ?", "", lines[i]))
            i += 1
        out += ["", f"::: {{.callout .callout-{slug(kind) or 'note'}}}", f"**{title}**", "", *content, ":::", ""]
    return "\n".join(out)
