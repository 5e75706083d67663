"""vaultsync: keep an Obsidian vault of video notes consistent, indexed and exportable.

The supported library surface is re-exported here; everything else may change. The built-in
exporters import nothing else of vaultsync, exactly as a third-party exporter would (an
import-linter contract in CI keeps it so).
"""

from __future__ import annotations

__version__ = "0.1.0"

from vaultsync.config import load_settings
from vaultsync.errors import ConfigError, NoteReadError, NoteWriteError, OutsideVaultError, StoreError, VaultsyncError
from vaultsync.export.registry import Exporter, ExportRequest, ExportResult
from vaultsync.fs.vault import AppConfig, Vault
from vaultsync.model import (
    BlockId,
    Diagnostic,
    Frontmatter,
    Heading,
    Link,
    LinkKind,
    ParsedNote,
    Scan,
    Severity,
    Tag,
    Timestamp,
    TimestampForm,
)
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

__all__ = [
    "AppConfig",
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
    "VaultsyncError",
    "__version__",
    "apply_edits",
    "basename",
    "clock",
    "dirname",
    "display_label",
    "envelope",
    "frontmatter_aliases",
    "frontmatter_tags",
    "load_settings",
    "map_chunks",
    "needs_hours",
    "note_video_id",
    "open_index",
    "parse_note",
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
