"""Faults the exporters must survive: files symlinked from outside the vault, images that do not
decode, option values that make no sense. Real pandoc and typst, vaults in tmp_path."""

from __future__ import annotations

import os
import sqlite3
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import write_file
from export_helpers import open_vault
from pypdf import PdfReader

from exporters.anki import exporter as anki_exporter
from exporters.epub import exporter as epub_exporter
from exporters.pdf import exporter as pdf_exporter
from vaultsync.errors import ConfigError
from vaultsync.export.registry import ExportRequest
from vaultsync.export.selection import Selection, select_notes

pytestmark = pytest.mark.slow

SECRET = "TOPSECRETOUTSIDETEXT"


def png(width: int = 2, height: int = 2, text: bytes = b"") -> bytes:
    """A valid RGB PNG, with an optional tEXt chunk (a marker to look for in the output)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    extra = chunk(b"tEXt", b"Comment\x00" + text) if text else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def export(vault, index, exporter, output: Path, **options: str):
    uris = tuple(select_notes(index, Selection()))
    return exporter.export(ExportRequest(vault, index, uris, output, "Faults", dict(options)))


# -- (a) nothing from outside the vault ----------------------------------------------------------


@pytest.fixture
def swapped_vault(tmp_path: Path):
    """A vault whose ``out.md`` and ``pic.png`` were indexed as its own files and then swapped for
    symlinks to files outside the vault (what a sync tool or another user can do at any time)."""
    outside = tmp_path / "outside"
    write_file(outside / "secret.md", f"# Secret\n\nSecret question::{SECRET}\n")
    secret_png = png(3, 3, SECRET.encode())
    write_file(outside / "secret.png", secret_png)
    root = tmp_path / "vault"
    write_file(root / "main.md", "# Main\n\nMain note body text.\n\nQuestion one::Answer one ![[pic.png]]\n\n![[out]]\n\n![[pic.png]]\n")
    write_file(root / "other.md", "# Other\n\nOther note body text.\n")
    write_file(root / "out.md", "# Out\n\ninside placeholder\n")
    write_file(root / "pic.png", png())
    vault, index = open_vault(root)
    assert "out.md" in set(index.uris())
    for name, target in (("out.md", outside / "secret.md"), ("pic.png", outside / "secret.png")):
        (root / name).unlink()
        os.symlink(target, root / name)
    yield vault, index, tmp_path / "exports", secret_png
    index.close()


def _named(diagnostics, note: str, *words: str) -> bool:
    return any(d.uri == note and all(w in d.message for w in words) for d in diagnostics)


def test_epub_carries_nothing_from_outside(swapped_vault) -> None:
    vault, index, out, secret_png = swapped_vault
    result = export(vault, index, epub_exporter, out / "book.epub")
    with zipfile.ZipFile(result.output) as book:
        members = {name: book.read(name) for name in book.namelist()}
    assert not [n for n, data in members.items() if data == secret_png or SECRET.encode() in data]
    text = "".join(data.decode("utf-8") for n, data in members.items() if n.endswith(".xhtml"))
    assert "Main note body text." in text and "Other note body text." in text
    assert SECRET not in text and "inside placeholder" not in text
    assert _named(result.diagnostics, "main.md", "out.md") and _named(result.diagnostics, "main.md", "pic.png")


def test_pdf_carries_nothing_from_outside(swapped_vault) -> None:
    vault, index, out, _ = swapped_vault
    result = export(vault, index, pdf_exporter, out / "book.pdf")
    reader = PdfReader(result.output)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Main note body text." in text and "Other note body text." in text
    assert SECRET not in text.replace(" ", "")
    assert SECRET.encode() not in result.output.read_bytes()
    assert sum(len(page.images) for page in reader.pages) == 0
    assert _named(result.diagnostics, "main.md", "out.md") and _named(result.diagnostics, "main.md", "pic.png")


def test_anki_carries_nothing_from_outside(swapped_vault) -> None:
    vault, index, out, secret_png = swapped_vault
    result = export(vault, index, anki_exporter, out / "deck.apkg")
    with zipfile.ZipFile(result.output) as package:
        members = {name: package.read(name) for name in package.namelist()}
    assert members["media"] == b"{}"
    assert not [n for n, data in members.items() if data == secret_png or SECRET.encode() in data]
    db = out / "collection.anki2"
    db.write_bytes(members["collection.anki2"])
    with sqlite3.connect(db) as conn:
        fields = [row[0] for row in conn.execute("SELECT flds FROM notes")]
    assert any("Question one" in f for f in fields) and not any(SECRET in f for f in fields)
    assert _named(result.diagnostics, "main.md", "pic.png")
    assert _named(result.diagnostics, "out.md", "outside the vault")


# -- (b) an image that does not decode -----------------------------------------------------------

CORRUPT = {
    "broken.png": b"\x89PNG\r\n\x1a\n" + b"garbage after the signature" * 8,
    "garbage.jpg": b"this is no jpeg at all" * 8,
    "cut.png": png(4, 4)[:60],
    "cut.gif": b"GIF89a\x04\x00\x04\x00\x80\x00",
    "bad.webp": b"RIFF\x20\x00\x00\x00WEBPVP8 garbage garbage garbage",
    "bad.svg": b"<svg xmlns='http://www.w3.org/2000/svg'><rect",
}


def test_pdf_survives_images_that_do_not_decode(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    for name, data in CORRUPT.items():
        write_file(root / "media" / name, data)
    write_file(root / "media" / "good.png", png(8, 8))
    write_file(root / "a.md", "# First\n\nFirst note body text.\n")
    embeds = "\n\n".join(f"![[{name}]]" for name in [*CORRUPT, "good.png"])
    write_file(root / "b.md", f"# Second\n\nSecond note body text.\n\n{embeds}\n\nSecond note closing text.\n")
    write_file(root / "c.md", "# Third\n\nThird note body text.\n\n![[good.png]]\n")
    vault, index = open_vault(root)
    try:
        result = export(vault, index, pdf_exporter, tmp_path / "out.pdf")
    finally:
        index.close()
    reader = PdfReader(result.output)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for line in ("First note body text.", "Second note body text.", "Second note closing text.", "Third note body text."):
        assert line in text
    assert sum(len(page.images) for page in reader.pages) == 2  # good.png, in notes b and c (a page each)
    for name in CORRUPT:
        assert _named(result.diagnostics, "b.md", f"media/{name}"), (name, result.diagnostics)
        assert name in text  # its name stands in for it
    assert not [d for d in result.diagnostics if "good.png" in d.message]


# -- (c) options are user input ------------------------------------------------------------------


@pytest.fixture
def small_vault(tmp_path: Path):
    write_file(tmp_path / "vault" / "q.md", "# Q\n\nQuestion::Answer\n")
    vault, index = open_vault(tmp_path / "vault")
    yield vault, index, tmp_path
    index.close()


@pytest.mark.parametrize(
    ("exporter", "option", "value"),
    [
        (anki_exporter, "heading_level", "x"),
        (anki_exporter, "heading_level", "7"),
        (anki_exporter, "heading_level", "-1"),
        (anki_exporter, "jobs", "0"),
        (anki_exporter, "jobs", "many"),
        (anki_exporter, "cloze_highlights", "maybe"),
        (pdf_exporter, "paper", "a5"),
        (epub_exporter, "lang", "??"),
    ],
)
def test_bad_options_raise_config_error(small_vault, exporter, option: str, value: str) -> None:
    vault, index, tmp = small_vault
    with pytest.raises(ConfigError) as info:
        export(vault, index, exporter, tmp / f"out{exporter.suffix}", **{option: value})
    message = str(info.value)
    assert option in message
    assert value in message and "\n" not in message


def test_good_options_are_accepted(small_vault) -> None:
    vault, index, tmp = small_vault
    result = export(vault, index, anki_exporter, tmp / "d.apkg", heading_level="0", jobs="2", cloze_highlights="no")
    assert result.output.is_file()
    assert export(vault, index, anki_exporter, tmp / "e.apkg", heading_level=3).output.is_file()  # JSON sends numbers
    for lang, tag in (("pt-BR", "pt-BR"), ("en_US", "en-US")):
        book = export(vault, index, epub_exporter, tmp / f"{lang}.epub", lang=lang)
        with zipfile.ZipFile(book.output) as zf:
            assert f"<dc:language>{tag}</dc:language>" in zf.read("EPUB/content.opf").decode()


def test_epub_drops_relative_links_raw_html_carried_in():
    """Corpus finding (jcs): HTML pasted from a published site kept href="/wiki/x" (RSC-007)."""
    from exporters.epub import split_chapters

    html = '<section id="n-a" class="level1"><h1>A</h1><p><a href="/wiki/x#y">x</a> <a href="https://e.org/">e</a> <a href="#n-a">me</a></p></section>'
    (chapter,) = split_chapters(html, ["A"])
    assert 'href="/wiki' not in chapter.html and ">x</a>" in chapter.html
    assert 'href="https://e.org/"' in chapter.html and 'href="ch001.xhtml#n-a"' in chapter.html
