"""Wikilink text: splitting and rebuilding ``[[path#sub|display]]``, naming a file from a note
(Obsidian's ``fileToLinktext``), and splicing edits. Pure; shared by the normalizer and relinker."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from vaultsync.text.names import JS_WHITESPACE, basename, dirname, split_alias, split_subpath
from vaultsync.text.resolve import NameTable


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``span`` of the original text with ``text``."""

    span: tuple[int, int]
    text: str
    rules: tuple[str, ...]


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Splice non-overlapping edits (sorted by start) into ``text``."""
    if not edits:
        return text
    parts, cursor = [], 0
    for edit in edits:
        start, end = edit.span
        parts.append(text[cursor:start])
        parts.append(edit.text)
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


@functools.lru_cache(maxsize=1 << 16)
def parse_wiki(raw: str) -> tuple[str, str, str, str | None, str]:
    """Split ``[[target#sub|display]]`` (or ``![[...]]``) as Obsidian does:
    (prefix, linkpath, subpath, display, separator). Remembered: the normalizer's rules each
    parse the same link text in turn."""
    prefix = "![[" if raw.startswith("!") else "[["
    left, display, sep = split_alias(raw[len(prefix) : -2].strip(JS_WHITESPACE))
    path, subpath = split_subpath(left.strip(JS_WHITESPACE))
    return prefix, path.strip(JS_WHITESPACE), subpath, display, sep


def build_wiki(prefix: str, path: str, subpath: str, display: str | None, sep: str = "|") -> str:
    return f"{prefix}{path}{subpath}{sep or '|'}{display}]]" if display is not None else f"{prefix}{path}{subpath}]]"


def visible_text(path: str, subpath: str) -> str:
    """What Obsidian shows for a link without display text: ``Note > Heading``."""
    parts = [p for p in subpath.split("#") if p]
    return " > ".join([path, *parts]) if path else " > ".join(parts)


def linktext(dest: str, source: str, table: NameTable, link_format: str, *, omit_md: bool = True) -> str:
    """Obsidian's ``fileToLinktext``: how a link from ``source`` names ``dest``."""
    path = dest[:-3] if omit_md and dest.lower().endswith(".md") else dest
    if link_format == "absolute":
        return path
    if link_format == "relative":
        folder = dirname(source)
        ups = 0
        while folder and not (path + "/").startswith(folder + "/"):
            folder = dirname(folder)
            ups += 1
        return "../" * ups + (path[len(folder) + 1 :] if folder else path)
    name = basename(path)
    lookup = name[:-3] if name.lower().endswith(".md") else name
    return name if table.linkpath_dests(lookup, source) == [dest] else path


