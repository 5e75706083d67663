"""Link resolution exactly as Obsidian's ``MetadataCache.getLinkpathDest`` does it. Pure.

See OBSIDIAN.md 2.2. The quirks are kept on purpose, because Obsidian's behaviour is the spec:
- "same folder" is a raw string prefix test on the source's folder, so it also matches
  subfolders and prefix-named siblings (``a`` matches ``ab/x.md``);
- the path match is a string suffix, so ``[[b/Note]]`` matches ``xb/Note.md``;
- a link with a leading ``/`` only matches an exact vault path;
- aliases are never used.
One difference we choose: Obsidian breaks remaining ties by the order files were loaded, which is
not specified; we use the sorted order of vault paths, so results are reproducible.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from vaultsync.text.names import dirname, name_key


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a link path leads from one source note."""

    dest: str | None  # the vault path Obsidian opens, or None when unresolved
    candidates: int  # files sharing the looked-up name; > 1 means the name is ambiguous

    @property
    def ambiguous(self) -> bool:
        return self.candidates > 1


class NameTable:
    """Obsidian's ``uniqueFileLookup``: lower-cased file name (with extension) -> files."""

    def __init__(self, uris: Iterable[str] = ()) -> None:
        self._by_name: dict[str, list[tuple[str, str]]] = {}
        self._memo: dict[tuple[str, str], tuple[str | None, int]] = {}
        for uri in sorted(uris):
            self._by_name.setdefault(name_key(uri), []).append((uri.lower(), uri))

    def add(self, uri: str) -> None:
        self._memo.clear()
        bucket = self._by_name.setdefault(name_key(uri), [])
        entry = (uri.lower(), uri)
        if entry not in bucket:
            bisect.insort(bucket, entry, key=lambda e: e[1])

    def remove(self, uri: str) -> None:
        self._memo.clear()
        key = name_key(uri)
        bucket = self._by_name.get(key, [])
        bucket[:] = [e for e in bucket if e[1] != uri]
        if not bucket:
            self._by_name.pop(key, None)

    def __contains__(self, uri: object) -> bool:
        return isinstance(uri, str) and any(e[1] == uri for e in self._by_name.get(name_key(uri), ()))

    def __len__(self) -> int:
        return sum(len(b) for b in self._by_name.values())

    def named(self, name: str) -> list[str]:
        """Files whose lower-cased name (with extension) is ``name``."""
        return [uri for _, uri in self._by_name.get(name.lower(), ())]

    def names(self) -> Iterable[str]:
        return self._by_name.keys()

    def resolve(self, linkpath: str, source: str) -> Resolution:
        """Resolve a link path (already cleaned: trimmed, NFC, no subpath) written in ``source``."""
        return Resolution(*self.resolve_memo(linkpath, source))

    def resolve_memo(self, linkpath: str, source: str, folder: str | None = None) -> tuple[str | None, int]:
        """``resolve`` as ``(dest, candidates)``, remembered per link path and source folder (all
        a resolution depends on) until the table changes: a vault's notes link to the same few
        names over and over. ``folder`` is ``dirname(source)``, for callers that know it."""
        if linkpath == "":
            return source, 1  # [[#Heading]] links to its own note
        key = (linkpath, dirname(source) if folder is None else folder)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= 200_000:
                self._memo.clear()
            dests, count = self._linkpath_dests(linkpath, source)
            found = self._memo[key] = (dests[0] if dests else None, count)
        return found

    def lookup(self, linkpath: str, source: str) -> tuple[str | None, int]:
        """:meth:`resolve_memo` without the memo, for callers that keep their own."""
        if linkpath == "":
            return source, 1
        dests, count = self._linkpath_dests(linkpath, source)
        return dests[0] if dests else None, count

    @staticmethod
    def same_from_every_folder(linkpath: str, candidates: int) -> bool:
        """Whether a resolution with this many candidates is the same whichever folder the link is
        written in: no file of the name (unresolved everywhere), or exactly one and a link path
        that is not relative (``./``, ``../``), since the source folder only orders candidates."""
        return candidates == 0 or (candidates == 1 and not linkpath.startswith("."))

    def linkpath_dests(self, linkpath: str, source: str) -> list[str]:
        """All matches in Obsidian's order (``getLinkpathDest``); the first is the one opened."""
        if linkpath == "":
            return [source]
        return self._linkpath_dests(linkpath, source)[0]

    def _linkpath_dests(self, linkpath: str, source: str) -> tuple[list[str], int]:
        n = linkpath.lower()
        base = n[n.rfind("/") + 1 :]
        cands: list[tuple[str, str]] | None = None
        if "." in base:
            cands = self._by_name.get(base)
        if not cands:
            n = (linkpath + ".md").lower()  # lower-cased as one string, as Obsidian does (final sigma)
            base = n[n.rfind("/") + 1 :]
            cands = self._by_name.get(base)
        if not cands:
            return [], 0
        count = len(cands)
        if base == n and count == 1:
            return [cands[0][1]], 1
        src_dir = dirname(source).lower()
        if n.startswith(("./", "../")):
            if n.startswith("./../"):
                n = n[2:]
            if n.startswith("./"):
                if src_dir:
                    src_dir += "/"  # the mutation is Obsidian's: it also affects the grouping below
                n = src_dir + n[2:]
            else:
                while n.startswith("../"):
                    n = n[3:]
                    src_dir = dirname(src_dir)
                if src_dir:
                    src_dir += "/"
                n = src_dir + n
            for lower, uri in cands:
                if lower == n:
                    return [uri], count
        if n.startswith("/"):
            n = n[1:]
        for lower, uri in cands:
            if lower == n:
                return [uri], count
        if linkpath.startswith("/"):
            return [], count
        near: list[str] = []
        far: list[str] = []
        for lower, uri in cands:
            if lower.endswith(n):
                (near if lower.startswith(src_dir) else far).append(uri)
        near.sort(key=len)
        far.sort(key=len)
        return near + far, count


def unresolved_key(linkpath: str) -> str:
    """How Obsidian's ``unresolvedLinks`` names a missing target: ``.md`` dropped only when it is
    the extension of the last segment; case and folders kept."""
    return linkpath[:-3] if linkpath.lower().endswith(".md") else linkpath
