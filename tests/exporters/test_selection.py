"""Which notes an export takes and in what order (vaultsync.export.selection)."""

from __future__ import annotations

import pytest
from export_helpers import SCENARIO_ORDER, copy_scenario, open_vault

from vaultsync.errors import ConfigError
from vaultsync.export.selection import Selection, order_notes, select_notes


@pytest.fixture
def scenario_index(tmp_path):
    _, index = open_vault(copy_scenario(tmp_path / "scenario"))
    yield index
    index.close()


@pytest.fixture
def index_of(make_vault):
    opened = []

    def build(files):
        _, index = open_vault(make_vault(files))
        opened.append(index)
        return index

    yield build
    for index in opened:
        index.close()


def select(index, **kwargs):
    return select_notes(index, Selection.parse(**kwargs))


def test_whole_vault_channel_index_order_then_titles_excluded_left_out(scenario_index):
    # alpha/: the index note, then the order it lists (zebra, apple, mango: not alphabetical),
    # then the unlisted kiwi by title; beta/ has no index: by title; drafts/ is userIgnoreFilters.
    assert select(scenario_index) == SCENARIO_ORDER
    assert "drafts/draft_idea.md" in scenario_index.uris()


def test_folder(scenario_index):
    assert select(scenario_index, folders=["beta"]) == ["beta/cycle_a.md", "beta/cycle_b.md", "beta/languages.md"]
    assert select(scenario_index, folders=["/alpha/"]) == SCENARIO_ORDER[:5]
    assert select(scenario_index, folders=["alph"]) == []  # a folder, not a path prefix
    assert select(scenario_index, folders=["beta", "alpha"]) == SCENARIO_ORDER


def test_named_folder_takes_its_excluded_notes(scenario_index):
    assert select(scenario_index, folders=["drafts"]) == ["drafts/draft_idea.md"]


def test_tag_and_nested_tag(scenario_index):
    assert select(scenario_index, tags=["fruit"]) == ["alpha/apple_notes.md", "alpha/mango_embeds.md"]
    assert select(scenario_index, tags=["#FRUIT"]) == ["alpha/apple_notes.md", "alpha/mango_embeds.md"]
    # #animals matches #animals/mammals (frontmatter) and #animals; the child only itself
    assert select(scenario_index, tags=["animals"]) == ["alpha/zebra_facts.md", "beta/languages.md"]
    assert select(scenario_index, tags=["animals/mammals"]) == ["alpha/zebra_facts.md"]
    assert select(scenario_index, tags=["anim"]) == []
    # an inline nested tag: #fruit/pome in the body of apple_notes
    assert select(scenario_index, tags=["fruit/pome"]) == ["alpha/apple_notes.md"]
    assert select(scenario_index, tags=["loops", "fruit"]) == [
        "alpha/apple_notes.md",
        "alpha/mango_embeds.md",
        "beta/cycle_a.md",
        "beta/cycle_b.md",
    ]


def test_note_with_depth_is_breadth_first(scenario_index):
    apple = "alpha/apple_notes.md"
    assert select(scenario_index, notes=[apple]) == [apple]
    # apple links zebra, mango, cycle_a (and the excluded draft, a missing note, itself)
    level1 = [apple, "alpha/zebra_facts.md", "alpha/mango_embeds.md", "beta/cycle_a.md"]
    assert select(scenario_index, notes=[apple], depth=1) == level1
    # next level, in the order of the level-1 notes: zebra -> alpha, mango -> kiwi, cycle_a -> cycle_b
    level2 = level1 + ["alpha/alpha.md", "alpha/kiwi_extra.md", "beta/cycle_b.md"]
    assert select(scenario_index, notes=[apple], depth=2) == level2
    assert select(scenario_index, notes=[apple], depth=9) == level2
    assert select(scenario_index, notes=[apple], depth=-3) == [apple]
    # combined with a folder: the intersection, breadth-first order kept
    assert select(scenario_index, notes=[apple], depth=2, folders=["alpha"]) == [
        apple,
        "alpha/zebra_facts.md",
        "alpha/mango_embeds.md",
        "alpha/alpha.md",
        "alpha/kiwi_extra.md",
    ]


def test_note_seeds_keep_their_order(scenario_index):
    assert select(scenario_index, notes=["beta/cycle_b.md", "alpha/kiwi_extra.md"]) == [
        "beta/cycle_b.md",
        "alpha/kiwi_extra.md",
    ]


def test_unknown_note_is_a_config_error(scenario_index):
    with pytest.raises(ConfigError, match="no such note"):
        select(scenario_index, notes=["alpha/nope.md"])


def test_where_on_frontmatter(scenario_index):
    assert select(scenario_index, where=["status=published"]) == ["alpha/zebra_facts.md"]
    assert select(scenario_index, where=["status = DRAFT"]) == ["alpha/apple_notes.md"]
    # list values match any element; several --where combine
    assert select(scenario_index, where=["tags=loops"]) == ["beta/cycle_a.md", "beta/cycle_b.md"]
    assert select(scenario_index, where=["tags=fruit", "status=draft"]) == ["alpha/apple_notes.md"]
    assert set(select(scenario_index, where=["videoId=BBBBBBBBBBB"])) == {"alpha/mango_embeds.md", "alpha/kiwi_extra.md"}
    assert select(scenario_index, where=["status=nothing"]) == []


@pytest.mark.parametrize("bad", ["status", "=draft", " =x"])
def test_where_needs_key_and_value(bad):
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        Selection.parse(where=[bad])


def test_where_scalars_compare_as_text(index_of):
    index = index_of(
        {
            "a.md": "---\nyear: 2020\npublished: true\n---\nA\n",
            "b.md": "---\nyear: 2021\npublished: false\n---\nB\n",
            "c.md": "no frontmatter\n",
        }
    )
    assert select(index, where=["year=2020"]) == ["a.md"]
    assert select(index, where=["published=true"]) == ["a.md"]
    assert select(index, where=["published=false"]) == ["b.md"]


def test_title_order_without_a_channel_index(index_of):
    index = index_of(
        {
            "topic/a.md": "---\ntitle: zulu\n---\n### Not a video heading\n",
            "topic/b.md": "---\ntitle: Alpha\n---\n",
            "topic/c.md": "no title: sorted by its file name\n",
            "topic/d.md": "---\ntitle: beta\n---\n",
            "root note.md": "at the vault root\n",
        }
    )
    assert select(index) == ["root note.md", "topic/b.md", "topic/d.md", "topic/c.md", "topic/a.md"]


def test_channel_index_order_and_its_links_elsewhere(index_of):
    index = index_of(
        {
            "ch/ch.md": (
                "### [Second](https://www.youtube.com/watch?v=BBBBBBBBBBB)\n- [[y]]\n- [[other/w]]\n\n"
                "### [First](https://youtu.be/AAAAAAAAAAA)\n- [[x]]\n- [[y]]\n"
            ),
            "ch/x.md": "x\n",
            "ch/y.md": "y\n",
            "ch/a.md": "not listed\n",
            "other/w.md": "w\n",
        }
    )
    # video order as listed, each note once, notes of other folders stay in theirs
    assert select(index) == ["ch/ch.md", "ch/y.md", "ch/x.md", "ch/a.md", "other/w.md"]


def test_the_index_named_after_its_folder_wins(index_of):
    index = index_of(
        {
            "ch/ch.md": "### [V](https://www.youtube.com/watch?v=AAAAAAAAAAA)\n- [[b]]\n- [[a]]\n",
            "ch/more.md": (
                "### [V1](https://www.youtube.com/watch?v=BBBBBBBBBBB)\n- [[a]]\n"
                "### [V2](https://www.youtube.com/watch?v=CCCCCCCCCCC)\n- [[b]]\n"
            ),
            "ch/a.md": "a\n",
            "ch/b.md": "b\n",
        }
    )
    assert select(index) == ["ch/ch.md", "ch/b.md", "ch/a.md", "ch/more.md"]


def test_order_notes_orders_folders_by_path(scenario_index):
    uris = {"beta/cycle_b.md", "alpha/alpha.md", "alpha/kiwi_extra.md", "alpha/zebra_facts.md"}
    titles = {u: None for u in uris}
    assert order_notes(scenario_index, uris, titles) == [
        "alpha/alpha.md",
        "alpha/zebra_facts.md",
        "alpha/kiwi_extra.md",
        "beta/cycle_b.md",
    ]


# Regression: the channel order is lost when the index note itself is not selected
def test_channel_order_without_the_index_note_in_the_selection(scenario_index):
    # alpha/alpha.md lists zebra, apple, mango; a tag selection that leaves the index note out
    # still lies in a folder that has one, so video order should hold (titles give apple, mango, zebra).
    assert select(scenario_index, tags=["animals/mammals", "fruit"]) == [
        "alpha/zebra_facts.md",
        "alpha/apple_notes.md",
        "alpha/mango_embeds.md",
    ]


# Regression: --note naming a userIgnoreFilters note selects nothing (docstring: kept when named)
def test_named_excluded_note_is_exported(scenario_index):
    assert select(scenario_index, notes=["drafts/draft_idea.md"]) == ["drafts/draft_idea.md"]
