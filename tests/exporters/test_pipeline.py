"""The Obsidian -> commonmark_x pipeline, against golden pandoc-input files for the scenario vault.

tests/testdata/export/input/scenario is a small vault built to exercise the pipeline: a channel
index note, heading and block links, a link to an excluded note and to a missing one, whole-note,
section, block and image embeds, an embed cycle, a missing embed, a callout, a highlight, a
comment holding a link, every timestamp anchor form (a label that disagrees with data-t, an href
to another video, markdown and youtu.be links, a prose label, a note without a video) and code
holding wikilink syntax.

The expected files were reviewed by hand. Regenerate them with ``VAULTSYNC_UPDATE_GOLDEN=1`` and
review the diff before committing.
"""

from __future__ import annotations

import os
import re
import struct
import zlib

import pytest
from export_helpers import (
    EXPECTED,
    SCENARIO_ORDER,
    SCENARIO_TITLES,
    anchor_ids,
    build,
    copy_scenario,
    link_targets,
    open_vault,
    without_code,
)

from exporters.pipeline import ExportContext, build_document
from vaultsync.export.selection import Selection
from vaultsync.text.resolve import NameTable

GOLDEN = {
    # name -> (selection, title)
    "scenario": (Selection(), "Scenario"),
    "scenario-note-apple-depth1": (Selection.parse(notes=["alpha/apple_notes.md"], depth=1), "Scenario"),
}


@pytest.fixture
def scenario(tmp_path):
    vault, index = open_vault(copy_scenario(tmp_path / "scenario"))
    yield vault, index
    index.close()


@pytest.fixture
def documents(scenario):
    vault, index = scenario
    return {name: build(vault, index, sel, title) for name, (sel, title) in GOLDEN.items()}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_pandoc_input(documents, name):
    expected = EXPECTED / f"{name}.md"
    actual = documents[name].markdown
    if os.environ.get("VAULTSYNC_UPDATE_GOLDEN") == "1":
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(actual, encoding="utf-8", newline="\n")
    assert expected.exists(), f"{expected} is missing: run with VAULTSYNC_UPDATE_GOLDEN=1 and review it"
    assert actual == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_every_cross_reference_lands_on_an_anchor(documents, name):
    """Checked on the golden file too, so a hand edit cannot introduce a dangling link."""
    for text in (documents[name].markdown, (EXPECTED / f"{name}.md").read_text(encoding="utf-8")):
        ids = anchor_ids(text)
        assert len(ids) == len(set(ids)), "duplicate ids"
        targets = link_targets(text)
        assert targets, "the scenario has cross-references"
        missing = sorted(set(targets) - set(ids))
        assert not missing, f"links to anchors that do not exist: {missing}"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_no_obsidian_syntax_left_outside_code(documents, name):
    text = documents[name].markdown
    prose = without_code(text)
    assert "[[" not in prose and "]]" not in prose
    assert "%%" not in prose
    assert "==" not in prose
    assert 'class="yt-timestamp"' not in text and "<a " not in text
    assert "^stripe-claim" not in text and "^key-claim" not in text
    assert "> [!" not in text
    # code keeps its wikilink syntax verbatim
    assert "```\n[[not a link]] ==not marked==\n```" in text
    assert "`[[not a link either]]`" in text


def test_whole_vault_order_titles_and_chunks(documents):
    doc = documents["scenario"]
    assert doc.notes == len(SCENARIO_ORDER) == len(doc.chunks)
    assert doc.markdown == "\n\n".join(doc.chunks)
    for uri, chunk in zip(SCENARIO_ORDER, doc.chunks):
        assert chunk.startswith(f"# {SCENARIO_TITLES[uri]} {{#n-"), (uri, chunk[:60])
    assert doc.title == "Scenario"


def test_links_inside_and_outside_the_selection(documents):
    whole = documents["scenario"].markdown
    # heading, block and self links become cross-references
    assert "[zebra\\_facts \\> Stripes](#n-alpha-zebra-facts-stripes)" in whole
    assert "[about stripes](#n-alpha-zebra-facts-block-stripe-claim)" in whole
    assert "[Harvest](#n-alpha-apple-notes-harvest)" in whole
    assert "[]{#n-alpha-zebra-facts-block-stripe-claim}" in whole
    # an excluded note (userIgnoreFilters) and a note nobody wrote: plain text
    assert "A private thought: draft\\_idea; a note nobody wrote: no\\_such\\_note." in whole
    # in the --note selection the channel index is outside the export: its link is plain text
    narrow = documents["scenario-note-apple-depth1"].markdown
    assert "From: alpha\n" in narrow
    assert "(#n-alpha-alpha)" not in narrow and "(#n-alpha-kiwi-extra)" not in narrow


def test_timestamps_every_form(documents):
    text = documents["scenario"].markdown
    watch = "https://www.youtube.com/watch?v="
    assert f"[01:23]({watch}AAAAAAAAAAA&t=83s)" in text  # plain html anchor
    assert f"[02:05]({watch}AAAAAAAAAAA&t=125s)" in text  # data-t wins over a disagreeing label
    assert f"[04:10]({watch}AAAAAAAAAAA&t=250s)" in text  # markdown link
    assert f"[00:05:00]({watch}AAAAAAAAAAA&t=300s)" in text  # youtu.be, in a note with hour stamps
    assert f"[see the demo]({watch}AAAAAAAAAAA&t=42s)" in text  # prose label kept
    assert f"[00:03:00]({watch}CCCCCCCCCCC&t=180s)" in text  # href to another video
    assert f"[01:02:03]({watch}AAAAAAAAAAA&t=3723s)" in text
    assert f"[00:30]({watch}BBBBBBBBBBB&t=30s)" in text  # inside a whole-note embed
    assert "No video here 00:07.\n" in text  # no video id: the time as text


def test_embeds_callouts_highlights(documents):
    doc = documents["scenario"]
    text = doc.markdown
    assert text.count("::: {.embed}") == 5  # kiwi, section, block (mango); B in A, A in B
    assert "::: {.embed}\n#### Stripes\nEvery zebra has its own stripe pattern. \n\nNobody knows" in text
    assert "::: {.embed}\nApples grow on trees #fruit/pome." in text
    assert "![](img-0001.png)" in text
    assert "A missing one:\n\nmissing\\_note\n" in text
    # the cycle stops at the note that started it, with a link back to it
    assert "Cycle B embeds A back.\n\n[cycle\\_a](#n-beta-cycle-a)\n:::" in text
    assert "Cycle A starts here.\n\n[cycle\\_b](#n-beta-cycle-b)\n:::" in text
    assert "::: {.callout .callout-warning}\n**Bruised fruit**\n\nHandle apples gently,\nthey bruise **easily**.\n:::" in text
    assert "[grafting keeps the variety]{.mark}" in text
    codes = sorted((d.uri, d.code) for d in doc.diagnostics)
    assert codes == [
        ("alpha/mango_embeds.md", "embed-missing"),
        ("beta/cycle_a.md", "embed-cycle"),
        ("beta/cycle_b.md", "embed-cycle"),
    ]


def test_image_resource_is_the_vault_png(documents):
    resources = documents["scenario"].resources
    assert list(resources) == ["img-0001.png"]
    data = resources["img-0001.png"].read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (4, 4)
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    assert len(zlib.decompress(idat)) == 4 * (1 + 4 * 3)


def test_linked_from_lists_backlinks_within_the_export(documents):
    narrow = documents["scenario-note-apple-depth1"].markdown
    apple = narrow.split("# Zebra facts")[0]
    assert apple.rstrip().endswith("**Linked from:** [Zebra facts](#n-alpha-zebra-facts), [Mango embeds](#n-alpha-mango-embeds)")
    whole = documents["scenario"].markdown
    languages = whole.split("# Языки и Dünya")[1]
    assert "Linked from" not in languages  # nothing links to it


# -- bugs found while writing these tests ---------------------------------------------------------


def _doc(make_vault, files, title="T"):
    from vaultsync.fs.vault import Vault
    from vaultsync.store.indexing import update_index

    vault = Vault(make_vault(files))
    index, _ = update_index(vault)
    try:
        ctx = ExportContext(vault, NameTable(index.uris()), sorted(u for u in index.uris() if u.endswith(".md")))
        return build_document(ctx, title)
    finally:
        index.close()


# Regression: a link to a heading inside %%comment%% points at an anchor never emitted
def test_link_to_heading_inside_a_comment_does_not_dangle(make_vault):
    doc = _doc(make_vault, {"a.md": "x\n%%\n## Hidden\n%%\n\nsee [[#Hidden]]\n"})
    assert set(link_targets(doc.markdown)) <= set(anchor_ids(doc.markdown)), doc.markdown


# Regression: callouts() rewrites '> [!tip]' lines inside fenced code blocks
def test_callout_syntax_inside_code_is_left_alone(make_vault):
    doc = _doc(make_vault, {"a.md": "```\n> [!tip] not a callout\n> body\n```\n"})
    assert "```\n> [!tip] not a callout\n> body\n```" in doc.markdown, doc.markdown


# Regression: timestamps in ![[note#heading]] embeds lose the embedded note's video link
def test_timestamps_in_a_section_embed_link_to_the_video(make_vault):
    doc = _doc(
        make_vault,
        {
            "a.md": '---\nvideoId: AAAAAAAAAAA\n---\n## S\nat <a class="yt-timestamp" data-t="00:00:05">[00:00:05]</a>\n',
            "b.md": "![[a#S]]\n",
        },
    )
    embedded = doc.markdown.split("# b {#n-b}")[1]
    assert "[00:05](https://www.youtube.com/watch?v=AAAAAAAAAAA&t=5s)" in embedded, embedded


# Regression: ![[note#^id]] takes the text between blank lines, with the heading above it
def test_block_embed_takes_only_the_block(make_vault):
    doc = _doc(make_vault, {"a.md": "## Heading\nThe claim. ^blk\n\nMore.\n", "b.md": "![[a#^blk]]\n"})
    embedded = doc.markdown.split("# b {#n-b}")[1]
    assert "The claim." in embedded
    assert "Heading" not in embedded, embedded


def test_golden_files_are_clean_text():
    for path in EXPECTED.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        assert "\r" not in text and not re.search(r"\{#[^}]*\s[^}]*\}", text), path
