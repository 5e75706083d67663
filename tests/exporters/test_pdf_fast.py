"""The PDF's fast markdown -> typst path gives what pandoc's typst writer gives, and heading links resolve.

The fast path only takes blocks it fully understands; for each of those its typst must equal
pandoc's (``--wrap=none``: pandoc's line wrapping is only layout). The corpus is the scenario
vault, the real notes of ../shared/fixtures when present, and a generated set of awkward inputs.
"""

from __future__ import annotations

import itertools
import random
import re

import pytest
from conftest import SHARED_FIXTURES, writable_copy
from export_helpers import copy_scenario, open_vault

from exporters.pandoc import READER, TEMPLATES, run_pandoc
from exporters.pdf import heading_links, resolve_heading_links, typst_body
from exporters.pipeline import ExportContext, build_document
from exporters.typstwriter import NotSimple, block, note_parts
from vaultsync.export.selection import Selection, select_notes
from vaultsync.text.resolve import NameTable

SEPARATOR = "VAULTSYNCTESTSEPARATOR"


def pandoc_typst(blocks: list[str]) -> list[str]:
    text = f"\n\n{SEPARATOR}\n\n".join(blocks)
    out = run_pandoc(["-f", READER, "-t", "typst", "--wrap=none"], text.encode()).decode("utf-8")
    parts = re.split(rf"\n*^{SEPARATOR}$\n*", out, flags=re.MULTILINE)
    assert len(parts) == len(blocks)
    return [p.strip("\n") for p in parts]


def same(mine: str, theirs: str) -> bool:
    """Equal but for blank lines between blocks (typst reads one newline or two alike there)."""
    return re.sub(r"\n\n+", "\n", mine) == re.sub(r"\n\n+", "\n", theirs)


def check_against_pandoc(blocks: list[str]) -> int:
    accepted = []
    for text in blocks:
        try:
            accepted.append((text, block(text)))
        except NotSimple:
            pass
    for start in range(0, len(accepted), 4000):
        part = accepted[start : start + 4000]
        for (text, mine), theirs in zip(part, pandoc_typst([t for t, _ in part]), strict=True):
            assert same(mine, theirs), (text, mine, theirs)
    return len(accepted)


def document_blocks(markdown: str) -> list[str]:
    blocks = (b for b in re.split(r"\n\s*\n", markdown) if b.strip())
    return [b for b in ("\n".join(line for line in b.split("\n") if not line.startswith(":::")) for b in blocks) if b.strip()]


def scenario_markdown(tmp_path) -> str:
    vault, index = open_vault(copy_scenario(tmp_path / "scenario"))
    try:
        uris = select_notes(index, Selection())
        return build_document(ExportContext(vault, NameTable(index.uris()), uris), "Scenario").markdown
    finally:
        index.close()


def test_fast_path_equals_pandoc_on_the_scenario(tmp_path):
    assert check_against_pandoc(document_blocks(scenario_markdown(tmp_path))) >= 30


@pytest.mark.fixtures
def test_fast_path_equals_pandoc_on_real_notes(tmp_path):
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is absent")
    vault, index = open_vault(writable_copy(SHARED_FIXTURES, tmp_path / "tubegraph"))
    try:
        uris = select_notes(index, Selection())
        markdown = build_document(ExportContext(vault, NameTable(index.uris()), uris), "T").markdown
    finally:
        index.close()
    assert check_against_pandoc(document_blocks(markdown)) >= 1000


def awkward_blocks() -> list[str]:
    elems = ["[x](#a)", "[x y](https://e.com/a?b=1&c=2)", "*em*", "**st**", '"q"', "'s'", "word", "‘b’", "“d”", "5", "a_b", "~20"]
    seps = [
        "", " ", ";", ".", ".x", "(x)", ":", ",", "!", "?", "-", "--", "/", "//", "=", "+", "'", '"', "’", "…", "...", "%", "&",
        "|", "\\|", "\\_", "\\#", "\\*", "\\[", "\\]", "\\<", "\\>", "\\\\", "\\`", "·", "$", "@", "#", "<", ">", ")", "(",
        "x;", "1.", "1)", "\u00a0", "–", "—", "  ", " ;", "!",
    ]  # fmt: skip
    blocks = []
    for a, s, b in itertools.product(elems, seps, elems):
        blocks += [a + s + b, f"w {a}{s} {b} end", f"- {a}{s}{b}", f"## {a}{s}{b} {{#h}}", s + a, f"**{a}{s}{b}**", f"x {a}{s}  \n{s}{b}"]
    rng = random.Random(5)
    words = ["a", "*c*", "**d**", "[e](#f)", ";", ".", "(g)", '"h"', "'", "i_j", "~k", "\\_", "1.", "-", "=", "/", ":x:", "&amp;",
             "...", "x--y", "*", "**", "_", "\n", "  \n", "\\\n", "[", "](#a)", "é", "x.", "(", ")", "![i](#a)", "a. b", "#", "> q"]  # fmt: skip
    for _ in range(6000):
        blocks.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 10))).strip())
    return [b for b in blocks if b.strip() and "\n\n" not in b]


def test_fast_path_equals_pandoc_on_awkward_inputs():
    assert check_against_pandoc(awkward_blocks()) >= 5000


def test_notes_with_constructs_across_blocks_go_to_pandoc_whole():
    for note in ("a\n\n```\nx\n\ny\n```\n", "a[^1]\n\n[^1]: b\n", "- a\n\n  b\n", "T\n\n: d\n", "::: {.note}\nx\n:::\n", "<!--\n\nx -->\n"):
        assert note_parts(note) == [(False, note)], note
    parts = note_parts("# T {#n-t}\n\nText [x](#n-t).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n::: {.callout .callout-tip}\n**Tip**\n:::\n")
    assert [done for done, _ in parts] == [True, True, False, True, True, True]


def test_typst_body_matches_pandoc_on_the_scenario(tmp_path):
    """The whole body: the same typst as pandoc alone gave, but for line wrapping."""
    doc = build_document_scenario(tmp_path)
    mine = typst_body(doc.chunks, tmp_path)
    args = ["-f", READER, "-t", "typst", "--wrap=none", "--syntax-highlighting=none"]
    theirs = "\n\n".join(run_pandoc([*args, f"--lua-filter={TEMPLATES / 'typst-callouts.lua'}"], c.encode(), cwd=tmp_path).decode() for c in doc.chunks)

    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", re.sub(r"(?m)^(\s*)\\([0-9=+\-/])", r"\1\2", text)).strip()

    assert norm(mine) == norm(theirs)


def build_document_scenario(tmp_path):
    vault, index = open_vault(copy_scenario(tmp_path / "scenario"))
    try:
        return build_document(ExportContext(vault, NameTable(index.uris()), select_notes(index, Selection())), "Scenario")
    finally:
        index.close()


def test_heading_links_become_placeholders_and_resolve_in_place():
    body = "= A\n<h-a>\nsee #link(<h-a>)[A] and #link(<blk>)[b] <blk>"
    out = heading_links(body)
    assert '#link("x-vaultsync-heading:h-a")[A]' in out and "#link(<blk>)[b]" in out
    pdf = (
        b"<</Type/Annot/Subtype/Link/A<</Type/Action/S/URI/URI(x-vaultsync-heading:h-a)>>/F 4/Contents(x-vaultsync-heading:h-a)>>\n"
        b"<</Type/Annot/Subtype/Link/A<</Type/Action/S/URI/URI(x-vaultsync-heading:gone)>>/F 4>>\n"
        b"<</Names<</Dests<</Names[(h-a)12 0 R]>>>>>>"
    )
    fixed = resolve_heading_links(pdf)
    assert len(fixed) == len(pdf)
    assert b"/Dest(h-a)" in fixed and b"x-vaultsync-heading" not in fixed and b"/Contents(Section)" in fixed
    assert b"gone" not in fixed  # no destination: an inert link, never a dead one
