"""PDF through pandoc to typst, compiled with the ``typst`` Python package (no LaTeX).

A4 or Letter, page numbers, a running header, clickable internal links and URLs, bookmarks from
the headings. Links only ever point at anchors the pipeline created, so a missing label cannot
break the build. Text in scripts the bundled fonts lack (CJK) needs a system font; without one
the export stops with a clear message instead of printing blank boxes.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

from exporters.pandoc import TEMPLATES, write_parallel
from exporters.pipeline import ExportContext, build_document, copy_resources
from vaultsync.errors import VaultsyncError
from vaultsync.exporting import ExportRequest, ExportResult
from vaultsync.resolve import NameTable

PAPERS = {"a4": "a4", "letter": "us-letter"}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CJK_FONT_FILES = re.compile(r"(NotoSans|NotoSerif|SourceHan)\w*CJK|DroidSansFallback|wqy|SourceHan", re.I)
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
        paper = request.options.get("paper", "a4").lower()
        if paper not in PAPERS:
            raise VaultsyncError(f"unknown paper size {paper!r}", hint="use a4 or letter")
        ctx = ExportContext(request.vault, NameTable(request.index.uris()), request.uris)
        doc = build_document(ctx, request.title)
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
            copy_resources(doc.resources, build)
            body = write_parallel(doc.chunks, ["-t", "typst", "--syntax-highlighting=none", f"--lua-filter={TEMPLATES / 'typst-callouts.lua'}"], build)
            template = (TEMPLATES / "briefing.typ").read_text(encoding="utf-8")
            fields = {
                "title": typst_escape(request.title),
                "subtitle": f"{doc.notes} notes",
                "papersize": PAPERS[paper],
                "lang": re.sub(r"[^a-z]", "", request.options.get("lang", "en").lower())[:3] or "en",
            }
            source = build / "briefing.typ"
            source.write_text(re.sub(r"\$(\w+)\$", lambda m: fields.get(m.group(1), "") if m.group(1) != "body" else body, template), encoding="utf-8")
            request.output.parent.mkdir(parents=True, exist_ok=True)
            pdf = typst.compile(str(source), root=str(build), font_paths=font_paths)
            request.output.write_bytes(pdf)
        return ExportResult(request.output, doc.notes, time.perf_counter() - started, doc.diagnostics, {"paper": paper})


exporter = PdfExporter()
