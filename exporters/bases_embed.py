"""Bases in exports: ``![[x.base]]``, ``![[x.base#View]]`` and ```` ```base ```` blocks become
real tables of the pipeline's document (commonmark_x pipe tables), so PDF and EPUB show the
view's rows rather than YAML. Table views become tables; ``cards`` and ``list`` views become
lists (the "Views" page's layouts). A cell holding a link, or a row's file name, links to that
note's anchor when the note is in the export (a cross-reference), else shows as text.

The view is evaluated by :func:`vaultsync.evaluate_base` over the vault's index, with ``this``
the note that embeds the base ("Bases syntax" > Access properties with this). A base that cannot
be read or evaluated leaves its text in place and adds one diagnostic; the export goes on.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from vaultsync import (
    BaseTable,
    Diagnostic,
    Edit,
    VaultData,
    VaultsyncError,
    base_blocks,
    cell_target,
    cell_text,
    evaluate_base,
    load_base,
    open_index,
    read_base,
)

if TYPE_CHECKING:
    from exporters.document import ExportContext

_DATA: weakref.WeakKeyDictionary[ExportContext, VaultData] = weakref.WeakKeyDictionary()
_NAME_COLUMNS = ("file.name", "file.basename", "file.path")


def _data(ctx: ExportContext) -> VaultData:
    """The vault's rows for this export, read once from its index (closed with the context)."""
    data = _DATA.get(ctx)
    if data is None:
        index = open_index(ctx.vault)
        if index is None:
            raise VaultsyncError("the vault has no index", hint="run `vaultsync scan`")
        data = VaultData(index, ctx.vault)
        _DATA[ctx] = data
        weakref.finalize(ctx, index.close)
    return data


def embed_base(ctx: ExportContext, source: str, dest: str, subpath: str) -> str:
    """The markdown for ``![[dest#View]]`` written in note ``source``."""
    view = subpath.lstrip("#") or None
    try:
        table = evaluate_base(read_base(ctx.vault, dest), _data(ctx), view=view, this=source)
    except VaultsyncError as exc:
        ctx.diagnostics.append(Diagnostic(source, "base-invalid", f"embedded base left out: {exc}"))
        return _escape(dest + subpath)
    return f"\n\n{render_table(ctx, table)}\n\n"


def block_edits(ctx: ExportContext, uri: str, text: str, body_start: int) -> list[Edit]:
    """Edits replacing each ```` ```base ```` block of a note (after its frontmatter) by its table."""
    edits = []
    for start, end, line, yaml_text in base_blocks(text):
        if start < body_start:
            continue
        try:
            table = evaluate_base(load_base(yaml_text, uri, line), _data(ctx), this=uri)
        except VaultsyncError as exc:
            ctx.diagnostics.append(Diagnostic(uri, "base-invalid", f"base block left as code: {exc}"))
            continue
        edits.append(Edit((start, end), render_table(ctx, table), ("base",)))
    return edits


def _escape(text: str) -> str:
    from exporters.pipeline import _escape as escape  # the pipeline's one escaping rule (imported late: no cycle)

    return escape(text).replace("\n", " ")


def _cell(ctx: ExportContext, value: Any, row_uri: str, key: str) -> str:
    if isinstance(value, list):
        return ", ".join(_cell(ctx, v, row_uri, "") for v in value)
    target = row_uri if key in _NAME_COLUMNS else cell_target(value)
    text = _escape(cell_text(value))
    anchor = ctx.anchor_for(target, "") if target else None
    return f"[{text}](#{anchor})" if anchor and text else text


def render_table(ctx: ExportContext, table: BaseTable) -> str:
    """A view as commonmark_x: a caption line, then per group a heading line and a table or list."""
    keys = [k for k, _ in table.columns]
    out = [f"*{_escape(table.base)} · {_escape(table.view or table.type)}*", ""]
    for group in table.groups:
        if table.grouped:
            out += [f"**{_escape(cell_text(group.key)) or '(none)'}**", ""]
        rows = [[_cell(ctx, v, r.uri, k) for k, v in zip(keys, r.cells)] for r in group.rows]
        if table.type in ("cards", "list"):
            for row, cells in zip(group.rows, rows):
                # the item itself opens its note, as in Obsidian's list and cards layouts
                head, rest = (_cell(ctx, row.cells[0], row.uri, "file.name") if cells else ""), cells[1:]
                if table.type == "list":
                    out.append("- " + ", ".join(c for c in [head, *rest] if c))
                else:
                    out.append(f"- **{head}**" + "".join(f"\\\n  {_escape(n)}: {c}" for (_, n), c in zip(table.columns[1:], rest) if c))
            out.append("")
            continue
        out.append("| " + " | ".join(_escape(name) for _, name in table.columns) + " |")
        out.append("|" + "---|" * len(keys))
        out += ["| " + " | ".join(cells) + " |" for cells in rows]
        if group.summaries or (not table.grouped and table.summaries):
            sums = group.summaries if table.grouped else {k: s for k, (_, s) in table.summaries.items()}
            names = {k: n for k, (n, _) in table.summaries.items()}
            out.append("| " + " | ".join(f"*{names[k]}: {_escape(cell_text(sums[k]))}*" if k in sums else "" for k in keys) + " |")
        out.append("")
    if not table.rows:
        out += ["*No results.*", ""]
    return "\n".join(out).rstrip() + "\n"
