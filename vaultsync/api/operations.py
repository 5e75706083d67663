"""The operations behind the local HTTP API, free of HTTP: reads, writes and export jobs on plain values.

:class:`ApiService` is built from a :class:`Host`, the process that owns the vault's live index:
:class:`vaultsync.api.local_host.LocalHost` for ``vaultsync serve``,
:class:`vaultsync.daemon.host.DaemonHost` inside ``vaultsync watch``. Reads go through a small pool
of SQLite connections of their own (:mod:`vaultsync.api.read_pool`); every write (normalize,
rename, sync) runs inside ``host.exclusive()``, so it never overlaps a daemon batch. Every path a
request names goes through :mod:`vaultsync.api.paths`; export jobs are :mod:`vaultsync.api.jobs`
records. Errors are :class:`VaultsyncError` subclasses; :mod:`vaultsync.api.server` maps them to
HTTP statuses.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from vaultsync import __version__
from vaultsync.api.jobs import EXPORTS_DIR, MAX_JOBS_KEPT, Job, JobNotFoundError, JobNotReadyError, file_stem
from vaultsync.api.paths import PathRefusedError, checked, safe_uri
from vaultsync.api.read_pool import ReadPool
from vaultsync.config import Settings
from vaultsync.errors import ConfigError, NoteNotFoundError, OutsideVaultError, VaultsyncError, error_code
from vaultsync.export.registry import ExportRequest, available_exporters, load_exporter
from vaultsync.export.selection import Selection, select_notes
from vaultsync.fs.vault import Vault, is_note
from vaultsync.rewrite.move_files import move_files, plan_moves
from vaultsync.rewrite.normalize_files import WriteMode, normalize_note, normalize_vault
from vaultsync.store.index import Index
from vaultsync.store.indexing import Indexer, index_path
from vaultsync.text.normalize import NormalizeContext, forgiving_index

log = logging.getLogger(__name__)


class NotAvailableError(VaultsyncError):
    """A feature this installation does not have (HTTP 501)."""


class Host(Protocol):
    """What the API needs from the process that owns the vault's live index."""

    vault: Vault
    settings: Settings
    mode: str  # "serve" or "watch"

    def exclusive(self) -> AbstractContextManager[Indexer]:
        """Hold the vault's write lock (no daemon batch meanwhile) and give the live indexer."""
        ...

    def remember_writes(self, written: Mapping[str, str]) -> None:
        """Notes the API wrote (uri -> text hash): their file events are echoes, not saves."""
        ...

    def status(self) -> dict[str, Any]:
        """The host's own status (the daemon's, or that no daemon runs in this process)."""
        ...

    def sync(self) -> dict[str, Any]:
        """One git sync cycle now; its report."""
        ...


def _gitsync() -> Any:
    """The gitsync module, or None when this installation has none."""
    try:
        return importlib.import_module("vaultsync.sync.cycle")
    except ImportError:
        return None


class ApiService:
    """Every API operation, on plain Python values (the HTTP layer only parses and renders)."""

    def __init__(self, host: Host, *, job_workers: int = 2) -> None:
        self.host = host
        self.vault = host.vault
        self.pool = ReadPool(index_path(host.vault))
        self.jobs: dict[str, Job] = {}
        self._jobs_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=job_workers, thread_name_prefix="vaultsync-job")
        self._ids = itertools.count(1)
        self.started = time.time()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.pool.close()

    # -- reads -------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        with self.pool.reader() as index:
            counts = index.read_counts()
        with self._jobs_lock:
            running = sum(j.state in ("queued", "running") for j in self.jobs.values())
        return {
            "version": __version__,
            "vault": str(self.vault.root),
            "name": self.vault.root.name,
            "mode": self.host.mode,
            "uptime_s": round(time.time() - self.started, 1),
            "counts": counts,
            "daemon": self.host.status(),
            "exporters": sorted(available_exporters()),
            "jobs": {"running": running, "kept": len(self.jobs)},
            "sync_available": _gitsync() is not None,
        }

    def note_uri(self, index: Index, raw: object) -> str:
        """``raw`` as the uri of an indexed note (``.md`` optional), through :func:`safe_uri`."""
        return self._note(index, raw)

    def _note(self, index: Index, raw: object) -> str:
        uri = safe_uri(self.vault, raw)
        for candidate in (uri, uri + ".md"):
            if index.is_note(candidate):
                return checked(self.vault, candidate, raw)
        raise NoteNotFoundError(uri)

    def links(self, path: object) -> dict[str, Any]:
        with self.pool.reader() as index:
            uri = self._note(index, path)
            return {"note": uri, "links": index.links_from(uri)}

    def backlinks(self, path: object) -> dict[str, Any]:
        with self.pool.reader() as index:
            uri = self._note(index, path)
            return {"note": uri, "backlinks": index.backlinks(uri)}

    def unresolved(self, path: object | None = None) -> dict[str, Any]:
        with self.pool.reader() as index:
            if path is None:
                return {"note": None, "unresolved": index.unresolved()}
            uri = self._note(index, path)
            rows = [r for r in index.links_from(uri) if r["dest"] is None]
            return {"note": uri, "unresolved": rows}

    # -- writes ------------------------------------------------------------------------------------

    def normalize(self, path: object | None, write: bool) -> dict[str, Any]:
        """Normalize one note (or the whole vault): return the diffs, and write them when asked."""
        mode = WriteMode.WRITE if write else WriteMode.DIFF
        settings = self.host.settings.normalize
        with self.host.exclusive() as indexer:
            if path is None:
                # notes symlinked from outside the vault are left alone; one process, because forking
                # worker processes from a threaded server is not safe
                inside = [u for u in indexer.stored if is_note(u) and self.vault.is_inside(u)]
                report = normalize_vault(self.vault, settings, WriteMode.DIFF, uris=inside, jobs=1)
                diffs = report.diffs
                if write and report.changed:
                    report = normalize_vault(self.vault, settings, mode, uris=report.changed, jobs=1)
                    indexer.refresh(report.changed)
                return {
                    "note": None,
                    "written": write,
                    "changed": report.changed,
                    "diffs": diffs,
                    "counts": {k: v for k, v in report.as_dict().items() if isinstance(v, int)},
                    "diagnostics": [_diag(d) for d in report.diagnostics],
                }
            uri = safe_uri(self.vault, path)
            if uri not in indexer.stored and uri + ".md" in indexer.stored:
                uri += ".md"
            if uri not in indexer.stored or not is_note(uri):
                raise NoteNotFoundError(uri)
            checked(self.vault, uri, path)
            ctx = NormalizeContext(
                uri, indexer.table, forgiving_index(indexer.stored), settings, self.vault.app.new_link_format
            )
            preview = normalize_note(self.vault, ctx, WriteMode.DIFF)
            outcome = normalize_note(self.vault, ctx, WriteMode.WRITE) if write and preview.changed else preview
            if write and outcome.written:
                indexer.refresh([uri])
            return {
                "note": uri,
                "written": bool(write and outcome.written),
                "changed": [uri] if preview.changed else [],
                "diffs": [preview.diff] if preview.diff else [],
                "counts": dict(preview.counts),
                "diagnostics": [_diag(d) for d in outcome.diagnostics],
            }

    def rename(self, old: object, new: object) -> dict[str, Any]:
        """Move a note or folder and update every link to it (``vaultsync mv``)."""
        src = safe_uri(self.vault, old)
        dst = safe_uri(self.vault, new)
        with self.host.exclusive() as indexer:
            if not self.vault.exists(src) and not self.vault.exists(src + ".md"):
                raise NoteNotFoundError(src)
            try:
                moves = plan_moves(self.vault, indexer.index, src, dst)
            except OutsideVaultError as exc:
                raise PathRefusedError(exc.uri, exc.reason) from None
            for target in moves.values():
                safe_uri(self.vault, target)  # a folder move must land inside the vault too
            report = move_files(self.vault, indexer, moves, may_write=self.vault.is_inside)
            self.host.remember_writes(report.written)
        return {**report.as_dict(), "diagnostics": [_diag(d) for d in report.diagnostics]}

    def sync(self) -> dict[str, Any]:
        if _gitsync() is None:
            raise NotAvailableError(
                "git sync is not available in this installation", hint="update vaultsync, or sync with git yourself"
            )
        return self.host.sync()

    # -- export jobs -------------------------------------------------------------------------------

    def start_export(self, fmt: object, selection: Mapping[str, Any], title: object, options: Mapping[str, str]) -> Job:
        if not isinstance(fmt, str) or fmt not in available_exporters():
            known = ", ".join(sorted(available_exporters()))
            raise ConfigError(f"no exporter named {fmt!r}", hint=f"installed exporters: {known}")
        sel = self._selection(selection)
        with self.pool.reader() as index:
            uris = [u for u in select_notes(index, sel) if self.vault.is_inside(u)]  # no content from outside
        if not uris:
            raise ConfigError("the selection matches no note", hint="check the folders, tags and notes you sent")
        default = (sel.folders[0] if sel.folders else None) or (Path(uris[0]).stem if sel.notes else self.vault.root.name)
        name = title if isinstance(title, str) and title.strip() else default
        job = Job(id=f"{next(self._ids)}-{secrets.token_hex(4)}", format=fmt, title=name.strip() or "export", total=len(uris))
        with self._jobs_lock:
            self.jobs[job.id] = job
            for old in sorted(self.jobs.values(), key=lambda j: j.created)[:-MAX_JOBS_KEPT]:
                if old.state in ("done", "failed"):
                    del self.jobs[old.id]
        self._executor.submit(self._run_export, job, tuple(uris), dict(options))
        return job

    def selection(self, raw: Mapping[str, Any]) -> Selection:
        """A request's selection: every path checked (:func:`safe_uri`), every bound enforced."""
        return self._selection(raw)

    def _selection(self, raw: Mapping[str, Any]) -> Selection:
        def strings(key: str) -> list[str]:
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"selection.{key} must be a list of strings")
            return value

        folders = [safe_uri(self.vault, f.strip("/")) for f in strings("folders")]
        depth = raw.get("depth", 0)
        if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= 10:
            raise ConfigError("selection.depth must be an integer from 0 to 10")
        where = raw.get("where", {})
        if not isinstance(where, dict) or not all(isinstance(v, str) for v in where.values()):
            raise ConfigError("selection.where must map frontmatter keys to strings")
        notes = []
        with self.pool.reader() as index:
            for n in strings("notes"):
                notes.append(self._note(index, n))
        return Selection.parse(folders, strings("tags"), notes, depth, [f"{k}={v}" for k, v in where.items()])

    def _run_export(self, job: Job, uris: tuple[str, ...], options: dict[str, str]) -> None:
        job.state = "running"
        try:
            exporter = load_exporter(job.format)
            out_dir = self.vault.state_dir / EXPORTS_DIR / job.id
            out_dir.mkdir(parents=True, exist_ok=True)
            output = out_dir / (file_stem(job.title) + exporter.suffix)

            def progress(done: int, total: int) -> None:
                job.done, job.total = done, total

            with self.pool.reader() as index:
                result = exporter.export(
                    ExportRequest(self.vault, index, uris, output, job.title, options, progress=progress)
                )
            job.output, job.notes, job.done = result.output, result.notes, job.total
            job.details = {k: v for k, v in result.details.items() if isinstance(v, (int, float, str, bool))}
            job.state = "done"
        except VaultsyncError as exc:
            job.error = {"error": error_code(exc), "message": str(exc), "hint": exc.hint}
            job.state = "failed"
        except Exception as exc:
            log.exception("export job %s failed", job.id)
            job.error = {"error": "internal", "message": f"the export failed: {type(exc).__name__}", "hint": None}
            job.state = "failed"
        finally:
            job.finished = time.time()

    def job(self, job_id: str) -> Job:
        with self._jobs_lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(f"no export job {job_id!r}", hint="jobs are kept until the server restarts")
        return job

    def job_result(self, job_id: str) -> Path:
        job = self.job(job_id)
        if job.state != "done" or job.output is None or not job.output.exists():
            raise JobNotReadyError(f"export job {job_id!r} is {job.state}", hint="poll GET /exports/{id} until done")
        return job.output


def _diag(d: Any) -> dict[str, Any]:
    return {"uri": d.uri, "code": d.code, "message": d.message, "severity": d.severity.value}
