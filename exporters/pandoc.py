"""The one place that runs pandoc (the binary shipped by pypandoc-binary), and where the
exporters' templates are.

pandoc reads the pipeline's commonmark_x; a large document is converted in chunks of notes by
parallel pandoc processes (:func:`write_parallel`, for formats whose pieces concatenate), with a
fixed build time so that the same notes give the same bytes.
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vaultsync import VaultsyncError

READER = "commonmark_x"  # attributes, fenced divs, bracketed spans, pipe tables; far faster than pandoc markdown
TEMPLATES = Path(__file__).resolve().parent / "templates"
# Fixed build time, for byte-identical output from identical input (pandoc honours it in EPUBs).
SOURCE_DATE_EPOCH = "1700000000"


class PandocError(VaultsyncError):
    """pandoc failed or is missing."""


def pandoc_path() -> str:
    try:
        import pypandoc  # type: ignore[import-untyped]

        return str(pypandoc.get_pandoc_path())
    except (ImportError, OSError) as exc:
        raise PandocError("pandoc is not available", hint="pip install pypandoc-binary") from exc


def run_pandoc(args: list[str], stdin: bytes | None = None, cwd: Path | None = None) -> bytes:
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    proc = subprocess.run([pandoc_path(), *args], input=stdin, capture_output=True, cwd=cwd, env=env, check=False)
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip()
        raise PandocError(f"pandoc {' '.join(args[:4])} failed (exit {proc.returncode}): {detail[:2000]}")
    return proc.stdout


def write_parallel(chunks: list[str], args: list[str], cwd: Path, jobs: int | None = None) -> str:
    """Read and write the chunks with parallel pandoc processes; join the outputs in order.

    For formats whose fragments can simply be concatenated (typst: labels are document-wide).
    """
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(chunks) or 1))
    size = -(-len(chunks) // jobs)
    groups = ["\n\n".join(chunks[i : i + size]) for i in range(0, len(chunks), size)] or [""]
    with ThreadPoolExecutor(jobs) as pool:
        parts = list(pool.map(lambda text: run_pandoc(["-f", READER, *args], text.encode(), cwd=cwd).decode("utf-8"), groups))
    return "\n\n".join(parts)
