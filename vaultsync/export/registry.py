"""Exporters: the Protocol they implement, the request they get, and the registry that finds them.

Exporters are found through the ``vaultsync.exporters`` entry-point group; the built-in ones (the
``exporters`` package) register exactly as a third-party package would:

    [project.entry-points."vaultsync.exporters"]
    pdf = "exporters.pdf:exporter"

An entry point names an object with ``name``, ``suffix``, ``description`` and
``export(request) -> ExportResult``. The CLI and the API reach exporters only through
:func:`load_exporter`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from vaultsync.errors import ConfigError
from vaultsync.fs.vault import Vault
from vaultsync.model import Diagnostic
from vaultsync.store.index import Index

GROUP = "vaultsync.exporters"

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """One export: the notes (vault paths, in order) and where the result goes."""

    vault: Vault
    index: Index
    uris: tuple[str, ...]
    output: Path
    title: str
    options: dict[str, str] = field(default_factory=dict)  # exporter-specific, e.g. {"paper": "a4"}
    progress: Progress | None = None


@dataclass(slots=True)
class ExportResult:
    output: Path
    notes: int
    seconds: float = 0.0
    diagnostics: list[Diagnostic] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)


class Exporter(Protocol):
    name: str
    suffix: str
    description: str

    def export(self, request: ExportRequest) -> ExportResult: ...


def available_exporters() -> dict[str, str]:
    """Name -> entry-point value of every installed exporter (nothing is imported)."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load_exporter(name: str) -> Exporter:
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            exporter: Exporter = ep.load()
            return exporter
    known = ", ".join(sorted(available_exporters())) or "none installed"
    raise ConfigError(f"no exporter named {name!r}", hint=f"installed exporters: {known}")
