"""Normalize a vault on disk: read each note, apply the pure rules, write changed notes safely.

A note is written only when its text changed, atomically, and only if the file still holds what
was read (a save by the user in between wins; the note is skipped with a diagnostic). Notes are
processed in parallel across cores, like a cold scan.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from vaultsync.config import NormalizeSettings
from vaultsync.errors import NoteReadError, NoteWriteError, OutsideVaultError
from vaultsync.fs.vault import Vault, is_note
from vaultsync.model import Diagnostic, Severity
from vaultsync.text.normalize import COUNTERS, NormalizeContext, forgiving_index, normalize_text
from vaultsync.text.resolve import NameTable
from vaultsync.workers import Tick, map_shares, worker_state

Progress = Callable[[int, int], None]


class WriteMode:
    WRITE = "write"
    CHECK = "check"  # write nothing; report what would change
    DIFF = "diff"  # write nothing; keep the unified diffs


@dataclass(slots=True)
class NormalizeReport:
    files_scanned: int = 0
    files_changed: int = 0
    files_skipped: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys([*COUNTERS.values(), "links_unresolved"], 0))
    changed: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "files_scanned": self.files_scanned,
            "files_changed": self.files_changed,
            "files_skipped": self.files_skipped,
            **self.counts,
            "changed": self.changed,
            "warnings": sum(d.severity is not Severity.INFO for d in self.diagnostics),
            "seconds": round(self.seconds, 4),
        }


@dataclass(frozen=True, slots=True)
class _Outcome:
    uri: str
    changed: bool
    written: bool
    counts: dict[str, int]
    diagnostics: tuple[Diagnostic, ...]
    diff: str | None = None
    text: str | None = None  # the text written (the daemon's echo detection); not sent back by workers
    skipped: bool = False  # left alone because the caller's skip() said so


def normalize_vault(
    vault: Vault,
    settings: NormalizeSettings,
    mode: str = WriteMode.WRITE,
    *,
    uris: list[str] | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> NormalizeReport:
    """Normalize every note of the vault (or just ``uris``) and report what changed."""
    started = time.perf_counter()
    walk = vault.walk(stat_files=False)  # names are all it needs
    if mode == WriteMode.WRITE:
        vault.remove_stale_temp_files()  # left by a run that was killed
    all_uris = list(walk.files)
    base = NormalizeContext("", NameTable(all_uris), forgiving_index(all_uris), settings, vault.app.new_link_format)
    # notes hidden by userIgnoreFilters (templates, archives) are not content: left as they are
    targets = sorted(u for u in (uris if uris is not None else all_uris) if is_note(u) and not vault.is_excluded(u))
    report = NormalizeReport(diagnostics=list(walk.diagnostics))
    state = (vault, base, mode)
    for part, diagnostics in map_shares(_normalize_share, targets, state, jobs=jobs, progress=progress):
        report.files_scanned += part.files_scanned
        report.files_changed += part.files_changed
        report.files_skipped += part.files_skipped
        for key, value in part.counts.items():
            report.counts[key] = report.counts.get(key, 0) + value
        report.changed += part.changed
        report.diffs += part.diffs
        report.diagnostics += [Diagnostic(uri, code, msg, _SEVERITY[sev], span) for uri, code, msg, sev, span in diagnostics]
    report.changed.sort()
    report.diffs.sort()
    report.seconds = time.perf_counter() - started
    return report


_SEVERITY = {s.value: s for s in Severity}
_DiagnosticRow = tuple[str, str, str, str, Any]


def _normalize_share(chunks: Iterator[list[str]], tick: Tick, share: int) -> tuple[NormalizeReport, list[_DiagnosticRow]]:
    """Normalize one worker's share: consecutive runs of notes (see map_shares), so the notes of
    a folder mostly meet the same remembered link outcomes (NormalizeContext.link_outcomes).
    Returns the share's report, its diagnostics apart as plain tuples: a run has tens of
    thousands, and tuples of text come back through a pipe several times faster than records."""
    vault, base, mode = worker_state()
    part = NormalizeReport()
    for uris in chunks:
        for uri in uris:
            try:
                outcome = normalize_note(vault, base.for_note(uri), mode)
                outcome = replace(outcome, text=None) if outcome.text is not None else outcome
            except Exception as exc:  # noqa: BLE001 - one bad note never stops the run
                outcome = _Outcome(uri, False, False, {}, (Diagnostic(uri, "failed", f"not normalized: {type(exc).__name__}: {exc}"),))
            _count(part, outcome, mode)
        tick(len(uris))
    rows = [(d.uri, d.code, d.message, d.severity.value, d.span) for d in part.diagnostics]
    part.diagnostics = []
    return part, rows


_NOT_NORMALIZED = frozenset({"unreadable", "symlink-outside", "failed", "write-failed"})


def _count(report: NormalizeReport, outcome: _Outcome, mode: str) -> None:
    """Add one note's outcome to a report."""
    report.files_scanned += 1
    for key, value in outcome.counts.items():
        report.counts[key] = report.counts.get(key, 0) + value
    report.diagnostics.extend(outcome.diagnostics)
    if any(d.code in _NOT_NORMALIZED for d in outcome.diagnostics):
        report.files_skipped += 1  # could not be read or normalized: counted, and its warning says why
        return
    if not outcome.changed:
        return
    if mode == WriteMode.WRITE and not outcome.written:
        report.files_skipped += 1
        return
    report.files_changed += 1
    report.changed.append(outcome.uri)
    if outcome.diff:
        report.diffs.append(outcome.diff)


def normalize_note(
    vault: Vault,
    ctx: NormalizeContext,
    mode: str = WriteMode.WRITE,
    *,
    skip: Callable[[str], bool] | None = None,
    before_write: Callable[[str], None] | None = None,
) -> _Outcome:
    """Normalize one note on disk: the unit ``normalize``, the API and the daemon all call.

    ``skip(text)`` true leaves the note as it is (the daemon: the file event of its own write);
    ``before_write(uri)`` runs just before a write (a hook for tests). A written outcome carries
    the text written, so the caller can recognise that write's own file event."""
    uri = ctx.uri
    try:
        text = vault.read_text(uri)
    except OutsideVaultError as exc:
        return _Outcome(uri, False, False, {}, (Diagnostic(uri, "symlink-outside", f"{exc.reason}; not normalized"),))
    except NoteReadError as exc:
        return _Outcome(uri, False, False, {}, (Diagnostic(uri, "unreadable", f"{exc.reason}; not normalized"),))
    if skip is not None and skip(text):
        return _Outcome(uri, False, False, {}, (), skipped=True)
    result = normalize_text(text, ctx)
    if not result.changed:
        return _Outcome(uri, False, False, result.counts, result.diagnostics)
    diagnostics = list(result.diagnostics)
    written = False
    diff = None
    if mode == WriteMode.WRITE:
        if before_write is not None:
            before_write(uri)
        try:
            written = vault.write_text_atomic(uri, result.text, expected=text)
        except (NoteWriteError, OutsideVaultError) as exc:
            diagnostics.append(Diagnostic(uri, "write-failed", exc.reason))
        else:
            if not written:
                diagnostics.append(Diagnostic(uri, "changed-meanwhile", "the note changed while being normalized; skipped"))
    elif mode == WriteMode.DIFF:
        lines = difflib.unified_diff(
            text.splitlines(keepends=True), result.text.splitlines(keepends=True), f"a/{uri}", f"b/{uri}"
        )
        # like diff(1): a last line without a newline gets the marker patch(1) expects
        diff = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return _Outcome(uri, True, written, result.counts, tuple(diagnostics), diff, result.text if written else None)
