"""Bases over a small real vault (tests/testdata/bases/vault): golden views, property types and
null handling, ``file.hasLink`` with ``this``, errors naming file and line, the CLI, and a base
embedded in a PDF and an EPUB export.

Golden files are ``tests/testdata/bases/expected/<base>@<view>.json`` (the ``--json`` output);
``VAULTSYNC_UPDATE_GOLDEN=1`` rewrites them, and the diff is reviewed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from vaultsync.bases import VaultData, evaluate_base, load_base, read_base, table_json
from vaultsync.errors import BaseError
from vaultsync.fs.vault import Vault
from vaultsync.store.indexing import update_index

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "testdata" / "bases"
GOLDEN = [
    ("videos.base", "By channel", None),
    ("videos.base", "Newest", None),
    ("videos.base", "Bread", None),
    ("linked.base", "Linking here", None),
    ("linked.base", "Linking here", "beta/beta.md"),
]


@pytest.fixture(scope="module")
def vault_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bases") / "vault"
    shutil.copytree(DATA / "vault", root)
    return root


@pytest.fixture(scope="module")
def data(vault_copy):
    vault = Vault(vault_copy)
    index, _ = update_index(vault, jobs=1)
    yield vault, VaultData(index, vault)
    index.close()


def _golden_name(base: str, view: str, this: str | None) -> str:
    return f"{base}@{view}" + (f"@{this.replace('/', '_')}" if this else "") + ".json"


@pytest.mark.parametrize(("base", "view", "this"), GOLDEN, ids=[_golden_name(*g) for g in GOLDEN])
def test_golden_view(data, base, view, this):
    vault, rows = data
    got = table_json(evaluate_base(read_base(vault, base), rows, view=view, this=this))
    path = DATA / "expected" / _golden_name(base, view, this)
    if os.environ.get("VAULTSYNC_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(path.read_text(encoding="utf-8"))


def _cells(data, text: str, view: str | None = None) -> dict[str, dict]:
    vault, rows = data
    table = table_json(evaluate_base(load_base(text, "inline.base"), rows, view=view))
    return {r["path"]: r["cells"] for r in table["rows"]}


def test_property_types_follow_types_json_and_missing_values_are_null(data):
    # types.json: published date, recorded datetime, rating number, done checkbox, topics multitext
    cells = _cells(
        data,
        """
filters: file.inFolder("alpha") || file.inFolder("drafts")
formulas:
  kinds: '[published.isType("date"), rating.isType("number"), done.isType("boolean"), topics.isType("list")].join(" ")'
  plus_one: rating + 1
views:
  - type: table
    order: [published, recorded, rating, done, topics, formula.kinds, formula.plus_one, nothing]
""",
    )
    crust = cells["alpha/crust_science.md"]
    assert crust["note.published"] == "2024-01-15"  # a date property: no time
    assert crust["note.recorded"] == "2024-01-10T18:30:00"  # a datetime property
    assert crust["note.rating"] == 5  # "5" in the YAML, typed number by types.json
    assert crust["note.done"] is False and crust["note.topics"] == ["heat", "sugar"]
    assert crust["formula.kinds"] == "true true true true" and crust["formula.plus_one"] == 6
    bread = cells["alpha/bread_basics.md"]
    assert bread["note.topics"] == ["flour"]  # multitext: a single text is a list of one
    oven = cells["alpha/oven_spring.md"]
    assert oven["note.done"] is None and oven["note.topics"] is None and oven["note.nothing"] is None
    assert oven["formula.kinds"] == "true true false false"  # null is no boolean and no list
    draft = cells["drafts/draft.md"]
    assert draft["note.rating"] == "not a number"  # typed number, but no number: the text is kept
    assert draft["formula.plus_one"] == "not a number1"  # and + joins text, as JavaScript does
    assert cells["alpha/alpha.md"]["formula.plus_one"] is None  # null in, null out


def test_untyped_values_are_typed_by_their_shape_and_circular_formulas_fail_in_their_cells(data):
    cells = _cells(
        data,
        """
filters: file.inFolder("alpha") || file.inFolder("beta")
formulas:
  a: formula.b + 1
  b: formula.a
  seen_kind: if(seen, seen.isType("date"))
  related_file: related.asFile().name
views:
  - type: table
    order: [formula.a, formula.seen_kind, formula.related_file]
""",
    )
    # no types.json entry for seen: a YYYY-MM-DD text is a date; a [[link]] text is a link
    assert cells["beta/star_maps.md"]["formula.seen_kind"] is True
    assert cells["alpha/bread_basics.md"]["formula.related_file"] == "crust_science.md"
    # "A formula cannot reference itself directly or indirectly" (Formulas.md)
    assert "refers to itself" in cells["alpha/alpha.md"]["formula.a"]["error"]


def test_a_base_filtering_by_has_link_this_depends_on_where_it_is_shown(data):
    text = "filters: file.hasLink(this.file)\nviews:\n  - type: table\n    order: [file.name]\n"
    vault, rows = data
    base = load_base(text, "alpha/inline.base")
    seen = {this: [r.uri for r in evaluate_base(base, rows, this=this).rows] for this in ("alpha/alpha.md", "alpha/crust_science.md", "beta/beta.md")}
    assert seen["alpha/alpha.md"] == ["alpha/bread_basics.md", "alpha/crust_science.md", "alpha/oven_spring.md"]
    # bread_basics links [[crust_science|...]] in its body; oven_spring embeds it (an embed is a link too)
    assert seen["alpha/crust_science.md"] == ["alpha/bread_basics.md", "alpha/oven_spring.md"]
    assert seen["beta/beta.md"] == ["beta/star_maps.md"]


def test_global_and_view_filters_join_with_and_and_not_means_none(data):
    cells = _cells(
        data,
        """
filters:
  not:
    - file.inFolder("beta")
    - file.inFolder("drafts")
views:
  - type: table
    filters:
      and:
        - videoId
        - rating > 2
""",
    )
    assert sorted(cells) == ["alpha/bread_basics.md", "alpha/crust_science.md", "alpha/oven_spring.md"]


BAD_BASES = [
    ("filters: [unclosed\n", 2, "invalid YAML"),
    ("views:\n  - type: table\n    filters: nosuch(1)\n", 3, "unknown function"),
    ("formulas:\n  ok: price\n  bad: html(price)\n", 3, "not supported"),
    ("formulas:\n  a: price +\n", 2, "cannot parse"),
    ("views:\n  - type: table\n    order: [formula.nope]\n", 3, "no formula named"),
    ("views:\n  - type: table\n    summaries:\n      price: Mean\n", 4, "unknown summary"),
    ("- just\n- a list\n", 1, "mapping"),
]


@pytest.mark.parametrize(("text", "line", "what"), BAD_BASES, ids=[b[2] for b in BAD_BASES])
def test_a_bad_base_is_an_error_naming_file_and_line(text, line, what):
    with pytest.raises(BaseError) as info:
        load_base(text, "folder/bad.base")
    assert (info.value.uri, info.value.line) == ("folder/bad.base", line)
    assert what in info.value.reason


def test_a_base_block_reports_lines_of_the_note():
    note = "# Note\n\n```base\nviews:\n  - type: table\n    order: [nosuch()]\n```\n"
    from vaultsync.bases import base_blocks

    ((_, _, first, text),) = base_blocks(note)
    with pytest.raises(BaseError) as info:
        load_base(text, "note.md", first)
    assert info.value.line == 6


def test_an_unknown_view_is_an_error(data):
    vault, rows = data
    with pytest.raises(BaseError, match="no view named"):
        evaluate_base(read_base(vault, "videos.base"), rows, view="Nope")


# -- the command line (a real process) ---------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "vaultsync", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_json_and_csv(vault_copy):
    out = _cli("base", "videos.base", str(vault_copy), "--view", "Newest", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == json.loads((DATA / "expected" / "videos.base@Newest.json").read_text(encoding="utf-8"))
    out = _cli("base", str(vault_copy / "videos.base"), str(vault_copy), "--view", "By channel", "--csv")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "Title,published,rating,stars,done",
        "Crust science,2024-01-15,5,*****,false",
        "Oven spring,2024-02-20,2.5,**,",
        "Bread basics,2024-03-01,4,****,true",
        "Star maps,2023-11-05,3,***,",
    ]
    out = _cli("base", "linked.base", str(vault_copy), "--this", "beta/beta.md", "--csv")
    assert out.stdout.splitlines() == ["file basename,title", "star_maps,Star maps"], out.stderr
    bad = _cli("base", "nope.base", str(vault_copy))
    assert bad.returncode == 1 and "nope.base" in bad.stderr


# -- exports: a real PDF and EPUB holding the tables ------------------------------------------


def test_pdf_and_epub_show_embedded_bases_as_tables(data, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    from vaultsync.export.registry import ExportRequest, load_exporter

    vault, rows = data
    uris = ("alpha/alpha.md", "alpha/bread_basics.md", "alpha/crust_science.md", "alpha/oven_spring.md", "beta/beta.md", "beta/star_maps.md")
    epub = load_exporter("epub").export(ExportRequest(vault, rows.index, uris, tmp_path / "b.epub", "Bases"))
    with zipfile.ZipFile(epub.output) as z:
        xhtml = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml"))
    assert "<table" in xhtml and "linked.base · Linking here" in xhtml
    # the rows link to the exported notes (cross-references), the base block became a list
    assert ">bread_basics</a>" in xhtml and ">Star maps</a>" in xhtml and "```base" not in xhtml
    pdf = load_exporter("pdf").export(ExportRequest(vault, rows.index, uris, tmp_path / "b.pdf", "Bases"))
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(pdf.output).pages)
    assert "linked.base · Linking here" in text and "file basename" in text and "Crust science" in text
    assert "filters:" not in text  # no YAML left
