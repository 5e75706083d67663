"""Move or rename notes and folders, updating every link that pointed at them (I/O).

``vaultsync mv`` performs the move itself; the daemon calls :func:`relink_after_moves` for moves
made outside Obsidian (a file manager, git, ``mv``), after they happened. Both rewrite links like
Obsidian's "Automatically update internal links" (see :mod:`vaultsync.text.relink`), each note
atomically and only if it still holds what was read.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from vaultsync.errors import ConfigError, NoteNotFoundError, NoteReadError, NoteWriteError, OutsideVaultError, VaultsyncError
from vaultsync.fs.moves import is_same_file, move_file, prune_empty_folders
from vaultsync.fs.vault import Vault, is_note
from vaultsync.model import Diagnostic
from vaultsync.store.index import Index
from vaultsync.store.indexing import Indexer
from vaultsync.text.names import file_keys
from vaultsync.text.relink import relink_text
from vaultsync.text.resolve import NameTable

log = logging.getLogger(__name__)


@dataclass(slots=True)
class MoveReport:
    moved: dict[str, str] = field(default_factory=dict)
    links_updated: int = 0
    notes_updated: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    written: dict[str, str] = field(default_factory=dict)  # uri -> text_hash of what we wrote

    def as_dict(self) -> dict[str, object]:
        return {
            "moved": self.moved,
            "links_updated": self.links_updated,
            "notes_updated": sorted(self.notes_updated),
            "warnings": len(self.diagnostics),
        }


def plan_moves(vault: Vault, index: Index, old: str, new: str) -> dict[str, str]:
    """Expand ``old -> new`` (a file or a folder) into file moves, validating both ends."""
    old_uri, new_uri = _clean(old), _clean(new)
    uris = index.uris()
    if old_uri in uris:
        if new_uri.endswith("/") or vault.is_folder(new_uri):
            new_uri = new_uri.rstrip("/") + "/" + old_uri.rsplit("/", 1)[-1]
        if old_uri.lower().endswith(".md") and not new_uri.lower().endswith(".md"):
            new_uri += ".md"
        moves = {old_uri: new_uri}
    else:
        prefix = old_uri.rstrip("/") + "/"
        moves = {u: new_uri.rstrip("/") + "/" + u[len(prefix) :] for u in uris if u.startswith(prefix)}
        if not moves:
            raise NoteNotFoundError(old, hint="nothing to move: it is not a file or folder of the vault")
    for src, dst in moves.items():
        vault.real_path(src)  # OutsideVaultError: a file or folder symlinked from outside is not moved
        vault.real_path(dst)  # ... nor anything moved to where a symlink leads out
        if vault.exists(dst) and not is_same_file(vault, src, dst):
            raise VaultsyncError(f"cannot move {src!r}: {dst!r} already exists", hint="choose another name")
        if any(part.startswith(".") for part in dst.split("/")):
            raise ConfigError(f"cannot move into a hidden folder: {dst!r}")
    return moves


def _clean(uri: str) -> str:
    return uri.strip().replace("\\", "/").removeprefix("./")


def move_files(
    vault: Vault, indexer: Indexer, moves: Mapping[str, str], may_write: Callable[[str], bool] | None = None
) -> MoveReport:
    """Move files on disk, then update links and the index.

    ``may_write(uri)`` false skips updating the links in that note (the API passes a check that
    refuses notes symlinked from outside the vault)."""
    for src, dst in moves.items():
        move_file(vault, src, dst)
    prune_empty_folders(vault, moves)
    return relink_after_moves(vault, indexer, moves, may_write)


def relink_after_moves(
    vault: Vault, indexer: Indexer, moves: Mapping[str, str], may_write: Callable[[str], bool] | None = None
) -> MoveReport:
    """Update links for files that have already moved (old uri -> new uri), then the index."""
    report = MoveReport(moved=dict(moves))
    index = indexer.index
    old_table = indexer.table
    new_table = NameTable([moves.get(u, u) for u in _table_uris(old_table)])
    keys = {k for u in (*moves, *moves.values()) for k in file_keys(u)}
    sources = set(index.sources_with_keys(keys).values())
    sources |= {r["source"] for old in moves for r in index.backlinks(old)}
    sources |= set(moves)
    inverse = {new: old for old, new in moves.items()}
    for old_source in sorted(sources):
        new_source = moves.get(old_source, old_source)
        if not is_note(new_source):
            continue
        if may_write is not None and not may_write(new_source):
            report.diagnostics.append(Diagnostic(new_source, "not-written", "links not updated: outside the vault"))
            continue
        _relink_note(vault, index, report, old_source, new_source, old_table, new_table, moves)
    touched = [*moves, *moves.values(), *(inverse.get(u, u) for u in report.notes_updated)]
    indexer.table = new_table
    indexer.refresh(list(dict.fromkeys([*touched, *report.notes_updated])))
    return report


def _relink_note(
    vault: Vault,
    index: Index,
    report: MoveReport,
    old_source: str,
    new_source: str,
    old_table: NameTable,
    new_table: NameTable,
    moves: Mapping[str, str],
) -> None:
    try:
        text = vault.read_text(new_source)
    except (NoteReadError, OutsideVaultError) as exc:
        report.diagnostics.append(Diagnostic(new_source, "unreadable", f"{exc.reason}; links not updated"))
        return
    result = relink_text(
        text, old_source, new_source, old_table, new_table, moves, vault.app.new_link_format, lambda u: _aliases(index, u, moves)
    )
    if not result.edits:
        return
    try:
        written = vault.write_text_atomic(new_source, result.text, expected=text)
    except (NoteWriteError, OutsideVaultError) as exc:
        report.diagnostics.append(Diagnostic(new_source, "write-failed", exc.reason))
        return
    if not written:
        report.diagnostics.append(Diagnostic(new_source, "changed-meanwhile", "note changed while links were updated; skipped"))
        return
    report.links_updated += len(result.edits)
    report.notes_updated.append(new_source)
    report.written[new_source] = text_hash(result.text)


def text_hash(text: str) -> str:
    """Identity of a note's content, to recognise the file events of our own writes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _aliases(index: Index, uri: str, moves: Mapping[str, str]) -> list[str]:
    from vaultsync.text.parse import frontmatter_aliases

    old = next((o for o, n in moves.items() if n == uri), uri)
    return frontmatter_aliases(index.frontmatter(old))


def _table_uris(table: NameTable) -> list[str]:
    return [uri for name in list(table.names()) for uri in table.named(name)]
