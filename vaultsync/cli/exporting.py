"""The export command: choose notes, hand them to an exporter found by its entry point."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from vaultsync.cli.common import JsonOpt, VaultArg, check_output, emit_json, find_note, fresh_index, open_vault, plural, progress, say, warn
from vaultsync.errors import VaultsyncError


class Paper(str, enum.Enum):
    a4 = "a4"
    letter = "letter"


def register(app: typer.Typer) -> None:
    app.command()(export)


def export(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="pdf, epub, anki (any installed exporter).")],
    vault: VaultArg = None,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="The file to write (its folder must exist).")] = Path("export"),
    mkdir: Annotated[bool, typer.Option("--mkdir", help="Create the output's folder if it is missing.")] = False,
    folder: Annotated[list[str] | None, typer.Option("--folder", metavar="FOLDER", help="Notes under this folder (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", metavar="TAG", help="Notes with this tag or a child of it (repeatable).")] = None,
    note: Annotated[list[str] | None, typer.Option("--note", metavar="NOTE", help="This note (repeatable)...")] = None,
    depth: Annotated[int, typer.Option("--depth", metavar="N", min=0, help="...and the notes it links to, this many steps out.")] = 0,
    where: Annotated[list[str] | None, typer.Option("--where", metavar="KEY=VALUE", help="Frontmatter KEY=VALUE (repeatable).")] = None,
    title: Annotated[str | None, typer.Option("--title", metavar="TEXT", help="Title of the document.")] = None,
    paper: Annotated[Paper, typer.Option("--paper", help="PDF paper size.")] = Paper.a4,
    as_json: JsonOpt = False,
) -> None:
    """Export chosen notes (default: the whole vault) to a PDF briefing, an EPUB book or an Anki deck."""
    from vaultsync.export.registry import ExportRequest, load_exporter  # noqa: PLC0415
    from vaultsync.export.selection import Selection, select_notes  # noqa: PLC0415

    exporter = load_exporter(fmt)
    target = output if output.suffix else output.with_suffix(exporter.suffix)
    check_output(target, mkdir=mkdir)
    v = open_vault(vault)
    index, _ = fresh_index(v)
    try:
        notes = [find_note(index, v, n) for n in note or []]
        uris = select_notes(index, Selection.parse(folder, tag, notes, depth, where))
        if not uris:
            raise VaultsyncError("the selection matches no note", hint="check --folder, --tag, --note and --where")
        default_title = (folder[0] if folder else None) or (Path(uris[0]).stem if notes else v.root.name)
        with progress(f"exporting {plural(len(uris), 'note')} to {fmt}") as update:
            request = ExportRequest(v, index, tuple(uris), target, title or default_title, {"paper": paper.value}, progress=update)
            result = exporter.export(request)
    finally:
        index.close()
    warn(result.diagnostics)
    left_out = list(result.details.get("left_out", []) or [])  # type: ignore[call-overload]
    data = {"vault": str(v.root), "format": fmt, "output": str(result.output), "notes": result.notes,
            "left_out": left_out, "seconds": round(result.seconds, 3),
            **{k: val for k, val in result.details.items() if k != "left_out"}}  # fmt: skip
    if as_json:
        emit_json(data)
        return
    gone = f"; {plural(len(left_out), 'note')} left out (see the warnings)" if left_out else ""
    say(f"{v.root}: wrote {result.output} ({plural(result.notes, 'note')}{gone}, {result.seconds:.1f} s)")
