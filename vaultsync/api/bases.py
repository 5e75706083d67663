"""``GET /bases/{path}?view=NAME``: one view of a ``.base`` file of the vault, as JSON.

The path passes the API's path rules (:func:`~vaultsync.api.operations.safe_uri`: no traversal,
no hidden folders, nothing whose real location is outside the vault) and must name a ``.base``
file; the view is evaluated on one of the API's read connections to the index.
"""

from __future__ import annotations

from typing import Any

from vaultsync.api.operations import ApiService, PathRefusedError, safe_uri
from vaultsync.bases import BASE_SUFFIX, VaultData, evaluate_base, read_base, table_json
from vaultsync.errors import NoteNotFoundError


def base_view(api: ApiService, raw: object, view: str | None) -> dict[str, Any]:
    """The evaluated view (the first when ``view`` is None) of the base at vault path ``raw``."""
    uri = safe_uri(api.vault, raw)
    if not uri.lower().endswith(BASE_SUFFIX):
        raise PathRefusedError(uri, "only .base files can be evaluated")
    if api.vault.stat(uri) is None:
        raise NoteNotFoundError(uri)
    base = read_base(api.vault, uri)
    with api.pool.reader() as index:
        return table_json(evaluate_base(base, VaultData(index, api.vault), view=view))
