"""The Anki exporter: cards from notes, imported into a real collection with the official ``anki`` package.

The tests check what Anki ends up holding (notes, cards, fields, decks, tags, media, the import log,
review history), never ``.apkg`` bytes.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLE_VAULT, write_file
from hypothesis import given, settings
from hypothesis import strategies as st

from exporters.anki import BASIC_MODEL_ID, CLOZE_MODEL_ID, exporter
from exporters.cards import CardKind, extract_cards
from exporters.markup import _MD, _fill, render_inline, render_markdown
from vaultsync import parse_note
from vaultsync.export.registry import ExportRequest, ExportResult, load_exporter
from vaultsync.export.selection import Selection, select_notes
from vaultsync.fs.vault import Vault
from vaultsync.store.indexing import update_index

anki_collection = pytest.importorskip("anki.collection")
from anki.import_export_pb2 import ImportAnkiPackageOptions, ImportAnkiPackageRequest  # noqa: E402 - after the importorskip

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
VIDEO = "Ab3dE6gH9jK"

PHYSICS = f"""---
title: Light basics
videoId: {VIDEO}
tags: [physics/optics]
---
Intro before any card <a class="yt-timestamp" data-t="00:00:10">[00:00:10]</a>.

What is the speed of light::About **300,000 km/s** <a class="yt-timestamp" data-t="00:01:05">[00:01:05]</a>
Refraction:::Bending of light at a boundary
Energy of a photon::$E = h\\nu$, see [[Optics Notes|the optics note]] ^photon-energy

Explain total internal reflection
?
Light stays inside the denser medium
when the angle exceeds the critical angle.

Why is the sky blue
??
- Rayleigh scattering
- shorter wavelengths scatter more

The ==cornea== and the ==lens== focus light. #eyes

A lens with {{{{c1::convex}}}} faces converges light; ==highlight== stays a mark.

![[diagram.png]]
Diagram of a lens::![[diagram.png]] with `code::not a card`
"""

OPTICS = """---
title: Optics Notes
deck: Study::Optics
---
## Lenses
Converging lenses focus parallel rays <a class="yt-timestamp" data-t="00:02:00">[00:02:00]</a>.

### Detail
Focal length f.

## Mirrors
Mirrors reflect.

## Empty

## Prisms
Prisms split white light $$n(\\lambda)$$ into colours.
"""


def card_vault(root: Path) -> Path:
    write_file(root / "physics" / "light_basics.md", PHYSICS)
    write_file(root / "physics" / "optics" / "Optics Notes.md", OPTICS)
    write_file(root / "attachments" / "diagram.png", PNG)
    write_file(root / "plain.md", "# Plain\n\nNo cards and no level-2 headings.\n")
    return root


def export(root: Path, output: Path, **options: str) -> ExportResult:
    vault = Vault(root)
    index, _ = update_index(vault)
    try:
        uris = select_notes(index, Selection())
        request = ExportRequest(vault, index, tuple(uris), output, root.name, dict(options))
        return exporter.export(request)
    finally:
        index.close()


def import_package(col: object, package: Path) -> object:
    request = ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions())
    return col.import_anki_package(request).log  # type: ignore[attr-defined]


@pytest.fixture
def col(tmp_path: Path):
    (tmp_path / "anki").mkdir()
    collection = anki_collection.Collection(str(tmp_path / "anki" / "collection.anki2"))
    yield collection
    collection.close()


def notes_by_front(col) -> dict[str, object]:
    out = {}
    for nid in col.find_notes(""):
        note = col.get_note(nid)
        out[re.sub(r"<[^>]+>", "", note.fields[0]).strip()] = note
    return out


# -- a fresh import ------------------------------------------------------------------------------


def test_card_syntax_imports_with_fields_decks_tags_and_media(tmp_path: Path, col) -> None:
    root = card_vault(tmp_path / "Physics Vault")
    result = export(root, tmp_path / "deck.apkg")
    log = import_package(col, result.output)

    assert len(log.new) == col.note_count() == 11 and not log.duplicate and not log.conflicting
    # 6 question notes (2 both ways: 2 cards each), 3 heading notes, 2 cloze notes (2 + 1 clozes)
    assert col.card_count() == 6 + 2 + 3 + 3
    assert result.details["cards"] == col.card_count()
    notes = notes_by_front(col)
    speed = notes["What is the speed of light"]
    assert speed.note_type()["id"] == BASIC_MODEL_ID
    assert speed["Back"].startswith("About <strong>300,000 km/s</strong> <a href=")
    assert f"watch?v={VIDEO}&amp;t=65s" in speed["Back"]
    assert speed["Reverse"] == ""
    refraction = notes["Refraction"]
    assert refraction["Reverse"] and len(refraction.cards()) == 2
    photon = notes["Energy of a photon"]
    assert "\\(E = h\\nu\\)" in photon["Back"] and "^photon-energy" not in photon["Back"]
    assert 'href="obsidian://open?vault=Physics%20Vault&amp;file=Optics%20Notes">the optics note</a>' in photon["Back"]
    multi = notes["Explain total internal reflection"]
    assert multi["Back"] == "<p>Light stays inside the denser medium<br />\nwhen the angle exceeds the critical angle.</p>\n"
    sky = notes["Why is the sky blue"]
    assert "<li>Rayleigh scattering</li>" in sky["Back"] and len(sky.cards()) == 2
    clozes = [col.get_note(n) for n in col.find_notes(f"mid:{CLOZE_MODEL_ID}")]
    texts = sorted(n["Text"] for n in clozes)
    assert "{{c1::convex}}" in texts[0] and "<mark>highlight</mark>" in texts[0]
    assert "{{c1::cornea}}" in texts[1] and "{{c2::lens}}" in texts[1]
    image = notes["Diagram of a lens"]
    (media_name,) = re.findall(r'<img src="([^"]+)"', image["Back"])
    assert (Path(col.media.dir()) / media_name).read_bytes() == PNG
    assert "<code>code::not a card</code>" in image["Back"]

    decks = {d.name for d in col.decks.all_names_and_ids()}
    assert {"Physics Vault::physics", "Study::Optics"} <= decks
    assert col.decks.name(speed.cards()[0].did) == "Physics Vault::physics"
    assert set(speed.tags) == {"physics::optics", "eyes", "folder::physics"}
    heading = notes["Optics Notes › Lenses"]
    assert col.decks.name(heading.cards()[0].did) == "Study::Optics"
    assert "folder::physics::optics" in heading.tags
    assert "<h3>Detail</h3>" in heading["Back"] and "Mirrors" not in heading["Back"]
    assert "\\[n(\\lambda)\\]" in notes["Optics Notes › Prisms"]["Back"]
    assert "Optics Notes › Empty" not in notes  # a heading with nothing under it gives no card
    assert not any("Plain" in front for front in notes)


def test_every_answer_ends_with_title_video_second_and_note_link(tmp_path: Path, col) -> None:
    root = card_vault(tmp_path / "V")
    import_package(col, export(root, tmp_path / "deck.apkg").output)
    notes = notes_by_front(col)
    for front, note in notes.items():
        for card in note.cards():
            answer = card.answer()
            tail = answer[answer.rindex('<div class="vs-source">') :]
            assert answer.rstrip().endswith("</div>"), front
            assert "obsidian://open?vault=V&amp;file=" in tail
    # the card's own timestamp; else the last one before it; else the first after it
    assert "t=65s" in notes["What is the speed of light"]["Source"]
    assert "t=65s" in notes["Refraction"]["Source"]
    assert "Light basics" in notes["Refraction"]["Source"]
    # Optics Notes has no videoId, so its timestamps cannot become links: no video link at all
    assert "youtube" not in notes["Optics Notes › Mirrors"]["Source"]


def test_sample_vault_gives_heading_cards(tmp_path: Path, col) -> None:
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultsync"))
    result = export(root, tmp_path / "sample.apkg")
    log = import_package(col, result.output)
    assert len(log.new) == col.note_count() == col.card_count() == result.details["cards"] > 40
    assert [d.code for d in result.diagnostics] == ["anki-name-shared"] * 2  # the two overview.md notes
    kepler = notes_by_front(col)["Keplers laws of planetary motion › Second Law"]
    assert "t=156s" in kepler["Source"] and "file=keplers_laws_of_planetary_motion" in kepler["Source"]
    assert "sample::orbitalnotes" in {d.name for d in col.decks.all_names_and_ids()}


# -- re-imports ----------------------------------------------------------------------------------


def review(col, note) -> int:
    card = note.cards()[0]
    card.start_timer()
    col.sched.answerCard(card, 4)
    return card.id


def test_reexport_after_edits_updates_in_place_and_keeps_reviews(tmp_path: Path, col) -> None:
    root = card_vault(tmp_path / "V")
    import_package(col, export(root, tmp_path / "one.apkg").output)
    notes = notes_by_front(col)
    before = {front: n.id for front, n in notes.items()}
    reviewed = review(col, notes["What is the speed of light"])
    reviewed_id = review(col, notes["Energy of a photon"])
    assert col.db.scalar("select count() from revlog") == 2

    edited = (
        PHYSICS.replace("About **300,000 km/s**", "Almost **299,792 km/s**")
        .replace("Energy of a photon::", "Photon energy::")  # an explicit ^id: the question may change too
        .replace("The ==cornea== and the ==lens==", "The ==cornea== and the ==crystalline lens==")
    )
    write_file(root / "physics" / "light_basics.md", edited)  # a newer mtime
    log = import_package(col, export(root, tmp_path / "two.apkg").output)

    assert not log.new and not log.conflicting
    assert len(log.updated) == 8  # every card of the edited note
    assert len(log.duplicate) == 3  # the untouched note's cards: already up to date
    assert col.note_count() == 11
    after = notes_by_front(col)
    assert after["What is the speed of light"].id == before["What is the speed of light"]
    assert "299,792" in after["What is the speed of light"]["Back"]
    assert after["Photon energy"].id == before["Energy of a photon"]
    assert any("crystalline lens" in col.get_note(n)["Text"] for n in col.find_notes(f"mid:{CLOZE_MODEL_ID}"))
    for card_id in (reviewed, reviewed_id):
        card = col.get_card(card_id)
        assert card.reps == 1 and card.type == 2  # still a review card
    assert col.db.scalar("select count() from revlog") == 2


def test_reexport_with_every_file_newer_reports_only_updates(tmp_path: Path, col) -> None:
    root = card_vault(tmp_path / "V")
    import_package(col, export(root, tmp_path / "one.apkg").output)
    for path in root.rglob("*.md"):
        write_file(path, path.read_bytes())
    log = import_package(col, export(root, tmp_path / "two.apkg").output)
    assert len(log.updated) == col.note_count() == 11
    assert not log.new and not log.duplicate and not log.conflicting


def test_unchanged_reexport_is_up_to_date(tmp_path: Path, col) -> None:
    root = card_vault(tmp_path / "V")
    first = export(root, tmp_path / "one.apkg")
    import_package(col, first.output)
    log = import_package(col, export(root, tmp_path / "two.apkg").output)
    assert not log.new and not log.updated and not log.conflicting
    assert len(log.duplicate) == col.note_count() == 11  # Anki's word for "already up to date"


def test_moving_a_note_to_another_folder_keeps_its_cards(tmp_path: Path, col) -> None:
    root = card_vault(tmp_path / "V")
    import_package(col, export(root, tmp_path / "one.apkg").output)
    notes = notes_by_front(col)
    ids = {n.id for n in notes.values()}
    reviewed = review(col, notes["Refraction"])
    (root / "archive").mkdir()
    os.rename(root / "physics" / "light_basics.md", root / "archive" / "light_basics.md")
    log = import_package(col, export(root, tmp_path / "two.apkg").output)
    assert not log.new and not log.conflicting
    assert {n.id for n in notes_by_front(col).values()} == ids
    assert col.get_card(reviewed).reps == 1


# -- identity ------------------------------------------------------------------------------------


def keys(text: str, **kw: object) -> dict[str, str]:
    parsed = parse_note("n.md", text)
    return {text[c.front[0] : c.front[1]]: c.key for c in extract_cards(text, parsed, **kw)}  # type: ignore[arg-type]


def test_card_keys_survive_answer_edits_and_markup_changes() -> None:
    assert keys("Q one::A")["Q one"] == keys("Q one::B, longer")["Q one"] == "q:q one"
    ts = 'Q <a class="yt-timestamp" data-t="00:00:05">[00:00:05]</a> **one**::A'
    assert list(keys(ts).values()) == ["q:q one"]
    assert list(keys("See [[Note|the note]]::A").values()) == list(keys("See [[Note | the note]]::B").values())
    assert list(keys("Old question::A ^q1").values()) == list(keys("New question::B ^q1").values()) == ["id:q1"]
    assert list(keys("The ==x== is ==y==.").values()) == list(keys("The ==changed== is ==y==.").values())
    text = "Q::A\nQ::B"
    assert [c.key for c in extract_cards(text, parse_note("n.md", text))] == ["q:q", "q:q#2"]
    assert list(keys("## Head\ntext\n").values()) == list(keys("## Head\nother text\n").values()) == ["h:head"]
    assert keys("### Sub\ntext\n", heading_level=3) and not keys("### Sub\ntext\n")
    assert not keys("## Head\ntext\n", heading_level=0)


def test_card_kinds() -> None:
    text = "a::b\nc:::d\n\ne\n?\nf\n\ng\n??\nh\n\n==i==\n\n{{c1::j}}\n\nk::::l\n\n`m::n`\n"
    kinds = [c.kind for c in extract_cards(text, parse_note("n.md", text))]
    assert kinds == [CardKind.BASIC, CardKind.REVERSED, CardKind.BASIC, CardKind.REVERSED, CardKind.CLOZE, CardKind.CLOZE]


def test_guids_use_the_file_name_not_the_folder_unless_names_clash(tmp_path: Path) -> None:
    import sqlite3
    import zipfile

    def guids(root: Path) -> tuple[set[str], ExportResult]:
        result = export(root, tmp_path / f"{root.name}.apkg")
        with zipfile.ZipFile(result.output) as zf:
            (tmp_path / "c.anki2").write_bytes(zf.read("collection.anki2"))
        with sqlite3.connect(tmp_path / "c.anki2") as conn:
            return {g for (g,) in conn.execute("select guid from notes")}, result

    a, _ = guids(card_vault(tmp_path / "a"))
    b_root = card_vault(tmp_path / "b")
    (b_root / "elsewhere").mkdir()
    os.rename(b_root / "physics" / "light_basics.md", b_root / "elsewhere" / "light_basics.md")
    b, _ = guids(b_root)
    assert a == b
    c_root = card_vault(tmp_path / "c")
    write_file(c_root / "other" / "light_basics.md", "Other::card\n")
    c, result = guids(c_root)
    assert len(c) == 12 and c - a  # the clashing names fall back to the full path
    assert {d.code for d in result.diagnostics} == {"anki-name-shared"}


def test_cli_export_anki(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vaultsync.cli.app import app

    root = card_vault(tmp_path / "V")
    out = tmp_path / "deck.apkg"
    result = CliRunner().invoke(app, ["export", "anki", str(root), "-o", str(out), "--folder", "physics"])
    assert result.exit_code == 0, result.output
    assert out.is_file() and load_exporter("anki") is exporter


def test_package_rows_are_genankis_and_bytes_reproducible(tmp_path: Path) -> None:
    """write_package inserts the rows genanki's per-object writer would (plus each note's mtime)."""
    import itertools
    import sqlite3
    import zipfile

    import genanki

    from exporters.anki import CardSettings, note_cards
    from exporters.apkg import _models, deck_id, write_package
    from exporters.document import ExportContext
    from vaultsync import NameTable, Vault

    root = card_vault(tmp_path / "V")
    write_file(root / "dup" / "light_basics.md", "Other::card\n\nThird:::one ^x\n\nA {{c2::b}} {{c1::c}} {{c2::d}}\n")
    write_file(root / "Study" / "copy.md", "---\ndeck: Study::Optics\n---\nQ::A\nQ::A again\n")
    uris = sorted(str(p.relative_to(root)) for p in root.rglob("*.md"))
    ctx = ExportContext(Vault(root), NameTable(uris), uris)
    ctx.read()
    settings = CardSettings("V", ctx.table)
    notes = [note_cards(settings, ctx, uri) for uri in uris]
    notes.append(notes[-1])  # every card a duplicate: left out
    write_package(notes, {}, tmp_path / "one.apkg")
    write_package(notes, {}, tmp_path / "two.apkg")
    assert (tmp_path / "one.apkg").read_bytes() == (tmp_path / "two.apkg").read_bytes()

    basic, cloze = _models()
    decks: dict[str, genanki.Deck] = {}
    mtimes: dict[str, int] = {}
    due = itertools.count()
    for note in notes:
        for card in note.cards:
            deck = decks.setdefault(note.deck, genanki.Deck(deck_id(note.deck), note.deck))
            if card.guid not in mtimes:
                model = cloze if card.kind is CardKind.CLOZE else basic
                deck.add_note(genanki.Note(model=model, fields=list(card.fields), tags=note.tags, guid=card.guid, due=next(due)))
                mtimes[card.guid] = note.mtime_s
    newest = max(mtimes.values())
    expected = sqlite3.connect(":memory:")
    genanki.Package(list(decks.values())).write_to_db(expected.cursor(), float(newest), itertools.count(newest * 1000))
    expected.executemany("UPDATE notes SET mod=? WHERE guid=?", [(m, g) for g, m in mtimes.items()])
    expected.execute("UPDATE cards SET mod=(SELECT mod FROM notes WHERE notes.id=cards.nid)")
    with zipfile.ZipFile(tmp_path / "one.apkg") as zf:
        (tmp_path / "c.anki2").write_bytes(zf.read("collection.anki2"))
    actual = sqlite3.connect(tmp_path / "c.anki2")
    for table in ("col", "notes", "cards", "sqlite_master"):
        rows = f"select * from {table} order by 1, 2"
        assert actual.execute(rows).fetchall() == expected.execute(rows).fetchall(), table
    assert actual.execute("select count() from cards where ord = 1").fetchone()[0] == 5  # three reversed notes, two with a c2 cloze


# -- markdown ------------------------------------------------------------------------------------

FAST_CASES = [
    "plain text\nsecond line  \nthird",
    "*em* and **strong** and **bold:** text, (*x*) \"quotes\" & ampersand",
    "a*b*c and *a **b** c*",
    "**x**y and x**y** and * not em *",
    "# H1\n## H2 ##\n### \ntext",
    "#5 not heading\n\n1. list\n2. items\n\n- a\n- b\n\npara\n\n- c\n\n- d",
    "* **Bold**: item\n* second\n\nafter",
    "> quote line\n> more\n\n> [x]\n\n>lazy\ncontinuation",
    "line\n===\n\nline\n---\n\n***\n\n    code\n\ntext ~~strike~~ and ~20 ~tilde",
    "&amp; &copy; &#123; & ; AT&T",
    "tab\there and trailing  ",
    "[ref]\n\n[ref]: /url",
    "```\nfence\n\nstill fence\n```\n\nafter",
    "<div>\nhtml\n</div>\n\ntext <b>inline</b>",
    "- item\n\n  continuation\n\nafter",
    "## #\n\n# ##\n\n--- ---\n\n- - -\n\ntext\n\n### last\n",
]


@pytest.mark.parametrize("source", FAST_CASES, ids=range(len(FAST_CASES)))
def test_fast_path_renders_exactly_like_markdown_it(source: str) -> None:
    assert render_markdown(source) == _MD.render(source)


# inline text as the notes have it: words, emphasis, punctuation, breaks, paragraphs; "<", "```" and
# "]:" send a whole fragment to markdown-it (block structure beyond that is left to FAST_CASES: a
# lone "<b>" line or an empty list item before blank lines still differ, as they did before)
_PIECES = ["word", "Ünï", "42", " ", "  ", "\n", "\n\n", "*", "**", "_", "~", "&", "&amp;", "(", ")", ".", ",", ":", ";", "!", "?",
           "'", '"', "‘", "’", "—", "x-y", "=", "\ue0007\ue001", "<", "<pre>", "```", "[x]: /u", "# "]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_fast_path_property(source: str) -> None:
    """The fast path renders exactly as markdown-it does (emphasis, punctuation and breaks above all)."""
    assert render_markdown(source) == _MD.render(source)


@given(st.lists(st.sampled_from(["\ue000", "\ue001", "3", "٣", "12", "x", "<p>"]), max_size=12).map("".join))
def test_placeholders_filled_as_the_regex_would(rendered: str) -> None:
    htmls = [f"<i{n}>" for n in range(10_000)]

    def outcome(fill: object) -> object:
        try:
            return fill()  # type: ignore[operator]
        except IndexError:  # a number past the end: both fail alike
            return IndexError

    regex = outcome(lambda: re.sub("\ue000(\\d+)\ue001", lambda m: htmls[int(m.group(1))], rendered))
    assert outcome(lambda: _fill(rendered, htmls)) == regex


@given(st.lists(st.sampled_from(["Word", "é", "1", "2.", " ", "  ", ",", ".", ";", ":", "'", "(", ")", "?", "!", "‘", "-", "_", "*", "&", '"', "#", "<"]), max_size=12).map("".join))
def test_plain_line_fast_path_renders_like_markdown_it(line: str) -> None:
    expected = _MD.render(line).strip()
    if expected.startswith("<p>") and expected.endswith("</p>") and expected.count("<p>") == 1:
        expected = expected[3:-4]
    assert render_inline(line, (0, len(line)), []) == expected


def test_fast_path_matches_markdown_it_on_whole_notes(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from synth import generate

    generate(tmp_path / "synth", 60, seed=7)
    paths = [*SAMPLE_VAULT.rglob("*.md"), *(tmp_path / "synth").rglob("*.md")]
    for path in paths:
        body = path.read_text(encoding="utf-8").split("---\n", 2)[-1]
        body = re.sub(r'<a class="yt-timestamp"[^>]*>[^<]*</a>|!?\[\[[^\]]*\]\]', "\ue0000\ue001", body)
        assert render_markdown(body) == _MD.render(body), path


def test_the_video_link_of_a_card_follows_the_notes_hours_rule(tmp_path: Path) -> None:
    """One rule for every timestamp of a note: a note that reaches an hour shows HH:MM:SS
    everywhere, the card's ▶ link too (it showed 00:30 beside a body link showing 00:00:30)."""
    from exporters.anki import CardSettings, note_cards
    from exporters.document import ExportContext
    from vaultsync import NameTable

    url = f"https://www.youtube.com/watch?v={VIDEO}&t="
    write_file(tmp_path / "V" / "long.md", f"---\nvideoId: {VIDEO}\n---\nEarly::at [00:30]({url}30s)\n\nLate::at [1:02:03]({url}3723s)\n")
    write_file(tmp_path / "V" / "short.md", f"---\nvideoId: {VIDEO}\n---\nShort::at [00:30]({url}30s)\n")
    ctx = ExportContext(Vault(tmp_path / "V"), NameTable(["long.md", "short.md"]), ["long.md", "short.md"])
    ctx.read()
    settings = CardSettings("V", ctx.table)
    early, late = note_cards(settings, ctx, "long.md").cards
    assert ">00:00:30</a>" in early.fields[1] and ">▶ 00:00:30</a>" in early.fields[3]
    assert ">▶ 01:02:03</a>" in late.fields[3]
    (short,) = note_cards(settings, ctx, "short.md").cards
    assert ">00:30</a>" in short.fields[1] and ">▶ 00:30</a>" in short.fields[3]


def test_pages_and_cards_come_from_one_reading_of_the_notes(tmp_path: Path) -> None:
    """The document model reads each note once: what the PDF/EPUB document and the cards show is
    that reading, even when the file changes after it (the note embedded elsewhere included)."""
    from exporters.anki import CardSettings, note_cards
    from exporters.document import ExportContext
    from exporters.pipeline import build_document
    from vaultsync import NameTable

    write_file(tmp_path / "V" / "a.md", "Question::first answer\n")
    write_file(tmp_path / "V" / "b.md", "See ![[a]]\n")
    ctx = ExportContext(Vault(tmp_path / "V"), NameTable(["a.md", "b.md"]), ["a.md", "b.md"])
    ctx.read()
    write_file(tmp_path / "V" / "a.md", "Question::changed on disk\n")
    markdown = build_document(ctx, "t").markdown
    assert markdown.count("first answer") == 2 and "changed" not in markdown  # the note and its embed
    (card,) = note_cards(CardSettings("V", ctx.table), ctx, "a.md").cards
    assert card.fields[1] == "first answer"


def test_the_vaults_timestamp_hours_setting_holds_in_every_export(tmp_path: Path) -> None:
    """``timestamp-hours = "always"`` (normalize writes HH:MM:SS in every note): the PDF/EPUB
    document and the cards show the same, not MM:SS."""
    from exporters.document import ExportContext
    from exporters.pipeline import build_document

    url = f"https://www.youtube.com/watch?v={VIDEO}&t="
    root = tmp_path / "V"
    write_file(root / "short.md", f"---\nvideoId: {VIDEO}\n---\nShort::at [00:30]({url}30s)\n")
    write_file(root / ".vaultsync.toml", '[normalize]\ntimestamp-hours = "always"\n')
    vault = Vault(root)
    index, _ = update_index(vault)
    try:
        request = ExportRequest(vault, index, ("short.md",), tmp_path / "d.apkg", "t")
        assert f"[00:00:30]({url}30s)" in build_document(ExportContext.for_request(request), "t").markdown
        exporter.export(request)
    finally:
        index.close()
    import sqlite3
    import zipfile

    with zipfile.ZipFile(tmp_path / "d.apkg") as z:
        z.extract("collection.anki2", tmp_path)
    (flds,) = sqlite3.connect(tmp_path / "collection.anki2").execute("select flds from notes").fetchone()
    assert ">00:00:30</a>" in flds and ">▶ 00:00:30</a>" in flds
