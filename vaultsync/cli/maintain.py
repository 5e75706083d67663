"""The commands that bring the vault or its index up to date: scan, normalize, mv."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vaultsync.cli.common import JsonOpt, VaultArg, emit_json, fresh_index, open_vault, plural, progress, say, table, warn


def register(app: typer.Typer) -> None:
    for command in (scan, normalize, mv):
        app.command()(command)


def scan(
    vault: VaultArg = None,
    as_json: JsonOpt = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild the index from scratch.")] = False,
) -> None:
    """Update the index (re-reading only changed files) and print a summary."""
    v = open_vault(vault)
    index, report = fresh_index(v, rebuild=rebuild, label="rebuilding the index" if rebuild else "scanning")
    index.close()
    warn(report.diagnostics)
    if as_json:
        emit_json({"vault": str(v.root), **report.as_dict()})
        return
    c = report.counts
    rows = [
        ("notes", f"{c['notes']:,}" + (f" ({c['excluded']:,} excluded by userIgnoreFilters)" if c.get("excluded") else "")),
        ("attachments", f"{c['attachments']:,}"),
        ("unreadable", f"{c.get('unreadable', 0):,}" + (" (see the warnings)" if c.get("unreadable") else "")),
        ("links", f"{c['links']:,} ({c['embeds']:,} embeds)"),
        ("resolved", f"{c['resolved']:,}"),
        ("unresolved", f"{c['unresolved']:,}"),
        ("ambiguous", f"{c['ambiguous']:,}"),
        ("timestamps", f"{c['timestamps']:,}"),
        ("files read", f"{report.files_read:,}" + (" (index rebuilt)" if report.rebuilt else "")),
        ("warnings", f"{len(report.diagnostics):,}"),
        ("seconds", f"{report.seconds:.3f}"),
    ]
    say(str(v.root))
    table(("", ""), rows, right=(0,))


def normalize(
    vault: VaultArg = None,
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 if any note would change.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print a unified diff; write nothing.")] = False,
    as_json: JsonOpt = False,
    rule: Annotated[list[str] | None, typer.Option("--rule", metavar="RULE", help="Run only this rule (repeatable).")] = None,
) -> None:
    """Make timestamps clickable and repair wikilinks, rewriting only what changes."""
    from vaultsync.config import load_settings  # noqa: PLC0415
    from vaultsync.rewrite.normalize_files import WriteMode, normalize_vault  # noqa: PLC0415

    v = open_vault(vault, writes=not (check or diff))
    settings = load_settings(v.root).normalize
    if rule:
        settings = settings.only(rule)
    mode = WriteMode.DIFF if diff else WriteMode.CHECK if check else WriteMode.WRITE
    with progress("checking notes" if mode != WriteMode.WRITE else "normalizing") as update:
        report = normalize_vault(v, settings, mode, progress=update)
    warn(report.diagnostics)
    if as_json:
        emit_json({"vault": str(v.root), **report.as_dict(), **({"diff": "".join(report.diffs)} if diff else {})})
    elif diff:
        sys.stdout.write("".join(report.diffs))
    else:
        verb = "would change" if check else "changed"
        skipped = f", {report.files_skipped:,} skipped (see the warnings)" if report.files_skipped else ""
        say(f"{v.root}: {plural(report.files_scanned, 'note')} checked, {report.files_changed:,} {verb}{skipped}")
        table(("", ""), [(f"{value:,}", key) for key, value in report.counts.items()], right=(0,))
        if check:
            for uri in report.changed:
                say(f"would change: {uri}")
    if check and report.files_changed:
        raise typer.Exit(1)


def mv(
    old: Annotated[str, typer.Argument(metavar="OLD", help="The note or folder to move (vault path).")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="Its new vault path (a folder keeps the file name).")],
    vault: VaultArg = None,
    as_json: JsonOpt = False,
) -> None:
    """Move or rename a note or folder and update every link to it, as Obsidian does."""
    from vaultsync.rewrite.move_files import move_files, plan_moves  # noqa: PLC0415
    from vaultsync.store.indexing import Indexer  # noqa: PLC0415

    v = open_vault(vault, writes=True)
    index, _ = fresh_index(v)
    try:
        moves = plan_moves(v, index, old, new)
        report = move_files(v, Indexer(v, index), moves)
    finally:
        index.close()
    warn(report.diagnostics)
    if as_json:
        emit_json({"vault": str(v.root), **report.as_dict()})
        return
    for src, dst in report.moved.items():
        say(f"moved {src} -> {dst}")
    say(f"{v.root}: updated {plural(report.links_updated, 'link')} in {plural(len(report.notes_updated), 'note')}")
