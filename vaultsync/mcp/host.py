"""How the MCP server shares the vault with its owner: a running daemon, or nobody.

Reads always go to the index on disk (SQLite in WAL mode), which a running daemon keeps live.
Without a daemon, :class:`McpHost` brings the index up to date itself, as the CLI's commands do
(:func:`update_index`, a warm stat-only scan): at start, then in the background when a read comes
more than ``refresh_s`` seconds after the last scan (:meth:`McpHost.touch`). No read waits for a
scan, and an idle server scans nothing.

Writes take the daemon's lock, never a second one. Without a daemon, :meth:`McpHost.exclusive`
holds :func:`vaultsync.daemon.loop.vault_lock` (the daemon's own flock) for the write, so no
daemon starts and runs a batch meanwhile. Beside a running daemon a write is sent to the daemon's
HTTP API (:class:`DaemonApi`, ``vaultsync watch --api``), which runs it under the daemon's batch
lock; a daemon serving no API gets a refusal that says how to start it with one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

from vaultsync.api.api_file import API_FILE
from vaultsync.api.operations import NotAvailableError
from vaultsync.config import Settings
from vaultsync.daemon.state import DaemonRunningError, is_locked, read_status, vault_lock
from vaultsync.errors import VaultsyncError
from vaultsync.fs.vault import Vault
from vaultsync.store.index import Index
from vaultsync.store.indexing import Indexer, open_index, update_index

log = logging.getLogger(__name__)

DAEMON_TIMEOUT_S = 300.0  # a rename of a big folder through the daemon's API may take a while


class DaemonOwnsVaultError(VaultsyncError):
    """Another process holds the vault's lock and serves no API, so a write cannot take the lock."""

    def __init__(self, pid: int) -> None:
        super().__init__(
            f"another vaultsync process (pid {pid}) holds this vault's lock and serves no API: "
            "a daemon (vaultsync watch) without its API, or another server's write in progress",
            hint="restart the daemon as `vaultsync watch --api` (or set [api] enabled-in-watch = true), "
            "or stop it; a write in progress: try again",
        )


class McpHost:
    """The :class:`vaultsync.api.operations.Host` of the MCP server: the daemon's lock for writes.

    :meth:`exclusive` is for writes (it refuses beside a running daemon: see :class:`DaemonApi`);
    :meth:`snapshot` gives an indexer to compute with but never write through (a normalize diff).
    """

    mode = "mcp"

    def __init__(self, vault: Vault, settings: Settings, refresh_s: float = 5.0) -> None:
        self.vault = vault
        self.settings = settings
        self.refresh_s = refresh_s
        self._lock = threading.Lock()  # one scan or write of this process at a time
        self._scan_state = threading.Lock()
        self._scanning = False
        self._last_scan = 0.0

    # -- the index -----------------------------------------------------------------------------

    def daemon_pid(self) -> int | None:
        """The pid of the daemon watching the vault, or None."""
        return is_locked(self.vault)

    def catch_up(self) -> None:
        """Bring the index up to date unless a daemon keeps it (then it is live already)."""
        if self.daemon_pid() is not None:
            return
        with self._lock:
            index, report = update_index(self.vault)
            index.close()
        if report.added or report.modified or report.deleted:
            log.info("index caught up: %d added, %d modified, %d deleted", report.added, report.modified, report.deleted)

    def start(self) -> McpHost:
        """Catch up now (the server answers from a current index from its first call)."""
        self.catch_up()
        self._last_scan = time.monotonic()
        return self

    def touch(self) -> None:
        """A read is coming: scan in the background if the last scan is older than ``refresh_s``."""
        if self.refresh_s <= 0:
            return
        with self._scan_state:
            if self._scanning or time.monotonic() - self._last_scan < self.refresh_s:
                return
            self._scanning = True
        threading.Thread(target=self._scan, name="vaultsync-mcp-scan", daemon=True).start()

    def _scan(self) -> None:
        try:
            self.catch_up()
        except Exception as exc:  # noqa: BLE001 - a failed scan must not end the server
            log.warning("index catch-up failed: %s", exc)
        finally:
            with self._scan_state:
                self._scanning = False
                self._last_scan = time.monotonic()

    @contextlib.contextmanager
    def _indexer(self, index: Index | None) -> Iterator[Indexer]:
        if index is None:
            raise VaultsyncError("the vault has no index yet", hint="run `vaultsync scan`, or wait for the daemon")
        try:
            yield Indexer(self.vault, index)
        finally:
            index.close()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Indexer]:
        """An indexer over the current index, to compute with (a diff); nothing may write through it."""
        if self.daemon_pid() is not None:
            with self._indexer(open_index(self.vault)) as indexer:
                yield indexer
            return
        with self._lock, self._indexer(update_index(self.vault)[0]) as indexer:
            yield indexer

    # -- the Host protocol (for writes) ----------------------------------------------------------

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[Indexer]:
        """Hold the daemon's lock (no daemon can start meanwhile) and give a current indexer."""
        with self._lock, contextlib.ExitStack() as stack:
            pid = self.daemon_pid()
            if pid is not None:
                raise DaemonOwnsVaultError(pid)
            try:
                stack.enter_context(vault_lock(self.vault))
            except DaemonRunningError as exc:  # a daemon started between the check and the lock
                raise DaemonOwnsVaultError(exc.pid or -1) from None
            with self._indexer(update_index(self.vault)[0]) as indexer:
                yield indexer

    def remember_writes(self, written: Mapping[str, str]) -> None:
        pass  # no watcher in this process: a daemon started later sees the files as they are

    def status(self) -> dict[str, Any]:
        return read_status(self.vault)

    def sync(self) -> dict[str, Any]:
        raise NotAvailableError("the MCP server does not sync", hint="run `vaultsync sync`")


class SnapshotHost:
    """The same host for reads that need an indexer (normalize's diff): no lock, no write."""

    def __init__(self, host: McpHost) -> None:
        self.host = host
        self.vault = host.vault
        self.settings = host.settings
        self.mode = host.mode

    def exclusive(self) -> contextlib.AbstractContextManager[Indexer]:
        return self.host.snapshot()

    def remember_writes(self, written: Mapping[str, str]) -> None:
        raise AssertionError("a snapshot never writes")

    def status(self) -> dict[str, Any]:
        return self.host.status()

    def sync(self) -> dict[str, Any]:
        return self.host.sync()


class DaemonApi:
    """A running daemon's HTTP API (``.vaultsync/api.json``), through which writes take its lock."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy

    @classmethod
    def of(cls, vault: Vault, pid: int) -> DaemonApi:
        """The API of the daemon ``pid``, or :class:`DaemonOwnsVaultError` when it serves none."""
        try:
            data = json.loads((vault.state_dir / API_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise DaemonOwnsVaultError(pid) from None
        url, token = data.get("url"), data.get("token")
        if data.get("pid") != pid or not isinstance(url, str) or not isinstance(token, str):
            raise DaemonOwnsVaultError(pid)  # api.json of another (or an earlier) process
        if not url.startswith("http://127.0.0.1:"):
            raise DaemonOwnsVaultError(pid)
        return cls(url, token)

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a JSON body; the daemon's answer, or its error as a :class:`VaultsyncError`."""
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=DAEMON_TIMEOUT_S) as response:
                answer: dict[str, Any] = json.load(response)
                return answer
        except urllib.error.HTTPError as exc:
            try:
                error = json.load(exc)
            except ValueError:
                error = {}
            raise VaultsyncError(str(error.get("message") or f"the daemon answered {exc.code}"), hint=error.get("hint")) from None
        except OSError as exc:
            raise VaultsyncError(f"the daemon's API did not answer: {exc}", hint="see `vaultsync status`") from None
