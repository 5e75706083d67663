"""The exporter registry: exporters are found through the ``vaultsync.exporters`` entry points.

Built-in exporters (the ``exporters`` package) register exactly as a third-party package would:

    [project.entry-points."vaultsync.exporters"]
    pdf = "exporters.pdf"

The formats themselves arrive with the export issues; the registry is here so that the CLI and
the API reach exporters only through it.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

GROUP = "vaultsync.exporters"


def available_exporters() -> dict[str, Any]:
    """Name -> entry point of every installed exporter (loaded lazily by the caller)."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}
