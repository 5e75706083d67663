"""The index's queries: every read of the stored rows (links, backlinks, unresolved targets, a note's
timestamps, headings and tags, counts), and the ``meta`` table. :class:`vaultsync.store.index.Index`
is built on it; the JSON the rows hold is decoded by :mod:`vaultsync.store.rows`.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from vaultsync.store.rows import (
    StoredLink,
    decode_blocks,
    decode_frontmatter,
    decode_headings,
    decode_ids,
    decode_links,
    decode_missing,
    decode_timestamps,
)


class IndexQueries:
    """The reads of an open index (and its ``meta`` table), on :attr:`conn`."""

    conn: sqlite3.Connection

    # -- meta ------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, value))


    # -- queries ---------------------------------------------------------------------------------

    def uris(self, notes_only: bool = False) -> list[str]:
        sql = "SELECT uri FROM files" + (" WHERE is_note=1" if notes_only else "") + " ORDER BY uri"
        return [r[0] for r in self.conn.execute(sql)]

    def is_note(self, uri: str) -> bool:
        """Whether ``uri`` is an indexed note."""
        return self.conn.execute("SELECT 1 FROM files WHERE uri=? AND is_note=1", (uri,)).fetchone() is not None

    def note_rows(self, frontmatter: bool = True) -> list[tuple[str, str | None, dict[str, Any] | None, bool]]:
        """(uri, title, frontmatter, excluded) of every note; without ``frontmatter`` that field is
        None (decoding 20,000 frontmatters costs more than the rest of the query)."""
        if not frontmatter:
            heads = self.conn.execute("SELECT uri, title, excluded FROM files WHERE is_note=1")
            return [(u, t, None, bool(ex)) for u, t, ex in heads]
        rows = self.conn.execute("SELECT uri, title, frontmatter, excluded FROM files WHERE is_note=1")
        return [(u, t, decode_frontmatter(fm), bool(ex)) for u, t, fm, ex in rows]

    def stored_frontmatters(self) -> list[tuple[str, str]]:
        """(uri, frontmatter as stored: JSON text, see rows.decode_frontmatter) of every note
        that has one, in path order; for readers that decode only what they look at."""
        sql = "SELECT uri, frontmatter FROM files WHERE is_note=1 AND frontmatter IS NOT NULL ORDER BY uri"
        return self.conn.execute(sql).fetchall()

    def frontmatters(self, uris: set[str]) -> dict[str, dict[str, Any] | None]:
        """uri -> frontmatter of the notes in ``uris`` (decoded only for those)."""
        rows = self.conn.execute("SELECT uri, frontmatter FROM files WHERE is_note=1")
        return {u: decode_frontmatter(fm) for u, fm in rows if u in uris}

    def tag_rows(self) -> list[tuple[str, str]]:
        """(uri, tag) of every tag occurrence, frontmatter tags included."""
        return [(r[0], r[1]) for r in self.conn.execute("SELECT f.uri, t.tag FROM tags t JOIN files f ON f.id=t.src")]

    def frontmatter(self, uri: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT frontmatter FROM files WHERE uri=?", (uri,)).fetchone()
        return decode_frontmatter(row[0]) if row else None

    def headings(self, uri: str) -> list[tuple[int, str, list[int]]]:
        """(level, text, span) of a note's headings."""
        row = self.conn.execute(
            "SELECT o.headings FROM files f JOIN occurrences o ON o.id=f.id WHERE f.uri=?", (uri,)
        ).fetchone()
        return [(h.level, h.text, list(h.span)) for h in decode_headings(row[0])] if row else []

    def headings_matching(self, needles: tuple[str, ...], folders: set[str]) -> dict[str, list[tuple[int, str, list[int]]]]:
        """uri -> headings, for the notes directly in ``folders`` with a heading holding any of
        ``needles``: one query, narrowed in SQL (by folder, when there are few, and by the stored
        text), decoded only for the notes it returns."""
        if not needles or not folders:
            return {}
        args: list[str] = list(needles)
        where = "(" + " OR ".join("instr(o.headings, ?) > 0" for _ in needles) + ")"
        if len(folders) <= 64:
            tests = []
            for folder in sorted(folders):
                prefix = folder + "/" if folder else ""
                tests.append("(substr(f.uri, 1, ?) = ? AND instr(substr(f.uri, ?), '/') = 0)")
                args += [str(len(prefix)), prefix, str(len(prefix) + 1)]
            where += " AND (" + " OR ".join(tests) + ")"
        rows = self.conn.execute(
            f"SELECT f.uri, o.headings FROM files f JOIN occurrences o ON o.id=f.id WHERE o.headings IS NOT NULL AND {where}",
            args,
        )
        return {uri: [(h.level, h.text, list(h.span)) for h in decode_headings(text)] for uri, text in rows}

    def data_version(self) -> int:
        """A number that changes whenever another connection commits to the index (SQLite's
        ``PRAGMA data_version``): the key of a reader's cache."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def set_read_only(self) -> None:
        """This connection never writes (a reader beside the daemon's writer)."""
        self.conn.execute("PRAGMA query_only=1")

    def file_id(self, uri: str) -> int | None:
        row = self.conn.execute("SELECT id FROM files WHERE uri=?", (uri,)).fetchone()
        return None if row is None else int(row[0])

    def _uris_of(self, ids: Iterable[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        ids = sorted(set(ids))
        for at in range(0, len(ids), 500):
            batch = ids[at : at + 500]
            sql = "SELECT id, uri FROM files WHERE id IN (%s)" % ",".join("?" * len(batch))  # noqa: S608 - placeholders
            out.update(self.conn.execute(sql, batch))
        return out

    def note(self, uri: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT f.uri, f.title, f.video_id, f.excluded, f.error, f.frontmatter, o.timestamps, o.headings, "
            "o.blocks FROM files f LEFT JOIN occurrences o ON o.id=f.id WHERE f.uri=?",
            (uri,),
        ).fetchone()
        if row is None:
            return None
        return {
            "uri": row[0],
            "title": row[1],
            "video_id": row[2],
            "excluded": bool(row[3]),
            "error": row[4],
            "frontmatter": decode_frontmatter(row[5]),
            "timestamps": [
                {"span": [s.start, s.end], "seconds": s.seconds, "form": s.form, "video_id": s.video_id}
                for s in decode_timestamps(row[6])
            ],
            "headings": [{"level": h.level, "text": h.text, "span": list(h.span)} for h in decode_headings(row[7])],
            "blocks": [{"id": b.id, "span": list(b.span)} for b in decode_blocks(row[8])],
            "tags": [r[0] for r in self.conn.execute(
                "SELECT t.tag FROM tags t JOIN files f ON f.id=t.src WHERE f.uri=? ORDER BY t.start", (uri,)
            )],
        }  # fmt: skip

    def links_from(self, uri: str) -> list[dict[str, Any]]:
        row = self.conn.execute(
            "SELECT o.links FROM files f JOIN occurrences o ON o.id=f.id WHERE f.uri=?", (uri,)
        ).fetchone()
        links = decode_links(row[0]) if row else []
        dests = self._uris_of(link.dest for link in links if link.dest is not None)
        return [
            {"kind": k, "span": [s, e], "target": t, "subpath": sub, "display": d,
             "dest": None if dest is None else dests.get(dest), "ambiguous": cands > 1}
            for k, s, e, t, sub, d, dest, cands in links
        ]  # fmt: skip

    def backlinks(self, uri: str) -> list[dict[str, Any]]:
        dest = self.file_id(uri)
        srcs = [s for (ids,) in self.conn.execute("SELECT srcs FROM backrefs WHERE dest=?", (dest,)) for s in decode_ids(ids)]
        uris = self._uris_of(srcs)
        return [
            {"source": uris[src], "kind": k, "span": [s, e], "target": t, "subpath": sub, "display": d}
            for src, links in sorted(self._links_of(uris), key=lambda r: uris[r[0]])
            for k, s, e, t, sub, d, link_dest, _ in links
            if link_dest == dest
        ]

    def _links_of(self, ids: Iterable[int]) -> Iterator[tuple[int, list[StoredLink]]]:
        """(id, stored links) of the given files."""
        ids = sorted(set(ids))
        for at in range(0, len(ids), 500):
            batch = ids[at : at + 500]
            sql = "SELECT id, links FROM occurrences WHERE id IN (%s)" % ",".join("?" * len(batch))  # noqa: S608 - placeholders
            for file_id, links in self.conn.execute(sql, batch):
                yield file_id, decode_links(links)

    def link_rows(self) -> list[tuple[str, int, str, str, str, str | None, str | None, int]]:
        """Every stored link as (source uri, ordinal, kind, target, subpath, display, dest uri,
        candidates): the whole link table, for tests and tools."""
        uris = dict(self.conn.execute("SELECT id, uri FROM files"))
        return [
            (uri, ordinal, k, t, sub, d, None if dest is None else uris.get(dest), cands)
            for uri, links in self.conn.execute(
                "SELECT f.uri, o.links FROM files f JOIN occurrences o ON o.id=f.id WHERE o.links IS NOT NULL"
            )
            for ordinal, (k, _s, _e, t, sub, d, dest, cands) in enumerate(decode_links(links))
        ]

    def unresolved(self) -> list[dict[str, Any]]:
        """Missing targets, keyed like Obsidian's ``unresolvedLinks``, most referenced first."""
        per_target: dict[str, tuple[int, int]] = {}  # target -> (links, notes)
        for (missing,) in self.conn.execute("SELECT missing FROM occurrences WHERE missing IS NOT NULL"):
            for target, n in Counter(decode_missing(missing)).items():
                count, sources = per_target.get(target, (0, 0))
                per_target[target] = (count + n, sources + 1)
        out: dict[str, dict[str, Any]] = {}
        for target, (count, sources) in per_target.items():
            key = target[:-3] if target.lower().endswith(".md") else target
            entry = out.setdefault(key, {"target": key, "count": 0, "sources": 0})
            entry["count"] += count
            entry["sources"] += sources
        return sorted(out.values(), key=lambda e: (-e["count"], e["target"]))

    def link_counts(self) -> dict[str, int]:
        """Counts over body wikilinks and embeds (the ``links`` of ``vaultsync scan``)."""
        row = self.conn.execute(
            "SELECT SUM(n_links), SUM(n_resolved), SUM(n_ambiguous), SUM(n_embeds), SUM(n_other) FROM files"
        ).fetchone()
        links, resolved, ambiguous, embeds, other = (int(v or 0) for v in row)
        return {
            "links": links,
            "resolved": resolved,
            "unresolved": links - resolved,
            "ambiguous": ambiguous,
            "embeds": embeds,
            "other_links": other,
        }

    def _invalidate_counts(self) -> None:
        self.conn.execute("DELETE FROM meta WHERE key='counts'")

    def counts(self) -> dict[str, int]:
        """Vault totals; cached in ``meta`` until the next write, so an idle warm scan is cheap."""
        cached = self.get_meta("counts")
        if cached is not None:
            return dict(json.loads(cached))
        counts = self._count()
        self.set_meta("counts", json.dumps(counts))
        return counts

    def read_counts(self) -> dict[str, int]:
        """:meth:`counts` for a reader that must not write: the cached totals if there are any,
        else computed and not stored. One read of the cache, so a writer that clears it meanwhile
        (the daemon's next batch) cannot make this write."""
        cached = self.get_meta("counts")
        return dict(json.loads(cached)) if cached is not None else self._count()

    def _count(self) -> dict[str, int]:
        files = self.conn.execute(
            "SELECT SUM(is_note=1), SUM(is_note=0), SUM(excluded=1), SUM(error IS NOT NULL), "
            "COALESCE(SUM(n_timestamps), 0) FROM files"
        ).fetchone()
        stamps = files[4]
        return {
            "notes": int(files[0] or 0),
            "attachments": int(files[1] or 0),
            "excluded": int(files[2] or 0),
            "unreadable": int(files[3] or 0),
            "timestamps": int(stamps),
            **self.link_counts(),
        }

    def tag_counts(self) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            "SELECT lower(t.tag), COUNT(*) FROM tags t JOIN files f ON f.id=t.src "
            "WHERE f.excluded=0 GROUP BY lower(t.tag) ORDER BY COUNT(*) DESC, lower(t.tag)"
        )
        return [(r[0], int(r[1])) for r in rows]

    def most_linked(self, limit: int = 10) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            "SELECT f.uri, SUM(b.n) AS n FROM backrefs b JOIN files f ON f.id=b.dest GROUP BY b.dest "
            "ORDER BY n DESC, f.uri LIMIT ?",
            (limit,),
        )
        return [(r[0], int(r[1])) for r in rows]

    def stored_diagnostics(self) -> list[tuple[str, str, str, str]]:
        rows = self.conn.execute(
            "SELECT f.uri, d.code, d.message, d.severity FROM diagnostics d JOIN files f ON f.id=d.src "
            "ORDER BY f.uri"
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]
