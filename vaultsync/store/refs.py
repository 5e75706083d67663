"""The index's reverse tables, ``backrefs`` (who links to a file) and ``linkkeys`` (who looks a
name up): kept up to date note by note (:class:`RefChanges`) or filled once for a fresh index
(:class:`BulkWriter`). Part of the index store: its SQL, on the connection the index gives.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from vaultsync.store.rows import NoteRows, decode_ids, encode_ids


class RefChanges:
    """Edits to backrefs and linkkeys for a few notes, applied row by row (warm updates)."""

    def __init__(self) -> None:
        self.dests: dict[int, list[int]] = {}  # dest -> sources to add; every row touched is listed
        self.keys: dict[str, list[int]] = {}
        self.removed: set[int] = set()
        self.dropped: set[int] = set()

    def remove(self, src: int, dests: Sequence[int], keys: Sequence[str]) -> None:
        self.removed.add(src)
        for d in dests:
            self.dests.setdefault(d, [])
        for k in keys:
            self.keys.setdefault(k, [])

    def add(self, src: int, dests: Sequence[int], keys: Sequence[str]) -> None:
        self.removed.add(src)  # a source's old rows always go first
        group(self.dests, dests, src)
        group(self.keys, keys, src)

    def drop_dest(self, dest: int) -> None:
        self.dropped.add(dest)

    def apply(self, c: sqlite3.Connection) -> None:
        gone = self.removed
        for dest, added in self.dests.items():
            rows = c.execute("SELECT srcs FROM backrefs WHERE dest=?", (dest,)).fetchall()
            srcs = sorted([s for (ids,) in rows for s in decode_ids(ids) if s not in gone] + added)
            c.execute("DELETE FROM backrefs WHERE dest=?", (dest,))
            if srcs and dest not in self.dropped:
                c.execute("INSERT INTO backrefs VALUES(?,?,?)", (dest, len(srcs), encode_ids(srcs)))
        for dest in self.dropped - self.dests.keys():
            c.execute("DELETE FROM backrefs WHERE dest=?", (dest,))
        for key in self.keys:
            rows = c.execute("SELECT srcs FROM linkkeys WHERE key=?", (key,)).fetchall()
            srcs = sorted([s for (ids,) in rows for s in decode_ids(ids) if s not in gone] + self.keys[key])
            c.execute("DELETE FROM linkkeys WHERE key=?", (key,))
            if srcs:
                c.execute("INSERT INTO linkkeys VALUES(?,?)", (key, encode_ids(srcs)))


class BulkWriter:
    """Fills a fresh index: files go in as they come; backrefs and linkkeys are gathered in memory
    and written once by :meth:`finish`, one row per target rather than one per link. Source ids
    are written in ascending order."""

    def __init__(self, conn: sqlite3.Connection, insert: Callable[[Sequence[NoteRows]], None]) -> None:
        self.conn = conn
        self.insert = insert  # writes the files' own rows (Index._insert_files)
        self.dests: dict[int, list[int]] = {}
        self.keys: dict[str, list[int]] = {}
        self._last = 0  # the largest id put so far
        self._ascending = True  # whether files came in ascending id order (else finish sorts)

    def retarget(self, conn: sqlite3.Connection, insert: Callable[[Sequence[NoteRows]], None]) -> None:
        """Write the files put from now on, and at :meth:`finish` everything gathered, elsewhere
        (the next part of a cold scan's share)."""
        self.conn, self.insert = conn, insert

    def put(self, notes: Sequence[NoteRows]) -> None:
        dests, keys = self.dests, self.keys
        for n in notes:
            group(dests, n.dests, n.id)
            group(keys, n.keys, n.id)
        if notes:
            self._ascending = self._ascending and notes[0].id > self._last
            self._last = max(self._last, notes[-1].id)
        self.insert(notes)

    def finish(self) -> None:
        c = self.conn
        if not self._ascending:
            for groups in (self.dests, self.keys):
                for ids in groups.values():
                    ids.sort()
        c.executemany("INSERT INTO backrefs VALUES(?,?,?)", [(d, len(s), encode_ids(s)) for d, s in self.dests.items()])
        c.executemany("INSERT INTO linkkeys VALUES(?,?)", [(k, encode_ids(s)) for k, s in self.keys.items()])


def group(groups: dict[Any, list[int]], keys: Iterable[Any], value: int) -> None:
    """Append ``value`` to the list of each key in ``groups``, starting lists as needed."""
    for k in keys:
        got = groups.get(k)
        if got is None:
            groups[k] = [value]
        else:
            got.append(value)
