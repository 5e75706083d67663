"""Bring the index up to date with the vault: cold scans in parallel, warm scans by stat.

A warm scan re-reads only files whose size, mtime, ctime or inode changed (ctime catches an edit
whose mtime was put back), drops deleted files, and re-resolves the links whose target can change
because a file of that name appeared or went away. A missing, corrupt or older index is rebuilt.
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultsync.errors import NoteReadError, StoreError
from vaultsync.fs.vault import UNSTATED, FileStat, Vault, is_note
from vaultsync.model import Diagnostic
from vaultsync.store import fulltext
from vaultsync.store.index import Index, index_path, open_index
from vaultsync.store.refs import BulkWriter
from vaultsync.store.rows import NoteRows, Resolve, attachment_rows, link_key, note_rows, timestamp_rows, unreadable_rows
from vaultsync.text.names import dirname, file_keys
from vaultsync.text.resolve import NameTable
from vaultsync.workers import Tick, map_chunks, map_shares, post, worker_state

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class ScanReport:
    """What one index update did and what the vault holds now."""

    counts: dict[str, int] = field(default_factory=dict)
    files_read: int = 0
    added: int = 0
    modified: int = 0
    deleted: int = 0
    relinked: int = 0  # links of unchanged notes re-resolved because a name appeared or went away
    rebuilt: bool = False
    seconds: float = 0.0
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts,
            "files_read": self.files_read,
            "added": self.added,
            "modified": self.modified,
            "deleted": self.deleted,
            "relinked": self.relinked,
            "rebuilt": self.rebuilt,
            "warnings": len(self.diagnostics),
            "seconds": round(self.seconds, 4),
        }


def update_index(vault: Vault, *, progress: Progress | None = None, jobs: int | None = None) -> tuple[Index, ScanReport]:
    """Update (or build) the vault's index and return it open, with a report."""
    started = time.perf_counter()
    index = open_index(vault)
    walk = vault.walk(stat_files=index is not None)  # a cold scan's workers stat what they read
    report: ScanReport
    if index is not None:
        try:
            report = _warm(vault, index, walk.files, progress, jobs)
            report.counts = index.counts()
        except sqlite3.DatabaseError as exc:
            log.warning("index %s is damaged (%s); rebuilding it", index.path, exc)
            index.close()
            index = None
    if index is None:
        index, report = _cold(vault, walk.files, progress, jobs)
        report.counts = index.counts()
    report.diagnostics[:0] = walk.diagnostics
    report.diagnostics.extend(_stored_warnings(index))
    report.seconds = time.perf_counter() - started
    return index, report


def _stored_warnings(index: Index) -> list[Diagnostic]:
    return [Diagnostic(uri, code, msg) for uri, code, msg, _ in index.stored_diagnostics()]


def _cold(
    vault: Vault, files: dict[str, FileStat], progress: Progress | None, jobs: int | None
) -> tuple[Index, ScanReport]:
    final = index_path(vault)
    index = Index.create_fresh(final)
    items = sorted(files.items())
    tasks = [(i, u, st) for i, (u, st) in enumerate(items, 1)]  # paths and exclusion: in the workers
    report = ScanReport(rebuilt=True, added=len(tasks))
    ids = {uri: i for i, (uri, _) in enumerate(items, 1)}
    state = _ColdState(vault, LinkResolver(NameTable(files), ids.__getitem__), f"{index.path}.part-")

    def merge(part: str) -> None:  # while the workers parse on: the full text's tokenizing is here
        index.merge_part(Path(part))

    try:
        map_shares(_store_share, tasks, state, jobs=jobs, progress=progress, receive=merge)
    except BaseException:
        index.discard()
        raise
    finally:  # every part, also those of a worker that failed before it could post them
        index.remove_parts()
    report.files_read = index.counts()["notes"]  # one pass over the files rows, each with its note's share
    index.set_meta("ignore_filters", json.dumps(vault.app.user_ignore_filters))
    index.publish(final)
    return index, report


# Notes in one part of a cold scan's share: the parent merges a part (tokenizing its full text)
# while the workers parse the next ones, so the parse and the full-text index overlap.
_PART_NOTES = 1024


@dataclass(frozen=True, slots=True)
class _ColdState:
    vault: Vault
    resolver: LinkResolver
    part_prefix: str  # shares write parts <prefix><pid>-<share>-<n>, which the parent merges


def _store_share(chunks: Iterator[list[tuple[int, str, FileStat]]], tick: Tick, share: int) -> None:
    """Parse one share of a cold scan into part databases of about _PART_NOTES notes each, and
    post each to the parent (see :func:`_cold`) as it is done, rather than send rows back through
    a pipe. The share's backlinks and link keys are gathered to the end, into its last part, so
    that a target has one row per share, not one per part."""
    state: _ColdState = worker_state()
    vault, resolver = state.vault, state.resolver
    writer = None
    # No cyclic garbage collection meanwhile: the rows, memos and groups are acyclic (reference
    # counting frees them), so collections would only walk the ever larger memos and groups again
    # (about a tenth of a share's time). Switched back on at the end.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for n in itertools.count():
            part = Index.create_part(Path(f"{state.part_prefix}{os.getpid()}-{share}-{n}"))
            try:
                with part.transaction():
                    writer = part.bulk_writer(writer)
                    last = _fill_part(chunks, writer, vault, resolver, tick)
                    if last:
                        writer.finish()
            finally:
                part.close()
            post(str(part.path))
            if last:
                return
    finally:
        if collecting:
            gc.enable()


def _fill_part(chunks: Iterator[list[tuple[int, str, FileStat]]], writer: BulkWriter, vault: Vault, resolver: LinkResolver, tick: Tick) -> bool:
    """Put the rows of chunks into ``writer`` until it holds _PART_NOTES notes; True when the
    share's chunks are done."""
    done = 0
    for chunk in chunks:
        writer.put([_parse_file(vault, resolver, i, u, vault.os_path_for(u), st, vault.is_excluded(u)) for i, u, st in chunk])
        tick(len(chunk))
        done += len(chunk)
        if done >= _PART_NOTES:
            return False
    return True


def _warm(
    vault: Vault, index: Index, files: dict[str, FileStat], progress: Progress | None, jobs: int | None
) -> ScanReport:
    stored = index.file_stats()
    gone = [uri for uri in stored if uri not in files]
    new = sorted(uri for uri in files if uri not in stored)
    changed = [uri for uri, st in files.items() if uri in stored and stored[uri][1] != st]
    filters = json.dumps(vault.app.user_ignore_filters)
    filters_changed = index.get_meta("ignore_filters") != filters
    if not (gone or new or changed or filters_changed):
        return ScanReport()
    report, _ = _apply(vault, index, NameTable(files), stored, files, gone, new, changed, progress, jobs)
    if filters_changed:
        with index.transaction():
            index.set_excluded({u for u in files if vault.is_excluded(u)})
            index.set_meta("ignore_filters", filters)
    return report


def _apply(
    vault: Vault,
    index: Index,
    table: NameTable,
    stored: dict[str, tuple[int, FileStat]],
    files: dict[str, FileStat],
    gone: list[str],
    new: list[str],
    changed: list[str],
    progress: Progress | None,
    jobs: int | None,
) -> tuple[ScanReport, dict[str, int]]:
    """Write the rows of changed and new files, drop gone ones, re-resolve affected links.

    ``table`` must already hold the vault's files after the change. Returns the report and the
    ids given to new files.
    """
    report = ScanReport(added=len(new), modified=len(changed), deleted=len(gone))
    next_id = index.next_id()
    new_ids = {u: next_id + k for k, u in enumerate(new)}
    tasks = [(stored[u][0], u, files[u], vault.is_excluded(u)) for u in changed]
    tasks += [(new_ids[u], u, files[u], vault.is_excluded(u)) for u in new]
    resolver = LinkResolver(table, _FileIds(new_ids, stored))
    with index.transaction():
        index.delete_files(stored[u][0] for u in gone)
        for rows in _parse_all(vault, resolver, tasks, progress, jobs):
            report.files_read += rows.is_note
            index.put_files([rows])
        renamed_keys = {k for u in (*gone, *new) for k in file_keys(u)}
        if renamed_keys:
            report.relinked = index.relink(renamed_keys, table.resolve_memo)
    return report, new_ids


class Indexer:
    """Keeps one vault's index current file by file, for a long-running process (the daemon).

    It holds the name table and the stored stats in memory, so a refresh of a few paths costs
    neither a walk of the vault nor a read of the whole index.
    """

    def __init__(self, vault: Vault, index: Index) -> None:
        self.vault = vault
        self.index = index
        self._stored = index.file_stats()
        self.table = NameTable(self._stored)

    @property
    def stored(self) -> dict[str, tuple[int, FileStat]]:
        """uri -> (id, stat) of every indexed file, as of the last refresh."""
        return self._stored

    def refresh(self, uris: list[str]) -> ScanReport:
        """Bring the given files up to date, whether they were created, modified or deleted."""
        started = time.perf_counter()
        current = {u: st for u in dict.fromkeys(uris) if (st := self.vault.stat(u)) is not None}
        stored = self._stored
        gone = [u for u in dict.fromkeys(uris) if u not in current and u in stored]
        new = sorted(u for u in current if u not in stored)
        changed = [u for u, st in current.items() if u in stored and stored[u][1] != st]
        if not (gone or new or changed):
            return ScanReport(seconds=time.perf_counter() - started)
        for u in gone:
            self.table.remove(u)
        for u in new:
            self.table.add(u)
        report, new_ids = _apply(self.vault, self.index, self.table, stored, current, gone, new, changed, None, 1)
        for u in gone:
            del stored[u]
        for u in changed:
            stored[u] = (stored[u][0], current[u])
        for u, file_id in new_ids.items():
            stored[u] = (file_id, current[u])
        report.seconds = time.perf_counter() - started
        return report


# -- parsing, in worker processes when there is much to do ---------------------------------------

class _FileIds:
    """uri -> file id during a warm update: a new file's id, else the stored one (a class, not a
    closure, so that the resolver holding it can be sent to workers that are spawned)."""

    def __init__(self, new: dict[str, int], stored: dict[str, tuple[int, FileStat]]) -> None:
        self.new = new
        self.stored = stored

    def __call__(self, uri: str) -> int:
        return self.new[uri] if uri in self.new else self.stored[uri][0]


class LinkResolver:
    """Link target -> (dest id, candidates, link key) for one update of the index, remembered per
    source folder, or once for all folders where the folder cannot matter. The name table must
    not change while this lives."""

    def __init__(self, table: NameTable, file_id: Callable[[str], int]) -> None:
        self.table = table
        self.file_id = file_id
        self.shared: dict[str, tuple[int | None, int, str]] = {}
        self._memos: dict[str, dict[str, tuple[int | None, int, str]]] = {}

    def memo(self, folder: str) -> dict[str, tuple[int | None, int, str]]:
        """The remembered resolutions of links written in ``folder`` (besides :attr:`shared`)."""
        found = self._memos.get(folder)
        if found is None:
            found = self._memos[folder] = {}
        return found

    def miss(self, target: str, uri: str, folder: str) -> tuple[int | None, int, str]:
        """Resolve a non-empty target neither memo holds, and remember it."""
        dest, candidates = self.table.lookup(target, uri)
        found = None if dest is None else self.file_id(dest), candidates, link_key(target)
        if self.table.same_from_every_folder(target, candidates):
            self.shared[target] = found
        else:
            self.memo(folder)[target] = found
        return found

    def for_note(self, uri: str) -> Resolve:
        """:meth:`resolve` for the links of one note, its memos looked up once."""
        folder = dirname(uri)
        memo, shared, miss = self.memo(folder), self.shared, self.miss

        def resolve(target: str) -> tuple[int | None, int, str]:
            found = memo.get(target) or shared.get(target)  # never "": miss is not asked for it
            if found is None:
                return (self.file_id(uri), 1, "") if target == "" else miss(target, uri, folder)
            return found

        return resolve

    def resolve(self, target: str, uri: str, folder: str) -> tuple[int | None, int, str]:
        if target == "":
            return self.file_id(uri), 1, ""  # [[#Heading]] links to its own note
        found = self.memo(folder).get(target) or self.shared.get(target)
        return found if found is not None else self.miss(target, uri, folder)


def _parse_all(
    vault: Vault,
    resolver: LinkResolver,
    tasks: list[tuple[int, str, FileStat, bool]],
    progress: Progress | None,
    jobs: int | None,
) -> Iterator[NoteRows]:
    paths = [(i, u, vault.os_path_for(u), st, ex) for i, u, st, ex in tasks]
    yield from map_chunks(_parse_chunk, paths, (vault, resolver), jobs=jobs, progress=progress)


def _parse_chunk(chunk: list[tuple[int, str, str, FileStat, bool]]) -> list[NoteRows]:
    vault, resolver = worker_state()
    return [_parse_file(vault, resolver, *item) for item in chunk]


def _parse_file(vault: Vault, resolver: LinkResolver, file_id: int, uri: str, path: str, st: FileStat, excluded: bool) -> NoteRows:
    """A file's rows; a file the walk did not stat (UNSTATED) is stat'ed here, before it is read,
    so that a change made meanwhile shows at the next warm scan."""
    if not is_note(uri):
        if st is UNSTATED:
            st = vault.stat_at(path) or st  # gone: the next walk drops it
        return attachment_rows(file_id, uri, st, excluded)
    try:
        st, text = vault.read_note_at(uri, path, st)
    except FileNotFoundError:
        return unreadable_rows(file_id, uri, st, excluded, "vanished", "vanished while being read")
    except OSError as exc:
        return unreadable_rows(file_id, uri, st, excluded, "unreadable", f"cannot read: {exc.strerror}")
    except NoteReadError as exc:
        return unreadable_rows(file_id, uri, st, excluded, "unreadable", exc.reason)
    return text_rows(resolver, file_id, uri, text, st, excluded)


def text_rows(resolver: LinkResolver, file_id: int, uri: str, text: str, st: FileStat, excluded: bool) -> NoteRows:
    """A note's index rows from its text (see :func:`vaultsync.store.rows.note_rows`)."""
    from vaultsync.text.parse import parse_note  # noqa: PLC0415 - a warm scan with nothing to read needs no parser

    note = parse_note(uri, text)
    rows = note_rows(resolver.for_note(uri), file_id, st, excluded, note)
    # full-text search: the note's passages, from its text and the headings and timestamps stored
    scan = note.scan
    passages = fulltext.passage_rows(text, uri, rows.title, rows.video_id, rows.frontmatter, scan.headings, timestamp_rows(scan.timestamps))
    return rows._replace(passages=passages)


def rebuild_index(vault: Vault, *, progress: Progress | None = None, jobs: int | None = None) -> tuple[Index, ScanReport]:
    """Throw the index away and build it again from the vault."""
    started = time.perf_counter()
    walk = vault.walk(stat_files=False)
    index, report = _cold(vault, walk.files, progress, jobs)
    report.diagnostics[:0] = walk.diagnostics
    report.diagnostics.extend(_stored_warnings(index))
    report.counts = index.counts()
    report.seconds = time.perf_counter() - started
    return index, report


__all__ = ["Indexer", "ScanReport", "StoreError", "index_path", "open_index", "rebuild_index", "update_index"]
