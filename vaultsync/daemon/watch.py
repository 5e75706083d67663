"""Turn watchdog's file events into debounced batches of vault changes.

Watchdog callbacks only record what is dirty, under a lock; the daemon takes a batch once the
vault has been quiet for ``quiet_ms`` (or ``max_wait_ms`` after the first event of a busy burst).
Paths the vault does not own (hidden folders such as ``.obsidian/``, ``.git/``, ``.trash/``,
``.vaultsync/``, and editors' temp and swap files) never enter a batch.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import (
    DirMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    FileSystemMovedEvent,
)
from watchdog.observers import Observer

from vaultsync.fs.atomic import TEMP_SUFFIX
from vaultsync.fs.moves import CASE_SUFFIX

log = logging.getLogger(__name__)

_TEMP_SUFFIXES = (".swp", ".swx", ".swo", ".tmp", ".temp", ".crswap", ".part", TEMP_SUFFIX, CASE_SUFFIX, "~")
_TEMP_NAMES = {"4913"}  # vim probes the folder with this name


def is_ignored(uri: str) -> bool:
    """True for paths outside the vault's content: hidden segments and editors' scratch files."""
    parts = uri.split("/")
    name = parts[-1]
    return (
        any(p.startswith(".") for p in parts)
        or name.endswith(_TEMP_SUFFIXES)
        or name in _TEMP_NAMES
        or name.startswith(("~$", ".#"))
    )


@dataclass(slots=True)
class Batch:
    """Coalesced changes: paths to look at again, and moves (old uri -> new uri) in order."""

    dirty: set[str] = field(default_factory=set)
    moves: dict[str, str] = field(default_factory=dict)
    folder_moves: dict[str, str] = field(default_factory=dict)
    events: int = 0

    def __len__(self) -> int:
        return len(self.dirty) + len(self.moves) + len(self.folder_moves)


class ChangeQueue:
    """Thread-safe accumulation of changes with a debounced ``take``."""

    def __init__(self, quiet_ms: int = 100, max_wait_ms: int = 1000) -> None:
        self.quiet_s = quiet_ms / 1000
        self.max_wait_s = max_wait_ms / 1000
        self._cond = threading.Condition()
        self._batch = Batch()
        self._first = 0.0
        self._last = 0.0
        self.overflowed = False

    def __len__(self) -> int:
        with self._cond:
            return len(self._batch)

    def mark(self, uri: str) -> None:
        self._add(lambda b: b.dirty.add(uri))

    def move(self, old: str, new: str, *, folder: bool = False) -> None:
        def apply(b: Batch) -> None:
            target = b.folder_moves if folder else b.moves
            # a chain a -> b -> c is one move a -> c
            origin = next((o for o, n in target.items() if n == old), old)
            target.pop(origin, None)
            if origin != new:
                target[origin] = new
            b.dirty.discard(old)

        self._add(apply)

    def _add(self, apply: object) -> None:
        now = time.monotonic()
        with self._cond:
            if not len(self._batch):
                self._first = now
            apply(self._batch)  # type: ignore[operator]
            self._batch.events += 1
            self._last = now
            self._cond.notify_all()

    def take(self, stop: threading.Event, timeout_s: float) -> Batch | None:
        """Wait for a batch: quiet for ``quiet_ms``, or ``max_wait_ms`` since its first change.

        Returns None when ``timeout_s`` passes with nothing to do, or when ``stop`` is set.
        """
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not len(self._batch):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or stop.is_set():
                    return None
                self._cond.wait(min(remaining, 0.5))
            while True:
                now = time.monotonic()
                due = min(self._last + self.quiet_s, self._first + self.max_wait_s)
                if now >= due or stop.is_set():
                    break
                self._cond.wait(due - now)
            batch, self._batch = self._batch, Batch()
            return batch


class _Handler(FileSystemEventHandler):
    def __init__(self, root: Path, queue: ChangeQueue) -> None:
        self.root = root
        self.queue = queue

    def _uri(self, path: str | bytes) -> str | None:
        text = path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path
        try:
            rel = Path(text).relative_to(self.root).as_posix()
        except ValueError:
            return None
        if rel in ("", "."):
            return None
        return unicodedata.normalize("NFC", rel)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        src = self._uri(event.src_path)
        if isinstance(event, FileSystemMovedEvent):
            dest = self._uri(event.dest_path)
            src_ok = src if src is not None and not is_ignored(src) else None
            dest_ok = dest if dest is not None and not is_ignored(dest) else None
            if src_ok and dest_ok:
                self.queue.move(src_ok, dest_ok, folder=isinstance(event, DirMovedEvent))
            elif dest_ok:
                self.queue.mark(dest_ok)  # an editor's temp file renamed over the note: a save
            elif src_ok:
                self.queue.mark(src_ok)  # moved out of the vault (or into .trash): a delete
            return
        if src is None or is_ignored(src):
            return
        if event.is_directory:
            if event.event_type in ("deleted", "created"):
                self.queue.mark(src + "/")  # the daemon expands folders against the index/disk
            return
        self.queue.mark(src)


class VaultWatcher:
    """A watchdog observer on one vault, feeding a ChangeQueue."""

    def __init__(self, root: Path, queue: ChangeQueue) -> None:
        self.root = root
        self.queue = queue
        self._observer = Observer()

    def start(self) -> None:
        """Start watching. Raises OSError when the system refuses (e.g. inotify limits)."""
        self._observer.schedule(_Handler(self.root, self.queue), str(self.root), recursive=True)
        self._observer.start()

    @property
    def alive(self) -> bool:
        return self._observer.is_alive()

    def stop(self) -> None:
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout=5)
