"""vaultsync: keep an Obsidian vault of video notes consistent, indexed and exportable.

The supported library surface is re-exported here; everything else may change. The built-in
exporters import nothing else of vaultsync, exactly as a third-party exporter would (an
import-linter contract in CI keeps it so).

Names are loaded on first use (PEP 562), so ``import vaultsync`` costs nothing until a name is
used: a command that needs the index does not pay for the exporters' registry, and the reverse.
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

# name -> the module that owns it
_OWNERS: dict[str, str] = {
    "AppConfig": "vaultsync.fs.appconfig",
    "BaseError": "vaultsync.errors",
    "BaseTable": "vaultsync.bases",
    "BlockId": "vaultsync.model",
    "ConfigError": "vaultsync.errors",
    "Diagnostic": "vaultsync.model",
    "Edit": "vaultsync.text.wikitext",
    "ExportRequest": "vaultsync.export.registry",
    "ExportResult": "vaultsync.export.registry",
    "Exporter": "vaultsync.export.registry",
    "Frontmatter": "vaultsync.model",
    "Heading": "vaultsync.model",
    "Index": "vaultsync.store.index",
    "Link": "vaultsync.model",
    "LinkKind": "vaultsync.model",
    "NameTable": "vaultsync.text.resolve",
    "NoteReadError": "vaultsync.errors",
    "NoteWriteError": "vaultsync.errors",
    "OutsideVaultError": "vaultsync.errors",
    "ParsedNote": "vaultsync.model",
    "Resolution": "vaultsync.text.resolve",
    "Scan": "vaultsync.model",
    "ScanReport": "vaultsync.store.indexing",
    "Severity": "vaultsync.model",
    "StoreError": "vaultsync.errors",
    "Tag": "vaultsync.model",
    "Timestamp": "vaultsync.model",
    "TimestampForm": "vaultsync.model",
    "Vault": "vaultsync.fs.vault",
    "VaultData": "vaultsync.bases",
    "VaultsyncError": "vaultsync.errors",
    "apply_edits": "vaultsync.text.wikitext",
    "base_blocks": "vaultsync.bases",
    "basename": "vaultsync.text.names",
    "cell_target": "vaultsync.bases",
    "cell_text": "vaultsync.bases",
    "clock": "vaultsync.text.timestamps",
    "dirname": "vaultsync.text.names",
    "display_label": "vaultsync.text.timestamps",
    "envelope": "vaultsync.text.timestamps",
    "evaluate_base": "vaultsync.bases",
    "frontmatter_aliases": "vaultsync.text.parse",
    "frontmatter_tags": "vaultsync.text.parse",
    "load_base": "vaultsync.bases",
    "load_settings": "vaultsync.config",
    "map_chunks": "vaultsync.workers",
    "needs_hours": "vaultsync.text.timestamps",
    "note_video_id": "vaultsync.text.normalize",
    "open_index": "vaultsync.store.indexing",
    "parse_note": "vaultsync.text.parse",
    "read_base": "vaultsync.bases",
    "read_clock": "vaultsync.text.timestamps",
    "rebuild_index": "vaultsync.store.indexing",
    "scan_body": "vaultsync.text.scan",
    "split_frontmatter": "vaultsync.text.parse",
    "stem": "vaultsync.text.names",
    "update_index": "vaultsync.store.indexing",
    "video_url": "vaultsync.text.timestamps",
    "visible_text": "vaultsync.text.wikitext",
    "worker_state": "vaultsync.workers",
}

__all__ = [
    "AppConfig",
    "BaseError",
    "BaseTable",
    "BlockId",
    "ConfigError",
    "Diagnostic",
    "Edit",
    "ExportRequest",
    "ExportResult",
    "Exporter",
    "Frontmatter",
    "Heading",
    "Index",
    "Link",
    "LinkKind",
    "NameTable",
    "NoteReadError",
    "NoteWriteError",
    "OutsideVaultError",
    "ParsedNote",
    "Resolution",
    "Scan",
    "ScanReport",
    "Severity",
    "StoreError",
    "Tag",
    "Timestamp",
    "TimestampForm",
    "Vault",
    "VaultData",
    "VaultsyncError",
    "__version__",
    "apply_edits",
    "base_blocks",
    "basename",
    "cell_target",
    "cell_text",
    "clock",
    "dirname",
    "display_label",
    "envelope",
    "evaluate_base",
    "frontmatter_aliases",
    "frontmatter_tags",
    "load_base",
    "load_settings",
    "map_chunks",
    "needs_hours",
    "note_video_id",
    "open_index",
    "parse_note",
    "read_base",
    "read_clock",
    "rebuild_index",
    "scan_body",
    "split_frontmatter",
    "stem",
    "update_index",
    "video_url",
    "visible_text",
    "worker_state",
]



def __getattr__(name: str) -> Any:
    owner = _OWNERS.get(name)
    if owner is None:
        raise AttributeError(f"module 'vaultsync' has no attribute {name!r}")
    value = getattr(importlib.import_module(owner), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # the same names, for type checkers
    from vaultsync.bases import BaseTable, VaultData, base_blocks, cell_target, cell_text, evaluate_base, load_base, read_base
    from vaultsync.config import load_settings
    from vaultsync.errors import BaseError, ConfigError, NoteReadError, NoteWriteError, OutsideVaultError, StoreError, VaultsyncError
    from vaultsync.export.registry import Exporter, ExportRequest, ExportResult
    from vaultsync.fs.appconfig import AppConfig
    from vaultsync.fs.vault import Vault
    from vaultsync.model import BlockId, Diagnostic, Frontmatter, Heading, Link, LinkKind, ParsedNote, Scan, Severity, Tag, Timestamp, TimestampForm
    from vaultsync.store.index import Index
    from vaultsync.store.indexing import ScanReport, open_index, rebuild_index, update_index
    from vaultsync.text.names import basename, dirname, stem
    from vaultsync.text.normalize import note_video_id
    from vaultsync.text.parse import frontmatter_aliases, frontmatter_tags, parse_note, split_frontmatter
    from vaultsync.text.resolve import NameTable, Resolution
    from vaultsync.text.scan import scan_body
    from vaultsync.text.timestamps import clock, display_label, envelope, needs_hours, read_clock, video_url
    from vaultsync.text.wikitext import Edit, apply_edits, visible_text
    from vaultsync.workers import map_chunks, worker_state
