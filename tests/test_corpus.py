"""bench/corpus.py on the real sample notes (scan and normalize), and the EPUB manifest properties
(a chapter with an inline SVG, such as a callout's icon, declares ``properties="svg"``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import write_file

from exporters import epub
from vaultsync.export.registry import ExportRequest
from vaultsync.export.selection import Selection, select_notes
from vaultsync.fs.vault import Vault
from vaultsync.store.indexing import update_index

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "fixtures" / "tubegraph-sample"
EPUBCHECK_ENV = {**os.environ, "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
ICON = '<svg xmlns="http://www.w3.org/2000/svg" class="callout-icon" width="16" height="16" viewBox="0 0 16 16"><circle cx="8" cy="8" r="6"/></svg>'


@pytest.mark.timeout(600)
@pytest.mark.fixtures
def test_corpus_scan_and_normalize_on_the_sample():
    if not SAMPLE.is_dir():
        pytest.skip("../shared/fixtures is not present")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "corpus.py"), str(SAMPLE), "--ops", "scan,normalize"],
                          capture_output=True, text=True, env=env, timeout=580, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_manifest_properties_follow_the_content():
    assert epub.manifest_properties("<p>plain</p>") == ""
    assert epub.manifest_properties(f"<div class='callout'>{ICON}</div>") == ' properties="svg"'
    both = '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math><img src="https://example.org/a.png" alt=""/>'
    assert epub.manifest_properties(both) == ' properties="mathml remote-resources"'
    assert epub.manifest_properties("<script>1</script>") == ' properties="scripted"'
    assert epub.manifest_properties('<img src="../media/img-1.png"/><a href="https://example.org">x</a>') == ""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_callout_with_icon_passes_epubcheck(tmp_path, monkeypatch):
    """A callout whose box carries an inline SVG icon: the chapter's manifest item says svg and
    epubcheck reports nothing (it said OPF-014 before)."""
    root = tmp_path / "vault"
    write_file(root / "ch" / "callout.md", "---\ntitle: Callout\n---\n# Callout\n\n> [!warning] Careful\n> Mind the gap.\n\nAfter.\n")
    write_file(root / "ch" / "plain.md", "# Plain\n\nNo callout here.\n")
    real = epub.write_parallel

    def with_icons(*args, **kwargs):  # the icon the callout box is drawn with
        return re.sub(r'(<div class="callout callout-\w+">)', lambda m: m.group(1) + ICON, real(*args, **kwargs))

    monkeypatch.setattr(epub, "write_parallel", with_icons)
    vault = Vault(root)
    index, _ = update_index(vault)
    try:
        uris = tuple(select_notes(index, Selection()))
        out = tmp_path / "book.epub"
        epub.exporter.export(ExportRequest(vault, index, uris, out, "Callouts", {}))
    finally:
        index.close()
    with zipfile.ZipFile(out) as z:
        opf = z.read("EPUB/content.opf").decode()
        chapters = {n: z.read(n).decode() for n in z.namelist() if re.fullmatch(r"EPUB/text/ch\d+\.xhtml", n)}
    with_svg = [n for n, html in chapters.items() if "<svg" in html]
    assert with_svg, "the icon did not reach a chapter"
    for name, html in chapters.items():
        item = re.search(rf'<item [^>]*href="text/{Path(name).name}"[^>]*/>', opf).group(0)
        assert ('properties="svg"' in item) == ("<svg" in html), item
    proc = subprocess.run([sys.executable, "-m", "epubcheck", str(out)], capture_output=True, text=True,
                          env=EPUBCHECK_ENV, timeout=280, check=False)  # fmt: skip
    output = proc.stdout + proc.stderr
    problems = [line for line in output.splitlines() if re.match(r"\s*(FATAL|ERROR|WARNING)\b", line)]
    assert proc.returncode == 0 and not problems, output


def test_bare_svg_gets_its_namespace():
    html = '<p><svg width="16" height="16"><path d="M0 0"/></svg> and <math><mi>x</mi></math></p>'
    fixed = epub.with_namespaces(html)
    assert '<svg xmlns="http://www.w3.org/2000/svg" width="16"' in fixed
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML">' in fixed
    assert epub.with_namespaces(fixed) == fixed


def test_void_elements_are_closed():
    html = '<p>a<br>b<br/>c<hr class="x"><img src="a.png" alt="1 > 0" /></p>'
    assert epub.with_namespaces(html) == '<p>a<br />b<br/>c<hr class="x" /><img src="a.png" alt="1 > 0" /></p>'
