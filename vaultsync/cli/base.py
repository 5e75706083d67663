"""The ``vaultsync base`` command: print one view of an Obsidian base as a table, JSON or CSV.

Only parsing arguments and rendering output live here; reading and evaluating the base is
:mod:`vaultsync.bases`. :func:`register` adds the command to the application in ``app.py``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vaultsync.cli.common import VaultArg, find_note, open_vault, query_index
from vaultsync.errors import ConfigError, NoteNotFoundError

if TYPE_CHECKING:
    from rich.table import Table

    from vaultsync.bases import BaseTable
    from vaultsync.fs.vault import Vault


def base_uri(vault: Vault, file: str) -> str:
    """FILE as a vault path: a path on disk inside the vault, or a path from the vault root."""
    on_disk = Path(file).expanduser()
    if on_disk.is_file() and on_disk.resolve().is_relative_to(vault.root):
        return vault.uri_for(on_disk.resolve())
    uri = file.strip().replace("\\", "/").removeprefix("./")
    if vault.stat(uri) is None:
        raise NoteNotFoundError(file)
    return uri


def run_base(file: str, vault_path: Path | None, view: str | None, this: str | None = None) -> BaseTable:
    """Refresh the index and evaluate one view of FILE (the first view when ``view`` is None),
    with ``this`` the note the base is shown in (default: the base file itself)."""
    from vaultsync.bases import VaultData, evaluate_base, read_base  # noqa: PLC0415

    vault = open_vault(vault_path)
    uri = base_uri(vault, file)
    base = read_base(vault, uri)
    index = query_index(vault)
    try:
        this_uri = None if this is None else base_uri(vault, this) if this.endswith(".base") else find_note(index, vault, this)
        return evaluate_base(base, VaultData(index, vault), view=view, this=this_uri)
    finally:
        index.close()


def csv_text(table: BaseTable) -> str:
    """The view as CSV: a header of display names, one line per row (Obsidian's "Export CSV")."""
    from vaultsync.bases import cell_text  # noqa: PLC0415

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([name for _, name in table.columns])
    for row in table.rows:
        writer.writerow([cell_text(v) for v in row.cells])
    return buf.getvalue()


def rich_table(table: BaseTable) -> Table:
    """The view for a terminal: a title, group headings, and the summaries as a footer."""
    from rich.table import Table  # noqa: PLC0415

    from vaultsync.bases import cell_text  # noqa: PLC0415

    out = Table(title=f"{table.base} · {table.view or table.type} ({len(table.rows)} of {table.matched})", show_footer=bool(table.summaries))
    for key, name in table.columns:
        summary = table.summaries.get(key)
        out.add_column(name, footer=f"{summary[0]}: {cell_text(summary[1])}" if summary else "")
    for group in table.groups:
        if table.grouped:
            out.add_section()
            out.add_row(f"[bold]{cell_text(group.key) or '(none)'}[/bold]", *([""] * (len(table.columns) - 1)))
        for row in group.rows:
            out.add_row(*(cell_text(v) for v in row.cells))
    return out


def register(app: typer.Typer) -> None:
    """Add ``vaultsync base`` to ``app``."""

    @app.command("base")
    def base(
        file: Annotated[str, typer.Argument(metavar="FILE", help="The .base file: a path from the vault root, or on disk inside the vault.")],
        vault: VaultArg = None,
        view: Annotated[str | None, typer.Option("--view", metavar="NAME", help="The view to show (default: the first).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
        as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
        this: Annotated[str | None, typer.Option("--this", metavar="NOTE", help="Show the base as embedded in this note (what `this` is).")] = None,
    ) -> None:
        """Evaluate one view of an Obsidian base (.base file) from the index and print it."""
        if as_json and as_csv:
            raise ConfigError("--json and --csv exclude each other")
        table = run_base(file, vault, view, this)
        if as_json:
            from vaultsync.bases import table_json  # noqa: PLC0415

            sys.stdout.write(json.dumps(table_json(table), ensure_ascii=False) + "\n")
        elif as_csv:
            sys.stdout.write(csv_text(table))
        else:
            from rich.console import Console  # noqa: PLC0415

            Console(highlight=False).print(rich_table(table))
