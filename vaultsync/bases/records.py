"""The rows a base is evaluated over: one :class:`Record` per vault file, built from the index.

Everything comes from existing read-only :class:`~vaultsync.store.index.Index` queries: ``uris``
and ``note_rows`` up front; ``file_stats``, ``tag_rows`` and ``link_rows`` only when an expression
of the base first needs them (``file.size``/``mtime``; ``file.tags``, ``hasTag``; ``file.links``,
``hasLink``, ``backlinks``...), so a base filtering on a property never reads the link table. Note properties are typed as Obsidian
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
from vaultsync.fs.vault import FileStat, Vault
from vaultsync.store.index import Index
from vaultsync.store.rows import decode_frontmatter
from vaultsync.text.names import basename, dirname, split_subpath
from vaultsync.text.resolve import NameTable
from vaultsync.text.scan import parse_wikilink_inner

log = logging.getLogger(__name__)

TYPES_FILE = ".obsidian/types.json"
_EMBED_KINDS = ("embed", "markdown_embed")
_EMPTY: dict[str, Any] = {}  # the frontmatter of a file without one (shared, never written)


class Record:
    """One vault file: its index facts and its note properties, typed on first use."""

    __slots__ = ("data", "uri", "_stored", "_raw", "_props", "_file")

    def __init__(self, data: VaultData, uri: str, stored: str | None = None) -> None:
        self.data = data
        self.uri = uri
        self._stored = stored  # the frontmatter as the index stores it (JSON text), decoded on first use
        self._raw: dict[str, Any] | None = None
        self._props: dict[str, Any] | None = None  # typed values, made on first use
        self._file: FileValue | None = None

    @property
    def raw(self) -> dict[str, Any]:
        """The frontmatter as stored (JSON values); a base that reads no property of a note
        never decodes it."""
        raw = self._raw
        if raw is None:
            raw = self._raw = (decode_frontmatter(self._stored) if self._stored else None) or _EMPTY
        return raw

    def prop(self, name: str) -> Any:
        """A note property as a Bases value (None when absent). Plain text is returned as stored;
        other values are typed once and kept (a row reads a property several times)."""
        raw = self.raw.get(name)
        if raw is None or (type(raw) is str and name not in self.data.types and not raw[:1].isdigit() and "[[" not in raw):
            return raw  # most values: no typing to do, nothing to keep
        props = self._props
        if props is None:
            props = self._props = {}
        elif name in props:
            return props[name]
        value = props[name] = self.data.typed(name, raw, self.uri)
        return value

    def properties(self) -> dict[str, Any]:
        return {k: self.prop(k) for k in self.raw}

    @property
    def file(self) -> FileValue:
        if self._file is None:
            self._file = FileValue(self, self.uri)
        return self._file

    @property
    def tags(self) -> list[str]:
        """The file's tags without '#', frontmatter ones included (loaded on first use)."""
        tags: list[str] = self.data.need("tags").get(self.uri, [])
        return tags

    @property
    def links(self) -> list[LinkValue]:
        """The file's links, frontmatter ones included, embeds not (see :attr:`VaultData.embeds`)."""
        links: list[LinkValue] = self.data.need("links").get(self.uri, [])
        return links

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
        if name in ("size", "ctime", "mtime"):
            st = self.data.stats().get(uri)
            if st is None:
                return None
            if name == "size":
                return st.size
            return Date(datetime.fromtimestamp((st.ctime_ns if name == "ctime" else st.mtime_ns) / 1e9))
        if name == "tags":
            return ["#" + t for t in dict.fromkeys(self.tags)]
        if name == "links":
            return list(self.links)
        if name == "embeds":
            self.data.need("links")
            return list(self.data.embeds.get(uri, []))
        if name == "backlinks":
            self.data.need("links")
            records = self.data.records
            return [records[s].file for s in dict.fromkeys(self.data.backlinks.get(uri, [])) if s in records]
        if name == "properties":
            return self.properties()
        if name == "file":
            return self.file
        return None


class VaultData:
    """Every file of the vault as a :class:`Record`, with the lookups expressions need."""

    def __init__(self, index: Index, vault: Vault | None = None) -> None:
        self.index = index
        self.types = _read_types(vault)
        front = dict(index.stored_frontmatters())
        self.records: dict[str, Record] = {uri: Record(self, uri, front.get(uri)) for uri in index.uris()}  # path order
        self.embeds: dict[str, list[LinkValue]] = {}
        self.backlinks: dict[str, list[str]] = {}  # uri -> the files linking to it
        self._loaded: dict[str, dict[str, Any]] = {}
        self._stats: dict[str, FileStat] | None = None
        self._table: NameTable | None = None

    @property
    def table(self) -> NameTable:
        if self._table is None:
            self._table = NameTable(self.records)
        return self._table

    def stats(self) -> dict[str, FileStat]:
        """uri -> size and times, read on first use."""
        if self._stats is None:
            self._stats = {uri: st for uri, (_, st) in self.index.file_stats().items()}
        return self._stats

    def resolve(self, target: str, source: str) -> str | None:
        """The file a link path opens from ``source`` (Obsidian's resolver), or None."""
        path, _ = split_subpath(target)
        if path in self.records:
            return path
        return self.table.resolve(path, source).dest

    def need(self, what: str) -> dict[str, Any]:
        """uri -> tags (``"tags"``) or uri -> links (``"links"``, also filling embeds and
        backlinks) of every file, loaded from the index once."""
        got = self._loaded.get(what)
        if got is not None:
            return got
        out: dict[str, list[Any]] = {}
        if what == "tags":
            for uri, tag in self.index.tag_rows():
                out.setdefault(uri, []).append(tag)
        else:
            for src, _ordinal, kind, target, subpath, display, dest, _ in self.index.link_rows():
                link = LinkValue(target + subpath, display, dest)
                (self.embeds if kind in _EMBED_KINDS else out).setdefault(src, []).append(link)
                if dest is not None:
                    self.backlinks.setdefault(dest, []).append(src)
        self._loaded[what] = out
        return out

    def typed(self, name: str, raw: Any, source: str) -> Any:
        """A frontmatter value as a Bases value, by the property's type (see the module doc)."""
        kind = self.types.get(name)
        if kind is None and isinstance(raw, str) and not raw[:1].isdigit() and "[[" not in raw:
            return raw  # plain text: most values, so the common case goes first
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
        return rec if rec is not None else Record(self, uri)


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
