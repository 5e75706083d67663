"""Notes -> flashcards -> an Anki package (.apkg) that re-imports as updates, not duplicates.

The notes are read, parsed and their links resolved once, by the document model every export
starts from (:mod:`exporters.document`; each by the process that renders its cards). Cards come from the spaced-repetition plugin's syntax or,
in notes without it, from headings (:mod:`exporters.cards`); their text is rendered to HTML by
:mod:`exporters.markup`, each Obsidian construct standing for the HTML :mod:`exporters.cardhtml`
gives it (timestamps shown by the same rule as in the PDF and EPUB). Every card's back ends with
the note's title, a link to the video second nearest the card and an ``obsidian://open`` link back
to the note. Large selections are rendered by worker processes (vaultsync's ``map_chunks``: never
forked from a thread other than the main one, such as the API server's export jobs).

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
import re
import time
from collections.abc import Callable, Iterator

from exporters.apkg import BASIC_MODEL_ID, CLOZE_MODEL_ID, AnkiCard, NoteCards, write_package
from exporters.cardhtml import CardSettings, has_own_name, marks, merged, note_url, open_target, replacements, video_link
from exporters.cards import CardKind, extract_cards
from exporters.document import ExportContext
from exporters.markup import link_html, render_fragment, render_inline
from exporters.options import option_int, option_yes_no
from exporters.syntax import HIGHLIGHT, inside, shown_timestamps
from vaultsync import (
    Diagnostic,
    ExportRequest,
    ExportResult,
    ParsedNote,
    Severity,
    dirname,
    frontmatter_tags,
    map_chunks,
    note_video_id,
    worker_state,
)

PARALLEL_NOTES = 200  # fewer notes than this are rendered in-process
_CHUNK = 25
_TAG_CHARS = re.compile(r"\s+")
_BASE91 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
_SOURCE = '<div class="vs-source"><span class="vs-note">{title}</span>{video} · {open}</div>'


class AnkiExporter:
    name = "anki"
    suffix = ".apkg"
    description = "Anki flashcard deck (genanki); re-imports update cards and keep their reviews"

    def export(self, request: ExportRequest) -> ExportResult:
        started = time.perf_counter()
        options = request.options
        heading_level = option_int(options, "heading_level", 2, 0, 6)
        jobs = option_int(options, "jobs", None, 1)
        cloze_highlights = option_yes_no(options, "cloze_highlights", True)
        ctx = ExportContext.for_request(request)  # each note is read by the process that renders it
        settings = CardSettings(request.vault.root.name, ctx.table, 2 if heading_level is None else heading_level, cloze_highlights)
        notes = list(render_notes(settings, ctx, request.progress, jobs))
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
        left_out = sorted(n.uri for n in notes if any(d.code == "unreadable" for d in n.diagnostics))
        counts["left_out"] = left_out  # the count is of the notes in the deck, these are not
        return ExportResult(request.output, len(notes) - len(left_out), time.perf_counter() - started, diagnostics, counts)


exporter = AnkiExporter()


# -- rendering -----------------------------------------------------------------------------------


def render_notes(
    settings: CardSettings, ctx: ExportContext, progress: Callable[[int, int], None] | None = None, jobs: int | None = None
) -> Iterator[NoteCards]:
    """NoteCards for each note of the context, in order; worker processes for large selections."""
    state = (settings, ctx)  # inherited by forked workers, each reading the notes of its chunks
    yield from map_chunks(_render_chunk, ctx.uris, state, jobs=jobs, chunk=_CHUNK, threshold=PARALLEL_NOTES, progress=progress, ordered=True)


def _render_chunk(chunk: list[str]) -> list[NoteCards]:
    settings, ctx = worker_state()
    return [note_cards(settings, ctx, uri) for uri in chunk]


def note_cards(settings: CardSettings, ctx: ExportContext, uri: str) -> NoteCards:
    """The cards of one note of the context (read there once; its modification time from the vault)."""
    info = ctx.note(uri)
    if info is None:
        return NoteCards(uri, settings.vault_name, [], 0, diagnostics=[ctx.unreadable[uri]])
    folder = dirname(uri)
    try:
        st = ctx.vault.stat(uri)
        mtime_s = st.mtime_ns // 1_000_000_000 if st is not None else 0
    except Exception as exc:  # noqa: BLE001 - one bad note must not stop the export
        note = NoteCards(uri, settings.vault_name, [], 0)
        note.diagnostics.append(Diagnostic(uri, "unreadable", f"left out of the deck: {exc}"))
        return note
    text, parsed = info.text, info.parsed
    data = parsed.frontmatter.data or {}
    deck = data.get("deck") if isinstance(data.get("deck"), str) and data["deck"].strip() else None
    deck = deck.strip() if deck else "::".join([settings.vault_name, *(folder.split("/") if folder else [])])
    note = NoteCards(uri, deck, _tags(parsed, folder), mtime_s)
    sources = extract_cards(text, parsed, settings.heading_level, settings.cloze_highlights)
    if not sources:
        return note
    if not has_own_name(settings.table, uri):
        note.diagnostics.append(
            Diagnostic(uri, "anki-name-shared", "another note has this file name: its cards are identified by the full path, so moving it to another folder gives new cards", Severity.INFO)
        )
    name_key = open_target(settings.table, uri).casefold()
    hours, stamps = shown_timestamps(text, parsed, note_video_id(parsed), ctx.always_hours)
    reps = replacements(settings, info, note, stamps)
    linked = [t for t in stamps if t.video is not None]
    starts = [t.at for t in linked]
    highlights = [m for m in HIGHLIGHT.finditer(text, parsed.frontmatter.end) if not inside(m.start(), [r.span for r in parsed.scan.skipped])]
    escaped_title = html.escape(info.title, quote=False)
    open_link = link_html(note_url(settings, uri), "Open note")
    rendered: list[tuple[str, ...]] = []
    for src in sources:
        source = _SOURCE.format(title=escaped_title, video=video_link(linked, starts, src.span, hours), open=open_link)
        guid = _guid(name_key, src.key)
        if src.kind is CardKind.CLOZE:
            cloze_marks = marks(highlights, src.front, cloze=not re.search(r"\{\{c\d+::", text[src.front[0] : src.front[1]]))
            body = render_fragment(text, src.front, merged(reps, cloze_marks, cloze=True))
            rendered.append((body, source))
            note.cards.append(AnkiCard.of(guid, src.kind, rendered[-1]))
            continue
        card_reps = merged(reps, marks(highlights, src.back, cloze=False) + marks(highlights, src.front, cloze=False), cloze=False)
        if src.kind is CardKind.HEADING:
            front = f'<span class="vs-title">{escaped_title}</span> › {render_inline(text, src.front, card_reps)}'
            back = render_fragment(text, src.back, card_reps)
        elif "\n" in text[src.span[0] : src.span[1]]:
            front, back = render_fragment(text, src.front, card_reps), render_fragment(text, src.back, card_reps)
        else:  # Question::Answer on one line: no paragraphs around either side
            front, back = render_inline(text, src.front, card_reps), render_inline(text, src.back, card_reps)
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


__all__ = ["BASIC_MODEL_ID", "CLOZE_MODEL_ID", "AnkiExporter", "CardSettings", "exporter", "note_cards", "render_notes"]
