"""The API's host for ``vaultsync serve``: the process owns an index of its own (no daemon runs here).

The :class:`vaultsync.api.operations.Host` for a server without a daemon (the daemon's own is
:class:`vaultsync.daemon.host.DaemonHost`).
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from vaultsync.config import GitSettings, Settings
from vaultsync.fs.vault import Vault
from vaultsync.store.indexing import Indexer


class LocalHost:
    """The host for ``vaultsync serve``: an index of its own, kept current by the API's own writes.

    Edits made meanwhile by Obsidian are picked up by :meth:`refresh` (a warm, stat-only scan),
    which :class:`vaultsync.api.server.ApiServer` runs every ``refresh_s`` seconds. For live tracking
    of every save, serve the API from ``vaultsync watch`` instead.
    """

    mode = "serve"

    def __init__(self, vault: Vault, settings: Settings, indexer: Indexer, daemon_status: Any = None) -> None:
        self.vault = vault
        self.settings = settings
        self.indexer = indexer
        self._lock = threading.RLock()
        self._daemon_status = daemon_status

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[Indexer]:
        with self._lock:
            yield self.indexer

    def remember_writes(self, written: Mapping[str, str]) -> None:
        pass  # nothing here watches the files

    def refresh(self) -> None:
        """Catch up with edits made outside the API (stat only; re-reads changed files)."""
        with self._lock:
            walk = self.vault.walk()
            stored = self.indexer.stored
            touched = [u for u, st in walk.files.items() if u not in stored or stored[u][1] != st]
            touched += [u for u in stored if u not in walk.files]
            if touched:
                self.indexer.refresh(touched)

    def status(self) -> dict[str, Any]:
        return dict(self._daemon_status(self.vault)) if self._daemon_status else {"running": False}

    def sync(self) -> dict[str, Any]:
        gitsync = importlib.import_module("vaultsync.sync.cycle")
        with self._lock:
            report = gitsync.sync_vault(self.vault.root, self.settings.git or GitSettings(), indexer=self.indexer)
        return dict(report.as_dict())
