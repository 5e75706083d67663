"""What each Obsidian construct of a note stands for on an Anki card, as HTML. Pure.

:func:`replacements` gives, for one note read by :mod:`exporters.document` (its links already
resolved there), the HTML of every construct :mod:`exporters.markup` must not render itself:
timestamps as links to their second of the video (shown as :func:`exporters.syntax.shown_timestamps`
says, exactly as in the PDF and EPUB), wikilinks as ``obsidian://open`` links, image embeds as
``<img>`` tags of media files (collected in ``NoteCards.media``), math as MathJax, callout markers
as a bold title; comments and block ids as nothing. :func:`video_link` is a card's "▶ time" link,
:func:`marks` the ``==highlight==`` marks or clozes of a card.
"""

from __future__ import annotations

import hashlib
import html
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from exporters.apkg import NoteCards
from exporters.document import NoteInfo
from exporters.markup import Replacement, link_html, math_html
from exporters.syntax import IMAGE_SUFFIXES, ShownStamp, comment_spans
from vaultsync import Link, LinkKind, NameTable, basename, clock, stem, video_url

CARD_IMAGE_SUFFIXES = (*IMAGE_SUFFIXES, ".avif", ".bmp")  # Anki shows these too; the PDF and EPUB show their name
_CALLOUT = re.compile(r"^[ \t]*>[ \t]*(\[!([A-Za-z0-9_-]+)\][+-]?)", re.MULTILINE)
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
_MEDIA_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class CardSettings:
    """Everything a (possibly forked) worker needs, besides the notes, to turn a note into cards."""

    vault_name: str
    table: NameTable
    heading_level: int = 2
    cloze_highlights: bool = True
    # per process, filled as notes are rendered: note path -> its obsidian:// URL (HTML-escaped)
    note_urls: dict[str, str] = field(default_factory=dict, compare=False)


def replacements(settings: CardSettings, info: NoteInfo, note: NoteCards, stamps: list[ShownStamp]) -> list[Replacement]:
    """HTML for every Obsidian construct of the note (sorted by position)."""
    text, parsed = info.text, info.parsed
    reps: list[Replacement] = []
    append = reps.append
    for t in stamps:  # a note has dozens: the loop is kept lean
        vid, label = t.video, t.label
        if vid is None:
            append((t.span, html.escape(label, quote=False)))
        elif _safe_id(vid) and label.isascii() and "<" not in label and "&" not in label:
            append((t.span, f'<a href="https://www.youtube.com/watch?v={vid}&amp;t={t.seconds}s">{label}</a>'))  # nothing to escape
        else:
            append((t.span, link_html(video_url(vid, t.seconds), label)))
    for link, dest in zip(parsed.scan.links, info.dests, strict=True):
        if link.kind is LinkKind.FRONTMATTER:
            continue
        if link.kind is LinkKind.WIKI and link.target:  # the common case, from the caches
            if dest is not None and dest.lower().endswith(".md"):
                url = settings.note_urls.get(dest) or settings.note_urls.setdefault(dest, html.escape(note_url(settings, dest)))
                display = link.display or (link.target + link.subpath).lstrip("#") or link.target
                reps.append((link.span, f'<a href="{url}">{html.escape(display, quote=False)}</a>'))
                continue
        reps.append((link.span, _link(settings, note, link, dest)))
    for region in parsed.scan.skipped:
        if region.kind in ("math", "dmath", "mblock"):
            reps.append((region.span, math_html(text[region.span[0] : region.span[1]].strip())))
        elif region.kind == "comment":
            reps.append((region.span, ""))
    reps += [(span, "") for span in comment_spans(text, parsed)]
    reps += [(b.span, "") for b in parsed.scan.blocks]
    for m in _CALLOUT.finditer(text, parsed.frontmatter.end) if "[!" in text else ():
        kind = m.group(2).replace("-", " ").capitalize()
        reps.append((m.span(1), f'<strong class="callout callout-{html.escape(m.group(2).lower())}">{html.escape(kind)}</strong>'))
    reps.sort(key=lambda r: (r[0][0], -r[0][1]))
    return reps


def _link(settings: CardSettings, note: NoteCards, link: Link, dest: str | None) -> str:
    display = link.display or (link.target + link.subpath).lstrip("#") or link.target
    if link.kind.is_embed and dest is not None and dest.lower().endswith(CARD_IMAGE_SUFFIXES):
        name = f"{_MEDIA_NAME.sub('_', stem(dest))[:40]}-{hashlib.sha1(dest.encode()).hexdigest()[:10]}{Path(dest).suffix.lower()}"
        note.media[name] = dest
        alt = "" if re.fullmatch(r"[\dx\s|]*", link.display or "") else (link.display or "").split("|")[0]
        return f'<img src="{html.escape(name)}" alt="{html.escape(alt)}">'
    if dest is None or not dest.lower().endswith(".md"):
        return html.escape(display, quote=False)
    return link_html(note_url(settings, dest), display)


def has_own_name(table: NameTable, uri: str) -> bool:
    """Whether no other file of the vault has this note's file name."""
    return len(table.named(basename(uri).lower())) <= 1


def open_target(table: NameTable, uri: str) -> str:
    """What an ``obsidian://open`` link names a note by: its name, or its path (without ``.md``)
    when another file has the same name."""
    return stem(uri) if has_own_name(table, uri) else uri[:-3]


def note_url(settings: CardSettings, dest: str) -> str:
    return f"obsidian://open?vault={quote(settings.vault_name, safe='')}&file={quote(open_target(settings.table, dest), safe='')}"


@lru_cache(maxsize=1 << 10)
def _safe_id(video_id: str) -> bool:
    return _SAFE_ID.fullmatch(video_id) is not None


def video_link(stamps: list[ShownStamp], starts: list[int], span: tuple[int, int], hours: bool) -> str:
    """The link to a card's second: its own first timestamp, else the last before, else the first
    after (``stamps``: the note's timestamps that link somewhere, ``starts`` where each starts);
    its time shown by the note's hours rule."""
    if not stamps:
        return ""
    i = bisect_right(starts, span[0] - 1)
    if i < len(stamps) and stamps[i].at < span[1]:
        t = stamps[i]
    elif i > 0:
        t = stamps[i - 1]
    else:
        t = stamps[i]
    assert t.video is not None
    return " · " + link_html(video_url(t.video, t.seconds), f"▶ {clock(t.seconds, hours)}")


def marks(highlights: list[re.Match[str]], span: tuple[int, int], cloze: bool) -> list[Replacement]:
    out: list[Replacement] = []
    n = 0
    for m in highlights:
        if span[0] <= m.start() and m.end() <= span[1]:
            n += 1
            opening, closing = (f"{{{{c{n}::", "}}") if cloze else ("<mark>", "</mark>")
            out += [((m.start(), m.start() + 2), opening), ((m.end() - 2, m.end()), closing)]
    return out


def merged(reps: list[Replacement], extra: list[Replacement], cloze: bool) -> list[Replacement]:
    """The note's replacements with a card's marks; for a cloze, math that cannot end it early."""
    if cloze:  # a "}}" inside math would end the cloze early
        reps = [(s, v.replace("}}", "} }")) if v.startswith("\\") else (s, v) for s, v in reps]
    if not extra:
        return reps
    out = reps + extra
    out.sort(key=lambda r: (r[0][0], -r[0][1]))
    return out
