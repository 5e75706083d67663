"""``vaultsync search``: full-text search from the command line, printed with rich or as JSON.

Only argument parsing and output live here: the index is brought up to date as every query
command does (a warm scan), the selection is the export's (:mod:`vaultsync.export.selection`)
and the search is :func:`vaultsync.search.engine.search`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from vaultsync.cli.common import JsonOpt, VaultArg, emit_json, note, open_vault, query_index
from vaultsync.search import DEFAULT_LIMIT

if TYPE_CHECKING:
    from rich.text import Text

    from vaultsync.search.engine import Hit



def register(app: typer.Typer) -> None:
    """Add the ``search`` command to ``app``."""
    app.command(name="search")(search_command)


def search_command(
    query: Annotated[str, typer.Argument(metavar="QUERY", help='What to find: words, "phrases", -excluded, OR, prefix*, file:, path:, tag:, section:, line:, video:ID.')],
    vault: VaultArg = None,
    limit: Annotated[int, typer.Option("--limit", "-n", metavar="N", min=1, max=1000, help="How many passages to show, best first.")] = DEFAULT_LIMIT,
    folder: Annotated[list[str] | None, typer.Option("--folder", metavar="FOLDER", help="Only notes under this folder (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", metavar="TAG", help="Only notes with this tag or a child of it (repeatable).")] = None,
    where: Annotated[list[str] | None, typer.Option("--where", metavar="KEY=VALUE", help="Only notes whose frontmatter has KEY=VALUE (repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Find passages in the vault's notes, with the second of the video each one points at."""
    from rich.console import Console  # noqa: PLC0415

    from vaultsync.export.selection import Selection, chosen_notes  # noqa: PLC0415
    from vaultsync.search.engine import result, search  # noqa: PLC0415

    v = open_vault(vault)
    index = query_index(v)
    try:
        among = None
        if folder or tag or where:
            among = chosen_notes(index, Selection.parse(folder, tag, None, 0, where))
        hits = search(index, query, limit=limit, among=among)
    finally:
        index.close()
    if as_json:
        emit_json({"vault": str(v.root), **result(query, hits)})
        return
    if not hits:
        note(f"{v.root}: no passage matches {query!r}")
        return
    out = Console(highlight=False, soft_wrap=True)
    for hit in hits:
        out.print(_render(hit))


def _render(hit: Hit) -> Text:
    """Title, heading and clock on one line; the snippet (matches in bold) and where it is below."""
    from rich.text import Text  # noqa: PLC0415

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
