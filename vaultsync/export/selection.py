"""Which notes an export takes, and in what order: a query over the index.

``--folder``, ``--tag``, ``--note [--depth N]`` (the note and what it links to, breadth first) and
``--where KEY=VALUE`` on frontmatter combine as an intersection; no option means the whole vault.
Order: within a folder that has a channel index note (a note listing the folder's notes under
``### [Video](https://www.youtube.com/watch?v=...)`` headings), the index's order, which is video
order and then the notes under each video; every other note by title. ``--note`` keeps its
breadth-first order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from vaultsync.errors import ConfigError
from vaultsync.store.index import Index
from vaultsync.text.names import dirname, stem


@dataclass(frozen=True, slots=True)
class Selection:
    folders: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    depth: int = 0
    where: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(
        cls,
        folders: list[str] | None = None,
        tags: list[str] | None = None,
        notes: list[str] | None = None,
        depth: int = 0,
        where: list[str] | None = None,
    ) -> Selection:
        pairs = []
        for item in where or []:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"--where {item!r}: expected KEY=VALUE")
            pairs.append((key.strip(), value.strip()))
        return cls(
            folders=tuple(f.strip("/") for f in folders or []),
            tags=tuple(t.lstrip("#").lower() for t in tags or []),
            notes=tuple(notes or []),
            depth=max(0, depth),
            where=tuple(pairs),
        )


def select_notes(index: Index, selection: Selection) -> list[str]:
    """The selected note uris, in export order. ``selection.notes`` must already be vault paths."""
    rows = index.note_rows(frontmatter=False)
    titles = {uri: title for uri, title, _, _ in rows}
    chosen = _chosen(index, selection, rows)
    if selection.notes:
        for uri in selection.notes:
            if uri not in titles:
                raise ConfigError(f"no such note: {uri!r}")
        return [u for u in _breadth_first(index, list(selection.notes), selection.depth) if u in chosen]
    return order_notes(index, chosen, {u: titles[u] for u in chosen})


def chosen_notes(index: Index, selection: Selection) -> set[str]:
    """The notes ``--folder``, ``--tag`` and ``--where`` admit, in no order (``notes`` and
    ``depth`` aside): what a search among a selection looks in."""
    return _chosen(index, selection, index.note_rows(frontmatter=False))


def _chosen(index: Index, selection: Selection, rows: list[tuple[str, str | None, dict[str, Any] | None, bool]]) -> set[str]:
    # files hidden by userIgnoreFilters are left out unless named, or in a named folder
    named = set(selection.notes)
    chosen = {uri for uri, _, _, excluded in rows if not excluded or selection.folders or uri in named}
    if selection.folders:
        chosen = {u for u in chosen if any(u.startswith(f + "/") or f == "" for f in selection.folders)}
    if selection.tags:
        tagged = _tagged(index, selection.tags)
        chosen &= tagged
    if selection.where:
        front = index.frontmatters(chosen)
        chosen = {u for u in chosen if _matches(front.get(u), selection.where)}
    return chosen


def _tagged(index: Index, tags: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for uri, tag in index.tag_rows():
        tag = tag.lower()
        if any(tag == t or tag.startswith(t + "/") for t in tags):  # #a matches #a/b, as Obsidian's tag: search
            out.add(uri)
    return out


def _matches(frontmatter: dict[str, Any] | None, where: tuple[tuple[str, str], ...]) -> bool:
    data = frontmatter or {}
    for key, value in where:
        have = data.get(key)
        values = have if isinstance(have, list) else [have]
        if not any(str(v).lower() == value.lower() for v in values if v is not None):
            return False
    return True


def _breadth_first(index: Index, seeds: list[str], depth: int) -> list[str]:
    seen = list(dict.fromkeys(seeds))
    queue = deque((s, 0) for s in seen)
    while queue:
        uri, level = queue.popleft()
        if level >= depth:
            continue
        for link in index.links_from(uri):
            dest = link["dest"]
            if dest and dest.lower().endswith(".md") and dest not in seen:
                seen.append(dest)
                queue.append((dest, level + 1))
    return seen


def order_notes(index: Index, uris: set[str], titles: dict[str, str | None]) -> list[str]:
    """Folders in path order; inside each, the channel index note's order, then by title."""
    by_folder: dict[str, list[str]] = {}
    for uri in uris:
        by_folder.setdefault(dirname(uri), []).append(uri)
    ordered: list[str] = []
    in_folder: dict[str, list[str]] = {}
    for uri in index.uris(notes_only=True):
        in_folder.setdefault(dirname(uri), []).append(uri)
    with_videos = index.headings_matching(_VIDEO_MARKS, set(by_folder))  # one query, not one per note
    for folder in sorted(by_folder):
        members = by_folder[folder]
        # the folder's index note orders its notes even when it is not itself exported
        channel = _channel_index(with_videos, folder, in_folder.get(folder, []))
        head: list[str] = []
        if channel is not None:
            head = [channel] if channel in members else []
            head += [d for d in dict.fromkeys(link["dest"] for link in index.links_from(channel)) if d in members and d != channel]
        rest = sorted((u for u in members if u not in head), key=lambda u: ((titles.get(u) or stem(u)).casefold(), u))
        ordered += head + rest
    return ordered


_VIDEO_MARKS = ("youtube.com/watch", "youtu.be/")


def _channel_index(with_videos: dict[str, list[tuple[int, str, list[int]]]], folder: str, members: list[str]) -> str | None:
    """The folder's channel index note: it has video headings (``### [title](youtube...)``)."""
    candidates = []
    for uri in members:
        headings = with_videos.get(uri, ())
        videos = sum(1 for h in headings if any(mark in h[1] for mark in _VIDEO_MARKS))
        if videos:
            candidates.append((-(stem(uri) == folder.rsplit("/", 1)[-1]), -videos, uri))
    return min(candidates)[2] if candidates else None
