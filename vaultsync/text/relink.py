"""Rewrite links after files move, the way Obsidian does when it renames a file. Pure.

OBSIDIAN.md 3: every reference that resolved before the move is re-resolved from its source's
new place; where the ordered list of matches changed, the link is pointed back at the file it
meant, written in the vault's ``newLinkFormat``. The form (wikilink, embed, markdown link) is kept,
and so are the display text and the heading or block subpath. Unresolved links are never touched.

One deliberate difference: Obsidian re-serialises the whole frontmatter when it updates a
frontmatter link; we replace only the link text inside it, so the rest of the block stays as the
user wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from vaultsync.model import Link, LinkKind
from vaultsync.text.names import encode_special_chars, stem
from vaultsync.text.parse import parse_note
from vaultsync.text.resolve import NameTable
from vaultsync.text.wikitext import Edit, apply_edits, build_wiki, linktext, parse_wiki

_MD_PARTS = re.compile(r"(!?\[)((?:[^\[\]\n\\]|\\.|\[[^\[\]\n]*\])*)\]\((<[^<>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(.*)\)\Z", re.S)


@dataclass(frozen=True, slots=True)
class Relinked:
    text: str
    edits: tuple[Edit, ...]


def relink_text(
    text: str,
    old_source: str,
    new_source: str,
    old_table: NameTable,
    new_table: NameTable,
    moves: Mapping[str, str],
    link_format: str = "shortest",
    aliases: Callable[[str], list[str]] = lambda uri: [],
) -> Relinked:
    """Re-point the links of one note (now at ``new_source``) after ``moves`` (old uri -> new uri)."""
    parsed = parse_note(new_source, text)
    edits: list[Edit] = []
    for link in parsed.scan.links:
        if not link.target:
            continue  # [[#Heading]]: a link to the note itself follows it anywhere
        before = old_table.linkpath_dests(link.target, old_source)
        if not before:
            continue  # unresolved links are never rewritten
        expected = [moves.get(d, d) for d in before]
        after = new_table.linkpath_dests(link.target, new_source)
        if after == expected:
            continue
        raw = text[link.span[0] : link.span[1]]
        new_raw = _rewrite(link, raw, before[0], expected[0], new_source, new_table, link_format, aliases)
        if new_raw is not None and new_raw != raw:
            edits.append(Edit(link.span, new_raw, ("relink",)))
    edits.sort(key=lambda e: e.span[0])
    return Relinked(apply_edits(text, edits), tuple(edits))


def _rewrite(
    link: Link,
    raw: str,
    old_dest: str,
    dest: str,
    source: str,
    table: NameTable,
    link_format: str,
    aliases: Callable[[str], list[str]],
) -> str | None:
    if link.kind in (LinkKind.WIKI, LinkKind.EMBED, LinkKind.FRONTMATTER):
        prefix, path, subpath, display, sep = parse_wiki(raw)
        new_path = linktext(dest, source, table, link_format)
        if display is not None and display == stem(old_dest) and display not in aliases(dest):
            display = stem(dest)  # the display was just the old name: Obsidian shows the new one
        return build_wiki(prefix, new_path, subpath, display, sep)
    m = _MD_PARTS.match(raw)
    if m is None:
        return None
    opener, label, destination, title = m.groups()
    new_dest = linktext(dest, source, table, link_format, omit_md=False) + link.subpath
    new_dest = f"<{new_dest}>" if destination.startswith("<") else encode_special_chars(new_dest)
    old_name = old_dest[:-3] if old_dest.lower().endswith(".md") else old_dest
    if label == stem(old_dest) or ("/" in label and label == old_name):
        label = stem(dest)
    return f"{opener}{label}]({new_dest}{title})"
