"""Whole answers of the vault-wide reads, kept until the index changes.

A selection over the whole vault (``list_notes``) or every unresolved link reads every note's row:
seconds on 20,000 notes, while an assistant pages through the answer ``limit`` items at a time.
:class:`ResultCache` keeps the last :data:`MAX_ENTRIES` such answers and drops them all as soon as
anything commits to the index (SQLite's ``data_version``, read on a connection of its own, changes
on every commit of another connection or process: the daemon's batches, this server's own writes,
a CLI command), or when the index file is replaced (a rebuild). A cached answer is never older than
the index was when the call began.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from vaultsync.store.index import Index

MAX_ENTRIES = 64


class ResultCache:
    """Answers by key, valid for one state of the index at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._index: Index | None = None
        self._inode: int | None = None
        self._state: tuple[int, int] | None = None
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The answer for ``key``: cached when the index has not changed since, else ``compute()``."""
        with self._lock:
            state = self._current()
            if state != self._state:
                self._entries.clear()
                self._state = state
            elif key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()  # its reads begin after ``state`` was read, so they see at least that state
        with self._lock:
            if state is not None and self._state == state:
                self._entries[key] = value
                while len(self._entries) > MAX_ENTRIES:
                    self._entries.popitem(last=False)
        return value

    def _current(self) -> tuple[int, int] | None:
        """(inode of the index file, its data_version), or None when there is no index to watch."""
        try:
            inode = os.stat(self.path).st_ino
        except OSError:
            return None
        if inode != self._inode or self._index is None:
            self.close()
            self._index = Index.open_existing(self.path)
            if self._index is None:
                return None
            self._index.set_read_only()
            self._inode = inode
        return inode, self._index.data_version()

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None
