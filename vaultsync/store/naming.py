"""Which note a person means: a vault path, a path from the current folder, or a name.

The command line (and anything else taking a note from a person) names a note as
1. a path as the shell completes it: relative to the current folder, or absolute, inside the vault;
2. a vault path, ``.md`` optional;
3. a name, looked up as a link from the vault root is: the notes whose file name is the name's
   last segment (case-insensitive, as Obsidian matches names), narrowed to those whose path ends
   with the name's path. One match is the note; several are an error listing them (Obsidian would
   pick one silently; a command that acts on a note should not guess); none is an error suggesting
   the nearest names.
"""

from __future__ import annotations

import difflib
import os
import posixpath
from pathlib import Path

from vaultsync.errors import AmbiguousNoteError, NoteNotFoundError, OutsideVaultError
from vaultsync.store.index import Index


def find_note(index: Index, root: Path, name: str, cwd: Path | None = None) -> str:
    """The uri of the note ``name`` means (see the module docstring)."""
    wanted = name.strip()
    as_path = _as_vault_path(root, wanted, cwd or Path.cwd())
    for candidate in (as_path, wanted.replace("\\", "/").removeprefix("./")):
        if candidate is None:
            continue
        for uri in (candidate, candidate + ".md"):
            if index.is_note(uri):
                return uri
    link = wanted.replace("\\", "/").strip("/").removesuffix(".md")
    matches = _by_name(index, link)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AmbiguousNoteError(name, tuple(matches))
    raise NoteNotFoundError(name, suggestions=_nearest(index, link))


def _as_vault_path(root: Path, name: str, cwd: Path) -> str | None:
    """``name`` as a vault path if it is a file-system path inside the vault, else None."""
    path = Path(name)
    absolute = Path(os.path.normpath(path if path.is_absolute() else cwd / path))
    for base in (Path(os.path.normpath(root.absolute())), root.resolve()):
        try:
            rel = absolute.relative_to(base)
        except ValueError:
            continue
        return rel.as_posix()
    if path.is_absolute():
        raise OutsideVaultError(name, f"is not inside the vault {str(root)!r}")
    return None


def _by_name(index: Index, link: str) -> list[str]:
    """Notes a link ``link`` from the vault root could mean, by file name then path suffix."""
    if not link:
        return []
    stem = posixpath.basename(link)
    key = stem.casefold() + ".md"
    rows = index.conn.execute(
        "SELECT uri FROM files WHERE is_note=1 AND (uri LIKE ? ESCAPE '\\' OR uri LIKE ? ESCAPE '\\')",
        (_like(stem + ".md"), "%/" + _like(stem + ".md")),
    )
    named = [u for (u,) in rows if posixpath.basename(u).casefold() == key]
    suffix = "/" + link.casefold() + ".md"
    return sorted(u for u in named if ("/" + u.casefold()).endswith(suffix))


def _nearest(index: Index, link: str, n: int = 3) -> tuple[str, ...]:
    names: dict[str, str] = {}
    for (uri,) in index.conn.execute("SELECT uri FROM files WHERE is_note=1"):
        names.setdefault(posixpath.basename(uri).removesuffix(".md").casefold(), uri)
    close = difflib.get_close_matches(posixpath.basename(link).casefold(), list(names), n=n, cutoff=0.6)
    return tuple(names[c] for c in close)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def note_error(index: Index, uri: str) -> str | None:
    """Why the indexed note ``uri`` could not be read, or None."""
    row = index.conn.execute("SELECT error FROM files WHERE uri=?", (uri,)).fetchone()
    return row[0] if row and row[0] else None
