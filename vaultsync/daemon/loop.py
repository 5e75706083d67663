"""The sync daemon: watch the vault, normalize saved notes, follow moves, keep the index live.

One loop: take a debounced batch from the watcher, follow the moves in it (rewriting links as
Obsidian does), normalize the notes that were saved, refresh the index for every path touched.
Errors in a batch are logged and the loop goes on. A lock keeps one daemon per vault (the lock,
status and log files are :mod:`vaultsync.daemon.state`'s); SIGTERM and SIGINT finish the batch in
hand and exit 0. Start-up and a periodic light rescan reconcile the index with the disk
(:mod:`vaultsync.daemon.reconcile`: a rename while the daemon was off is recognised by its inode).
``watch --api`` serves the API through :class:`vaultsync.daemon.host.DaemonHost`. With a
``[git]`` section, the same loop runs a sync cycle after a quiet period and on an interval; no
batch is processed during a cycle, and the files a pull changed are indexed, not normalized.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from vaultsync.config import Settings
from vaultsync.daemon.host import DaemonHost
from vaultsync.daemon.reconcile import compare_with_index
from vaultsync.daemon.state import vault_lock, write_status
from vaultsync.daemon.watch import Batch, ChangeQueue, VaultWatcher, is_ignored
from vaultsync.errors import NoteReadError, OutsideVaultError, VaultsyncError
from vaultsync.fs.vault import Vault, is_note
from vaultsync.rewrite.move_files import relink_after_moves, text_hash
from vaultsync.rewrite.normalize_files import normalize_note
from vaultsync.store.index import Index
from vaultsync.store.indexing import Indexer, open_index, update_index
from vaultsync.sync.cycle import GitRepo, SyncReport, recover, sync_vault
from vaultsync.text.normalize import NormalizeContext, forgiving_index

log = logging.getLogger(__name__)

_MAX_ERRORS = 20
_SYSCTL_HINT = "raise it with: sudo sysctl fs.inotify.max_user_watches=524288 (and max_user_instances)"


@dataclass(slots=True)
class BatchReport:
    """What one batch (or reconciliation) did, for the log, the status file and tests."""

    changes: int = 0
    moved: int = 0
    normalized: int = 0
    links_updated: int = 0
    echoes: int = 0
    reconciled: bool = False
    seconds: float = 0.0
    finished_at: float = 0.0


@dataclass(slots=True)
class Hooks:
    """Points where tests (or embedders) can act between the daemon's steps."""

    before_write: Callable[[str], None] | None = None
    after_batch: Callable[[BatchReport], None] | None = None


class Daemon:
    """Keeps one vault consistent while it is edited."""

    def __init__(self, vault: Vault, settings: Settings, hooks: Hooks | None = None) -> None:
        self.vault = vault
        self.settings = settings
        self.hooks = hooks or Hooks()
        self.queue = ChangeQueue(settings.watch.quiet_ms, settings.watch.max_wait_ms)
        self.stop_event = threading.Event()
        self.started = time.time()
        self.errors: list[str] = []
        self.last_batch: BatchReport | None = None
        self.batches = 0
        self._written: dict[str, str] = {}  # uri -> hash of the text we wrote (echo detection)
        self._forgiving: dict[str, list[str]] | None = None
        self.index: Index | None = None
        self.indexer: Indexer | None = None
        self.state = "starting"
        self.pause = threading.Lock()  # held by a batch or a sync cycle: never both at once
        self.last_sync: SyncReport | None = None
        self._changed_at: float | None = None  # monotonic time of the last local change not yet synced
        self._next_pull = 0.0  # sync once soon after start

    # -- lifecycle ---------------------------------------------------------------------------------

    def run(self) -> int:
        """Run until stopped; returns the exit code."""
        with vault_lock(self.vault):
            self._install_signals()
            self.index = open_index(self.vault)
            if self.index is None:
                log.info("no index yet: building it (existing notes are not normalized; run `vaultsync normalize`)")
                self.index, report = update_index(self.vault)
                log.info("indexed %d notes in %.1f s", report.counts.get("notes", 0), report.seconds)
            self.indexer = Indexer(self.vault, self.index)
            self.state = "reconciling"
            self._write_status()
            if self.settings.git is not None:
                self._guarded(lambda: recover(GitRepo(self.vault.root)))
            self.reconcile("start-up")
            watcher = VaultWatcher(self.vault.root, self.queue)
            rescan_s = self.settings.watch.rescan_s
            try:
                watcher.start()
            except OSError as exc:
                log.error("cannot watch %s (%s); %s. Falling back to a rescan every 10 s.", self.vault.root, exc, _SYSCTL_HINT)
                self._error(f"watcher: {exc}")
                rescan_s = min(rescan_s, 10)
            self.state = "watching"
            self._write_status()
            log.info("watching %s (pid %d)", self.vault.root, os.getpid())
            api = self._start_api() if self.settings.api.enabled_in_watch else None
            try:
                self._loop(rescan_s, watcher)
            finally:
                if api is not None:
                    api.stop()
                watcher.stop()
                self.state = "stopped"
                self._write_status()
                self.index.close()
        log.info("stopped")
        return 0

    def stop(self) -> None:
        self.stop_event.set()

    def _start_api(self) -> Any:
        """Serve the plugin API from this process (``[api] enabled-in-watch`` or ``watch --api``)."""
        from vaultsync.api.server import ApiServer  # the server sits above the daemon's own needs

        try:
            return ApiServer(DaemonHost(self), port=self.settings.api.port).start()
        except OSError as exc:  # a taken port must not stop the daemon (STYLE 3.5.8)
            log.error("cannot serve the API on port %d: %s", self.settings.api.port, exc)
            self._error(f"api: {exc}")
            return None

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop())

    def _loop(self, rescan_s: float, watcher: VaultWatcher) -> None:
        next_rescan = time.monotonic() + rescan_s
        while not self.stop_event.is_set():
            wait = max(0.0, min(next_rescan - time.monotonic(), self._sync_due_in(), 5.0))
            batch = self.queue.take(self.stop_event, wait)
            if batch is not None and len(batch):
                self.state = "processing"  # so that `vaultsync status` shows a batch under way
                self._write_status()
                self._guarded(functools.partial(self._take, batch))
                self.state = "watching"
            if self._sync_due_in() <= 0 and not self.stop_event.is_set():
                self._guarded(self.sync)
            if time.monotonic() >= next_rescan and not self.stop_event.is_set():
                if rescan_s and not watcher.alive:
                    log.error("the file watcher stopped; relying on rescans")
                self._guarded(lambda: self.reconcile("periodic rescan"))
                next_rescan = time.monotonic() + rescan_s
            self._write_status()

    def _guarded(self, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - the daemon keeps going (STYLE 3.5.8)
            log.exception("batch failed: %s", exc)
            self._error(f"batch failed: {type(exc).__name__}: {exc}")

    def _error(self, message: str) -> None:
        self.errors = [*self.errors, f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}"][-_MAX_ERRORS:]

    # -- batches -----------------------------------------------------------------------------------

    def _take(self, batch: Batch) -> None:
        with self.pause:
            report = self.process(batch)
        if report.changes > report.echoes:
            self._changed_at = time.monotonic()

    def process(self, batch: Batch) -> BatchReport:
        """Apply one batch: follow moves, normalize saved notes, refresh the index."""
        assert self.indexer is not None
        started = time.perf_counter()
        stored = self.indexer.stored
        if len(batch) > self.settings.watch.storm_threshold:
            # the events of our own writes (already indexed, same stat) are not work to do
            pending = sum(1 for u in batch.dirty if u not in stored or self.vault.stat(u) != stored[u][1])
            pending += len(batch.moves) + len(batch.folder_moves)
            if pending > self.settings.watch.storm_threshold:
                log.info("large batch (%d changes): reconciling once instead", len(batch))
                return self.reconcile("large batch", changes=len(batch))
        report = BatchReport(changes=len(batch))
        moves = self._real_moves(batch, stored)
        dirty = self._expand(batch.dirty, stored)
        for old, new in batch.moves.items():
            if old not in moves:
                dirty.update((old, new))
        if moves:
            self._relink(moves, report)
        self._settle(sorted(dirty), report)
        return self._finish(report, started)

    def _finish(self, report: BatchReport, started: float) -> BatchReport:
        report.seconds = time.perf_counter() - started
        report.finished_at = time.time()
        self.last_batch = report
        self.batches += 1
        log.info(
            "%s%d changes: %d moved, %d normalized, %d links updated, %d echoes, %.0f ms",
            "reconcile: " if report.reconciled else "",
            report.changes, report.moved, report.normalized, report.links_updated, report.echoes, report.seconds * 1000,
        )  # fmt: skip
        if self.hooks.after_batch:
            self.hooks.after_batch(report)
        return report

    def _real_moves(self, batch: Batch, stored: dict[str, Any]) -> dict[str, str]:
        moves: dict[str, str] = {}
        for old_dir, new_dir in batch.folder_moves.items():
            prefix = old_dir.rstrip("/") + "/"
            for uri in stored:
                if uri.startswith(prefix):
                    moves[uri] = new_dir.rstrip("/") + "/" + uri[len(prefix) :]
        moves.update(batch.moves)
        return {
            old: new
            for old, new in moves.items()
            if old in stored and old != new and self.vault.stat(new) is not None and self.vault.stat(old) is None
        }

    def _relink(self, moves: dict[str, str], report: BatchReport) -> None:
        assert self.indexer is not None
        moved = relink_after_moves(self.vault, self.indexer, moves)
        report.moved, report.links_updated = len(moves), moved.links_updated
        self._written.update(moved.written)  # their events are our echoes, not the user's saves
        self._forgiving = None
        for d in moved.diagnostics:
            log.warning("%r: %s", d.uri, d.message)

    def _expand(self, marks: set[str], stored: dict[str, Any]) -> set[str]:
        """Folder marks (``x/``) become the files under them, on disk and in the index."""
        out: set[str] = set()
        for mark in marks:
            if not mark.endswith("/"):
                out.add(mark)
                continue
            out.update(u for u in stored if u.startswith(mark))
            out.update(u for u in self.vault.files_under(mark) if not is_ignored(u))
        return out

    def _settle(self, uris: list[str], report: BatchReport) -> None:
        """Normalize the saved notes among ``uris``, then refresh the index for all of them."""
        assert self.indexer is not None
        if self.settings.watch.normalize:
            for uri in uris:
                # notes hidden by userIgnoreFilters (templates) are indexed, never rewritten
                if is_note(uri) and not self.vault.is_excluded(uri) and self.vault.stat(uri) is not None:
                    try:
                        outcome = self._normalize(uri)
                    except Exception as exc:  # noqa: BLE001 - one bad note never fails the batch
                        log.exception("%r: not normalized: %s", uri, exc)
                        self._error(f"{uri}: not normalized: {type(exc).__name__}: {exc}")
                        outcome = "failed"
                    report.normalized += outcome == "written"
                    report.echoes += outcome == "echo"
        refreshed = self.indexer.refresh(uris)
        if refreshed.added or refreshed.deleted:
            self._forgiving = None

    def _normalize(self, uri: str) -> str:
        """One saved note through the same per-note normalize as the CLI; its outcome's name."""
        assert self.indexer is not None
        if self._forgiving is None:
            self._forgiving = forgiving_index(self.indexer.stored)
        ctx = NormalizeContext(uri, self.indexer.table, self._forgiving, self.settings.normalize, self.vault.app.new_link_format)
        outcome = normalize_note(self.vault, ctx, skip=lambda text: self._is_echo(uri, text), before_write=self.hooks.before_write)
        codes = {d.code for d in outcome.diagnostics}
        if outcome.skipped:
            return "echo"  # the event of our own write
        if codes & {"unreadable", "symlink-outside"}:
            for d in outcome.diagnostics:
                log.warning("%r: %s", uri, d.message)
            return "unreadable"
        if not outcome.changed:
            return "clean"
        if "write-failed" in codes:
            message = next(d.message for d in outcome.diagnostics if d.code == "write-failed")
            log.warning("%r: %s", uri, message)
            self._error(f"{uri}: {message}")
            return "failed"
        if not outcome.written or outcome.text is None:
            log.info("%r changed while being normalized; the user's text wins", uri)
            return "raced"
        self._written[uri] = text_hash(outcome.text)
        log.debug("%r normalized", uri)
        return "written"

    def _is_echo(self, uri: str, text: str) -> bool:
        if self._written.get(uri) == text_hash(text):
            del self._written[uri]
            return True
        return False

    # -- git sync ----------------------------------------------------------------------------------

    def _sync_due_in(self) -> float:
        """Seconds until the next sync cycle: a quiet period after a local change, or the pull interval."""
        git = self.settings.git
        if git is None:
            return float("inf")
        due = self._next_pull
        if self._changed_at is not None:
            due = min(due, self._changed_at + git.commit_debounce_s)
        return due - time.monotonic()

    def sync(self) -> SyncReport | None:
        """Run one sync cycle with normalizing paused; pulled files are indexed and their file
        events become echoes (another machine already normalized them: no storm of rewrites)."""
        assert self.indexer is not None and self.settings.git is not None
        git = self.settings.git
        self._changed_at = None
        self._next_pull = time.monotonic() + git.pull_interval_s
        with self.pause:
            try:
                report = sync_vault(self.vault.root, git, recover_first=False)
            except VaultsyncError as exc:  # logged; the next cycle retries (STYLE 3.5.8)
                log.error("sync failed: %s", exc)
                self._error(f"sync failed: {str(exc).splitlines()[0]}")
                self._next_pull = time.monotonic() + min(git.pull_interval_s, max(60.0, git.commit_debounce_s))
                return None
            changed = [u for u in report.changed if not is_ignored(u)]
            for uri in changed:
                if is_note(uri):
                    with contextlib.suppress(NoteReadError, OutsideVaultError):
                        self._written[uri] = text_hash(self.vault.read_text(uri))
            if changed:
                self.indexer.refresh(changed)
                self._forgiving = None
        if report.blocked:
            self._error(f"push refused: {report.blocked}")
        self.last_sync = report
        log.info("sync: %s committed, %s, %d pulled files, %d conflicts, %s in %.0f ms",
                 sum(report.committed.values()), report.integrated, len(changed), len(report.conflicts),
                 "pushed" if report.pushed else "not pushed", report.seconds * 1000)  # fmt: skip
        return report

    # -- reconciliation ----------------------------------------------------------------------------

    def reconcile(self, why: str, changes: int = 0) -> BatchReport:
        """Compare the disk with the index (stat only) and process every difference."""
        assert self.indexer is not None
        started = time.perf_counter()
        report = BatchReport(changes=changes, reconciled=True)
        walk = self.vault.walk()
        self.vault.remove_stale_temp_files()  # of writes a crash interrupted (ours, the CLI's)
        for d in walk.diagnostics:
            log.warning("%r: %s", d.uri, d.message)
        diff = compare_with_index(walk.files, self.indexer.stored)
        if not diff:
            if why != "periodic rescan":
                log.info("%s: index matches the vault", why)
            return self._finish(report, started) if changes else report
        moves = diff.moves
        log.info("%s: %d changed, %d new, %d gone, %d moved", why, len(diff.changed), len(diff.new), len(diff.gone), len(moves))
        report.changes = changes or len(diff.gone) + len(diff.new) + len(diff.changed)
        if moves:
            self._relink(moves, report)
        rest = [u for u in (*diff.changed, *diff.new, *diff.gone) if u not in moves and u not in moves.values()]
        self._settle(sorted(rest), report)
        return self._finish(report, started)

    # -- housekeeping ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "vault": str(self.vault.root),
            "state": self.state,
            "started": self.started,
            "batches": self.batches,
            "last_batch": asdict(self.last_batch) if self.last_batch else None,
            "queue": len(self.queue),
            "notes": sum(1 for u in self.indexer.stored if is_note(u)) if self.indexer else 0,
            "last_sync": self.last_sync.as_dict() if self.last_sync else None,
            "errors": self.errors,
        }

    def _write_status(self) -> None:
        write_status(self.vault, self.status())
