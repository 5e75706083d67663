"""``vaultsync search``: full-text search from the command line, printed with rich or as JSON.

Only argument parsing and output live here: the index is brought up to date as every query
command does (a warm scan), the selection is the export's (:mod:`vaultsync.export.selection`)
and the search is :func:`vaultsync.search.engine.search`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from vaultsync.export.selection import Selection, chosen_notes
from vaultsync.fs.vault import Vault, resolve_vault
from vaultsync.search.engine import DEFAULT_LIMIT, Hit, result, search
from vaultsync.store.indexing import update_index

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``search`` command to ``app``."""
    app.command(name="search")(search_command)


def search_command(
    query: Annotated[str, typer.Argument(help='What to find: words, "phrases", -excluded, OR, prefix*, file:, path:, tag:, section:, line:, video:ID.')],
    vault: Annotated[Path | None, typer.Argument(help="The vault folder (default: the bundled sample vault).", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many passages to show, best first.")] = DEFAULT_LIMIT,
    folder: Annotated[list[str] | None, typer.Option("--folder", help="Only notes under this folder (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Only notes with this tag or a child of it (repeatable).")] = None,
    where: Annotated[list[str] | None, typer.Option("--where", help="Only notes whose frontmatter has KEY=VALUE (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
) -> None:
    """Find passages in the vault's notes, with the second of the video each one points at."""
    v = Vault(resolve_vault(vault))
    index, _ = update_index(v)
    try:
        among = None
        if folder or tag or where:
            among = chosen_notes(index, Selection.parse(folder, tag, None, 0, where))
        hits = search(index, query, limit=limit, among=among)
    finally:
        index.close()
    if as_json:
        sys.stdout.write(json.dumps(result(query, hits), ensure_ascii=False) + "\n")
        return
    if not hits:
        _err.print(f"no passage matches {query!r}", markup=False)
        return
    for hit in hits:
        _out.print(_render(hit))


def _render(hit: Hit) -> Text:
    """Title, heading and clock on one line; the snippet (matches in bold) and where it is below."""
    head = Text()
    head.append(hit.title, style="bold")
    if hit.heading:
        head.append(f" › {hit.heading}", style="cyan")
    if hit.clock:
        head.append(f"  [{hit.clock}]", style="magenta")
    snippet = Text(hit.snippet)
    for start, end in hit.marks:
        snippet.stylize("bold yellow", start, end)
    where = Text(f"{hit.uri}:{hit.line}", style="dim")
    if hit.video_url and hit.seconds is not None:
        where.append(f"  {hit.video_url}", style="dim")
    return Text("\n").join([head, Text("  ") + snippet, Text("  ") + where, Text("")])


__all__ = ["register"]
