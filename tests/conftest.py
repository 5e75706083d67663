"""Shared fixtures: small vaults written to tmp_path, the shared fixtures location."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE_VAULT = REPO / "vault"
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures" / "tubegraph-sample"

_mtime = itertools.count(1_700_000_000_000_000_000, 1_000_000_000)


def write_file(path: Path, content: str | bytes) -> None:
    """Write bytes exactly (no newline translation) and give the file a fresh, unique mtime.

    Distinct mtimes keep tests independent of the file system's timestamp granularity.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(data)
    stamp = next(_mtime)
    os.utime(path, ns=(stamp, stamp))


VaultFactory = Callable[[Mapping[str, str | bytes]], Path]


@pytest.fixture
def make_vault(tmp_path: Path) -> VaultFactory:
    """Build a vault from ``{relative path: content}`` under tmp_path and return its root."""

    def build(files: Mapping[str, str | bytes]) -> Path:
        root = tmp_path / "vault"
        root.mkdir(exist_ok=True)
        for rel, content in files.items():
            write_file(root / rel, content)
        return root

    return build


def writable_copy(source: Path, target: Path) -> Path:
    """Copy a tree made writable: CI's ../shared has no write bits, and copytree keeps modes."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".vaultsync"))
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    return target


@pytest.fixture
def fixtures_vault(tmp_path: Path) -> Path:
    """A writable copy of ../shared/fixtures/tubegraph-sample (skipped when it is absent)."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present")
    return writable_copy(SHARED_FIXTURES, tmp_path / "tubegraph")


@pytest.fixture
def sample_vault(tmp_path: Path) -> Path:
    """A writable copy of the bundled vault/."""
    copy = tmp_path / "sample"
    shutil.copytree(SAMPLE_VAULT, copy, ignore=shutil.ignore_patterns(".vaultsync"))
    return copy
