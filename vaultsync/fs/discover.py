"""Which vault a command works on when none is named: the one the current folder is in.

As git finds its repository: walk up from the current folder to the nearest folder holding
``.obsidian/`` (Obsidian's own marker) or ``.vaultsync.toml``. Only outside any vault is the bundled
sample vault used, and the caller says so. Reads nothing but directory entries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vaultsync.errors import ConfigError

MARKERS = (".obsidian", ".vaultsync.toml")
BUNDLED = Path(__file__).resolve().parents[2] / "vault"


@dataclass(frozen=True, slots=True)
class FoundVault:
    """A vault folder and how it was chosen: ``named``, ``found`` (walked up to it) or ``bundled``."""

    root: Path
    how: str

    @property
    def is_bundled_default(self) -> bool:
        return self.how == "bundled"


def find_vault(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding a vault marker, or None."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if any(os.path.exists(folder / marker) for marker in MARKERS):
            return folder
    return None


def choose_vault(named: str | os.PathLike[str] | None, cwd: Path | None = None) -> FoundVault:
    """The vault to use: the named folder, else the one ``cwd`` is in, else the bundled sample."""
    if named is not None:  # checked by Vault itself (missing, not a folder)
        return FoundVault(Path(named), "named")
    found = find_vault(cwd or Path.cwd())
    if found is not None:
        return FoundVault(found, "found")
    if not BUNDLED.is_dir():
        raise ConfigError(
            "not inside a vault (no .obsidian/ or .vaultsync.toml in this folder or above)",
            hint="run it inside your vault, or pass VAULT",
        )
    return FoundVault(BUNDLED, "bundled")
