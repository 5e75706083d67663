"""The API's view of a running daemon (``vaultsync watch --api``): its write lock, live indexer, status and sync.

:class:`DaemonHost` is the :class:`vaultsync.api.operations.Host` the daemon serves the API through
(``vaultsync serve`` has :class:`vaultsync.api.local_host.LocalHost` instead).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from vaultsync.store.indexing import Indexer
from vaultsync.sync.cycle import sync_vault

if TYPE_CHECKING:
    from vaultsync.daemon.loop import Daemon


class DaemonHost:
    """The API's view of a running daemon: its write lock, live indexer, status and sync."""

    mode = "watch"

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.vault = daemon.vault
        self.settings = daemon.settings

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[Indexer]:
        with self.daemon.pause:  # no batch or sync cycle meanwhile
            assert self.daemon.indexer is not None
            yield self.daemon.indexer

    def remember_writes(self, written: Mapping[str, str]) -> None:
        self.daemon._written.update(written)  # their file events are echoes, not the user's saves

    def status(self) -> dict[str, Any]:
        return {**self.daemon.status(), "running": True}

    def sync(self) -> dict[str, Any]:
        if self.daemon.settings.git is None:
            from vaultsync.config import GitSettings

            with self.exclusive() as indexer:
                return sync_vault(self.vault.root, GitSettings(), indexer=indexer).as_dict()
        report = self.daemon.sync()
        if report is None:
            from vaultsync.errors import GitError

            last = self.daemon.errors[-1] if self.daemon.errors else "sync failed"
            raise GitError(last, hint="see `vaultsync status` and the daemon log")
        return report.as_dict()
