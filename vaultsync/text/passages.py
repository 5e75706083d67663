"""Passages of a note, the unit full-text search finds: paragraphs and list items. Pure.

A passage is a paragraph (lines up to a blank line or a heading) or one list item (a line
starting with ``-``, ``*``, ``+`` or ``1.``/``1)`` and the lines after it up to the next item, blank
line or heading). It carries the path of headings it sits under, its 1-based line range in the
file, its text as search shows it (timestamp anchors and list and quote markers removed, runs of
whitespace made one space) and the timestamp that governs it: the first timestamp in the passage,
else the last one before it in the same section (no heading in between), else none.

This module does not look for headings or timestamps itself: it takes the scanner's results
(:mod:`vaultsync.text.scan`, as the index stores them), so code blocks, math and HTML are what the
scanner says they are. A heading whose section has no passage of its own is a passage with empty
text, so that its words are still found (unless a sub-heading follows, whose passages carry it). Seconds come as the scanner read them
(:mod:`vaultsync.text.timestamps` owns that rule).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

HEADING_SEPARATOR = " > "

_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])(?=[ \t\n]|\Z)")
_MARKERS = re.compile(r"[ \t]*(?:>[ \t]?)*(?:(?:[-*+]|\d{1,9}[.)])(?:[ \t]+(?:\[[ xX]\][ \t]+)?|$))?")
_MARKER_START = frozenset("-*+>0123456789")
_WORD = re.compile(r"\w")
_CLOSING = frozenset(".,;:!?)")


class Passage(NamedTuple):
    """One paragraph or list item, as search indexes and shows it."""

    heading: str  # the heading path, "Top > Sub" (HEADING_SEPARATOR); "" before the first heading
    line: int  # 1-based, the passage's first line in the file
    line_end: int  # 1-based, its last line
    text: str  # timestamps and markers removed, whitespace runs made one space
    seconds: int | None  # the governing timestamp's second, None when none governs it
    video_id: str | None  # that timestamp's own video (a markdown link's), None for the note's video


def note_passages(
    text: str,
    start: int,
    headings: Sequence[Sequence[Any]],
    timestamps: Sequence[Sequence[Any]],
) -> list[Passage]:
    """The passages of the body of ``text`` that starts at ``start``.

    ``headings`` are ``(level, text, span)`` and ``timestamps`` ``(start, end, seconds, form,
    video_id)``, in document order (:class:`vaultsync.model.Heading` and
    :class:`vaultsync.store.rows.StoredTimestamp` as the index keeps them).
    """
    heads: dict[int, tuple[int, str]] = {}
    for level, head_text, span in headings:
        heads[text.rfind("\n", 0, span[0]) + 1] = (level, head_text)
    stamps = [s for s in timestamps if s[2] is not None]
    starts = [s[0] for s in stamps]
    out: list[Passage] = []
    path: list[tuple[int, str]] = []
    heading = ""
    section = start  # where the current section starts (its heading line, or the body)
    section_line = 0  # the heading's line, 0 before the first heading
    section_found = True  # whether the current section has had a passage
    line_no = text.count("\n", 0, start) + 1
    block: tuple[int, int] | None = None  # (offset, line) where the open passage starts
    last_end = start  # end of the last non-blank line of the open passage
    last_line = line_no
    pos, size = start, len(text)

    def flush() -> None:
        nonlocal block, section_found
        if block is None:
            return
        passage = _passage(text, block[0], last_end, block[1], last_line, heading, section, stamps, starts)
        block = None
        if passage is not None:
            out.append(passage)
            section_found = True

    while pos < size:
        nl = text.find("\n", pos)
        end = size if nl < 0 else nl
        head = heads.get(pos)
        if head is not None:
            flush()
            level, head_text = head
            if not section_found and (not path or level <= path[-1][0]):  # a parent's words are in its children's paths
                out.append(Passage(heading, section_line, section_line, "", None, None))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, head_text.strip()))
            heading = HEADING_SEPARATOR.join(h for _, h in path)
            section, section_line, section_found = pos, line_no, False
        elif text[pos:end].strip() == "":
            flush()
        else:
            if block is not None and _ITEM.match(text, pos):
                flush()
            if block is None:
                block = (pos, line_no)
            last_end, last_line = end, line_no
        pos = end + 1
        line_no += 1
    flush()
    if not section_found:
        out.append(Passage(heading, section_line, section_line, "", None, None))
    return out


def _passage(
    text: str,
    begin: int,
    end: int,
    line: int,
    line_end: int,
    heading: str,
    section: int,
    stamps: list[Sequence[Any]],
    starts: list[int],
) -> Passage | None:
    first = bisect.bisect_left(starts, begin)
    last = bisect.bisect_left(starts, end, first)
    governing: Sequence[Any] | None
    if first < last:  # anchors in the passage: the first governs it; all are cut from its text
        governing = stamps[first]
        raw = _cut(text, begin, end, stamps[first:last])
    else:
        governing = stamps[first - 1] if first and starts[first - 1] >= section else None
        raw = text[begin:end]
    if "\n" in raw:
        raw = " ".join(_unmarked(line) for line in raw.split("\n"))
    else:
        raw = _unmarked(raw)
    raw = " ".join(raw.split())
    if _WORD.search(raw) is None:
        return None
    if governing is None:
        return Passage(heading, line, line_end, raw, None, None)
    return Passage(heading, line, line_end, raw, governing[2], governing[4] if len(governing) > 4 else None)


def _cut(text: str, begin: int, end: int, stamps: Sequence[Sequence[Any]]) -> str:
    """``text[begin:end]`` without the anchors at ``stamps``, and without the commas and spaces
    that only stood between them: "said it <a>..</a>, <a>..</a>." is "said it."."""
    pieces: list[str] = []
    at = begin
    for s in stamps:
        piece = text[at : s[0]]
        if not pieces or piece.strip(" ,"):
            pieces.append(piece.rstrip(" \t"))
        at = max(at, s[1])
    tail = text[at:end]
    if tail[:1] == "," and not tail.lstrip(" ,")[:1].isalnum():
        tail = tail.lstrip(" ,")
    pieces.append(tail if tail[:1] in _CLOSING else " " + tail.lstrip(" \t"))
    return "".join(pieces)


def _unmarked(line: str) -> str:
    """A line without its quote and list markers."""
    stripped = line.lstrip(" \t")
    if stripped[:1] in _MARKER_START:
        found = _MARKERS.match(line)
        if found is not None:
            return line[found.end() :]
    return line


__all__ = ["HEADING_SEPARATOR", "Passage", "note_passages"]
