"""The query commands: links, backlinks, unresolved, stats, status. Each reads the index only."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from vaultsync.cli.common import JsonOpt, NoteArg, VaultArg, emit_json, find_note, open_vault, plural, query_index, say, table

if TYPE_CHECKING:
    from vaultsync.fs.vault import Vault
    from vaultsync.store.index import Index


def register(app: typer.Typer) -> None:
    for command in (links, backlinks, unresolved, stats, status):
        app.command()(command)


def _note_query(vault: Path | None, note: str, query: Callable[[Index, str], list[dict[str, Any]]],
                *, readable: bool) -> tuple[Vault, str, list[dict[str, Any]]]:  # fmt: skip
    """The vault, NOTE's uri and one per-note query's rows, from the index as a query reads it."""
    v = open_vault(vault)
    index = query_index(v)
    try:
        uri = find_note(index, v, note, readable=readable)
        return v, uri, query(index, uri)
    finally:
        index.close()


def links(note: NoteArg, vault: VaultArg = None, as_json: JsonOpt = False) -> None:
    """Outgoing links of NOTE and where each one leads."""
    v, uri, rows = _note_query(vault, note, lambda index, uri: index.links_from(uri), readable=True)
    if as_json:
        emit_json({"vault": str(v.root), "note": uri, "links": rows})
        return
    say(f"{uri}: {plural(len(rows), 'link')}")
    body = []
    for r in rows:
        target = r["target"] + r["subpath"] + (f"|{r['display']}" if r["display"] else "")
        dest = r["dest"] or "(unresolved)"
        if r["ambiguous"]:
            dest += " (ambiguous name)"
        body.append((str(r["span"][0]), r["kind"], target, dest))
    if body:
        table(("offset", "kind", "link", "leads to"), body, right=(0,))


def backlinks(note: NoteArg, vault: VaultArg = None, as_json: JsonOpt = False) -> None:
    """Notes that link to NOTE (Obsidian's linked mentions)."""
    v, uri, rows = _note_query(vault, note, lambda index, uri: index.backlinks(uri), readable=False)
    if as_json:
        emit_json({"vault": str(v.root), "note": uri, "backlinks": rows})
        return
    say(f"{uri}: {plural(len(rows), 'backlink')} from {plural(len({r['source'] for r in rows}), 'note')}")
    if rows:
        table(("from", "kind", "link"), [(r["source"], r["kind"], r["target"] + r["subpath"]) for r in rows])


def unresolved(vault: VaultArg = None, as_json: JsonOpt = False) -> None:
    """Link targets that match no file, with how often they are linked."""
    v = open_vault(vault)
    index = query_index(v)
    try:
        rows = index.unresolved()
    finally:
        index.close()
    if as_json:
        emit_json({"vault": str(v.root), "unresolved": rows})
        return
    say(f"{v.root}: {plural(len(rows), 'unresolved target')}")
    if rows:
        table(("links", "notes", "target"), [(str(r["count"]), str(r["sources"]), r["target"]) for r in rows], right=(0, 1))


def stats(vault: VaultArg = None, as_json: JsonOpt = False) -> None:
    """Counts, the most linked notes and the most used tags."""
    v = open_vault(vault)
    index = query_index(v)
    try:
        data: dict[str, Any] = {
            "vault": str(v.root),
            **index.counts(),
            "most_linked": [{"note": u, "backlinks": n} for u, n in index.most_linked(10)],
            "tags": [{"tag": t, "count": n} for t, n in index.tag_counts()[:20]],
        }
    finally:
        index.close()
    if as_json:
        emit_json(data)
        return
    say(str(v.root))
    keys = ("notes", "attachments", "links", "resolved", "unresolved", "ambiguous", "embeds", "timestamps", "unreadable")
    table(("", ""), [(f"{data.get(k, 0):,}", k) for k in keys if k in data], right=(0,))
    say("\nmost linked")
    table(("backlinks", "note"), [(f"{i['backlinks']:,}", i["note"]) for i in data["most_linked"]], right=(0,))
    if data["tags"]:
        say("\ntags")
        table(("notes", "tag"), [(f"{i['count']:,}", "#" + i["tag"]) for i in data["tags"]], right=(0,))


def status(vault: VaultArg = None, as_json: JsonOpt = False) -> None:
    """Whether a daemon watches the vault (pid, uptime, last batch, queue, errors), and its sync state."""
    from vaultsync.config import GitSettings, load_settings  # noqa: PLC0415
    from vaultsync.daemon.state import read_status  # noqa: PLC0415
    from vaultsync.sync.cycle import sync_status  # noqa: PLC0415

    v = open_vault(vault)
    data = read_status(v)
    data["vault"] = str(v.root)
    data["sync"] = sync_status(v.root, load_settings(v.root).git or GitSettings())
    if as_json:
        emit_json(data)
        return
    _print_sync_status(data["sync"])
    if not data["running"]:
        say(f"not running ({v.root})")
        return
    say(f"watching {v.root} (pid {data.get('pid')}, up {data.get('uptime_s', 0):.0f} s)")
    last = data.get("last_batch")
    if last:
        say(f"last batch: {plural(last['changes'], 'change')}, {last['normalized']} normalized, "
            f"{plural(last['links_updated'], 'link')} updated, {last['seconds'] * 1000:.0f} ms")  # fmt: skip
    say(f"queue: {data.get('queue', 0)}   notes indexed: {data.get('notes', 0):,}")
    for line in data.get("errors", []):
        say(f"error: {line}")


def _print_sync_status(sync: dict[str, Any] | None) -> None:
    if sync is None:
        return
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(sync["last_sync"])) if sync["last_sync"] else "never"
    ahead = "?" if sync["ahead"] is None else sync["ahead"]
    behind = "?" if sync["behind"] is None else sync["behind"]
    say(f"sync: last {when}, {ahead} ahead, {behind} behind {sync['remote']}/{sync['branch']}")
    for problem in (sync["last_error"], sync["blocked"]):
        if problem:
            say(f"sync problem: {problem}")
    if sync["conflicts"]:
        say(f"{plural(len(sync['conflicts']), 'conflict')} waiting (merge by hand, then delete the copy):")
        for uri in sync["conflicts"]:
            say(f"  {uri}")
