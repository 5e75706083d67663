"""The operations behind the local HTTP API, free of HTTP: safe paths, reads, writes, export jobs.

:class:`ApiService` is built from a :class:`Host`, the process that owns the vault's live index:
:class:`LocalHost` for ``vaultsync serve``, the daemon's adapter inside ``vaultsync watch``. Reads
go through a small pool of SQLite connections of their own (WAL lets them run beside the host's
writer); every write (normalize, rename, sync) runs inside ``host.exclusive()``, so it never
overlaps a daemon batch. Errors are :class:`VaultsyncError` subclasses; :mod:`vaultsync.api.server`
maps them to HTTP statuses.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import logging
import queue
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vaultsync import __version__
from vaultsync.config import GitSettings, Settings
from vaultsync.errors import ConfigError, NoteNotFoundError, OutsideVaultError, VaultsyncError
from vaultsync.export.registry import ExportRequest, available_exporters, load_exporter
from vaultsync.export.selection import Selection, select_notes
from vaultsync.fs.vault import Vault, is_note
from vaultsync.rewrite.move_files import move_files, plan_moves
from vaultsync.rewrite.normalize_files import WriteMode, normalize_note, normalize_vault
from vaultsync.store.index import Index
from vaultsync.store.indexing import Indexer, index_path
from vaultsync.text.normalize import NormalizeContext, forgiving_index

log = logging.getLogger(__name__)

EXPORTS_DIR = "exports"
MAX_JOBS_KEPT = 50
_DRIVE = re.compile(r"^[A-Za-z]:")
_ENCODED = re.compile(r"%(2e|2f|5c|00)", re.IGNORECASE)


class PathRefusedError(VaultsyncError):
    """A path in a request is not a plain vault-relative path, or leads out of the vault."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"path {path!r} refused: {reason}", hint="send a vault-relative path such as 'folder/Note.md'")
        self.path = path


class NotAvailableError(VaultsyncError):
    """A feature this installation does not have (HTTP 501)."""


class JobNotFoundError(VaultsyncError):
    """No export job has this id."""


class JobNotReadyError(VaultsyncError):
    """The export job has not finished (or failed), so there is no result yet."""


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


def safe_uri(vault: Vault, raw: object, *, must_exist: bool = False) -> str:
    """``raw`` as a vault uri, or :class:`PathRefusedError` when it is not plainly inside the vault.

    Refused: non-strings, empty paths, NUL, backslashes, absolute paths and drive letters,
    ``.``/``..`` segments, still-encoded dots or slashes (a second round of percent-encoding),
    hidden segments (``.vaultsync``, ``.obsidian``, ``.git`` are not part of the vault), and any
    path whose resolved location (symlinks followed) is outside the vault root.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise PathRefusedError(str(raw), "not a non-empty string")
    text = unicodedata.normalize("NFC", raw)
    if "\x00" in text or "\\" in text:
        raise PathRefusedError(raw, "NUL and backslashes are not allowed")
    if text.startswith(("/", "~")) or _DRIVE.match(text):
        raise PathRefusedError(raw, "absolute paths are not allowed")
    if _ENCODED.search(text):
        raise PathRefusedError(raw, "encoded dots, slashes or NULs are not allowed")
    parts = text.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise PathRefusedError(raw, "empty, '.' and '..' segments are not allowed")
    if any(p.startswith(".") for p in parts):
        raise PathRefusedError(raw, "hidden files and folders are not part of the vault")
    checked(vault, text, raw)
    if must_exist and not vault.path_for(text).exists():
        raise NoteNotFoundError(text)
    return text


def checked(vault: Vault, uri: str, raw: object = None) -> str:
    """``uri`` if its real location is inside the vault (:meth:`Vault.real_path`), else
    :class:`PathRefusedError`. Every path an operation finally uses goes through here: also the
    one it settles on after adding ``.md``."""
    try:
        vault.real_path(uri)
    except OutsideVaultError as exc:
        raise PathRefusedError(str(raw if raw is not None else uri), exc.reason) from None
    return uri


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


@dataclass(slots=True)
class Job:
    """One export running (or run) on the job pool."""

    id: str
    format: str
    title: str
    state: str = "queued"  # queued, running, done, failed
    done: int = 0
    total: int = 0
    created: float = field(default_factory=time.time)
    finished: float | None = None
    notes: int = 0
    output: Path | None = None
    error: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "format": self.format,
            "title": self.title,
            "state": self.state,
            "progress": {"done": self.done, "total": self.total},
            "created": self.created,
            "finished": self.finished,
        }
        if self.state == "done" and self.output is not None:
            data["result"] = {
                "filename": self.output.name,
                "size": self.output.stat().st_size if self.output.exists() else 0,
                "notes": self.notes,
                "url": f"/exports/{self.id}/result",
            }
        if self.error is not None:
            data["error"] = self.error
        return data


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
            if not (self.vault.root / src).exists() and not (self.vault.root / (src + ".md")).exists():
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
            output = out_dir / (_file_stem(job.title) + exporter.suffix)

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


MAX_NAME_BYTES = 200  # an export's file name (from its title, UTF-8): file systems allow 255


def _file_stem(title: str) -> str:
    """A file name for ``title``: safe characters, at most :data:`MAX_NAME_BYTES` bytes (whole characters)."""
    safe = re.sub(r"[^\w .()-]+", "_", title).strip(" .")
    cut = safe.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore").strip(" .")
    return cut or "export"


def _diag(d: Any) -> dict[str, Any]:
    return {"uri": d.uri, "code": d.code, "message": d.message, "severity": d.severity.value}


def error_code(exc: BaseException) -> str:
    """A stable snake_case code for an error class: ``NoteNotFoundError`` -> ``note_not_found``."""
    name = type(exc).__name__.removesuffix("Error") or "error"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


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
        gitsync = _gitsync()
        with self._lock:
            report = gitsync.sync_vault(self.vault.root, self.settings.git or GitSettings(), indexer=self.indexer)
        return dict(report.as_dict())
