"""The rows a base is evaluated over: one :class:`Record` per vault file, built from the index.

Everything comes from existing read-only :class:`~vaultsync.store.index.Index` queries
(``file_stats``, ``note_rows``, ``tag_rows``, ``link_rows``); tags and links are loaded only when an
expression of the base uses them (``file.tags``, ``hasTag``, ``file.links``, ``hasLink``...), so a
base filtering on a property never reads the link table. Note properties are typed as Obsidian
types them: ``.obsidian/types.json`` when it names the property (``text``, ``multitext``,
``number``, ``checkbox``, ``date``, ``datetime``, ``tags``, ``aliases``), else by the value's
shape (a ``YYYY-MM-DD`` string is a date, ``[[x]]`` a link: "Bases syntax" > Files and links).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from vaultsync.bases.values import Date, FileValue, LinkValue, parse_date
from vaultsync.errors import VaultsyncError
from vaultsync.fs.vault import Vault
from vaultsync.store.index import Index
from vaultsync.text.names import basename, dirname, split_subpath
from vaultsync.text.resolve import NameTable
from vaultsync.text.scan import parse_wikilink_inner

log = logging.getLogger(__name__)

TYPES_FILE = ".obsidian/types.json"
_EMBED_KINDS = ("embed", "markdown_embed")


class Record:
    """One vault file: its index facts and its note properties, typed on first use."""

    __slots__ = ("data", "uri", "is_note", "size", "mtime_ns", "ctime_ns", "raw", "_props", "tags", "links", "backlinks", "_file")

    def __init__(self, data: VaultData, uri: str, is_note: bool, size: int, mtime_ns: int, ctime_ns: int) -> None:
        self.data = data
        self.uri = uri
        self.is_note = is_note
        self.size, self.mtime_ns, self.ctime_ns = size, mtime_ns, ctime_ns
        self.raw: dict[str, Any] = {}  # the frontmatter as stored (JSON values)
        self._props: dict[str, Any] = {}
        self.tags: list[str] = []  # without '#', in document order, frontmatter ones included
        self.links: list[LinkValue] = []
        self.backlinks: list[str] = []  # uris of the files linking here
        self._file: FileValue | None = None

    def prop(self, name: str) -> Any:
        """A note property as a Bases value (None when absent)."""
        try:
            return self._props[name]
        except KeyError:
            pass
        raw = self.raw.get(name)
        value = None if raw is None else self.data.typed(name, raw, self.uri)
        self._props[name] = value
        return value

    def properties(self) -> dict[str, Any]:
        return {k: self.prop(k) for k in self.raw}

    @property
    def file(self) -> FileValue:
        if self._file is None:
            self._file = FileValue(self, self.uri)
        return self._file

    def field(self, name: str) -> Any:
        """A ``file.*`` property ("Bases syntax" > File properties; "Functions" > File type)."""
        uri = self.uri
        if name == "name":
            return basename(uri)
        if name == "basename":
            base = basename(uri)
            return base[: base.rfind(".")] if "." in base else base
        if name == "path":
            return uri
        if name == "folder":
            return dirname(uri) or "/"  # the vault root folder's path is "/" in Obsidian
        if name == "ext":
            base = basename(uri)
            return base[base.rfind(".") + 1 :] if "." in base else ""
        if name == "size":
            return self.size
        if name == "ctime":
            return Date(datetime.fromtimestamp(self.ctime_ns / 1e9))
        if name == "mtime":
            return Date(datetime.fromtimestamp(self.mtime_ns / 1e9))
        if name == "tags":
            self.data.need("tags")
            return ["#" + t for t in dict.fromkeys(self.tags)]
        if name == "links":
            self.data.need("links")
            return list(self.links)
        if name == "embeds":
            self.data.need("links")
            return [LinkValue(link.path, None, link.dest) for link in self.data.embeds.get(uri, [])]
        if name == "backlinks":
            self.data.need("links")
            return [self.data.records[s].file for s in dict.fromkeys(self.backlinks) if s in self.data.records]
        if name == "properties":
            return self.properties()
        if name == "file":
            return self.file
        return None


class VaultData:
    """Every file of the vault as a :class:`Record`, with the lookups expressions need."""

    def __init__(self, index: Index, vault: Vault | None = None) -> None:
        self.index = index
        self.records: dict[str, Record] = {}
        self.embeds: dict[str, list[LinkValue]] = {}
        self._loaded: set[str] = set()
        self._table: NameTable | None = None
        self.types = _read_types(vault)
        for uri, (_, st) in index.file_stats().items():
            self.records[uri] = Record(self, uri, uri.lower().endswith(".md"), st.size, st.mtime_ns, st.ctime_ns)
        for uri, _title, fm, _excluded in index.note_rows():
            rec = self.records.get(uri)
            if rec is not None and fm:
                rec.raw = fm

    @property
    def table(self) -> NameTable:
        if self._table is None:
            self._table = NameTable(self.records)
        return self._table

    def resolve(self, target: str, source: str) -> str | None:
        """The file a link path opens from ``source`` (Obsidian's resolver), or None."""
        path, _ = split_subpath(target)
        if path in self.records:
            return path
        return self.table.resolve(path, source).dest

    def need(self, what: str) -> None:
        """Load the tags (``"tags"``) or the links and backlinks (``"links"``) of every file, once."""
        if what in self._loaded:
            return
        self._loaded.add(what)
        records = self.records
        if what == "tags":
            for uri, tag in self.index.tag_rows():
                rec = records.get(uri)
                if rec is not None:
                    rec.tags.append(tag)
        elif what == "links":
            for src, _ordinal, kind, target, subpath, display, dest, _ in self.index.link_rows():
                rec = records.get(src)
                if rec is None:
                    continue
                link = LinkValue(target + subpath, display, dest)
                if kind in _EMBED_KINDS:
                    self.embeds.setdefault(src, []).append(link)
                else:
                    rec.links.append(link)
                if dest is not None and dest in records:
                    records[dest].backlinks.append(src)

    def typed(self, name: str, raw: Any, source: str) -> Any:
        """A frontmatter value as a Bases value, by the property's type (see the module doc)."""
        kind = self.types.get(name)
        if kind in ("date", "datetime"):
            date = parse_date(str(raw)) if isinstance(raw, str) else None
            return raw if date is None else Date(date.dt, kind == "datetime" or date.has_time)
        if kind == "number" and isinstance(raw, str):
            try:
                return float(raw) if "." in raw else int(raw)
            except ValueError:
                return raw
        if kind == "checkbox" and isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        if kind in ("multitext", "tags", "aliases") and not isinstance(raw, list):
            raw = [raw]
        return self._shape(raw, source, infer_dates=kind is None)

    def _shape(self, raw: Any, source: str, infer_dates: bool) -> Any:
        if isinstance(raw, list):
            return [self._shape(x, source, infer_dates) for x in raw]
        if isinstance(raw, dict):
            return {k: self._shape(x, source, infer_dates) for k, x in raw.items()}
        if isinstance(raw, str):
            text = raw.strip()
            if text.startswith("[[") and text.endswith("]]") and text.count("[[") == 1:
                return self.link(text, source)
            if infer_dates and text[:1].isdigit():
                return parse_date(text) or raw
        return raw

    def link(self, text: str, source: str, display: Any = None) -> LinkValue:
        """``[[target|display]]`` or a bare path as a link, resolved from ``source``."""
        inner = text.strip()
        if inner.startswith("[[") and inner.endswith("]]"):
            inner = inner[2:-2]
        parsed = parse_wikilink_inner(inner)
        if parsed is None:
            return LinkValue(text, None if display is None else str(display), None)
        path, subpath, alias = parsed
        if "://" in path:
            return LinkValue(path + subpath, alias if display is None else str(display), None)
        dest = self.resolve(path, source) if path else source
        return LinkValue(path + subpath, alias if display is None else str(display), dest)

    def record_for(self, uri: str) -> Record:
        """The record of ``uri``, or an empty one for a file the index does not hold (a fresh base)."""
        rec = self.records.get(uri)
        return rec if rec is not None else Record(self, uri, uri.lower().endswith(".md"), 0, 0, 0)


def _read_types(vault: Vault | None) -> dict[str, str]:
    """``.obsidian/types.json``'s ``types`` map (property -> type); {} when absent or unreadable."""
    if vault is None or vault.stat(TYPES_FILE) is None:
        return {}
    try:
        raw = json.loads(vault.read_text(TYPES_FILE))
    except (VaultsyncError, ValueError) as exc:
        log.warning("%s: unreadable (%s); property types are inferred from the values", TYPES_FILE, exc)
        return {}
    types = raw.get("types") if isinstance(raw, dict) else None
    return {str(k): str(v) for k, v in types.items()} if isinstance(types, dict) else {}
