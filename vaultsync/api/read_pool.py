"""The API's own read connections to the index, shared by the request threads (I/O, through the store).

WAL lets these readers run beside the host's writer (the daemon's batches, the API's writes)
without blocking it or being blocked.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

from vaultsync.errors import VaultsyncError
from vaultsync.store.index import Index


class ReadPool:
    """Read connections to the index, shared by the request threads (WAL: readers never block)."""

    def __init__(self, path: Path, size: int = 8) -> None:
        self.path = path
        self._free: queue.LifoQueue[Index] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._all: list[Index] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def reader(self) -> Iterator[Index]:
        with self._slots:
            try:
                index = self._free.get_nowait()
            except queue.Empty:
                opened = Index.open_existing(self.path)
                if opened is None:
                    raise VaultsyncError("the index is missing or damaged", hint="run `vaultsync scan`") from None
                opened.set_read_only()
                with self._lock:
                    self._all.append(opened)
                index = opened
            try:
                yield index
            finally:
                self._free.put(index)

    def close(self) -> None:
        with self._lock:
            for index in self._all:
                with contextlib.suppress(Exception):
                    index.close()
            self._all.clear()
