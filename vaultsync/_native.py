"""Private: the C extension (``_cscan``), the one module that imports it.

``cscan`` is None where the extension is not built (an install without a compiler) or where the
environment says ``VAULTSYNC_NO_C=1``: then the pure-Python scanner, the reference, does
everything (same results, slower). CI runs the tests both ways.
"""

from __future__ import annotations

import os
from typing import Any

cscan: Any
try:
    if os.environ.get("VAULTSYNC_NO_C") == "1":
        raise ImportError("switched off by VAULTSYNC_NO_C=1")
    from vaultsync import _cscan as cscan  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # pragma: no cover - exercised where the extension is missing or switched off
    cscan = None
