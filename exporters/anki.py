"""Notes -> flashcards -> an Anki package (.apkg) that re-imports as updates, not duplicates.

Cards come from the spaced-repetition plugin's syntax or, in notes without it, from headings
(:mod:`exporters.cards`); their text is rendered to HTML by :mod:`exporters.markup`. Every card's
back ends with the note's title, a link to the video second nearest the card and an
``obsidian://open`` link back to the note.

Identity, so that re-importing a changed vault updates cards and keeps their review history:

- **Note GUID** = hash of (the note's file name without folder, case-folded; the card key). The
  folder is left out on purpose: moving a note to another folder keeps its cards. The price is
  that two notes with the same file name would share GUIDs; for those (a name used more than
  once in the vault) the whole vault path stands in for the name and an info diagnostic says so.
- **Card key**: see :mod:`exporters.cards` (an explicit ``^id`` survives any edit, the question
  text survives editing the answer).
- **Note types** have fixed ids (:data:`BASIC_MODEL_ID`, :data:`CLOZE_MODEL_ID`); one basic type
  serves ``::`` and ``:::`` (an optional reverse card), so turning one into the other is an update.
- **Deck ids** are derived from deck names: ``Vault::folder::subfolder`` or a frontmatter ``deck:``.
- **Modification time**: Anki's importer updates a note only when the incoming note is newer, so
  each note's ``mod`` is the source file's mtime (genanki would write one timestamp for all
  notes; the package writer writes each note's own). An unchanged file re-imports as "up to
  date" (Anki's log calls it ``duplicate``); an edited one updates in place. Existing cards are
  never moved or reset by an import, so a note moved to another folder keeps its cards (and
  review history) in the deck they were first imported into.

Options (``ExportRequest.options``): ``heading_level`` (default ``2``; ``0``: no heading cards),
``cloze_highlights`` (``yes``/``no``: whether ``==text==`` makes clozes), ``jobs``.
"""

from __future__ import annotations

import hashlib
import html
import multiprocessing
import os
import re
import time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from exporters.apkg import (
    BASIC_MODEL_ID,
    CLOZE_MODEL_ID,
    AnkiCard,
    NoteCards,
    write_package,
)
from exporters.cards import CardKind, CardSource, extract_cards
from exporters.markup import (
    Replacement,
    link_html,
    math_html,
    render_fragment,
    render_inline,
)
from exporters.pipeline import (
    HIGHLIGHT,
    comment_spans,
    inside,
    option_int,
    option_yes_no,
)
from vaultsync import (
    Diagnostic,
    ExportRequest,
    ExportResult,
    LinkKind,
    NameTable,
    ParsedNote,
    Severity,
    TimestampForm,
    Vault,
    basename,
    clock,
    dirname,
    display_label,
    envelope,
    frontmatter_tags,
    needs_hours,
    note_video_id,
    parse_note,
    stem,
    video_url,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".bmp")
PARALLEL_NOTES = 200  # fewer notes than this are rendered in-process
_CHUNK = 25
_CALLOUT = re.compile(r"^[ \t]*>[ \t]*(\[!([A-Za-z0-9_-]+)\][+-]?)", re.MULTILINE)
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
_TAG_CHARS = re.compile(r"\s+")
_MEDIA_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_BASE91 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
_SOURCE = '<div class="vs-source"><span class="vs-note">{title}</span>{video} · {open}</div>'



@dataclass(frozen=True, slots=True)
class CardSettings:
    """Everything a (possibly forked) worker needs to turn a note into cards."""

    root: str
    vault_name: str
    table: NameTable
    heading_level: int = 2
    cloze_highlights: bool = True
    # per process, filled as notes are rendered: note path -> its obsidian:// URL (HTML-escaped);
    # link destinations are remembered by the name table itself (NameTable.resolve_memo)
    note_urls: dict[str, str] = field(default_factory=dict, compare=False)
    vault: Vault | None = field(default=None, compare=False)  # every read goes through it (see _vault)


class AnkiExporter:
    name = "anki"
    suffix = ".apkg"
    description = "Anki flashcard deck (genanki); re-imports update cards and keep their reviews"

    def export(self, request: ExportRequest) -> ExportResult:
        started = time.perf_counter()
        options = request.options
        heading_level = option_int(options, "heading_level", 2, 0, 6)
        jobs = option_int(options, "jobs", None, 1)
        settings = CardSettings(
            str(request.vault.root),
            request.vault.root.name,
            NameTable(request.index.uris()),
            2 if heading_level is None else heading_level,
            option_yes_no(options, "cloze_highlights", True),
            vault=request.vault,
        )
        notes = list(render_notes(settings, list(request.uris), request.progress, jobs))
        media: dict[str, bytes] = {}
        for note in notes:
            for name, uri in note.media.items():
                if name in media:
                    continue
                try:
                    media[name] = request.vault.read_bytes(uri)  # inside the vault, a regular file
                except Exception as exc:  # noqa: BLE001 - outside the vault, missing or unreadable: left out
                    note.diagnostics.append(Diagnostic(note.uri, "media-missing", f"image {uri!r} left out: {exc}"))
        counts = write_package(notes, media, request.output)
        counts["media"] = len(media)
        diagnostics = [d for n in notes for d in n.diagnostics]
        return ExportResult(request.output, len(notes), time.perf_counter() - started, diagnostics, counts)


exporter = AnkiExporter()


# -- rendering -----------------------------------------------------------------------------------

_settings: CardSettings | None = None  # set before forking workers, inherited without pickling


def render_notes(settings: CardSettings, paths: list[str], progress: object, jobs: int | None) -> Iterator[NoteCards]:
    """NoteCards for each note uri, in order; forked workers for large selections."""
    global _settings
    _settings = settings
    jobs = jobs or os.cpu_count() or 1
    chunks = [paths[i : i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    done = 0
    if len(paths) < PARALLEL_NOTES or jobs < 2 or not hasattr(os, "fork"):
        results: Iterator[list[NoteCards]] = map(_render_chunk, chunks)
        pool = None
    else:
        pool = multiprocessing.get_context("fork").Pool(jobs)
        results = pool.imap(_render_chunk, chunks)
    try:
        for chunk in results:
            yield from chunk
            done += len(chunk)
            if callable(progress):
                progress(done, len(paths))
    finally:
        if pool is not None:
            pool.close()
            pool.join()


def _render_chunk(chunk: list[str]) -> list[NoteCards]:
    assert _settings is not None
    return [note_cards(_settings, uri) for uri in chunk]


@lru_cache(maxsize=8)
def _vault_at(root: str) -> Vault:
    return Vault(root)


def _vault(settings: CardSettings) -> Vault:
    """The vault every note is read through (settings made without one: the vault at ``root``)."""
    return settings.vault if settings.vault is not None else _vault_at(settings.root)


def note_cards(settings: CardSettings, uri: str) -> NoteCards:
    """Read one note (through the vault: inside it, a regular file) and render its cards."""
    folder = dirname(uri)
    try:
        vault = _vault(settings)
        text = vault.read_text(uri)
        st = vault.stat(uri)
        mtime_s = st.mtime_ns // 1_000_000_000 if st is not None else 0
    except Exception as exc:  # noqa: BLE001 - one bad note must not stop the export
        note = NoteCards(uri, settings.vault_name, [], 0)
        note.diagnostics.append(Diagnostic(uri, "unreadable", f"left out of the deck: {exc}"))
        return note
    parsed = parse_note(uri, text)
    data = parsed.frontmatter.data or {}
    deck = data.get("deck") if isinstance(data.get("deck"), str) and data["deck"].strip() else None
    deck = deck.strip() if deck else "::".join([settings.vault_name, *(folder.split("/") if folder else [])])
    note = NoteCards(uri, deck, _tags(parsed, folder), mtime_s)
    sources = extract_cards(text, parsed, settings.heading_level, settings.cloze_highlights)
    if not sources:
        return note
    title = parsed.title or stem(uri)
    unique = len(settings.table.named(basename(uri).lower())) <= 1
    if not unique:
        note.diagnostics.append(
            Diagnostic(uri, "anki-name-shared", "another note has this file name: its cards are identified by the full path, so moving it to another folder gives new cards", Severity.INFO)
        )
    name_key = (stem(uri) if unique else uri[:-3]).casefold()
    open_url = f"obsidian://open?vault={quote(settings.vault_name, safe='')}&file={quote(stem(uri) if unique else uri[:-3], safe='')}"
    replacements = _replacements(settings, note, text, parsed)
    stamps = _timestamps(parsed)
    highlights = [m for m in HIGHLIGHT.finditer(text, parsed.frontmatter.end) if not inside(m.start(), [r.span for r in parsed.scan.skipped])]
    escaped_title = html.escape(title, quote=False)
    open_link = link_html(open_url, "Open note")
    rendered: list[tuple[str, ...]] = []
    for src in sources:
        source = _SOURCE.format(title=escaped_title, video=_video(stamps, src), open=open_link)
        guid = _guid(name_key, src.key)
        if src.kind is CardKind.CLOZE:
            marks = _marks(highlights, src.front, cloze=not re.search(r"\{\{c\d+::", text[src.front[0] : src.front[1]]))
            body = render_fragment(text, src.front, _merge(replacements, marks, cloze=True))
            rendered.append((body, source))
            note.cards.append(AnkiCard.of(guid, src.kind, rendered[-1]))
            continue
        marks = _marks(highlights, src.back, cloze=False) + _marks(highlights, src.front, cloze=False)
        reps = _merge(replacements, marks, cloze=False)
        if src.kind is CardKind.HEADING:
            front = f'<span class="vs-title">{escaped_title}</span> › {render_inline(text, src.front, reps)}'
            back = render_fragment(text, src.back, reps)
        elif "\n" in text[src.span[0] : src.span[1]]:
            front, back = render_fragment(text, src.front, reps), render_fragment(text, src.back, reps)
        else:  # Question::Answer on one line: no paragraphs around either side
            front, back = render_inline(text, src.front, reps), render_inline(text, src.back, reps)
        rendered.append((front, back, "y" if src.kind is CardKind.REVERSED else "", source))
        note.cards.append(AnkiCard.of(guid, src.kind, rendered[-1]))
    if note.media:  # only images a card shows: Anki drops unreferenced media from a package anyway
        used = "".join(f for fields in rendered for f in fields)
        note.media = {name: dest for name, dest in note.media.items() if f'src="{name}"' in used}
    return note


def _guid(*values: str) -> str:
    """genanki's ``guid_for``: the first 8 bytes of a SHA-256 in Anki's base91."""
    n = int.from_bytes(hashlib.sha256("__".join(values).encode()).digest()[:8], "big")
    digits = []
    while n:
        n, d = divmod(n, 91)
        digits.append(_BASE91[d])
    return "".join(reversed(digits))


def _tags(parsed: ParsedNote, folder: str) -> list[str]:
    tags: dict[str, str] = {}
    for tag in [*frontmatter_tags(parsed.frontmatter.data), *(t.name for t in parsed.scan.tags)]:
        anki_tag = _TAG_CHARS.sub("_", tag.strip().strip("/")).replace("/", "::")
        if anki_tag:
            tags.setdefault(anki_tag.casefold(), anki_tag)
    if folder:
        tags.setdefault("folder", "folder::" + _TAG_CHARS.sub("_", folder).replace("/", "::"))
    return sorted(tags.values(), key=str.casefold)


def _replacements(settings: CardSettings, note: NoteCards, text: str, parsed: ParsedNote) -> list[Replacement]:
    """HTML for every Obsidian construct of the note (sorted by position)."""
    video = note_video_id(parsed)
    stamps = parsed.scan.timestamps
    hours = needs_hours([t.seconds for t in stamps])
    video_safe = video is not None and _safe_id(video)
    reps: list[Replacement] = []
    append = reps.append
    folder = dirname(note.uri)
    markdown = TimestampForm.MARKDOWN
    for t in stamps:  # a note has dozens: the loop is kept lean
        seconds = t.seconds
        vid = t.video_id or video
        span, kept, _ = envelope(text, t.span)  # a wrapping link or brackets go with it
        label = display_label(t.label, seconds, hours, markdown=t.form is markdown, kept=kept)
        if seconds is None or not vid:
            append((span, html.escape(label, quote=False)))
        elif (video_safe if vid is video else _safe_id(vid)) and label.isascii() and "<" not in label and "&" not in label:
            append((span, f'<a href="https://www.youtube.com/watch?v={vid}&amp;t={seconds}s">{label}</a>'))  # nothing to escape
        else:
            append((span, link_html(video_url(vid, seconds), label)))
    for link in parsed.scan.links:
        if link.kind is LinkKind.FRONTMATTER:
            continue
        if link.kind is LinkKind.WIKI and link.target:  # the common case, from the caches
            dest = settings.table.resolve_memo(link.target, note.uri, folder)[0]
            if dest is not None and dest.lower().endswith(".md"):
                url = settings.note_urls.get(dest) or settings.note_urls.setdefault(dest, html.escape(_note_url(settings, dest)))
                display = link.display or (link.target + link.subpath).lstrip("#") or link.target
                reps.append((link.span, f'<a href="{url}">{html.escape(display, quote=False)}</a>'))
                continue
        reps.append((link.span, _link(settings, note, link)))
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


def _link(settings: CardSettings, note: NoteCards, link: object) -> str:
    from vaultsync import Link

    assert isinstance(link, Link)
    display = link.display or (link.target + link.subpath).lstrip("#") or link.target
    dest = settings.table.resolve(link.target, note.uri).dest if link.target else note.uri
    if link.kind.is_embed and dest is not None and dest.lower().endswith(IMAGE_SUFFIXES):
        name = f"{_MEDIA_NAME.sub('_', stem(dest))[:40]}-{hashlib.sha1(dest.encode()).hexdigest()[:10]}{Path(dest).suffix.lower()}"
        note.media[name] = dest
        alt = "" if re.fullmatch(r"[\dx\s|]*", link.display or "") else (link.display or "").split("|")[0]
        return f'<img src="{html.escape(name)}" alt="{html.escape(alt)}">'
    if dest is None or not dest.lower().endswith(".md"):
        return html.escape(display, quote=False)
    return link_html(_note_url(settings, dest), display)


def _note_url(settings: CardSettings, dest: str) -> str:
    unique = len(settings.table.named(basename(dest).lower())) <= 1
    target = stem(dest) if unique else dest[:-3]
    return f"obsidian://open?vault={quote(settings.vault_name, safe='')}&file={quote(target, safe='')}"


@lru_cache(maxsize=1 << 10)
def _safe_id(video_id: str) -> bool:
    return _SAFE_ID.fullmatch(video_id) is not None


def _timestamps(parsed: ParsedNote) -> list[tuple[int, int, str]]:
    video = note_video_id(parsed)
    return [(t.span[0], t.seconds, t.video_id or video) for t in parsed.scan.timestamps if t.seconds is not None and (t.video_id or video)]  # type: ignore[misc]


def _video(stamps: list[tuple[int, int, str]], src: CardSource) -> str:
    """The link to the card's second: its own first timestamp, else the last before, else the first after."""
    if not stamps:
        return ""
    i = bisect_right(stamps, (src.span[0], -1, ""))
    if i < len(stamps) and stamps[i][0] < src.span[1]:
        _, seconds, vid = stamps[i]
    elif i > 0:
        _, seconds, vid = stamps[i - 1]
    else:
        _, seconds, vid = stamps[i]
    return " · " + link_html(video_url(vid, seconds), f"▶ {clock(seconds, seconds >= 3600)}")


def _marks(highlights: list[re.Match[str]], span: tuple[int, int], cloze: bool) -> list[Replacement]:
    out: list[Replacement] = []
    n = 0
    for m in highlights:
        if span[0] <= m.start() and m.end() <= span[1]:
            n += 1
            opening, closing = (f"{{{{c{n}::", "}}") if cloze else ("<mark>", "</mark>")
            out += [((m.start(), m.start() + 2), opening), ((m.end() - 2, m.end()), closing)]
    return out


def _merge(reps: list[Replacement], marks: list[Replacement], cloze: bool) -> list[Replacement]:
    if cloze:  # a "}}" inside math would end the cloze early
        reps = [(s, v.replace("}}", "} }")) if v.startswith("\\") else (s, v) for s, v in reps]
    if not marks:
        return reps
    merged = reps + marks
    merged.sort(key=lambda r: (r[0][0], -r[0][1]))
    return merged


__all__ = ["BASIC_MODEL_ID", "CLOZE_MODEL_ID", "AnkiExporter", "exporter", "note_cards", "render_notes"]
