"""The ``vaultsync`` command line: argument parsing, output formats and exit codes, nothing more.

Exit codes: 0 success; 1 a VaultsyncError (bad note name, store failure...); 2 unusable arguments
or vault path; 3 an unexpected crash (a crash log is written); 130 interrupted.
"""

from __future__ import annotations

import json
import logging
import platform
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vaultsync import __version__
from vaultsync.config import RULE_NAMES, GitSettings, load_settings
from vaultsync.daemon.loop import Daemon, is_locked, read_status, setup_logging
from vaultsync.daemon.service import install_service
from vaultsync.errors import ConfigError, NoteNotFoundError, VaultsyncError
from vaultsync.export.registry import ExportRequest, load_exporter
from vaultsync.export.selection import Selection, select_notes
from vaultsync.fs.vault import Vault, resolve_vault
from vaultsync.model import Diagnostic, Severity
from vaultsync.rewrite.move_files import move_files, plan_moves
from vaultsync.rewrite.normalize_files import WriteMode, normalize_vault
from vaultsync.store.index import Index
from vaultsync.store.indexing import Indexer, ScanReport, open_index, rebuild_index, update_index
from vaultsync.sync.cycle import setup_repository, sync_status, sync_vault
from vaultsync.text.resolve import NameTable

app = typer.Typer(
    name="vaultsync",
    help="Keep an Obsidian vault of video notes consistent, indexed and exportable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
log = logging.getLogger("vaultsync")

VaultArg = Annotated[
    Path | None,
    typer.Argument(help="The vault folder (default: the bundled sample vault).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
) -> None:
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr, force=True)


# -- helpers ---------------------------------------------------------------------------------------


def _open_vault(path: Path | None) -> Vault:
    return Vault(resolve_vault(path))


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr, only when stderr is a terminal."""
    if not (enabled and err.is_terminal):
        yield None
        return
    bar = Progress(
        TextColumn("[bold]indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True
    )
    task = bar.add_task("scan", total=None)
    with bar:

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _fresh_index(vault: Vault, *, rebuild: bool = False, show_progress: bool = True) -> tuple[Index, ScanReport]:
    with _progress(show_progress) as progress:
        if rebuild:
            return rebuild_index(vault, progress=progress)
        return update_index(vault, progress=progress)


def _warn(diagnostics: list[Diagnostic]) -> None:
    """Warnings always; informational diagnostics (a link to a missing note) with -v."""
    verbose = log.getEffectiveLevel() <= logging.DEBUG
    for d in diagnostics:
        if d.severity is not Severity.INFO or verbose:
            err.print(f"{d.severity.value}: {d.uri!r}: {d.message}", markup=False)


def _find_note(index: Index, vault: Vault, name: str) -> str:
    """A note named as a vault path (``.md`` optional) or as a link from the vault root would be."""
    uris = index.uris()
    wanted = name.strip().replace("\\", "/").removeprefix("./")
    for candidate in (wanted, wanted + ".md"):
        if candidate in uris:
            return candidate
    dest = NameTable(uris).resolve(wanted.removesuffix(".md") if wanted.endswith(".md") else wanted, "").dest
    if dest is None:
        raise NoteNotFoundError(name)
    return dest


def _note_rows(vault: Path | None, note: str, query: Callable[[Index, str], list[dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
    """Refresh the index, find NOTE, and run one per-note query."""
    v = _open_vault(vault)
    index, _ = _fresh_index(v, show_progress=False)
    try:
        uri = _find_note(index, v, note)
        return uri, query(index, uri)
    finally:
        index.close()


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=None, default=str) + "\n")


# -- commands --------------------------------------------------------------------------------------


@app.command()
def scan(
    vault: VaultArg = None,
    as_json: JsonOpt = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild the index from scratch.")] = False,
) -> None:
    """Update the index (re-reading only changed files) and print a summary."""
    v = _open_vault(vault)
    index, report = _fresh_index(v, rebuild=rebuild)
    index.close()
    _warn(report.diagnostics)
    if as_json:
        _emit_json(report.as_dict())
        return
    c = report.counts
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(justify="right", style="bold")
    table.add_column()
    rows = [
        ("notes", f"{c['notes']:,}" + (f" ({c['excluded']:,} excluded by userIgnoreFilters)" if c["excluded"] else "")),
        ("attachments", f"{c['attachments']:,}"),
        ("links", f"{c['links']:,} ({c['embeds']:,} embeds)"),
        ("resolved", f"{c['resolved']:,}"),
        ("unresolved", f"{c['unresolved']:,}"),
        ("ambiguous", f"{c['ambiguous']:,}"),
        ("timestamps", f"{c['timestamps']:,}"),
        ("files read", f"{report.files_read:,}" + (" (index rebuilt)" if report.rebuilt else "")),
        ("seconds", f"{report.seconds:.3f}"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    out.print(f"[bold]{v.root}[/bold]")
    out.print(table)


@app.command()
def links(note: Annotated[str, typer.Argument(help="A note: vault path or name.")], vault: VaultArg = None, as_json: JsonOpt = False) -> None:
    """Outgoing links of NOTE and where each one leads."""
    uri, rows = _note_rows(vault, note, Index.links_from)
    if as_json:
        _emit_json({"note": uri, "links": rows})
        return
    table = Table("offset", "kind", "link", "leads to", box=None)
    for r in rows:
        target = r["target"] + r["subpath"] + (f"|{r['display']}" if r["display"] else "")
        dest = r["dest"] or "[red]unresolved[/red]"
        if r["ambiguous"]:
            dest += " [yellow](ambiguous name)[/yellow]"
        table.add_row(str(r["span"][0]), r["kind"], target, dest)
    out.print(f"[bold]{uri}[/bold]: {len(rows)} links")
    out.print(table)


@app.command()
def backlinks(note: Annotated[str, typer.Argument(help="A note: vault path or name.")], vault: VaultArg = None, as_json: JsonOpt = False) -> None:
    """Notes that link to NOTE (Obsidian's linked mentions)."""
    uri, rows = _note_rows(vault, note, Index.backlinks)
    if as_json:
        _emit_json({"note": uri, "backlinks": rows})
        return
    out.print(f"[bold]{uri}[/bold]: {len(rows)} backlinks from {len({r['source'] for r in rows})} notes")
    for r in rows:
        out.print(f"  {r['source']}  [dim]{r['kind']}[/dim] {r['target']}{r['subpath']}", markup=True)


@app.command()
def unresolved(vault: VaultArg = None, as_json: JsonOpt = False) -> None:
    """Link targets that match no file, with how often they are linked."""
    v = _open_vault(vault)
    index, _ = _fresh_index(v, show_progress=False)
    rows = index.unresolved()
    index.close()
    if as_json:
        _emit_json({"unresolved": rows})
        return
    table = Table("links", "notes", "target", box=None)
    for r in rows:
        table.add_row(str(r["count"]), str(r["sources"]), r["target"])
    out.print(table)


@app.command()
def stats(vault: VaultArg = None, as_json: JsonOpt = False) -> None:
    """Counts, the most linked notes and the most used tags."""
    v = _open_vault(vault)
    index, _ = _fresh_index(v, show_progress=False)
    data: dict[str, Any] = {
        "vault": str(v.root),
        **index.counts(),
        "most_linked": [{"note": u, "backlinks": n} for u, n in index.most_linked(10)],
        "tags": [{"tag": t, "count": n} for t, n in index.tag_counts()[:20]],
    }
    index.close()
    if as_json:
        _emit_json(data)
        return
    for key in ("notes", "attachments", "links", "resolved", "unresolved", "ambiguous", "embeds", "timestamps"):
        out.print(f"{key:>12}  {data[key]:,}")
    out.print("\n[bold]most linked[/bold]")
    for item in data["most_linked"]:
        out.print(f"{item['backlinks']:>12}  {item['note']}", markup=False)
    if data["tags"]:
        out.print("\n[bold]tags[/bold]")
        for item in data["tags"]:
            out.print(f"{item['count']:>12}  #{item['tag']}", markup=False)


@app.command()
def normalize(
    vault: VaultArg = None,
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 if any note would change.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print a unified diff; write nothing.")] = False,
    as_json: JsonOpt = False,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help=f"Run only this rule (repeatable): {', '.join(RULE_NAMES)}.")
    ] = None,
) -> None:
    """Make timestamps clickable and repair wikilinks, rewriting only what changes."""
    v = _open_vault(vault)
    settings = load_settings(v.root).normalize
    if rule:
        settings = settings.only(rule)
    mode = WriteMode.DIFF if diff else WriteMode.CHECK if check else WriteMode.WRITE
    with _progress(True) as progress:
        report = normalize_vault(v, settings, mode, progress=progress)
    _warn(report.diagnostics)
    if diff and not as_json:
        sys.stdout.write("".join(report.diffs))
    if as_json:
        _emit_json({**report.as_dict(), **({"diff": "".join(report.diffs)} if diff else {})})
    elif not diff:
        verb = "would change" if check else "changed"
        out.print(f"{report.files_scanned:,} notes scanned, {report.files_changed:,} {verb}", markup=False)
        for key, value in report.counts.items():
            out.print(f"{key:>22}  {value:,}", markup=False)
        if check:
            for uri in report.changed:
                out.print(f"would change: {uri}", markup=False)
    if check and report.files_changed:
        raise typer.Exit(1)


@app.command()
def mv(
    old: Annotated[str, typer.Argument(help="The note or folder to move (vault path).")],
    new: Annotated[str, typer.Argument(help="Its new vault path (a folder keeps the file name).")],
    vault: VaultArg = None,
    as_json: JsonOpt = False,
) -> None:
    """Move or rename a note or folder and update every link to it, as Obsidian does."""
    v = _open_vault(vault)
    index, _ = _fresh_index(v, show_progress=False)
    try:
        moves = plan_moves(v, index, old, new)
        report = move_files(v, Indexer(v, index), moves)
    finally:
        index.close()
    _warn(report.diagnostics)
    if as_json:
        _emit_json(report.as_dict())
        return
    for src, dst in report.moved.items():
        out.print(f"moved {src} -> {dst}", markup=False)
    out.print(f"updated {report.links_updated} links in {len(report.notes_updated)} notes", markup=False)


@app.command()
def watch(
    vault: VaultArg = None,
    api: Annotated[bool, typer.Option("--api", help="Also serve the plugin API (as `serve` does).")] = False,
    port: Annotated[int | None, typer.Option("--port", help="The API's port (default: the api.port setting; 0: a free one).")] = None,
) -> None:
    """Watch the vault in the foreground: normalize saves, follow moves, keep the index live."""
    v = _open_vault(vault)
    settings = load_settings(v.root)
    if api or port is not None:
        settings = replace(settings, api=replace(settings.api, enabled_in_watch=True, port=settings.api.port if port is None else port))
    setup_logging(v, log.getEffectiveLevel() if log.getEffectiveLevel() < logging.INFO else logging.INFO)
    raise typer.Exit(Daemon(v, settings).run())


@app.command()
def serve(
    vault: VaultArg = None,
    port: Annotated[int | None, typer.Option("--port", help="Port on 127.0.0.1 (default: the api.port setting; 0: a free one).")] = None,
    refresh: Annotated[float, typer.Option("--refresh", help="Seconds between catch-up scans of edits (0: never).")] = 5.0,
) -> None:
    """Serve the local HTTP API for the Obsidian plugin on 127.0.0.1 (port and token: .vaultsync/api.json)."""
    from vaultsync.api.operations import LocalHost
    from vaultsync.api.server import ApiServer

    v = _open_vault(vault)
    settings = load_settings(v.root)
    index, report = _fresh_index(v, show_progress=False)
    server = ApiServer(LocalHost(v, settings, Indexer(v, index), read_status),
                       port=settings.api.port if port is None else port, refresh_s=refresh).start()  # fmt: skip
    err.print(f"serving {v.root} on {server.url} ({report.counts.get('notes', 0):,} notes); "
              f"token in {v.state_dir / 'api.json'}", markup=False)  # fmt: skip
    signal.signal(signal.SIGTERM, lambda *_: server.stopping.set())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        index.close()


@app.command()
def status(vault: VaultArg = None, as_json: JsonOpt = False) -> None:
    """Whether a daemon watches the vault: pid, uptime, last batch, queue, notes, recent errors."""
    v = _open_vault(vault)
    data = read_status(v)
    data["sync"] = sync_status(v.root, load_settings(v.root).git or GitSettings())
    if as_json:
        _emit_json(data)
        return
    _print_sync_status(data["sync"])
    if not data["running"]:
        out.print(f"not running ({v.root})", markup=False)
        return
    out.print(f"watching {v.root} (pid {data.get('pid')}, up {data.get('uptime_s', 0):.0f} s)", markup=False)
    last = data.get("last_batch")
    if last:
        out.print(
            f"last batch: {last['changes']} changes, {last['normalized']} normalized, "
            f"{last['links_updated']} links updated, {last['seconds'] * 1000:.0f} ms",
            markup=False,
        )
    out.print(f"queue: {data.get('queue', 0)}   notes indexed: {data.get('notes', 0):,}", markup=False)
    for line in data.get("errors", []):
        out.print(f"error: {line}", markup=False)


def _print_sync_status(sync: dict[str, Any] | None) -> None:
    if sync is None:
        return
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(sync["last_sync"])) if sync["last_sync"] else "never"
    ahead = "?" if sync["ahead"] is None else sync["ahead"]
    behind = "?" if sync["behind"] is None else sync["behind"]
    out.print(f"sync: last {when}, {ahead} ahead, {behind} behind {sync['remote']}/{sync['branch']}", markup=False)
    for problem in (sync["last_error"], sync["blocked"]):
        if problem:
            out.print(f"sync problem: {problem}", markup=False)
    if sync["conflicts"]:
        out.print(f"{len(sync['conflicts'])} conflicts waiting (merge by hand, then delete the copy):", markup=False)
        for uri in sync["conflicts"]:
            out.print(f"  {uri}", markup=False)


@app.command()
def sync(
    vault: VaultArg = None,
    remote: Annotated[str | None, typer.Option("--remote", help="Set the vault up to sync with this git URL first.")] = None,
    allow_deletions: Annotated[bool, typer.Option("--allow-deletions", help="Push even a mass deletion of notes.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Sync the vault with its git remote once: commit, fetch, integrate (conflicts side by side), push."""
    v = _open_vault(vault)
    config = load_settings(v.root)
    settings = config.git or GitSettings()
    if config.git is not None and is_locked(v):
        raise VaultsyncError("the daemon syncs this vault", hint="it syncs on its own; see `vaultsync status`")
    if remote:
        setup_repository(v.root, remote, settings)
    index = open_index(v)
    try:
        report = sync_vault(v.root, settings, allow_deletions=allow_deletions, indexer=Indexer(v, index) if index else None)
    finally:
        if index is not None:
            index.close()
    if as_json:
        _emit_json(report.as_dict())
    else:
        committed = ", ".join(f"{n} {kind}" for kind, n in sorted(report.committed.items())) or "nothing"
        out.print(f"committed {committed}; pulled {len(report.changed)} files ({report.integrated}); "
                  f"{'pushed' if report.pushed else 'not pushed'}; {report.seconds:.2f} s", markup=False)  # fmt: skip
        for copy in report.conflicts:
            out.print(f"conflict: the other side's version is in {copy}", markup=False)
    if report.blocked:
        raise VaultsyncError(f"push refused: {report.blocked}",
                             hint="restore the notes, raise [git] max-delete-share, or run `vaultsync sync --allow-deletions`")  # fmt: skip


service_app = typer.Typer(help="Run the daemon under the platform's service manager.", no_args_is_help=True)
app.add_typer(service_app, name="service")


@service_app.command("install")
def service_install(vault: VaultArg = None) -> None:
    """Write a systemd user unit (Linux) or launchd agent (macOS) that runs `vaultsync watch`."""
    v = _open_vault(vault)
    service = install_service(v.root)
    out.print(f"wrote {service.path}", markup=False)
    out.print(f"start it with: {service.enable}", markup=False)


@app.command()
def export(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="pdf, epub, anki (any installed exporter).")],
    vault: VaultArg = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")] = Path("export"),
    folder: Annotated[list[str] | None, typer.Option("--folder", help="Notes under this folder (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Notes with this tag or a child of it (repeatable).")] = None,
    note: Annotated[list[str] | None, typer.Option("--note", help="This note (repeatable)...")] = None,
    depth: Annotated[int, typer.Option("--depth", help="...and the notes it links to, this many steps out.")] = 0,
    where: Annotated[list[str] | None, typer.Option("--where", help="Frontmatter KEY=VALUE (repeatable).")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title of the document.")] = None,
    paper: Annotated[str, typer.Option("--paper", help="PDF paper size: a4 or letter.")] = "a4",
    as_json: JsonOpt = False,
) -> None:
    """Export chosen notes (default: the whole vault) to a PDF briefing, an EPUB book or an Anki deck."""
    exporter = load_exporter(fmt)
    v = _open_vault(vault)
    index, _ = _fresh_index(v, show_progress=False)
    try:
        notes = [_find_note(index, v, n) for n in note or []]
        uris = select_notes(index, Selection.parse(folder, tag, notes, depth, where))
        if not uris:
            raise VaultsyncError("the selection matches no note")
        target = output if output.suffix else output.with_suffix(exporter.suffix)
        default_title = (folder[0] if folder else None) or (Path(uris[0]).stem if notes else v.root.name)
        request = ExportRequest(v, index, tuple(uris), target, title or default_title, {"paper": paper})
        with _progress(True):
            result = exporter.export(request)
    finally:
        index.close()
    _warn(result.diagnostics)
    data = {"format": fmt, "output": str(result.output), "notes": result.notes, "seconds": round(result.seconds, 3), **result.details}
    if as_json:
        _emit_json(data)
    else:
        out.print(f"wrote {result.output} ({result.notes} notes, {result.seconds:.1f} s)", markup=False)


# -- entry point -----------------------------------------------------------------------------------


def _crash_log(exc: BaseException) -> Path:
    path = Path(tempfile.gettempdir()) / f"vaultsync-crash-{int(time.time())}.log"
    versions = f"vaultsync {__version__}, Python {platform.python_version()}, {platform.platform()}"
    path.write_text(versions + "\n\n" + "".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    """Run the CLI with one error handler at the edge."""
    debug = "--debug" in (argv if argv is not None else sys.argv)
    args = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--debug"]
    try:
        code = app(args=args, standalone_mode=False)  # returns typer.Exit's code instead of raising
    except ConfigError as exc:
        _report_error(exc)
        raise SystemExit(2) from None
    except VaultsyncError as exc:
        _report_error(exc)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except (typer.Abort, EOFError):
        raise SystemExit(1) from None
    except Exception as exc:  # noqa: BLE001 - the one place that turns crashes into a report
        exit_code = getattr(exc, "exit_code", None)
        if hasattr(exc, "show") and isinstance(exit_code, int):
            exc.show()  # a usage error (click's, or typer's own copy of click)
            raise SystemExit(exit_code) from None
        if debug:
            raise
        err.print(f"vaultsync crashed: {type(exc).__name__}: {exc}", markup=False)
        err.print(f"details: {_crash_log(exc)}", markup=False)
        raise SystemExit(3) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _report_error(exc: VaultsyncError) -> None:
    err.print(f"error: {exc}", markup=False)
    if exc.hint:
        err.print(f"hint: {exc.hint}", markup=False)
