"""Timestamps: the one place that reads a written time and renders one. Pure.

Reading (:func:`read_clock`) turns what a person wrote in a ``data-t`` or a label into the second
it means; the scanner (its C fast path included: it asks this module for anything but the plain
forms) and so the index, the normalizer and every exporter get their seconds from here. The
forms, and the second each links to:

==========================  =================  =======================================
form                        example            second
==========================  =================  =======================================
seconds                     ``75``             75
``MM:SS`` (minutes any)     ``01:23``          83; ``110:26`` is 6626
``H:MM:SS``                 ``01:02:03``       3723; one-digit seconds ``00:13:2`` too
``HH:MM:SS:FF`` (frames)    ``00:01:23:12``    83 (the frames are dropped)
``MM:SS:mmm`` (millis)      ``04:27:819``      267 (the milliseconds are dropped)
``MM:SS:cc`` (centis)       ``11:31:94``       691: a last part of 60-99 is no second
trailing colon              ``01:26:``         86
brackets, spaces            ``[ 01:23 ]``      83
a range                     ``00:15:11-00:15:24``  911, its start (``-``, ``–``, ``—``, ``to``)
==========================  =================  =======================================

Anything else (no digits, seconds or minutes of 60 and more where they must be under 60, five
parts) has no reading: the anchor is left as it is and the run reports it.

Rendering: :func:`clock` (``MM:SS``, or ``HH:MM:SS`` with the hours rule of ``timestamp-hours``)
and :func:`video_url`. :func:`is_clock_label` says whether a markdown link's text is a time
(rewritten to the canonical form) or prose (``[see this](…&t=30s)``, kept). :func:`envelope` says
what stretch of text a rewrite of an anchor replaces, so that no rewrite makes a wikilink or a
broken link out of what surrounds it.
"""

from __future__ import annotations

import functools
import re

WATCH = "https://www.youtube.com/watch?v="
_TRIM = "[]()<>\"' \t\u00a0"
_RANGE = re.compile(r"\s*(?:-|–|—|\bto\b)\s*")
_CLOCK_LABEL = re.compile(r"\[?\s*[0-9:]*\s*\]?")


@functools.lru_cache(maxsize=1 << 14)
def read_clock(text: str) -> int | None:
    """The second a written time means (see the table above); None when it has no reading."""
    text = text.strip(_TRIM)
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    parts = _RANGE.split(text, maxsplit=1)
    if len(parts) == 2 and parts[0]:
        return read_clock(parts[0])
    pieces = text.split(":")
    if len(pieces) > 1 and pieces[-1] == "":
        pieces.pop()  # "01:26:"
    if not 1 <= len(pieces) <= 4 or not all(p.isascii() and p.isdigit() for p in pieces):
        return None
    n = [int(p) for p in pieces]
    width = [len(p) for p in pieces]
    if len(n) == 1:
        return n[0]
    if len(n) == 2:
        minutes, seconds = n
        return minutes * 60 + seconds if width[1] == 2 and seconds < 60 else None
    if len(n) == 3:
        a, b, c = n
        if width[2] == 3 or (width[2] == 2 and c >= 60):  # MM:SS:mmm, MM:SS:cc
            return a * 60 + b if b < 60 and width[1] <= 2 else None
        if width[2] > 3 or b >= 60 or width[1] > 2:
            return None
        return a * 3600 + b * 60 + c
    hours, minutes, seconds, _frames = n  # HH:MM:SS:FF
    return hours * 3600 + minutes * 60 + seconds if minutes < 60 and seconds < 60 else None


def range_label(label: str) -> str | None:
    """A label that is a range of two times (``[00:15:11]-[00:15:24]``), as its text without
    brackets: a rewrite keeps it (and links to its start); None for any other label."""
    text = label.strip(_TRIM)
    parts = _RANGE.split(text, maxsplit=1)
    if len(parts) != 2 or read_clock(parts[0]) is None or read_clock(parts[1]) is None:
        return None
    return f"{parts[0].strip(_TRIM)}-{parts[1].strip(_TRIM)}"


def display_label(label: str, seconds: int | None, hours: bool, *, markdown: bool = False, kept: str | None = None) -> str:
    """The text every output shows for a timestamp: a kept label (an envelope's prose), the
    prose of a markdown link (``[see this](…)``), a range as written, else the clock of its
    second; a timestamp with no reading shows its label."""
    if kept:
        return kept
    if markdown and not is_clock_label(label):
        return label
    ranged = range_label(label)
    if ranged is not None:
        return ranged
    return clock(seconds, hours) if seconds is not None else label.strip("[] ")


def is_clock_label(label: str) -> bool:
    """Whether a markdown timestamp's text is a time (``[01:23]``, or empty) rather than prose
    (``see this``) or a range, which a rewrite keeps."""
    return _CLOCK_LABEL.fullmatch(label) is not None


@functools.lru_cache(maxsize=1 << 14)
def clock(seconds: int, hours: bool) -> str:
    """``MM:SS``, or ``HH:MM:SS`` when ``hours``."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}" if hours else f"{h * 60 + m:02d}:{s:02d}"


def needs_hours(seconds: list[int | None] | tuple[int | None, ...], always: bool = False) -> bool:
    """The hours rule: ``HH:MM:SS`` everywhere in a note that reaches an hour (or ``always``)."""
    return always or any((s or 0) >= 3600 for s in seconds)


def video_url(video_id: str, seconds: int) -> str:
    return f"{WATCH}{video_id}&t={seconds}s"


_WRAPPER = re.compile(r"(?<![\[!])\[([^\[\]\n]*)\]\(<?\Z")


def envelope(text: str, span: tuple[int, int]) -> tuple[tuple[int, int], str | None, bool]:
    """What a rewrite of the timestamp at ``span`` replaces: ``(span, label, markdown_ok)``.

    - An anchor nested in a markdown link's target, ``[00:42:21](<a …>…</a>)`` (closing paren or
      not), is one timestamp: the wrapper goes with it, and a prose label of the wrapper is kept
      (returned as ``label``; None otherwise).
    - An anchor in brackets, ``[<a …>…</a>]``, takes its brackets along: written as a markdown
      link after a ``[`` it would start a ``[[`` that swallows the next wikilink.
    - After a lone ``[`` or a ``!`` a markdown link would make a wikilink or an embed:
      ``markdown_ok`` is False and the anchor must stay HTML there.
    """
    start, end = span
    prev = text[start - 1 : start] if start else ""
    # _WRAPPER ends in "(" or "(<": most anchors (after a space) need no search
    wrapped = _WRAPPER.search(text[max(0, start - 300) : start]) if prev in ("(", "<") else None
    if wrapped is not None:
        label = wrapped.group(1)
        tail = text[end : end + 2]
        end += 2 if tail == ">)" else 1 if tail[:1] == ")" else 0
        return (start - len(wrapped.group(0)), end), None if is_clock_label(label) else label, True
    if prev == "[":
        if text[end : end + 1] == "]" and text[end + 1 : end + 2] not in ("(", "["):
            if text[start - 2 : start - 1] not in ("[", "!"):
                return (start - 1, end + 1), None, True
        return span, None, False
    return span, None, prev != "!"
