"""The .apkg writer: fixed note types, deck ids from deck names, each note's mtime from its source.

genanki writes the collection's ``col`` row (note types and decks as JSON); the notes and cards
are inserted here with one ``executemany`` each, row for row what genanki would write (its
per-object ``write_to_db`` cost more than rendering), except that each note's ``mod`` (and its
cards') is its source file's mtime, because Anki's importer updates an existing note only when
the incoming one is newer. Ids count up from the newest mtime, so the same vault always gives the
same package, byte for byte (zip entries carry a fixed date).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import genanki  # type: ignore[import-untyped]

from exporters.cards import CardKind
from exporters.pandoc import TEMPLATES
from vaultsync import Diagnostic

BASIC_MODEL_ID = 1_719_463_201  # fixed forever: Anki matches note types by id
CLOZE_MODEL_ID = 1_719_463_202
_CLOZE_REF = re.compile(r"{{c(\d+)::.+?}}", re.DOTALL)  # genanki's: one card per cloze number
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


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


class AnkiCard(NamedTuple):
    """One Anki note, rendered and packed as the notes table stores it.

    The fields travel from the rendering workers as UTF-8 bytes, joined by ``\\x1f`` as in the
    ``flds`` column: 30 MB of HTML for 10,000 cards, which pickling and SQLite would otherwise
    encode and decode once more each in the writing process. (A NamedTuple, not a frozen
    dataclass: it unpickles without a Python ``__setstate__`` call per card.)
    """

    guid: str
    kind: CardKind
    flds: bytes
    sort_field: str  # the first field
    ords: tuple[int, ...]  # the cards genanki generates for it

    @classmethod
    def of(cls, guid: str, kind: CardKind, fields: tuple[str, ...]) -> AnkiCard:
        return cls(guid, kind, "\x1f".join(fields).encode(), fields[0], _card_ords(kind, fields))

    @property
    def fields(self) -> list[str]:
        return self.flds.decode().split("\x1f")


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


@lru_cache(maxsize=1)
def _basic_req() -> list[tuple[int, str, list[int]]]:
    """Which fields each card of the basic note type needs (genanki's ``_req``; fixed templates)."""
    return [(ord_, any_or_all, required) for ord_, any_or_all, required in _models()[0]._req]


def _card_ords(kind: CardKind, fields: tuple[str, ...]) -> tuple[int, ...]:
    """The card ordinals genanki generates for a note (same order)."""
    if kind is CardKind.CLOZE:
        return tuple({int(n) - 1 for n in _CLOZE_REF.findall(fields[0]) if int(n) > 0})
    return tuple(
        ord_
        for ord_, any_or_all, required in _basic_req()
        if (all if any_or_all == "all" else any)(fields[i] for i in required)
    )


def write_package(notes: list[NoteCards], media: Mapping[str, Path | bytes], output: Path) -> dict[str, object]:
    """Write the .apkg atomically; each note's ``mod`` is its source file's mtime."""
    basic, cloze = _models()
    by_deck: dict[str, list[tuple[NoteCards, AnkiCard, int]]] = {}
    seen: set[str] = set()
    for note in notes:
        if not note.cards:
            continue
        deck_notes = by_deck.setdefault(note.deck, [])
        for card in note.cards:
            if card.guid in seen:
                note.diagnostics.append(Diagnostic(note.uri, "anki-duplicate-card", "two cards with the same key; the second is left out"))
                continue
            seen.add(card.guid)
            deck_notes.append((note, card, len(seen) - 1))  # due: the card's position in the export
    newest = max((n.mtime_s for deck_notes in by_deck.values() for n, _, _ in deck_notes), default=0)
    decks = []
    ids = itertools.count(newest * 1000)
    note_rows: list[tuple[object, ...]] = []
    card_rows: list[tuple[object, ...]] = []
    for name, deck_notes in by_deck.items():  # genanki's order: deck by deck, a note then its cards
        deck = genanki.Deck(deck_id(name), name)
        for note, card, due in deck_notes:
            model = cloze if card.kind is CardKind.CLOZE else basic
            deck.add_model(model)
            nid = next(ids)
            tags = " " + " ".join(note.tags) + " "
            note_rows.append((nid, card.guid, model.model_id, note.mtime_s, -1, tags, card.flds, card.sort_field, 0, 0, ""))
            for ord_ in card.ords:
                card_rows.append((next(ids), nid, deck.deck_id, ord_, note.mtime_s, -1, 0, 0, due, 0, 0, 0, 0, 0, 0, 0, 0, ""))
        decks.append(deck)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vaultsync-anki-") as tmp:
        db = Path(tmp) / "collection.anki2"
        conn = sqlite3.connect(db)
        try:
            cursor = conn.cursor()
            cursor.execute("PRAGMA journal_mode=OFF")  # a scratch file: no rollback journal, no fsync
            cursor.execute("PRAGMA synchronous=OFF")
            genanki.Package(decks).write_to_db(cursor, float(newest), ids)  # schema and the col row only
            cursor.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,CAST(? AS TEXT),?,?,?,?)", note_rows)  # flds: UTF-8 bytes
            cursor.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", card_rows)
            conn.commit()
        finally:
            conn.close()
        partial = output.with_name(output.name + ".part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as zf:  # as genanki: deflating costs more than the export
            _add_file(zf, "collection.anki2", db)
            names = sorted(media)
            zf.writestr(_entry("media"), json.dumps({str(i): name for i, name in enumerate(names)}))
            for i, name in enumerate(names):
                _add_file(zf, str(i), media[name])
        os.replace(partial, output)
    return {"cards": len(card_rows), "anki_notes": len(note_rows), "decks": len(decks)}


def _entry(name: str, size: int = 0) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _ZIP_DATE)  # a fixed date: the same input gives the same bytes
    info.external_attr = 0o644 << 16
    info.file_size = size  # lets zipfile choose zip64 for a huge file
    return info


def _add_file(zf: zipfile.ZipFile, name: str, path: Path | bytes) -> None:
    if isinstance(path, bytes):  # media read through the vault
        zf.writestr(_entry(name, len(path)), path)
        return
    with open(path, "rb") as src, zf.open(_entry(name, os.fstat(src.fileno()).st_size), "w") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
