"""The document model every export starts from: the selected notes read, parsed and resolved once.

:class:`ExportContext` is one export's state. :meth:`ExportContext.for_request` builds the name
table of the vault (the one place an export does); :meth:`~ExportContext.note` reads a selected
note through the vault, parses it and resolves its links, once, into a :class:`NoteInfo` (on first
use: the Anki export's worker processes read the notes they render). The Anki cards are made from
these, and the pipeline (:mod:`exporters.pipeline`) turns them into the
:class:`Document` the PDF and EPUB writers get, after :meth:`~ExportContext.load` has given every
note, heading and block its anchor and found the backlinks. An embedded note is read once too
(:meth:`~ExportContext.embedded`), images once each (:meth:`~ExportContext.image`, an
:class:`Asset`). The types of the model are all here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from exporters.syntax import comment_spans, inside, slug, strip_heading
from vaultsync import Diagnostic, ExportRequest, NameTable, ParsedNote, Vault, dirname, load_settings, parse_note, stem


@dataclass(slots=True)
class NoteInfo:
    """One selected note, read and parsed once, its links resolved; anchors are given by ``load``."""

    uri: str
    title: str
    parsed: ParsedNote
    text: str
    dests: list[str | None]  # the note each of ``parsed.scan.links`` resolves to (None: no such file)
    anchor: str = ""
    headings: dict[str, str] = field(default_factory=dict)  # strip_heading(text) -> anchor
    blocks: dict[str, str] = field(default_factory=dict)  # block id (lower) -> anchor
    emitted: set[str] = field(default_factory=set)  # heading anchors already placed


@dataclass(slots=True)
class Asset:
    """An image the document shows: read once, through the vault (inside it, a regular file), so
    the bytes written beside the document are the bytes that were checked."""

    uri: str  # the image in the vault
    data: bytes
    notes: list[str] = field(default_factory=list)  # the notes (or embedded notes) that show it


@dataclass(slots=True)
class Document:
    """What the writers get: pandoc input text, files it refers to, and metadata."""

    markdown: str
    chunks: list[str]  # the same text cut at note boundaries, for parallel reading
    resources: dict[str, Path]  # file name beside the document -> its checked real path (for reference)
    title: str
    notes: int
    diagnostics: list[Diagnostic]
    assets: dict[str, Asset] = field(default_factory=dict)  # file name beside the document -> its bytes
    left_out: list[str] = field(default_factory=list)  # selected notes that could not be read


class ExportContext:
    """State for one export: the notes, their anchors, copied images and the embed stack."""

    def __init__(self, vault: Vault, table: NameTable, uris: Iterable[str], *, always_hours: bool = False) -> None:
        self.vault = vault
        self.table = table
        self.uris = list(uris)
        self.always_hours = always_hours  # the vault's timestamp-hours = "always": HH:MM:SS in every note
        self.notes: dict[str, NoteInfo] = {}
        self.resources: dict[str, Path] = {}
        self.assets: dict[str, Asset] = {}
        self.diagnostics: list[Diagnostic] = []
        self.backlinks: dict[str, list[str]] = {}
        self._ids: set[str] = set()
        self.unreadable: dict[str, Diagnostic] = {}  # selected notes that could not be read: why
        self._embedded: dict[str, tuple[str, ParsedNote]] = {}  # notes outside the selection, once read
        self._loaded = False

    @classmethod
    def for_request(cls, request: ExportRequest) -> ExportContext:
        """The context of an export request: its notes, the name table of every file the index
        holds, and the vault's hours rule for timestamps (its ``.vaultsync.toml``)."""
        always_hours = load_settings(request.vault.root).normalize.timestamp_hours == "always"
        return cls(request.vault, NameTable(request.index.uris()), request.uris, always_hours=always_hours)

    def unique_id(self, base: str) -> str:
        base = base or "x"
        candidate, n = base, 1
        while candidate in self._ids:
            n += 1
            candidate = f"{base}-{n}"
        self._ids.add(candidate)
        return candidate

    def read(self) -> None:
        """Pass one: every selected note read, in order (see :meth:`note`)."""
        for uri in self.uris:
            self.note(uri)

    def note(self, uri: str) -> NoteInfo | None:
        """A selected note, read through the vault, parsed and its links resolved the first time it
        is asked for (a worker process of the Anki export reads the notes it renders); None for
        one that cannot be read, which is left out (its diagnostic in :attr:`unreadable`)."""
        info = self.notes.get(uri)
        if info is not None or uri in self.unreadable:
            return info
        try:
            text = self.vault.read_text(uri)  # inside the vault, a regular file
        except Exception as exc:  # noqa: BLE001 - one bad note must not stop the export
            self.unreadable[uri] = Diagnostic(uri, "unreadable", f"left out of the export: {exc}")
            self.diagnostics.append(self.unreadable[uri])
            return None
        parsed = parse_note(uri, text)
        info = self.notes[uri] = NoteInfo(uri, parsed.title or stem(uri), parsed, text, self.dests(uri, parsed))
        return info

    def dests(self, uri: str, parsed: ParsedNote) -> list[str | None]:
        """Where each link of ``parsed`` (note ``uri``, or a part of it) leads."""
        folder = dirname(uri)
        return [self.table.resolve_memo(link.target, uri, folder)[0] for link in parsed.scan.links]

    def load(self) -> None:
        """Pass one, then anchors for every note and its headings and blocks, and the backlinks."""
        self.read()
        if self._loaded:
            return
        self._loaded = True
        for info in (self.notes[u] for u in dict.fromkeys(self.uris) if u in self.notes):
            text, parsed = info.text, info.parsed
            info.anchor = self.unique_id("n-" + slug(info.uri[:-3]))
            hidden = comment_spans(text, parsed)  # what a comment hides gets no anchor
            for h in parsed.scan.headings:
                if inside(h.span[0], hidden):
                    continue
                key = strip_heading(h.text)
                if key not in info.headings:
                    info.headings[key] = self.unique_id(f"{info.anchor}-{slug(h.text)}")
            for b in parsed.scan.blocks:
                if inside(b.span[0], hidden):
                    continue
                info.blocks.setdefault(b.id.lower(), self.unique_id(f"{info.anchor}-block-{slug(b.id)}"))
        for uri, info in self.notes.items():
            for dest in info.dests:
                if dest in self.notes and dest != uri and uri not in self.backlinks.setdefault(dest, []):
                    self.backlinks[dest].append(uri)

    def anchor_for(self, dest: str, subpath: str) -> str | None:
        info = self.notes.get(dest)
        if info is None:
            return None
        parts = [p for p in subpath.split("#") if p]
        if parts and parts[-1].startswith("^"):
            return info.blocks.get(parts[-1][1:].lower(), info.anchor)
        if parts:
            return info.headings.get(strip_heading(parts[-1]), info.anchor)
        return info.anchor

    def embedded(self, dest: str) -> tuple[str, ParsedNote]:
        """An embedded note's text and parse: a selected note's as read, any other read once
        through the vault (OutsideVaultError/NoteReadError when it cannot be)."""
        info = self.notes.get(dest)
        if info is not None:
            return info.text, info.parsed
        known = self._embedded.get(dest)
        if known is None:
            text = self.vault.read_text(dest)  # inside the vault, a regular file
            known = self._embedded[dest] = (text, parse_note(dest, text))
        return known

    def image(self, dest: str, note: str) -> str:
        """Read an image through the vault once; return its file name beside the document.
        Raises OutsideVaultError/NoteReadError for one outside the vault or not a regular file."""
        source = self.vault.real_path(dest)
        for name, path in self.resources.items():
            if path == source:
                if note not in self.assets[name].notes:
                    self.assets[name].notes.append(note)
                return name
        data = self.vault.read_bytes(dest)
        name = f"img-{len(self.resources) + 1:04d}{Path(dest).suffix.lower()}"
        self.resources[name] = source
        self.assets[name] = Asset(dest, data, [note])
        return name


def copy_resources(assets: dict[str, Asset], folder: Path) -> None:
    """Write the document's images beside it, from the bytes read through the vault (never from
    a vault path, which could have been swapped for a symlink since it was checked)."""
    for name, asset in assets.items():
        (folder / name).write_bytes(asset.data)
