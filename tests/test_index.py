"""The persistent index: cold and warm scans, incremental updates, re-resolution, rebuilds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import write_file
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from vaultsync.fs.vault import Vault
from vaultsync.store import fulltext
from vaultsync.store.index import SCHEMA_VERSION, Index
from vaultsync.store.indexing import rebuild_index, update_index


def scan(root: Path) -> tuple[object, dict]:
    index, report = update_index(Vault(root), jobs=1)
    data = report.as_dict()
    return index, data


def link_table(index) -> set[tuple]:
    return set(index.link_rows())


BASIC = {
    "a.md": "---\ntitle: A\nvideoId: AAAAAAAAAAA\n---\nsee [[b]] and [[b|Bee]] and [[missing]] #tag\n",
    "b.md": "# Bee\n[[a]] ![[pic.png]] <a class=\"yt-timestamp\" data-t=\"00:00:05\">[00:00:05]</a>\n",
    "pic.png": b"\x89PNG\r\n\x1a\n",
}


def test_cold_scan_counts_and_creates_index(make_vault):
    root = make_vault(BASIC)
    index, data = scan(root)
    assert (root / ".vaultsync" / "index.sqlite").is_file()
    assert data["rebuilt"] is True
    assert data["files_read"] == 2
    assert (data["notes"], data["attachments"]) == (2, 1)
    assert (data["links"], data["resolved"], data["unresolved"], data["embeds"]) == (5, 4, 1, 1)
    assert data["timestamps"] == 1
    assert index.backlinks("b.md")[0]["source"] == "a.md"
    assert {r["target"] for r in index.unresolved()} == {"missing"}


def test_warm_scan_with_nothing_changed_reads_nothing(make_vault):
    root = make_vault(BASIC)
    scan(root)[0].close()
    index, data = scan(root)
    assert data["rebuilt"] is False
    assert data["files_read"] == 0
    assert data["links"] == 5


def test_warm_scan_rereads_only_the_changed_note(make_vault):
    root = make_vault(BASIC)
    scan(root)[0].close()
    write_file(root / "a.md", "[[b]] [[c]]\n")
    index, data = scan(root)
    assert data["files_read"] == 1 and data["modified"] == 1
    assert [link["target"] for link in index.links_from("a.md")] == ["b", "c"]


def test_same_size_edit_with_mtime_restored_is_found(make_vault):
    root = make_vault({"a.md": "[[bbb]]\n", "bbb.md": "x", "ccc.md": "y"})
    scan(root)[0].close()
    path = root / "a.md"
    before = path.stat()
    path.write_text("[[ccc]]\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    index, data = scan(root)
    assert data["files_read"] == 1
    assert index.links_from("a.md")[0]["dest"] == "ccc.md"


def test_new_same_named_note_re_resolves_links_of_unchanged_notes(make_vault):
    root = make_vault({"x/src.md": "[[Note]]\n", "y/Note.md": "far"})
    index, _ = scan(root)
    assert index.links_from("x/src.md")[0]["dest"] == "y/Note.md"
    index.close()
    write_file(root / "x" / "Note.md", "near")  # same folder as the source: Obsidian now picks it
    index, data = scan(root)
    assert data["files_read"] == 1  # only the new note; src.md is re-resolved from the index
    assert data["relinked"] == 1
    link = index.links_from("x/src.md")[0]
    assert link["dest"] == "x/Note.md" and link["ambiguous"]


def test_deleted_note_leaves_its_backlinks_unresolved(make_vault):
    root = make_vault(BASIC)
    scan(root)[0].close()
    (root / "b.md").unlink()
    index, data = scan(root)
    assert data["deleted"] == 1 and data["files_read"] == 0
    assert all(link["dest"] is None for link in index.links_from("a.md"))
    assert index.note("b.md") is None


def test_a_created_note_resolves_links_that_were_unresolved(make_vault):
    root = make_vault(BASIC)
    scan(root)[0].close()
    write_file(root / "sub" / "Missing.md", "now here")
    index, data = scan(root)
    assert data["unresolved"] == 0
    assert index.backlinks("sub/Missing.md")[0]["source"] == "a.md"


def test_corrupt_index_is_rebuilt(make_vault):
    root = make_vault(BASIC)
    scan(root)[0].close()
    path = root / ".vaultsync" / "index.sqlite"
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    index, data = scan(root)
    assert data["rebuilt"] is True and data["links"] == 5


def test_index_of_another_schema_version_is_rebuilt(make_vault):
    root = make_vault(BASIC)
    index, _ = scan(root)
    index.conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION - 1),))
    index.close()
    index, data = scan(root)
    assert data["rebuilt"] is True and data["files_read"] == 2


def test_truncated_index_tables_are_rebuilt(make_vault):
    root = make_vault(BASIC)
    index, _ = scan(root)
    index.conn.execute("DROP TABLE backrefs")
    index.close()
    index, data = scan(root)
    assert data["rebuilt"] is True and data["links"] == 5


def test_parallel_cold_scan_equals_serial(make_vault, tmp_path):
    files = {f"f{i // 50}/n{i}.md": f"[[n{(i * 7) % 400}]] [[n{i + 1000}]] [[F1/N{i % 60}]]\n" for i in range(400)}
    root = make_vault(files)
    serial, _ = rebuild_index(Vault(root), jobs=1)
    expected = link_table(serial)
    serial.close()
    parallel, report = rebuild_index(Vault(root), jobs=2)
    assert report.files_read == 400
    assert link_table(parallel) == expected


def test_user_ignore_filters_mark_notes_excluded_but_still_resolved(make_vault):
    root = make_vault(
        {
            ".obsidian/app.json": '{"userIgnoreFilters": ["Archive"]}',
            "Archive/old.md": "[[new]]",
            "Archive2.md": "prefix match excludes this too",
            "new.md": "[[old]]",
        }
    )
    index, data = scan(root)
    assert data["excluded"] == 2
    assert index.links_from("new.md")[0]["dest"] == "Archive/old.md"
    assert index.links_from("Archive/old.md")[0]["dest"] == "new.md"
    index.close()
    write_file(root / ".obsidian" / "app.json", '{"userIgnoreFilters": []}')
    index, data = scan(root)
    assert data["excluded"] == 0


def test_index_lives_in_a_hidden_folder_that_is_not_scanned(make_vault):
    root = make_vault(BASIC)
    scan(root)[0].close()
    write_file(root / ".vaultsync" / "stray.md", "[[a]]")
    _, data = scan(root)
    assert data["notes"] == 2


# -- the index stays equal to a rebuild after any sequence of edits ------------------------------

NAMES = ["a", "b", "Note", "x/Note", "x/y/c", "z/b"]
BODIES = st.lists(st.sampled_from(["[[a]]", "[[b]]", "[[Note]]", "[[x/Note]]", "[[c]]", "![[b]]", "[[./b]]", "text",
                                   "\n## Sub\n", '<a class="yt-timestamp" data-t="00:00:05">[x]</a>']), max_size=4)  # fmt: skip


class IndexMatchesRebuild(RuleBasedStateMachine):
    """backlinks(t) == {s | t in links(s)} and warm == cold, after every add/modify/delete/rename."""

    @initialize()
    def setup(self):
        import tempfile

        self.root = Path(tempfile.mkdtemp(prefix="vaultsync-state-"))
        self.files: set[str] = set()

    @rule(name=st.sampled_from(NAMES), body=BODIES)
    def write(self, name, body):
        write_file(self.root / f"{name}.md", " ".join(body) + "\n")
        self.files.add(f"{name}.md")

    @rule(name=st.sampled_from(NAMES))
    def delete(self, name):
        path = self.root / f"{name}.md"
        if path.exists():
            path.unlink()
            self.files.discard(f"{name}.md")

    @rule(old=st.sampled_from(NAMES), new=st.sampled_from(NAMES))
    def rename(self, old, new):
        src, dst = self.root / f"{old}.md", self.root / f"{new}.md"
        if src.exists() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.rename(src, dst)
            self.files.discard(f"{old}.md")
            self.files.add(f"{new}.md")

    @invariant()
    def warm_equals_cold(self):
        if not hasattr(self, "root"):
            return
        warm, _ = update_index(Vault(self.root), jobs=1)
        got = link_table(warm)
        got_text = fulltext.dump(warm.conn)  # the full-text rows too
        backlinks = {(r["source"], t) for t in warm.uris() for r in warm.backlinks(t)}
        warm.close()
        fresh_root = self.root.parent / (self.root.name + "-cold")
        import shutil

        shutil.rmtree(fresh_root, ignore_errors=True)
        shutil.copytree(self.root, fresh_root, ignore=shutil.ignore_patterns(".vaultsync"))
        cold, _ = rebuild_index(Vault(fresh_root), jobs=1)
        assert got == link_table(cold)
        assert got_text == fulltext.dump(cold.conn)
        assert backlinks == {(row[0], row[6]) for row in got if row[6] is not None}
        cold.close()
        shutil.rmtree(fresh_root)

    def teardown(self):
        import shutil

        if hasattr(self, "root"):
            shutil.rmtree(self.root, ignore_errors=True)


IndexMatchesRebuild.TestCase.settings = settings(
    max_examples=25, stateful_step_count=8, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_index_matches_rebuild = IndexMatchesRebuild.TestCase


def test_indexer_refresh_handles_modified_new_and_deleted_paths(make_vault):
    from vaultsync.store.indexing import Indexer

    root = make_vault({"x/src.md": "[[Note]] [[gone]]\n", "y/Note.md": "far", "gone.md": ""})
    index, _ = scan(root)
    indexer = Indexer(Vault(root), index)
    write_file(root / "x" / "Note.md", "near")
    (root / "gone.md").unlink()
    report = indexer.refresh(["x/Note.md", "gone.md"])
    assert (report.added, report.deleted, report.files_read) == (1, 1, 1)
    assert [link["dest"] for link in index.links_from("x/src.md")] == ["x/Note.md", None]
    write_file(root / "x" / "src.md", "[[Note]]\n")
    report = indexer.refresh(["x/src.md"])
    assert report.modified == 1 and len(index.links_from("x/src.md")) == 1
    assert indexer.refresh(["x/src.md"]).files_read == 0
    index.close()
    again, data = scan(root)  # a full warm scan agrees and has nothing left to do
    assert data["files_read"] == 0 and data["added"] == data["deleted"] == 0


def test_parallel_cold_scan_equals_in_process_scan(make_vault, tmp_path):
    """Workers write their own part databases, merged in SQLite, and count as they go: the result
    (rows and stored totals) must be the in-process scan's, and the totals what SQL counts."""
    files: dict[str, str | bytes] = {}
    for i in range(300):
        folder = f"f{i % 3}"
        files[f"{folder}/n{i}.md"] = (
            f"---\ntitle: N{i}\n---\n[[n{(i + 1) % 300}]] ![[n{i % 7}]] [[same]] [[gone{i % 5}]] "
            f'<a class="yt-timestamp" data-t="00:00:{i % 60:02d}">[x]</a>\n`code [[in code]]` #t{i}\n'
        )
    files["f0/same.md"] = files["f1/same.md"] = "ambiguous name\n"
    files["f2/bad.md"] = b"\xff\xfe not utf-8"
    files["f2/pic.png"] = b"\x89PNG\r\n\x1a\n"
    roots = [make_vault(files), tmp_path / "copy"]
    shutil.copytree(roots[0], roots[1])
    seen: list[tuple[int, int]] = []
    parallel, _ = rebuild_index(Vault(roots[0]), jobs=2, progress=lambda done, total: seen.append((done, total)))
    alone, _ = rebuild_index(Vault(roots[1]), jobs=1)
    assert seen[-1] == (len(files), len(files)) and len(seen) > 2
    assert link_table(parallel) == link_table(alone)
    assert _link_views(parallel) == _link_views(alone)
    assert parallel.counts() == alone.counts() == parallel._count()
    assert parallel.counts()["ambiguous"] == 300 and parallel.counts()["unreadable"] == 1
    assert not list(roots[0].joinpath(".vaultsync").glob("*.part-*"))


def _link_views(index) -> tuple[object, ...]:
    """Everything the index answers about links, in a comparable form."""
    uris = index.uris()
    backlinks = {u: sorted(map(repr, index.backlinks(u))) for u in uris}
    return backlinks, index.unresolved(), index.most_linked(50), {u: index.links_from(u) for u in uris}


def test_warm_updates_answer_like_a_fresh_index(make_vault, tmp_path):
    """Edits, creations that resolve links, deletions of linked notes and a rename, applied by a
    warm scan, must leave backlinks, unresolved links and counts as a rebuild finds them."""
    root = make_vault({
        "a.md": "[[b]] [[b]] [[c]] [[missing]] ![[pic.png]] [[#Top]]\n# Top\n",
        "b.md": "[[a]] [[later]] [[x/dup]] [[dup]]\n",
        "c.md": "[[b|Bee]] [[gone]]\n",
        "gone.md": "[[a]]\n",
        "x/dup.md": "[[a]]\n",
        "pic.png": b"\x89PNG\r\n\x1a\n",
    })  # fmt: skip
    update_index(Vault(root), jobs=1)[0].close()
    (root / "later.md").write_text("[[missing]] [[c]]\n")  # resolves b's [[later]]
    (root / "gone.md").unlink()  # c's [[gone]] becomes unresolved
    (root / "y").mkdir()
    (root / "y" / "dup.md").write_text("[[b]]\n")  # [[dup]] becomes ambiguous
    (root / "c.md").write_text("[[a]] [[b]] [[nowhere]]\n")
    os.rename(root / "x" / "dup.md", root / "x" / "dup2.md")
    warm, report = update_index(Vault(root), jobs=1)
    assert report.files_read == 4 and report.relinked > 0
    fresh_root = tmp_path / "fresh"
    shutil.copytree(root, fresh_root, ignore=shutil.ignore_patterns(".vaultsync"))
    fresh, _ = rebuild_index(Vault(fresh_root), jobs=1)
    assert link_table(warm) == link_table(fresh)
    assert _link_views(warm) == _link_views(fresh)
    assert warm.counts() == fresh.counts() == warm._count()
    assert [b["source"] for b in warm.backlinks("b.md")] == ["a.md", "a.md", "c.md", "y/dup.md"]


def test_a_read_only_reader_gets_totals_without_writing(make_vault):
    """The API's readers are query_only: when the daemon has just cleared the cached totals, a
    reader computes them and must not try to store them."""
    root = make_vault({"a.md": "[[b]] [[missing]]\n", "b.md": "x\n"})
    writer, _ = update_index(Vault(root), jobs=1)
    expected = writer.counts()
    reader = Index.open_existing(writer.path)
    assert reader is not None
    reader.conn.execute("PRAGMA query_only=1")
    writer.conn.execute("DELETE FROM meta WHERE key='counts'")
    assert reader.read_counts() == expected
    assert reader.get_meta("counts") is None


def test_parsing_notes_leaves_no_cyclic_garbage():
    """A cold scan's workers parse with the cyclic collector off (indexing._store_share): that is
    only safe while parsing, the YAML loader included, makes nothing that needs it."""
    import gc

    from vaultsync.fs.vault import FileStat
    from vaultsync.store.indexing import LinkResolver, text_rows
    from vaultsync.text.resolve import NameTable

    root = Path(__file__).resolve().parent.parent
    paths = [p for d in (root / "vault", root / "tests" / "testdata") for p in sorted(d.rglob("*.md"))]
    texts = []
    for path in paths:
        try:
            texts.append((path.relative_to(root).as_posix(), path.read_bytes().decode("utf-8")))
        except UnicodeDecodeError:
            continue
    uris = [u for u, _ in texts]
    resolver = LinkResolver(NameTable(uris), {u: i for i, u in enumerate(uris, 1)}.__getitem__)
    gc.collect()
    gc.disable()
    try:
        for i, (uri, text) in enumerate(texts, 1):
            text_rows(resolver, i, uri, text, FileStat(1, 2, 3, 4), False)
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert len(texts) > 50


def test_scans_work_with_spawned_workers(make_vault, tmp_path, monkeypatch):
    """Where fork is missing (macOS, Windows), workers are spawned and get their state pickled:
    the cold scan's and a large warm update's state must survive that."""
    import multiprocessing

    from vaultsync import workers as _parallel

    monkeypatch.setattr(_parallel, "_context", lambda: (multiprocessing.get_context("spawn"), False))
    files: dict[str, str | bytes] = {f"f{i % 3}/n{i}.md": f"[[n{(i + 1) % 300}]] [[gone{i % 4}]]\n" for i in range(300)}
    root = make_vault(files)
    spawned, _ = rebuild_index(Vault(root), jobs=2, progress=lambda done, total: None)
    for i in range(300):  # over the threshold: the warm update parses in workers too
        (root / f"f{i % 3}" / f"n{i}.md").write_text(f"[[n{(i + 7) % 300}]] [[gone{i % 5}]] [[new]]\n")
    (root / "new.md").write_text("[[n1]]\n")
    warm, report = update_index(Vault(root), jobs=2)
    assert report.files_read == 301
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".vaultsync"))
    alone, _ = rebuild_index(Vault(copy), jobs=1)
    assert link_table(warm) == link_table(alone)
    assert _link_views(warm) == _link_views(alone)
    spawned.close()


def _taken(chunks, tick, share):
    """A map_shares function: the chunks one share took, in the order it took them."""
    import time

    taken = []
    for chunk in chunks:
        taken.append(chunk[0])
        time.sleep(0.03 if share == 0 else 0.0)  # share 0 is the slow one: the others help it
        tick(len(chunk))
    return taken


@pytest.mark.parametrize("jobs", [2, 3])
def test_map_shares_gives_every_chunk_once_and_keeps_runs_together(jobs):
    """Each worker takes its own consecutive run of chunks front to back, then takes from the back
    of the run with most left: every chunk once, and a worker's files stay neighbours."""
    from vaultsync.workers import _segments, map_shares

    items = list(range(40 * 8))
    taken = map_shares(_taken, items, None, jobs=jobs, chunk=8, threshold=1)
    assert sorted(x for share in taken for x in share) == items[::8]
    bounds = _segments(40, jobs)
    for share, got in enumerate(taken):
        own = list(range(bounds[2 * share] * 8, bounds[2 * share + 1] * 8, 8))
        k = 0  # its own run first, in order, up to where others took its back end
        while k < len(got) and k < len(own) and got[k] == own[k]:
            k += 1
        assert all(x not in own for x in got[k:]), (share, got)
        helped = {x for other, theirs in enumerate(taken) if other != share for x in theirs}
        assert set(own[k:]) <= helped  # the rest of its run went to the others
        for run in range(jobs):  # then from the back of the others' runs
            lo, hi = bounds[2 * run] * 8, bounds[2 * run + 1] * 8
            stolen = [x for x in got[k:] if lo <= x < hi]
            assert stolen == sorted(stolen, reverse=True)
    assert len(taken[0]) < 40 // jobs  # the slow share was helped


def test_cold_scan_stores_the_stat_the_workers_take(make_vault):
    """A cold scan's walk does not stat files (the workers fstat what they read): the stored stats
    must be the files' own, so that the next warm scan reads nothing, for notes and attachments,
    in-process and in parallel."""
    files: dict[str, str | bytes] = {f"f{i % 4}/n{i}.md": f"[[n{i + 1}]]\n" for i in range(300)}
    files["f0/pic.png"] = b"\x89PNG\r\n\x1a\n"
    root = make_vault(files)
    os.symlink(root / "f0" / "n0.md", root / "f1" / "link.md")
    for jobs in (1, 2):
        index, report = rebuild_index(Vault(root), jobs=jobs)
        stats = index.file_stats()
        index.close()
        assert report.files_read == 301
        walked = Vault(root).walk().files
        assert {u: st for u, (_, st) in stats.items()} == walked
        index, report = update_index(Vault(root), jobs=jobs)
        index.close()
        assert report.files_read == 0


@pytest.mark.parametrize("stated", [0, 5, 10, 11, 2999, 3000, 4096])
@pytest.mark.parametrize("limit", [100, 3000, 3001, 10**6])
def test_read_fd_reads_to_the_end_whatever_the_stat_said(tmp_path, stated, limit):
    """Notes are read in one call sized by their stat; a file that grew since must still be read
    whole, and never beyond the limit (past which decode_note refuses a note as too large)."""
    from vaultsync.fs.vault import read_fd

    path = tmp_path / "n.md"
    path.write_bytes(b"0123456789" * 300)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert read_fd(fd, stated, limit) == path.read_bytes()[:limit]
    finally:
        os.close(fd)


def test_a_cold_scan_whose_worker_fails_raises_and_leaves_no_scratch_files(make_vault, monkeypatch):
    """A failure in a worker (here: a bug while parsing one note) ends the cold scan with that
    error, and neither its parts nor the unpublished index stay behind; the old index is kept."""
    import sys

    from vaultsync.store import indexing

    if not sys.platform.startswith("linux"):
        pytest.skip("the patched parser reaches the workers by fork")
    root = make_vault({f"f{i % 3}/n{i}.md": f"[[n{i + 1}]]\n" for i in range(1200)})
    update_index(Vault(root), jobs=2)[0].close()
    before = (root / ".vaultsync" / "index.sqlite").read_bytes()
    parse = indexing._parse_file

    def failing(vault, resolver, file_id, uri, *rest):
        if uri == "f1/n1000.md":
            raise RuntimeError("a bug in the parser")
        return parse(vault, resolver, file_id, uri, *rest)

    monkeypatch.setattr(indexing, "_parse_file", failing)
    with pytest.raises(RuntimeError, match="a bug in the parser"):
        rebuild_index(Vault(root), jobs=2)
    assert sorted(p.name for p in (root / ".vaultsync").iterdir()) == ["index.sqlite"]
    assert (root / ".vaultsync" / "index.sqlite").read_bytes() == before
