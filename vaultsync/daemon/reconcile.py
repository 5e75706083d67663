"""What differs between the disk and the index, for the daemon's reconciliation (pure).

The daemon walks the vault at start-up, on a periodic rescan and instead of a very large batch
(stat only), and compares each file's stat with the one the index stored. A file gone from one
path and new at another with the same inode and size was renamed while nobody watched: it is
treated as a move, so the links to it are rewritten as for a move seen live.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vaultsync.fs.vault import FileStat


@dataclass(slots=True)
class DiskChanges:
    """Paths whose file changed, appeared or went since the index saw them, and the renames among
    them (old uri -> new uri)."""

    changed: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    moves: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.changed or self.new or self.gone)


def compare_with_index(files: Mapping[str, FileStat], stored: Mapping[str, tuple[int, FileStat]]) -> DiskChanges:
    """The differences between the files on disk (``uri -> stat``, from a walk) and the index's
    stored stats (``uri -> (note id, stat)``)."""
    gone = [u for u in stored if u not in files]
    new = [u for u in files if u not in stored]
    changed = [u for u, st in files.items() if u in stored and stored[u][1] != st]
    by_inode = {(files[u].inode, files[u].size): u for u in new}
    moves = {}
    for old in gone:
        st = stored[old][1]
        match = by_inode.pop((st.inode, st.size), None)
        if match is not None:
            moves[old] = match  # renamed while we were not looking: same inode, same size
    return DiskChanges(changed, new, gone, moves)
