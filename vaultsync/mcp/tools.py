"""What each MCP tool does, on plain Python values: bounded reads, guarded writes, exports.

:class:`VaultTools` holds the vault's :class:`ApiService` (the HTTP API's operations: the same
path checks, reads, normalize, rename and export jobs) and adds what an assistant needs on top:
every list has an ``offset`` and a ``limit`` (at most :data:`MAX_LIMIT`), a note's text comes in
pages of at most :data:`MAX_PAGE_CHARS` characters, timestamps are read and rendered by
:mod:`vaultsync.text.timestamps`, and no write happens unless the server was started with writes
allowed. The tool schemas and descriptions are in :mod:`vaultsync.mcp.server`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vaultsync.api.operations import ApiService
from vaultsync.api.paths import PathRefusedError, safe_uri
from vaultsync.errors import ConfigError, VaultsyncError
from vaultsync.export.selection import select_notes
from vaultsync.fs.vault import Vault
from vaultsync.mcp.cache import ResultCache
from vaultsync.mcp.host import DaemonApi, McpHost, SnapshotHost
from vaultsync.store.indexing import index_path
from vaultsync.text.timestamps import clock, needs_hours, video_url

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
DEFAULT_PAGE_CHARS = 20_000
MAX_PAGE_CHARS = 100_000
EXPORT_TIMEOUT_S = 1800.0


class WritesOffError(VaultsyncError):
    """A write was asked of a server started read-only."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} writes, and this server is read-only",
            hint="start it with `vaultsync mcp --allow-writes` (or set [mcp] allow-writes = true)",
        )


def page(rows: list[Any], offset: int, limit: int) -> dict[str, Any]:
    """``rows[offset:offset+limit]`` with the total and where the next page starts (None: no more)."""
    if offset < 0:
        raise ConfigError("offset must not be negative")
    if not 1 <= limit <= MAX_LIMIT:
        raise ConfigError(f"limit must be from 1 to {MAX_LIMIT}")
    end = offset + limit
    return {"total": len(rows), "offset": offset, "items": rows[offset:end], "next_offset": end if end < len(rows) else None}


def bounded(data: dict[str, Any], limits: dict[str, int]) -> dict[str, Any]:
    """``data`` with each list (or mapping) named in ``limits`` cut to its limit, and its full
    length beside it as ``<name>_total``: a vault-wide write still answers in a bounded size."""
    out = dict(data)
    for key, limit in limits.items():
        value = out.get(key)
        if isinstance(value, list | dict):
            out[key + "_total"] = len(value)
            out[key] = value[:limit] if isinstance(value, list) else dict(list(value.items())[:limit])
    return out


def output_folder(vault: Vault, raw: str) -> Path | None:
    """The export folder named by ``raw`` (relative: to the vault), created if missing; None when unset.

    A folder inside the vault must be a plain vault path (:func:`safe_uri`: no hidden folder such as
    ``.obsidian`` or ``.vaultsync``, no symlink out)."""
    if not raw.strip():
        return None
    path = Path(raw).expanduser()
    real = (path if path.is_absolute() else vault.root / path).resolve()
    if real == vault.root:
        raise ConfigError(f"[mcp] output {raw!r} is the vault itself", hint="name a folder such as 'exports'")
    if vault.root in real.parents:
        try:
            safe_uri(vault, real.relative_to(vault.root).as_posix())
        except PathRefusedError as exc:
            raise ConfigError(f"[mcp] output {raw!r}: {exc}") from None
    real.mkdir(parents=True, exist_ok=True)
    return real


class VaultTools:
    """The tools' behaviour; each public method is one tool (see :mod:`vaultsync.mcp.server`)."""

    def __init__(self, host: McpHost, *, allow_writes: bool, output: Path | None) -> None:
        self.host = host
        self.vault = host.vault
        self.allow_writes = allow_writes
        self.output = output
        self.reads = ApiService(SnapshotHost(host))
        self.writes = ApiService(host)
        self.cache = ResultCache(index_path(host.vault))

    def close(self) -> None:
        self.reads.close()
        self.writes.close()
        self.cache.close()

    # -- reads ---------------------------------------------------------------------------------

    def read_note(self, path: str, offset: int = 0, length: int = DEFAULT_PAGE_CHARS) -> dict[str, Any]:
        self.host.touch()
        if offset < 0 or not 1 <= length <= MAX_PAGE_CHARS:
            raise ConfigError(f"offset must not be negative and length must be from 1 to {MAX_PAGE_CHARS}")
        with self.reads.pool.reader() as index:
            uri = self.reads.note_uri(index, path)
            info = index.note(uri) or {}
        text = self.vault.read_text(uri)
        end = min(len(text), offset + length)
        stamps = info.get("timestamps", [])
        hours = needs_hours([s["seconds"] for s in stamps], self.host.settings.normalize.timestamp_hours == "always")
        return {
            "note": uri,
            "title": info.get("title"),
            "video_id": info.get("video_id"),
            "frontmatter": info.get("frontmatter"),
            "tags": info.get("tags", [])[:MAX_LIMIT],
            "headings": [
                {"level": h["level"], "text": h["text"], "offset": h["span"][0]} for h in info.get("headings", [])[:MAX_LIMIT]
            ],
            "timestamps": [
                self._timestamp(s, info.get("video_id"), hours) for s in stamps if offset <= s["span"][0] < end
            ][:MAX_LIMIT],
            "length": len(text),
            "offset": offset,
            "text": text[offset:end],
            "next_offset": end if end < len(text) else None,
        }

    @staticmethod
    def _timestamp(stamp: dict[str, Any], note_video: str | None, hours: bool) -> dict[str, Any]:
        seconds = stamp["seconds"]
        video = stamp.get("video_id") or note_video
        return {
            "offset": stamp["span"][0],
            "second": seconds,
            "clock": None if seconds is None else clock(seconds, hours),
            "url": None if seconds is None or not video else video_url(video, seconds),
        }

    def links(self, path: str, offset: int = 0, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
        self.host.touch()
        data = self.reads.links(path)
        return {"note": data["note"], **page(data["links"], offset, limit)}

    def backlinks(self, path: str, offset: int = 0, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
        self.host.touch()
        data = self.reads.backlinks(path)
        return {"note": data["note"], **page(data["backlinks"], offset, limit)}

    def unresolved(self, path: str | None = None, offset: int = 0, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
        self.host.touch()
        data = self.reads.unresolved(path) if path is not None else self.cache.get("unresolved", lambda: self.reads.unresolved(None))
        return {"note": data["note"], **page(data["unresolved"], offset, limit)}

    def list_notes(
        self,
        folders: list[str] | None = None,
        tags: list[str] | None = None,
        where: dict[str, str] | None = None,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        self.host.touch()
        selection = self.reads.selection({"folders": folders or [], "tags": tags or [], "where": where or {}})

        def select() -> list[str]:
            with self.reads.pool.reader() as index:
                return [u for u in select_notes(index, selection) if self.vault.is_inside(u)]

        result = page(self.cache.get(("list_notes", selection), select), offset, limit)
        about = self.cache.get("note-meta", self._note_meta)
        result["items"] = [{"note": u, "title": about.get(u, (None, []))[0], "tags": about.get(u, (None, []))[1]}
                           for u in result["items"]]  # fmt: skip
        return result

    def search(self, query: str, folders: list[str] | None, tags: list[str] | None,
               where: dict[str, str] | None, limit: int) -> dict[str, Any]:  # fmt: skip
        """Full-text search, as ``GET /search`` answers it (the same path checks and selection)."""
        from vaultsync.api.search import search_vault  # noqa: PLC0415

        self.host.touch()
        params = {"q": [query], "limit": [str(limit)], "folder": list(folders or []), "tag": list(tags or []),
                  "where": [f"{k}={v}" for k, v in (where or {}).items()]}  # fmt: skip
        return search_vault(self.reads, params)

    def _note_meta(self) -> dict[str, tuple[str | None, list[str]]]:
        """uri -> (title, tags) of every note."""
        with self.reads.pool.reader() as index:
            tags: dict[str, list[str]] = {}
            for uri, tag in index.tag_rows():
                tags.setdefault(uri, []).append(tag)
            return {uri: (title, tags.get(uri, [])) for uri, title, _, _ in index.note_rows()}

    def read_resource(self, path: str) -> str:
        """A note's text for ``vault://PATH`` (its first page when long: read_note pages on)."""
        data = self.read_note(path, 0, MAX_PAGE_CHARS)
        more, text = data["next_offset"], str(data["text"])
        return text if more is None else text + f"\n\n[truncated at {more:,} of {data['length']:,} characters: read_note pages on]\n"

    def resource_notes(self, limit: int) -> list[tuple[str, str | None]]:
        """(uri, title) of the first ``limit`` notes by path, for the resource list."""
        self.host.touch()
        with self.reads.pool.reader() as index:
            uris = [u for u in index.uris(notes_only=True) if not u.startswith(".")][:limit]
            return [(u, (index.note(u) or {}).get("title")) for u in uris]

    # -- writes --------------------------------------------------------------------------------

    def normalize(self, path: str | None = None, write: bool = False, limit: int = 20) -> dict[str, Any]:
        if write:
            self._check_writes("normalize with write")
            data = self._through_daemon("/normalize", {"path": path, "write": True})
            if data is None:
                data = self.writes.normalize(path, True)
        else:
            data = self.reads.normalize(path, False)
        return bounded(data, {"diffs": max(1, min(limit, MAX_LIMIT)), "changed": MAX_LIMIT, "diagnostics": MAX_LIMIT})

    def rename(self, old: str, new: str) -> dict[str, Any]:
        self._check_writes("rename")
        data = self._through_daemon("/rename", {"from": old, "to": new})
        data = self.writes.rename(old, new) if data is None else data
        return bounded(data, {"moved": MAX_LIMIT, "notes_updated": MAX_LIMIT, "diagnostics": MAX_LIMIT})

    def export(
        self,
        format: str,
        folders: list[str] | None = None,
        tags: list[str] | None = None,
        notes: list[str] | None = None,
        depth: int = 0,
        where: dict[str, str] | None = None,
        title: str | None = None,
    ) -> dict[str, Any]:
        self._check_writes("export")
        if self.output is None:
            raise ConfigError("no export folder is set", hint="start with `vaultsync mcp --output DIR` (or set [mcp] output)")
        selection = {"folders": folders or [], "tags": tags or [], "notes": notes or [], "depth": depth, "where": where or {}}
        job = self.reads.start_export(format, selection, title, {})
        deadline = time.monotonic() + EXPORT_TIMEOUT_S
        while job.state in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.05)
        if job.state != "done" or job.output is None:
            error = job.error or {"message": f"the export is still {job.state}", "hint": None}
            raise VaultsyncError(str(error["message"]), hint=error.get("hint"))
        target = self.output / job.output.name  # a file name of safe characters (no separator)
        shutil.move(str(job.output), target)
        shutil.rmtree(job.output.parent, ignore_errors=True)
        return {"format": job.format, "title": job.title, "file": str(target), "size": target.stat().st_size,
                "notes": job.notes, **job.details}  # fmt: skip

    def _check_writes(self, what: str) -> None:
        if not self.allow_writes:
            raise WritesOffError(what)

    def _through_daemon(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Beside a running daemon, the write goes through its API (its lock); None: no daemon."""
        pid = self.host.daemon_pid()
        if pid is None:
            return None
        return DaemonApi.of(self.vault, pid).post(path, {k: v for k, v in body.items() if v is not None})


ToolFunction = Callable[..., dict[str, Any]]
