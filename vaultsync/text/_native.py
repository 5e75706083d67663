"""Private: the C extension (``_cscan``), the one module that imports it.

``cscan`` is None where the extension is not built (an install without a compiler) or where the
environment says ``VAULTSYNC_NO_C=1``: then the pure-Python scanner, the reference, does
everything (same results, slower). CI runs the tests both ways.
"""

from __future__ import annotations

import importlib
import os
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
