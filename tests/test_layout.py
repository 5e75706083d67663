"""The architecture checks that import-linter cannot make on its own (see .importlinter)."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_only_native_imports_the_c_extension():
    importers = [
        p.relative_to(REPO).as_posix()
        for p in (REPO / "vaultsync").rglob("*.py")
        if re.search(r"^\s*(?:from vaultsync import _cscan|import vaultsync\._cscan)|import_module\(\"vaultsync\._cscan\"\)", p.read_text(), re.M)
    ]
    assert importers == ["vaultsync/text/_native.py"]


def test_the_exporters_contract_names_every_internal_module():
    """New vaultsync modules must join the forbidden list, or exporters could reach them."""
    config = configparser.ConfigParser()
    config.read(REPO / ".importlinter")
    forbidden = set(config["importlinter:contract:exporters-public-api"]["forbidden_modules"].split())
    modules = {f"vaultsync.{p.stem}" for p in (REPO / "vaultsync").glob("*.py") if p.stem not in ("__init__",)}
    modules |= {f"vaultsync.{p.name}" for p in (REPO / "vaultsync").iterdir() if (p / "__init__.py").is_file()}
    assert modules <= forbidden, sorted(modules - forbidden)
