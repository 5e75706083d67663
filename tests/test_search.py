"""Full-text search: passages, the query language, ranking, Unicode folding, warm == rebuild,
the daemon's refresh, the CLI and the HTTP endpoint (real index, real files, real HTTP)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SHARED_FIXTURES, write_file
from typer.testing import CliRunner

from tests.test_server import TRAVERSALS, Api, _open_api, tree_digest
from vaultsync.cli.app import app
from vaultsync.errors import QueryError
from vaultsync.fs.vault import Vault
from vaultsync.search.engine import Hit, search
from vaultsync.search.query import All, Field, Filter, Not, Term, parse_query
from vaultsync.store import fulltext
from vaultsync.store.index import Index
from vaultsync.store.indexing import Indexer, rebuild_index, update_index
from vaultsync.store.rows import decode_timestamps, encode_timestamps
from vaultsync.text.parse import body_start
from vaultsync.text.passages import Passage, note_passages
from vaultsync.text.scan import scan_body

GOLDEN = Path(__file__).parent / "testdata" / "search" / "vault"
DEGLOBAL = "economics/deglobalization.md"


def passages_of(text: str) -> list[Passage]:
    start = body_start(text)
    scanned = scan_body(text, start)
    return note_passages(text, start, scanned.headings, decode_timestamps(encode_timestamps(scanned.timestamps)))


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    root = tmp_path_factory.mktemp("search") / "vault"
    shutil.copytree(GOLDEN, root)
    index, _ = update_index(Vault(root), jobs=1)
    yield index
    index.close()


def first(index: Index, query: str, **kw: object) -> Hit:
    hits = search(index, query, **kw)  # type: ignore[arg-type]
    assert hits, query
    return hits[0]


def where(hits: list[Hit]) -> list[tuple[str, int]]:
    return [(h.uri, h.line) for h in hits]


# -- passages (pure) ---------------------------------------------------------------------------------


def test_passages_carry_heading_path_lines_and_the_governing_timestamp():
    found = passages_of((GOLDEN / DEGLOBAL).read_text())
    table = [(p.heading, p.line, p.line_end, p.seconds, p.video_id) for p in found]
    assert table == [
        ("", 10, 10, None, None),  # before the first timestamp: none governs it
        ("Tariffs", 14, 14, 83, None),  # the first anchor in the passage
        ("Tariffs", 16, 16, 90, None),  # else the last one before it in the section
        ("Tariffs", 18, 18, 125, None),  # a list item is a passage
        ("Tariffs", 19, 20, 125, None),  # with its continuation line
        ("Tariffs > Steel quotas", 24, 24, 190, None),
        ("Long run", 28, 28, 3723, None),
        ("Long run", 30, 30, 90, "OtherVid_01"),  # a markdown timestamp's own video
    ]
    assert found[1].text == "Tariffs rose sharply after the crisis."  # anchors and their commas cut
    assert found[4].text == "Friend-shoring among allies continues on a second line"


def test_a_timestamp_does_not_govern_past_its_section_and_empty_leaf_headings_are_passages():
    text = '# A\nsaid <a class="yt-timestamp" data-t="00:00:05">[00:00:05]</a>\n# B\nno anchor here\n# C\n## D\n# E\n'
    found = [(p.heading, p.text, p.seconds) for p in passages_of(text)]
    assert found == [("A", "said", 5), ("B", "no anchor here", None), ("C > D", "", None), ("E", "", None)]


def test_a_heading_inside_code_is_no_heading_because_the_scanner_says_so():
    found = passages_of("# Real\n\n```\n# not a heading\n```\n")
    assert {p.heading for p in found} == {"Real"}


# -- the query language (pure) -----------------------------------------------------------------------


def test_queries_parse_into_trees():
    q = parse_query('tariff* "supply chains" -steel section:(risks) tag:#economics -file:draft video:abc')
    assert q.text == All((Term("tariff", prefix=True), Term("supply chains", phrase=True), Not(Term("steel")), Field("heading", Term("risks"))))
    assert q.filters == ((Filter("tag", "economics"), False), (Filter("file", "draft"), True), (Filter("video", "abc"), False))
    assert parse_query("http://x.org a:b").text == All((Term("http://x.org"), Term("a:b")))


MALFORMED = ['"unclosed', "(a b", "a )", "", "   ", "a OR", "OR a", "a OR OR b", "tag:", "file:", "section:", "-", "*",
             "x*y", "()", '""', "-a -b", "a OR -b", "(tag:x OR b)", "tag:x OR tag:y", "+++", "file:(a b)"]  # fmt: skip


@pytest.mark.parametrize("query", MALFORMED)
def test_malformed_queries_are_one_line_query_errors_never_sqlite_messages(golden, query):
    with pytest.raises(QueryError) as caught:
        search(golden, query)
    message = str(caught.value)
    assert "\n" not in message and message and "sqlite" not in message.lower() and "fts5" not in message.lower()


# -- the golden vault --------------------------------------------------------------------------------

GOLDEN_QUERIES = [
    # (query, the first hit's uri, its line)
    ("tariffs", DEGLOBAL, 14),  # in the heading and the text
    ('"rose sharply"', DEGLOBAL, 14),
    ("reshoring", DEGLOBAL, 16),
    ("fragile", DEGLOBAL, 10),
    ("reshor*", DEGLOBAL, 16),  # a prefix
    ("deglobal*", DEGLOBAL, None),  # a prefix of the title: every passage of the note has it
    ("nearshoring OR quotas", DEGLOBAL, 24),  # quotas: in the heading and the text
    ('section:"steel quotas"', DEGLOBAL, 24),
    ("line:(continues second)", DEGLOBAL, 19),
    ("port closure", "economics/supply.md", 10),
    ("supply chains -tariffs", "economics/supply.md", 6),
    ('"supply chains" file:supply', "economics/supply.md", 6),
    ('"supply chains" -file:supply', DEGLOBAL, 10),
    ("chains path:economics/supp", "economics/supply.md", 6),
    ("agrees video:OtherVid_01", DEGLOBAL, 30),
    ("video:OtherVid_01", DEGLOBAL, 30),  # only a filter: the passages of that video, in note order
    ("video:othervid_01", None, None),  # video ids are case-sensitive
    ("tariffs -video:dEgLoBaL001", "economics/supply.md", 10),
    ("tag:economics crisis", DEGLOBAL, 14),  # #economics/trade is under #economics
    ("retreat", DEGLOBAL, None),  # an alias
]


@pytest.mark.parametrize(("query", "uri", "line"), GOLDEN_QUERIES, ids=[q for q, _, _ in GOLDEN_QUERIES])
def test_golden_queries_find_their_passage_first(golden, query, uri, line):
    hits = search(golden, query)
    if uri is None:
        assert hits == []
        return
    assert (hits[0].uri, hits[0].line if line is not None else None) == (uri, line)


def test_a_hit_has_the_video_second_its_clock_and_marked_words(golden):
    hit = first(golden, "tariffs rose")  # the note reaches an hour: its clocks have hours (the normalizer's rule)
    assert (hit.title, hit.heading, hit.seconds, hit.clock, hit.video_id) == ("Deglobalization and Trade", "Tariffs", 83, "00:01:23", "dEgLoBaL001")
    assert hit.video_url == "https://www.youtube.com/watch?v=dEgLoBaL001&t=83s"
    assert [hit.snippet[s:e] for s, e in hit.marks] == ["Tariffs", "rose"]
    late = first(golden, "forces")
    assert (late.seconds, late.clock) == (3723, "01:02:03")
    assert first(golden, "supply chains stretch").clock == "00:40"  # a note that stays under an hour
    before = first(golden, "fragile")
    assert (before.seconds, before.clock, before.video_url) == (None, None, "https://www.youtube.com/watch?v=dEgLoBaL001&t=0s")


def test_exclusions_phrases_and_operators(golden):
    assert {h.line for h in search(golden, "apples")} == {3, 5, 9}  # the code block too; not the ignored note
    assert {h.line for h in search(golden, "apples -oranges")} == {5, 9}
    assert {h.line for h in search(golden, '"apples and oranges"')} == {3}
    assert {h.line for h in search(golden, "apples OR oranges")} == {3, 5, 7, 9}
    assert {h.line for h in search(golden, "(apples -code) OR (oranges alone)")} == {3, 5, 7}
    assert {h.line for h in search(golden, "file:fruit -apples")} == {7}  # only exclusions beside a filter
    assert search(golden, "apples", include_excluded=True)[-1].uri == "misc/hidden.md"
    assert {h.uri for h in search(golden, "apples", among={"misc/hidden.md"})} == {"misc/hidden.md"}
    assert search(golden, "nothingmatchesthis") == []


def test_title_and_heading_weigh_more_than_body(golden):
    # "supply" is in supply.md's title and in deglobalization.md's body only
    assert first(golden, "supply").uri == "economics/supply.md"


@pytest.mark.parametrize(
    ("query", "uri"),
    [
        ("istanbul", "languages/turkish.md"), ("İSTANBUL", "languages/turkish.md"),
        ("ışık", "languages/turkish.md"), ("ISIK", "languages/turkish.md"), ("isik festivali", "languages/turkish.md"),
        ("Işık gösterisi", "languages/turkish.md"), ("sehir", "languages/turkish.md"),
        ("नमस्ते", "languages/hindi.md"), ("परीक्षा", "languages/hindi.md"),
        ("\u0915\u093c\u0932\u092e", "languages/hindi.md"),  # क़लम typed decomposed; the note has U+0958
        ("creme brulee", "languages/latin.md"), ("CAFÉ", "languages/latin.md"), ("angstrom", "languages/latin.md"),
        ("naive resume", "languages/latin.md"), ("São", "languages/latin.md"),
        (unicodedata.normalize("NFD", "résumé"), "languages/latin.md"),
        ("東京は日本の首都です", "languages/cjk.md"), ("東京*", "languages/cjk.md"),
    ],
)  # fmt: skip
def test_unicode_text_matches_as_people_type_it(golden, query, uri):
    assert first(golden, query).uri == uri


def test_folded_text_is_shown_as_written(golden):
    hit = first(golden, "isik festivali")
    assert hit.snippet == "İstanbul'da ışık festivali başladı."
    assert [hit.snippet[s:e] for s, e in hit.marks] == ["ışık", "festivali"]
    assert hit.heading == "Şehir"


def test_cjk_runs_are_one_token_so_a_word_inside_one_is_not_found(golden):
    assert search(golden, "首都") == []  # documented: no word segmentation for CJK


def test_a_query_matching_very_many_passages_is_ranked_among_title_and_heading_matches_first(make_vault, monkeypatch):
    files = {f"n{i:02}.md": f"# Part {i}\nthe common word, in passage {i}\n" for i in range(30)}
    files["z.md"] = "# Common ground\nthe common word under a heading that has it\n"
    index, _ = update_index(Vault(make_vault(files)), jobs=1)
    exact = search(index, "common", limit=5)
    monkeypatch.setattr(fulltext, "CANDIDATES", 4)
    bounded = search(index, "common", limit=5)
    assert exact[0].uri == bounded[0].uri == "z.md" and len(bounded) == 5
    assert {h.uri for h in bounded[1:]} <= {f"n{i:02}.md" for i in range(4)}  # then the first in note order
    index.close()


# -- kept current ------------------------------------------------------------------------------------


def test_full_text_after_warm_updates_equals_a_rebuild(make_vault, tmp_path):
    root = make_vault({
        "a.md": "# A\nalpha <a class=\"yt-timestamp\" data-t=\"00:00:05\">[00:00:05]</a>\n",
        "b.md": "---\ntitle: Bee\naliases: [Buzz]\n---\nbeta\n",
        "c.md": "gamma\n",
    })  # fmt: skip
    update_index(Vault(root), jobs=1)[0].close()
    write_file(root / "a.md", '# A\n## A2\nalpha changed\n\n- item <a class="yt-timestamp" data-t="00:01:00">[01:00]</a>\n')
    (root / "c.md").unlink()
    write_file(root / "d.md", "delta ışık\n")
    (root / "sub").mkdir()
    (root / "b.md").rename(root / "sub" / "b.md")
    warm, report = update_index(Vault(root), jobs=1)
    assert not report.rebuilt
    copy = tmp_path / "cold"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".vaultsync"))
    cold, _ = rebuild_index(Vault(copy), jobs=1)
    assert fulltext.dump(warm.conn) == fulltext.dump(cold.conn)
    assert set(fulltext.dump(warm.conn)) == {"a.md", "d.md", "sub/b.md"}
    assert [h.uri for h in search(warm, "gamma")] == [] and search(warm, "buzz")[0].uri == "sub/b.md"
    warm.close()
    cold.close()


def test_the_daemons_refresh_keeps_the_full_text_current(make_vault):
    root = make_vault({"n.md": "old words\n", "m.md": "other\n"})
    index, _ = update_index(Vault(root), jobs=1)
    indexer = Indexer(Vault(root), index)
    write_file(root / "n.md", 'new words <a class="yt-timestamp" data-t="00:00:42">[00:00:42]</a>\n')
    indexer.refresh(["n.md"])
    assert search(index, "old") == [] and first(index, "new").seconds == 42
    (root / "n.md").unlink()
    indexer.refresh(["n.md"])
    assert search(index, "words") == [] and first(index, "other").uri == "m.md"
    index.close()


def test_a_parallel_cold_scan_has_the_same_full_text_as_one_process(make_vault, tmp_path):
    files = {f"f{i % 4}/n{i}.md": f'# H{i}\nword{i} common <a class="yt-timestamp" data-t="{i}">[x]</a>\n' for i in range(400)}
    one = make_vault(files)
    two = tmp_path / "two"
    shutil.copytree(one, two)
    alone, _ = rebuild_index(Vault(one), jobs=1)
    parallel, _ = rebuild_index(Vault(two), jobs=2)
    assert fulltext.dump(parallel.conn) == fulltext.dump(alone.conn) and len(fulltext.dump(alone.conn)) == 400
    alone.close()
    parallel.close()


def test_an_old_index_without_full_text_is_rebuilt(make_vault):
    root = make_vault({"a.md": "alpha\n"})
    index, _ = update_index(Vault(root), jobs=1)
    index.conn.execute("DROP TABLE fulltext")
    index.close()
    again, report = update_index(Vault(root), jobs=1)
    assert report.rebuilt and first(again, "alpha").uri == "a.md"
    again.close()


# -- a real fixture ----------------------------------------------------------------------------------


def test_a_phrase_from_a_fixture_note_finds_that_passage_first(tmp_path):
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present")
    root = tmp_path / "fixtures"
    shutil.copytree(SHARED_FIXTURES, root)
    index, _ = update_index(Vault(root), jobs=1)
    note = sorted(p for p in root.rglob("*.md") if ".obsidian" not in p.parts)[7]
    text = note.read_text(encoding="utf-8")
    passage = max(passages_of(text), key=lambda p: len(p.text))
    words = passage.text.split()
    phrase = " ".join(words[len(words) // 2 : len(words) // 2 + 6])  # taken at run time: no prose copied here
    hit = first(index, f'"{phrase}"')
    assert (hit.uri, hit.line) == (note.relative_to(root).as_posix(), passage.line)
    index.close()


# -- CLI and HTTP ------------------------------------------------------------------------------------


def test_cli_search_prints_json_and_text(tmp_path):
    root = tmp_path / "vault"
    shutil.copytree(GOLDEN, root)
    runner = CliRunner()
    got = runner.invoke(app, ["search", "tariffs rose", str(root), "--json", "--limit", "1"])
    assert got.exit_code == 0, got.output
    data = json.loads(got.stdout)
    assert data["count"] == 1 and data["hits"][0]["video_url"].endswith("&t=83s")
    text = runner.invoke(app, ["search", "tariffs", str(root), "--folder", "economics", "--where", "videoId=sUpPlY00001"])
    assert text.exit_code == 0 and "Supply chains explained" in text.stdout and "Deglobalization" not in text.stdout
    bad = subprocess.run([sys.executable, "-m", "vaultsync", "search", '"open', str(root)], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: a quote is not closed"), bad.stderr


@pytest.fixture(scope="module")
def search_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from _open_api(tmp_path_factory.mktemp("search-api"))


def test_search_endpoint_answers_hits_with_video_seconds(search_api):
    reply = search_api.client.get("/search?q=Spoke&limit=5")
    assert reply.status == 200 and reply.json["hits"][0]["uri"] == "api/Spoke.md"
    assert set(reply.json["hits"][0]) == {"uri", "title", "heading", "line", "line_end", "snippet", "marks", "seconds",
                                          "clock", "video_id", "video_url", "score"}  # fmt: skip
    scoped = search_api.client.get("/search?q=hub&folder=api&tag=nothing")
    assert scoped.status == 200 and scoped.json["hits"] == []


@pytest.mark.parametrize("url", ["/search?q=%22open", "/search", "/search?q=a&q=b", "/search?q=a&limit=0", "/search?q=a&limit=x", "/search?q=a&where=nokey"])
def test_bad_search_requests_are_json_4xx(search_api, url):
    reply = search_api.client.get(url)
    assert 400 <= reply.status < 500 and set(reply.json) == {"error", "message", "hint"}, (reply.status, reply.body)


@pytest.mark.parametrize("raw", TRAVERSALS)
def test_search_folders_outside_the_vault_are_refused(search_api, raw):
    before = tree_digest(search_api.root, search_api.outside)
    reply = search_api.client.get(f"/search?q=secret&folder={raw}")
    assert 400 <= reply.status < 500 and b"Secret" not in reply.body, (raw, reply.status, reply.body)
    assert tree_digest(search_api.root, search_api.outside) == before


def test_search_needs_the_token_and_the_host(search_api):
    assert search_api.client.get("/search?q=hub", token=None).status == 401
    assert search_api.client.get("/search?q=hub", headers={"Host": "evil.example"}).status == 421
    assert search_api.client.get("/search?q=hub", headers={"Origin": "https://evil.example"}).status == 403
    assert search_api.client.request("POST", "/search?q=hub", {}).status == 405

