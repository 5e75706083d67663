"""PDF through pandoc to typst, compiled with the ``typst`` Python package (no LaTeX).

A4 or Letter, page numbers, a running header, clickable internal links and URLs, bookmarks from
the headings. Links only ever point at anchors the pipeline created, so a missing label cannot
break the build. Text in scripts the bundled fonts lack (CJK) needs a system font; without one
the export stops with a clear message instead of printing blank boxes.

Speed (issue 5): the pipeline's common blocks are written to typst by :mod:`exporters.typstwriter`,
identical to what pandoc's typst writer gives for them; everything else goes to pandoc.
Links to headings are written as placeholder URLs and turned into links to the headings' named
destinations in the finished PDF: typst resolves a link to a label only in a second layout pass
over the whole document, which was a third of its time.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from exporters.document import Asset, ExportContext, copy_resources
from exporters.options import option_text
from exporters.pandoc import READER, TEMPLATES, run_pandoc
from exporters.pipeline import build_document
from exporters.typstwriter import note_parts
from vaultsync import ConfigError, Diagnostic, ExportRequest, ExportResult, VaultsyncError

PAPERS = {"a4": "a4", "letter": "us-letter"}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CJK_FONT_FILES = re.compile(r"(NotoSans|NotoSerif|SourceHan)\w*CJK|DroidSansFallback|wqy|SourceHan", re.IGNORECASE)
FONT_DIRS = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts", Path.home() / ".local/share/fonts",
             Path("/Library/Fonts"), Path("/System/Library/Fonts"), Path.home() / "Library/Fonts"]  # fmt: skip


def typst_escape(text: str) -> str:
    """Plain text as typst markup."""
    return re.sub(r"([\\#\[\]*_`$<>@~=/\-+])", r"\\\1", text)


class FontMissingError(VaultsyncError):
    """The notes use a script that no available font can show."""


def cjk_fonts() -> list[Path]:
    found = []
    for folder in FONT_DIRS:
        if folder.is_dir():
            found += [p for p in folder.rglob("*") if p.suffix.lower() in (".ttf", ".otf", ".ttc") and _CJK_FONT_FILES.search(p.name)]
    return sorted(found)


class PdfExporter:
    name = "pdf"
    suffix = ".pdf"
    description = "printable PDF briefing (pandoc -> typst)"

    def export(self, request: ExportRequest) -> ExportResult:
        import typst

        started = time.perf_counter()
        paper = option_text(request.options, "paper", "a4").lower()
        if paper not in PAPERS:
            raise ConfigError(f"unknown paper size {paper!r}", hint="use a4 or letter")
        ctx = ExportContext.for_request(request)
        doc = build_document(ctx, request.title, request.progress)
        font_paths: list[str] = []
        if _CJK.search(doc.markdown) or _CJK.search(request.title):
            fonts = cjk_fonts()
            if not fonts:
                raise FontMissingError(
                    "the selected notes contain Chinese, Japanese or Korean text and no font for it was found",
                    hint="install one, e.g. `apt-get install fonts-noto-cjk` (or fonts-droid-fallback)",
                )
            font_paths = sorted({str(f.parent) for f in fonts})
        with tempfile.TemporaryDirectory(prefix="vaultsync-pdf-") as tmp:
            build = Path(tmp)
            assets = dict(doc.assets)
            for name, asset in list(assets.items()):  # plainly not an image: left out before typst meets it
                problem = image_problem(name, asset.data)
                if problem:
                    doc.diagnostics.extend(_dropped(asset, problem))
                    del assets[name]
            copy_resources(assets, build)
            body = heading_links(typst_body(doc.chunks, build))
            for name in set(doc.assets) - set(assets):
                body = drop_image(body, name, doc.assets[name].uri)
            template = (TEMPLATES / "briefing.typ").read_text(encoding="utf-8")
            fields = {
                "title": typst_escape(request.title),
                "subtitle": f"{doc.notes} notes",
                "papersize": PAPERS[paper],
                "lang": re.sub(r"[^a-z]", "", option_text(request.options, "lang", "en").lower())[:3] or "en",
            }
            source = build / "briefing.typ"
            text = re.sub(r"\$(\w+)\$", lambda m: fields.get(m.group(1), "") if m.group(1) != "body" else body, template)
            request.output.parent.mkdir(parents=True, exist_ok=True)
            for _ in range(len(assets) + 1):  # each failed round leaves out at least one image
                source.write_text(text, encoding="utf-8")
                try:
                    pdf = typst.compile(str(source), root=str(build), font_paths=font_paths)
                    break
                except typst.TypstError as exc:
                    report = str(getattr(exc, "diagnostic", "") or exc)
                    bad = [n for n in failed_images(report, text) if n in assets]
                    if not bad:
                        raise
                    for name in bad:
                        doc.diagnostics.extend(_dropped(assets.pop(name), (getattr(exc, "message", "") or str(exc)).strip().split("\n")[0]))
                        text = drop_image(text, name, doc.assets[name].uri)
            request.output.write_bytes(resolve_heading_links(pdf))
        return ExportResult(request.output, doc.notes, time.perf_counter() - started, doc.diagnostics,
                            {"paper": paper, "left_out": doc.left_out})  # fmt: skip


# -- images typst cannot decode ------------------------------------------------------------------

_SIGNATURES = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
}
_ANY_RASTER = tuple(sig for sigs in _SIGNATURES.values() for sig in sigs)
_LOCATION = re.compile(r"┌─ ([^\n]*?):(\d+):(\d+)")
_RESOURCE = re.compile(r"img-\d{4}\.\w+")
_IMAGE_CALL = re.compile(r'image\("(img-\d{4}\.\w+)"')


def image_problem(name: str, data: bytes) -> str | None:
    """Why ``data`` is plainly no image of its kind (a cheap look at its first bytes), or None.
    Damage past the header (a truncated PNG) is found by typst and handled by the retry."""
    suffix = Path(name).suffix.lower()
    if not data:
        return "the file is empty"
    if suffix == ".webp":
        ok = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    elif suffix == ".svg":
        ok = b"<svg" in data[:65536]
    else:
        ok = data.startswith(_SIGNATURES.get(suffix, _ANY_RASTER) + _ANY_RASTER)  # a PNG named .jpg still decodes
    return None if ok else "not a valid image file"


def failed_images(report: str, source: str) -> list[str]:
    """The copied images (``img-NNNN.ext``) that typst's error report points at: an ``image(...)``
    call in ``source``, or a place inside the image file itself."""
    lines = source.split("\n")
    names = []
    for m in _LOCATION.finditer(report):
        file, line, column = m.group(1).replace("\\", "/").rsplit("/", 1)[-1], int(m.group(2)) - 1, int(m.group(3)) - 1
        if _RESOURCE.fullmatch(file):  # an error inside the image itself (an SVG)
            if file not in names:
                names.append(file)
        elif 0 <= line < len(lines):
            call = _IMAGE_CALL.match(lines[line], column) or _IMAGE_CALL.search(lines[line])
            if call and call.group(1) not in names:
                names.append(call.group(1))
    return names


def drop_image(typst_source: str, name: str, uri: str) -> str:
    """Every ``image("name", ...)`` call -> the image's file name as text."""
    label = "[" + typst_escape(f"[{uri.rsplit('/', 1)[-1]}]") + "]"
    return re.sub(r'image\("' + re.escape(name) + r'"(?:[^()"]|"[^"]*")*\)', lambda _: label, typst_source)


def _dropped(asset: Asset, reason: str) -> list[Diagnostic]:
    return [Diagnostic(note, "image-undecodable", f"image {asset.uri!r} left out of the PDF: {reason}") for note in asset.notes]


# -- markdown -> typst -----------------------------------------------------------------------------

PANDOC_ARGS = ["-f", READER, "-t", "typst", "--syntax-highlighting=none", f"--lua-filter={TEMPLATES / 'typst-callouts.lua'}"]
_UNIT_BREAK = "VAULTSYNCUNITBREAK"


def typst_body(chunks: list[str], cwd: Path, jobs: int | None = None) -> str:
    """The notes as typst: the fast path where it applies, parallel pandoc processes for the rest."""
    notes = [note_parts(chunk) for chunk in chunks]
    units = [text for parts in notes for done, text in parts if not done]
    converted = iter(_pandoc_units(units, cwd, jobs))
    out = []
    for parts in notes:
        out.append("\n\n".join(text if done else next(converted) for done, text in parts))
    return "\n\n".join(out)


def _pandoc_units(units: list[str], cwd: Path, jobs: int | None) -> list[str]:
    """Each unit through pandoc; units are batched between separator paragraphs, one batch per core."""
    if not units:
        return []
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(units)))
    total = sum(len(u) for u in units)
    batches: list[list[str]] = [[]]
    size = 0
    for unit in units:
        if batches[-1] and size > total / jobs:
            batches.append([])
            size = 0
        batches[-1].append(unit)
        size += len(unit)

    def convert(batch: list[str]) -> list[str]:
        text = run_pandoc(PANDOC_ARGS, f"\n\n{_UNIT_BREAK}\n\n".join(batch).encode(), cwd=cwd).decode("utf-8")
        parts = re.split(rf"\n*^{_UNIT_BREAK}$\n*", text, flags=re.MULTILINE)
        if len(parts) != len(batch):  # a unit swallowed its separator (an unclosed fence): one by one
            parts = [run_pandoc(PANDOC_ARGS, unit.encode(), cwd=cwd).decode("utf-8") for unit in batch]
        return [p.strip("\n") for p in parts]

    with ThreadPoolExecutor(len(batches)) as pool:
        return [part for parts in pool.map(convert, batches) for part in parts]


# -- links to headings -------------------------------------------------------------------------

_PLACEHOLDER = "x-vaultsync-heading:"
_HEADING_LABEL = re.compile(r"^=+ .*\n<([A-Za-z0-9_.:-]+)>$", re.MULTILINE)
_PLACEHOLDER_LINK = re.compile(rb"/A<</Type/Action/S/URI/URI\(" + _PLACEHOLDER.encode() + rb"([A-Za-z0-9_.:-]+)\)>>")
_PLACEHOLDER_TEXT = re.compile(rb"/Contents\(" + _PLACEHOLDER.encode() + rb"[A-Za-z0-9_.:-]+\)")
_NAMED_DEST = re.compile(rb"\(([A-Za-z0-9_.:-]+)\)\s*\d+ 0 R")


def heading_links(body: str) -> str:
    """``#link(<label>)`` to a heading's label -> a placeholder URL (no second layout pass)."""
    headings = set(_HEADING_LABEL.findall(body))
    return re.sub(
        r"#link\(<([A-Za-z0-9_.:-]+)>\)",
        lambda m: f'#link("{_PLACEHOLDER}{m.group(1)}")' if m.group(1) in headings else m.group(0),
        body,
    )


def resolve_heading_links(pdf: bytes) -> bytes:
    """Placeholder URI links -> links to the headings' named destinations, in place (same length).

    typst names a destination after each labelled heading. A placeholder whose name has no
    destination (which the pipeline never writes) becomes an inert link rather than a dead URL.
    """
    if _PLACEHOLDER.encode() not in pdf:
        return pdf
    tail = pdf[pdf.rfind(b"/Dests") :]
    names = {m.group(1) for m in _NAMED_DEST.finditer(tail if b"/Kids" not in tail[:100] else pdf)}  # a flat array, or a tree

    def dest(m: re.Match[bytes]) -> bytes:
        new = b"/Dest(" + m.group(1) + b")" if m.group(1) in names else b""
        return new.ljust(len(m.group(0)))

    pdf = _PLACEHOLDER_LINK.sub(dest, pdf)
    return _PLACEHOLDER_TEXT.sub(lambda m: b"/Contents(Section)".ljust(len(m.group(0))), pdf)


exporter = PdfExporter()
