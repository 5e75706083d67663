"""EPUB3 through pandoc: language, stable identifier, title page, cover, CSS, one chapter per note."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

from exporters.pandoc import TEMPLATES, meta_string, read_markdown, run_pandoc
from exporters.pipeline import ExportContext, build_document, copy_resources
from vaultsync.exporting import ExportRequest, ExportResult
from vaultsync.resolve import NameTable

COVER = """<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="1600" viewBox="0 0 1200 1600">
<rect width="1200" height="1600" fill="#1b3a5c"/>
<rect x="80" y="80" width="1040" height="1440" fill="none" stroke="#f2efe6" stroke-width="6"/>
<text x="600" y="700" font-family="serif" font-size="84" fill="#f2efe6" text-anchor="middle">{title}</text>
<text x="600" y="820" font-family="serif" font-size="40" fill="#c9d6e3" text-anchor="middle">{subtitle}</text>
</svg>
"""


class EpubExporter:
    name = "epub"
    suffix = ".epub"
    description = "EPUB3 e-book (pandoc), checked clean by epubcheck"

    def export(self, request: ExportRequest) -> ExportResult:
        started = time.perf_counter()
        ctx = ExportContext(request.vault, NameTable(request.index.uris()), request.uris)
        doc = build_document(ctx, request.title)
        ast = read_markdown(doc.chunks)
        lang = request.options.get("lang", "en")
        digest = hashlib.sha256("\n".join(request.uris).encode() + request.title.encode()).hexdigest()
        identifier = f"urn:uuid:{uuid.UUID(digest[:32])}"
        ast["meta"].update(
            {
                "title": meta_string(request.title),
                "lang": meta_string(lang),
                "identifier": meta_string(identifier),
                "date": meta_string(request.options.get("date", "2023-11-14")),
                "creator": meta_string(request.options.get("author", "vaultsync")),
            }
        )
        with tempfile.TemporaryDirectory(prefix="vaultsync-epub-") as tmp:
            build = Path(tmp)
            copy_resources(doc.resources, build)
            cover = build / "cover.svg"
            cover.write_text(COVER.format(title=escape(request.title[:40]), subtitle=f"{doc.notes} notes"), encoding="utf-8")
            request.output.parent.mkdir(parents=True, exist_ok=True)
            run_pandoc(
                [
                    "-f", "json", "-t", "epub3", "-o", str(request.output.resolve()),
                    "--toc", "--toc-depth=2", "--split-level=1",
                    f"--css={TEMPLATES / 'epub.css'}", f"--epub-cover-image={cover}",
                    "--resource-path", str(build),
                ],
                json.dumps(ast).encode(),
                cwd=build,
            )  # fmt: skip
        return ExportResult(request.output, doc.notes, time.perf_counter() - started, doc.diagnostics)


exporter = EpubExporter()
