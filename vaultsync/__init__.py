"""vaultsync: keep an Obsidian vault of video notes consistent, indexed and exportable.

The supported library surface is re-exported here; everything else may change.
"""

from __future__ import annotations

__version__ = "0.1.0"

from vaultsync.errors import ConfigError, NoteReadError, NoteWriteError, StoreError, VaultsyncError
from vaultsync.index import Index
from vaultsync.indexing import ScanReport, open_index, rebuild_index, update_index
from vaultsync.model import (
    BlockId,
    Diagnostic,
    Frontmatter,
    Heading,
    Link,
    LinkKind,
    ParsedNote,
    Scan,
    Tag,
    Timestamp,
    TimestampForm,
)
from vaultsync.parse import parse_note, split_frontmatter
from vaultsync.resolve import NameTable, Resolution
from vaultsync.scan import scan_body
from vaultsync.vault import AppConfig, Vault

__all__ = [
    "AppConfig",
    "BlockId",
    "ConfigError",
    "Diagnostic",
    "Frontmatter",
    "Heading",
    "Index",
    "Link",
    "LinkKind",
    "NameTable",
    "NoteReadError",
    "NoteWriteError",
    "ParsedNote",
    "Resolution",
    "Scan",
    "ScanReport",
    "StoreError",
    "Tag",
    "Timestamp",
    "TimestampForm",
    "Vault",
    "VaultsyncError",
    "__version__",
    "open_index",
    "parse_note",
    "rebuild_index",
    "scan_body",
    "split_frontmatter",
    "update_index",
]
