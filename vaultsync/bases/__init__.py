"""Obsidian Bases evaluated from the index (issue 20): ``.base`` files and ```` ```base ```` blocks
read (:mod:`~vaultsync.bases.basefile`), their expressions parsed (:mod:`~vaultsync.bases.syntax`)
and compiled (:mod:`~vaultsync.bases.evaluate`), and a view evaluated over every file of the
vault (:mod:`~vaultsync.bases.views`, rows from :mod:`~vaultsync.bases.records`).

    >>> base = read_base(vault, "videos.base")                        # doctest: +SKIP
    >>> table = evaluate_base(base, VaultData(index, vault), view="By channel")  # doctest: +SKIP

This package reads the store and the vault; it never writes either.
"""

from __future__ import annotations

from vaultsync.bases.basefile import Base, View, base_blocks, load_base
from vaultsync.bases.functions import UNSUPPORTED
from vaultsync.bases.records import VaultData
from vaultsync.bases.values import target_of as cell_target
from vaultsync.bases.views import BaseTable, CellError, Group, Row, cell_text, evaluate_base, plain, table_json
from vaultsync.errors import BaseError
from vaultsync.fs.vault import Vault

BASE_SUFFIX = ".base"


def read_base(vault: Vault, uri: str) -> Base:
    """Read and parse the ``.base`` file ``uri`` (inside the vault only; see :meth:`Vault.read_text`)."""
    if not uri.lower().endswith(BASE_SUFFIX):
        raise BaseError(uri, None, "not a .base file")
    return load_base(vault.read_text(uri), uri)


__all__ = [
    "BASE_SUFFIX",
    "UNSUPPORTED",
    "Base",
    "BaseError",
    "BaseTable",
    "CellError",
    "Group",
    "Row",
    "VaultData",
    "View",
    "base_blocks",
    "cell_target",
    "cell_text",
    "evaluate_base",
    "load_base",
    "plain",
    "read_base",
    "table_json",
]
