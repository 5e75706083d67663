"""The .apkg writer: fixed note types, deck ids from deck names, each note's mtime from its source.

genanki builds the collection; this module then rewrites every note's ``mod`` (genanki writes one
timestamp for all of them) with its source file's mtime, because Anki's importer updates an
existing note only when the incoming one is newer. Note ids come from the newest mtime, so the
same vault always gives the same package contents.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import genanki  # type: ignore[import-untyped]

from exporters.cards import CardKind
from exporters.pandoc import TEMPLATES
from vaultsync import Diagnostic

BASIC_MODEL_ID = 1_719_463_201  # fixed forever: Anki matches note types by id
CLOZE_MODEL_ID = 1_719_463_202


def _models() -> tuple[genanki.Model, genanki.Model]:
    css = (TEMPLATES / "anki.css").read_text(encoding="utf-8")
    basic = genanki.Model(
        BASIC_MODEL_ID,
        "vaultsync basic",
        fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Reverse"}, {"name": "Source"}],
        templates=[
            {"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{FrontSide}}\n<hr id=answer>\n{{Back}}\n{{Source}}"},
            {
                "name": "Card 2",
                "qfmt": "{{#Reverse}}{{Back}}{{/Reverse}}",
                "afmt": "{{FrontSide}}\n<hr id=answer>\n{{Front}}\n{{Source}}",
            },
        ],
        css=css,
    )
    cloze = genanki.Model(
        CLOZE_MODEL_ID,
        "vaultsync cloze",
        fields=[{"name": "Text"}, {"name": "Source"}],
        templates=[{"name": "Cloze", "qfmt": "{{cloze:Text}}", "afmt": "{{cloze:Text}}\n{{Source}}"}],
        css=css,
        model_type=genanki.Model.CLOZE,
    )
    return basic, cloze


def deck_id(name: str) -> int:
    """A stable deck id from the deck's name, in genanki's recommended range."""
    return (1 << 30) + int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % (1 << 30)


@dataclass(frozen=True, slots=True)
class AnkiCard:
    """One Anki note, rendered: its GUID, kind and field values."""

    guid: str
    kind: CardKind
    fields: tuple[str, ...]


@dataclass(slots=True)
class NoteCards:
    """What one vault note contributes to the package."""

    uri: str
    deck: str
    tags: list[str]
    mtime_s: int
    cards: list[AnkiCard] = field(default_factory=list)
    media: dict[str, str] = field(default_factory=dict)  # media file name -> image vault path
    diagnostics: list[Diagnostic] = field(default_factory=list)


class _Note(genanki.Note):  # type: ignore[misc]
    def _check_invalid_html_tags_in_fields(self) -> None:
        """Skipped: the fields are markdown-it's HTML (genanki's regex pass costs 30 µs a field)."""


def write_package(notes: list[NoteCards], media: dict[str, Path], output: Path) -> dict[str, object]:
    """Write the .apkg atomically; each note's ``mod`` is its source file's mtime."""
    basic, cloze = _models()
    decks: dict[str, genanki.Deck] = {}
    mtimes: list[tuple[int, str]] = []
    seen: set[str] = set()
    due = itertools.count()
    cards = 0
    for note in notes:
        if not note.cards:
            continue
        deck = decks.get(note.deck)
        if deck is None:
            deck = decks[note.deck] = genanki.Deck(deck_id(note.deck), note.deck)
        for card in note.cards:
            if card.guid in seen:
                note.diagnostics.append(Diagnostic(note.uri, "anki-duplicate-card", "two cards with the same key; the second is left out"))
                continue
            seen.add(card.guid)
            model = cloze if card.kind is CardKind.CLOZE else basic
            anki_note = _Note(model=model, fields=list(card.fields), tags=note.tags, guid=card.guid, due=next(due))
            deck.add_note(anki_note)
            mtimes.append((note.mtime_s, card.guid))
            cards += len(anki_note.cards)
    newest = max((m for m, _ in mtimes), default=0)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vaultsync-anki-") as tmp:
        db = Path(tmp) / "collection.anki2"
        conn = sqlite3.connect(db)
        try:
            cursor = conn.cursor()
            genanki.Package(list(decks.values())).write_to_db(cursor, float(newest), itertools.count(newest * 1000))
            # one joined UPDATE: a per-row "WHERE guid=?" scans the unindexed table each time
            cursor.execute("CREATE TEMP TABLE source_mtime (guid TEXT PRIMARY KEY, mod INTEGER)")
            cursor.executemany("INSERT INTO source_mtime (mod, guid) VALUES (?, ?)", mtimes)
            cursor.execute("UPDATE notes SET mod=(SELECT mod FROM source_mtime s WHERE s.guid=notes.guid)")
            cursor.execute("UPDATE cards SET mod=(SELECT mod FROM notes WHERE notes.id=cards.nid)")
            conn.commit()
        finally:
            conn.close()
        partial = output.with_name(output.name + ".part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as zf:  # as genanki: deflating costs more than the export
            zf.write(db, "collection.anki2")
            names = sorted(media)
            zf.writestr("media", json.dumps({str(i): name for i, name in enumerate(names)}))
            for i, name in enumerate(names):
                zf.write(media[name], str(i))
        os.replace(partial, output)
    return {"cards": cards, "anki_notes": len(mtimes), "decks": len(decks)}
