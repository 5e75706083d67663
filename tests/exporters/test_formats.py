"""Real EPUB and PDF files of the scenario vault: epubcheck, pypdf, reproducibility, fonts, the CLI.

epubcheck starts a JVM and takes 10-40 s a run, so it runs at most twice per session, both runs at
once, from one module-scoped fixture: the scenario EPUB and (when ../shared/fixtures is present)
one channel of the tubegraph sample.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import SHARED_FIXTURES, writable_copy
from export_helpers import REPO, SCENARIO_TITLES, anchor_ids, copy_scenario, open_vault
from pypdf import PdfReader
from pypdf.generic import ArrayObject, IndirectObject

from exporters.epub import exporter as epub_exporter
from exporters.pdf import FontMissingError, cjk_fonts
from exporters.pdf import exporter as pdf_exporter
from exporters.pipeline import ExportContext, build_document
from vaultsync.export.registry import ExportRequest, load_exporter
from vaultsync.export.selection import Selection, select_notes
from vaultsync.text.resolve import NameTable

pytestmark = pytest.mark.slow

# C1 only and the serial collector: about half the JVM start-up cost of a short epubcheck run.
EPUBCHECK_ENV = {**os.environ, "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
PAPER_SIZES = {"a4": (595.3, 841.9), "letter": (612.0, 792.0)}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The scenario vault exported once to each format, and again to check reproducibility."""
    root = tmp_path_factory.mktemp("formats")
    vault, index = open_vault(copy_scenario(root / "scenario"))
    uris = tuple(select_notes(index, Selection()))
    doc = build_document(ExportContext(vault, NameTable(index.uris()), uris), "Scenario")

    def run(exporter, name, **options):
        return exporter.export(ExportRequest(vault, index, uris, root / name, "Scenario", options))

    results = {
        "epub": run(epub_exporter, "out/scenario.epub"),
        "a4": run(pdf_exporter, "out/a4.pdf", paper="a4"),
        "letter": run(pdf_exporter, "out/letter.pdf", paper="Letter"),
        "epub-again": run(epub_exporter, "again/scenario.epub"),
        "a4-again": run(pdf_exporter, "again/a4.pdf", paper="a4"),
    }
    yield SimpleNamespace(root=root, results=results, markdown=doc.markdown, uris=uris)
    index.close()


def _fixtures_epub(out: Path) -> Path | None:
    """One channel (the smallest folder) of the tubegraph sample to EPUB; None when it is absent."""
    if not SHARED_FIXTURES.is_dir():
        return None
    copy = writable_copy(SHARED_FIXTURES, out / "tubegraph")
    folders = [p for p in copy.iterdir() if p.is_dir() and not p.name.startswith(".") and any(p.rglob("*.md"))]
    folder = min(folders, key=lambda p: (sum(1 for _ in p.rglob("*.md")), p.name))
    vault, index = open_vault(copy)
    try:
        uris = tuple(select_notes(index, Selection.parse(folders=[folder.name])))
        assert uris
        target = out / "tubegraph.epub"
        epub_exporter.export(ExportRequest(vault, index, uris, target, folder.name))
        return target
    finally:
        index.close()


@pytest.fixture(scope="module")
def epubcheck_reports(exports):
    """``python -m epubcheck FILE`` for each EPUB, run concurrently: name -> (exit code, output)."""
    files = {"scenario": exports.results["epub"].output}
    fixtures = _fixtures_epub(exports.root)
    if fixtures is not None:
        files["fixtures"] = fixtures
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "epubcheck", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=EPUBCHECK_ENV,
        )
        for name, path in files.items()
    }
    reports = {}
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=280)
        reports[name] = (proc.returncode, output)
    return reports


def _assert_clean(report):
    code, output = report
    problems = [line for line in output.splitlines() if re.match(r"\s*(FATAL|ERROR|WARNING)\b", line)]
    assert code == 0 and not problems, output


# -- EPUB -------------------------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_scenario_epub_passes_epubcheck(epubcheck_reports):
    _assert_clean(epubcheck_reports["scenario"])


@pytest.mark.timeout(300)
@pytest.mark.fixtures
def test_fixtures_epub_passes_epubcheck(epubcheck_reports):
    if "fixtures" not in epubcheck_reports:
        pytest.skip("../shared/fixtures is not present")
    _assert_clean(epubcheck_reports["fixtures"])


def test_epub_package_metadata_and_internal_links(exports):
    path = exports.results["epub"].output
    with zipfile.ZipFile(path) as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert z.read("mimetype") == b"application/epub+zip"
        names = z.namelist()
        opf = z.read("EPUB/content.opf").decode()
        chapters = {n.rsplit("/", 1)[-1]: z.read(n).decode() for n in names if re.search(r"/ch\d+\.xhtml$", n)}
        nav = z.read("EPUB/nav.xhtml").decode()
        css = "".join(z.read(n).decode() for n in names if n.endswith(".css"))
        pngs = [z.read(n) for n in names if n.endswith(".png")]
    assert "<dc:language>en</dc:language>" in opf
    assert re.search(r"<dc:identifier[^>]*>urn:uuid:[0-9a-f-]{36}</dc:identifier>", opf)
    assert "<dc:title" in opf and ">Scenario</dc:title>" in opf
    assert 'properties="cover-image"' in opf
    assert ".callout" in css
    assert pngs and pngs[0].startswith(b"\x89PNG")
    assert len(chapters) == len(exports.uris)  # one chapter per note
    for title in SCENARIO_TITLES.values():
        assert title in nav, title
    ids = {name: set(re.findall(r'\sid="([^"]+)"', text)) for name, text in chapters.items()}
    internal = [(m.group(1), m.group(2)) for text in chapters.values() for m in re.finditer(r'href="(ch\d+\.xhtml)#([^"]+)"', text)]
    assert len(internal) >= 20
    for chapter, fragment in internal:
        assert fragment in ids[chapter], (chapter, fragment)
    everything = "".join(chapters.values())
    assert "[[" not in everything.replace("[[not a link", "") and "%%" not in everything
    assert '<div class="callout callout-warning">' in everything and "<mark>" in everything


# -- PDF --------------------------------------------------------------------------------------------


def _internal_destinations(reader: PdfReader) -> list[tuple[str | None, int]]:
    """(named destination or None, page index) of every internal /Link annotation."""
    named = reader.named_destinations
    found = []
    for page in reader.pages:
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if annot.get("/Subtype") != "/Link":
                continue
            dest = annot.get("/Dest")
            action = annot.get("/A")
            if dest is None and action is not None and action.get("/S") == "/GoTo":
                dest = action.get("/D")
            if dest is None:
                continue
            dest = dest.get_object() if isinstance(dest, IndirectObject) else dest
            if isinstance(dest, ArrayObject):
                found.append((None, reader.get_page_number(dest[0].get_object())))
            else:
                name = str(dest)
                assert name in named, f"link to an undefined destination {name!r}"
                found.append((name, reader.get_destination_page_number(named[name])))
    return found


def _uris(reader: PdfReader) -> list[str]:
    out = []
    for page in reader.pages:
        for ref in page.get("/Annots") or []:
            action = ref.get_object().get("/A")
            if action is not None and action.get("/S") == "/URI":
                out.append(str(action["/URI"]))
    return out


def _outline(reader: PdfReader, items=None) -> list[tuple[str, int]]:
    out = []
    for item in reader.outline if items is None else items:
        if isinstance(item, list):
            out += _outline(reader, item)
        else:
            out.append((item.title, reader.get_destination_page_number(item)))
    return out


@pytest.fixture(scope="module", params=["a4", "letter"])
def pdf(request, exports):
    path = exports.results[request.param].output
    reader = PdfReader(path)
    texts = [page.extract_text() for page in reader.pages]
    return SimpleNamespace(paper=request.param, reader=reader, texts=texts, markdown=exports.markdown)


def test_pdf_pages_titles_header_and_page_numbers(pdf, exports):
    assert exports.results[pdf.paper].details == {"paper": pdf.paper, "left_out": []}
    assert len(pdf.reader.pages) > 2
    box = pdf.reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(PAPER_SIZES[pdf.paper], abs=0.5)
    text = "\n".join(pdf.texts)
    for title in SCENARIO_TITLES.values():
        assert title in text, title
    assert pdf.texts[0].startswith("Scenario")  # title page
    assert pdf.texts[1].startswith("Contents")
    for number, page in enumerate(pdf.texts, start=1):
        assert page.rstrip().endswith(str(number))  # page numbers
        if number > 2:
            assert page.startswith("Scenario\n")  # running header after the title page and contents


def test_pdf_internal_links_land_on_their_targets(pdf):
    dests = _internal_destinations(pdf.reader)
    assert len(dests) >= 20
    assert any(name is None for name, _ in dests)  # the block link becomes an explicit destination
    headings = {
        anchor: text.replace("\\", "")
        for text, anchor in re.findall(r"^#+ ([^\[\n]*?) \{#([^}]+)\}$", pdf.markdown, re.MULTILINE)
    }
    assert set(headings) <= set(anchor_ids(pdf.markdown))
    checked = 0
    for name, page in dests:
        assert 0 <= page < len(pdf.reader.pages)
        if name in headings:
            assert headings[name] in pdf.texts[page], (name, page)
            checked += 1
    assert checked >= 15


def test_pdf_outline_has_the_notes(pdf):
    outline = _outline(pdf.reader)
    titles = [title for title, _ in outline]
    for title in SCENARIO_TITLES.values():
        assert title in titles, title
    for title, page in outline:
        if title in SCENARIO_TITLES.values():
            assert title in pdf.texts[page]
    # notes in export order
    order = [t for t in titles if t in SCENARIO_TITLES.values()]
    assert order == list(SCENARIO_TITLES.values())


def test_pdf_links_to_the_second_of_the_video(pdf):
    uris = _uris(pdf.reader)
    watch = "https://www.youtube.com/watch?v="
    timed = [u for u in uris if re.fullmatch(r"https://www\.youtube\.com/watch\?v=[\w-]{11}&t=\d+s", u)]
    assert len(timed) >= 8
    for expected in ("AAAAAAAAAAA&t=83s", "AAAAAAAAAAA&t=125s", "AAAAAAAAAAA&t=3723s", "CCCCCCCCCCC&t=180s", "BBBBBBBBBBB&t=30s"):
        assert watch + expected in uris, expected


def test_non_latin_text_is_extractable(pdf):
    text = "\n".join(pdf.texts)
    assert "Привет, мир! Съешь же ещё этих мягких французских булок." in text
    assert "Pijamalı hasta yağız şoföre çabucak güvendi. İstanbul, ığdır, şeker." in text
    assert "Языки и Dünya" in text


def test_exports_are_reproducible(exports):
    r = exports.results
    assert r["a4"].output.read_bytes() == r["a4-again"].output.read_bytes()
    assert r["epub"].output.read_bytes() == r["epub-again"].output.read_bytes()
    assert r["a4"].output.read_bytes() != r["letter"].output.read_bytes()


def test_cjk_renders_or_fails_clearly(make_vault, tmp_path):
    from vaultsync.fs.vault import Vault
    from vaultsync.store.indexing import update_index

    vault = Vault(make_vault({"cjk.md": "---\ntitle: 东京 notes\n---\n日本語のテキスト。中文文本。한국어.\n"}))
    index, _ = update_index(vault)
    target = tmp_path / "cjk.pdf"
    request = ExportRequest(vault, index, ("cjk.md",), target, "CJK")
    try:
        if cjk_fonts():
            pdf_exporter.export(request)
            text = "".join(page.extract_text() for page in PdfReader(target).pages)
            assert "日本語のテキスト" in text and "中文文本" in text
        else:
            with pytest.raises(FontMissingError) as caught:
                pdf_exporter.export(request)
            assert "Chinese, Japanese or Korean" in str(caught.value)
            assert "fonts-noto-cjk" in (caught.value.hint or "")
            assert not target.exists()
    finally:
        index.close()


def test_unknown_paper_is_refused(exports, tmp_path):
    from vaultsync.errors import VaultsyncError
    from vaultsync.fs.vault import Vault
    from vaultsync.store.indexing import update_index

    vault = Vault(exports.root / "scenario")
    index, _ = update_index(vault)
    try:
        with pytest.raises(VaultsyncError, match="paper"):
            pdf_exporter.export(ExportRequest(vault, index, exports.uris[:1], tmp_path / "x.pdf", "T", {"paper": "a3"}))
    finally:
        index.close()


def test_exporters_are_registered():
    assert load_exporter("pdf") is pdf_exporter
    assert load_exporter("epub") is epub_exporter


# Regression: a link to a heading inside %%comment%% breaks the PDF build (TypstError)
def test_link_to_heading_in_a_comment_does_not_break_the_pdf(make_vault, tmp_path):
    from vaultsync.fs.vault import Vault
    from vaultsync.store.indexing import update_index

    vault = Vault(make_vault({"a.md": "x\n%%\n## Hidden\n%%\n\nsee [[#Hidden]]\n"}))
    index, _ = update_index(vault)
    try:
        pdf_exporter.export(ExportRequest(vault, index, ("a.md",), tmp_path / "a.pdf", "T"))
    finally:
        index.close()
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")


# -- CLI --------------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vaultsync", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def test_cli_export_pdf_end_to_end(tmp_path):
    vault = copy_scenario(tmp_path / "vault")
    target = tmp_path / "out" / "alpha.pdf"
    result = _cli("export", "pdf", str(vault), "-o", str(target), "--folder", "alpha", "--title", "Alpha briefing", "--json", "--mkdir")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # one JSON object, nothing else on stdout
    assert data["format"] == "pdf" and data["paper"] == "a4"
    assert data["notes"] == 5 and Path(data["output"]) == target
    assert "missing_note" in result.stderr  # the missing embed is reported as a warning
    reader = PdfReader(target)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert text.startswith("Alpha briefing")
    assert reader.metadata.title == "Alpha briefing"
    for uri in list(SCENARIO_TITLES)[:5]:
        assert SCENARIO_TITLES[uri] in text
    assert "Cycle A" not in text  # beta/ is not selected
    # nothing matches: a clear error, no file
    empty = _cli("export", "pdf", str(vault), "-o", str(tmp_path / "none.pdf"), "--tag", "nothing")
    assert empty.returncode == 1 and "matches no note" in empty.stderr
    assert not (tmp_path / "none.pdf").exists()
