"""Moving vault files on disk: a rename (case-only renames included) and the empty folders it leaves (I/O).

The links that pointed at a moved file are rewritten by :mod:`vaultsync.rewrite.move_files`, which
plans the moves and calls these; nothing here reads or writes a note's content.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from vaultsync.fs.vault import Vault

CASE_SUFFIX = ".vaultsync-case"  # the interim name of a case-only rename (the watcher ignores it)


def is_same_file(vault: Vault, a: str, b: str) -> bool:
    """True when uris ``a`` and ``b`` name one file: a case-only rename on a case-insensitive
    file system (one file, two spellings)."""
    return _same_file(vault.path_for(a), vault.path_for(b))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def move_file(vault: Vault, src: str, dst: str) -> None:
    """Rename vault file ``src`` to ``dst``, creating ``dst``'s folders; a case-only rename on a
    case-insensitive file system goes through an interim name (a direct rename would do nothing)."""
    source, target = vault.path_for(src), vault.root / dst
    target.parent.mkdir(parents=True, exist_ok=True)
    if _same_file(source, target) and src != dst:
        interim = source.with_name(source.name + CASE_SUFFIX)
        os.rename(source, interim)
        source = interim
    os.rename(source, target)


def prune_empty_folders(vault: Vault, moved: Iterable[str]) -> None:
    """Remove the folders the files ``moved`` (their old uris) left empty, up to the vault root."""
    for src in sorted({u.rsplit("/", 1)[0] for u in moved if "/" in u}, key=len, reverse=True):
        folder = vault.root / src
        while folder != vault.root:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
