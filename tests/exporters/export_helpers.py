"""Shared helpers for the exporter tests: the scenario vault, opening an index, building documents."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from exporters.pipeline import Document, ExportContext, build_document
from vaultsync.export.selection import Selection, select_notes
from vaultsync.fs.vault import Vault
from vaultsync.store.index import Index
from vaultsync.store.indexing import update_index
from vaultsync.text.resolve import NameTable

REPO = Path(__file__).resolve().parents[2]
EXPORT_DATA = REPO / "tests" / "testdata" / "export"
SCENARIO = EXPORT_DATA / "input" / "scenario"
EXPECTED = EXPORT_DATA / "expected"

# The whole scenario vault in export order (channel index order in alpha/, then titles; drafts/ excluded).
SCENARIO_ORDER = [
    "alpha/alpha.md",
    "alpha/zebra_facts.md",
    "alpha/apple_notes.md",
    "alpha/mango_embeds.md",
    "alpha/kiwi_extra.md",
    "beta/cycle_a.md",
    "beta/cycle_b.md",
    "beta/languages.md",
]
SCENARIO_TITLES = {
    "alpha/alpha.md": "Alpha channel",
    "alpha/zebra_facts.md": "Zebra facts",
    "alpha/apple_notes.md": "Apple notes",
    "alpha/mango_embeds.md": "Mango embeds",
    "alpha/kiwi_extra.md": "Kiwi extra",
    "beta/cycle_a.md": "Cycle A",
    "beta/cycle_b.md": "Cycle B",
    "beta/languages.md": "Языки и Dünya",
}


def copy_scenario(dest: Path) -> Path:
    """A writable copy of the scenario vault (indexing writes .vaultsync/ into the vault)."""
    shutil.copytree(SCENARIO, dest, ignore=shutil.ignore_patterns(".vaultsync"))
    return dest


def open_vault(root: Path) -> tuple[Vault, Index]:
    vault = Vault(root)
    index, _ = update_index(vault)
    return vault, index


def build(vault: Vault, index: Index, selection: Selection, title: str) -> Document:
    uris = select_notes(index, selection)
    return build_document(ExportContext(vault, NameTable(index.uris()), uris), title)


_FENCE = re.compile(r"^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$", re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+)[^`]+?\1")


def without_code(markdown: str) -> str:
    """The document with fenced code blocks and code spans removed."""
    return _CODE_SPAN.sub("", _FENCE.sub("", markdown))


def link_targets(markdown: str) -> list[str]:
    return re.findall(r"\]\(#([^)\s]+)\)", markdown)


def anchor_ids(markdown: str) -> list[str]:
    return re.findall(r"\{#([^}\s]+)\}", markdown)
