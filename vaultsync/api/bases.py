"""``GET /bases/{path}?view=NAME&this=NOTE``: one view of a ``.base`` file of the vault, as JSON.

The path (and ``this``, the note the base is shown in) passes the API's path rules
(:func:`~vaultsync.api.operations.safe_uri`: no traversal, no hidden folders, nothing whose real
location is outside the vault); the path must name a ``.base`` file. The view is evaluated on
one of the API's read connections to the index.
"""

from __future__ import annotations

from typing import Any

from vaultsync.api.operations import ApiService
from vaultsync.api.paths import PathRefusedError, safe_uri
from vaultsync.bases import BASE_SUFFIX, VaultData, evaluate_base, read_base, table_json
from vaultsync.errors import NoteNotFoundError


def _param(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values and values[-1] else None


def base_view(api: ApiService, raw: object, query: dict[str, list[str]]) -> dict[str, Any]:
    """The evaluated view (``view``, default the first) of the base at vault path ``raw``, with
    ``this`` the note given as ``this`` (default: the base file itself)."""
    uri = safe_uri(api.vault, raw)
    if not uri.lower().endswith(BASE_SUFFIX):
        raise PathRefusedError(uri, "only .base files can be evaluated")
    this = _param(query, "this")
    for path in (uri, this):
        if path is not None and api.vault.stat(safe_uri(api.vault, path)) is None:
            raise NoteNotFoundError(path)
    base = read_base(api.vault, uri)
    with api.pool.reader() as index:
        return table_json(evaluate_base(base, VaultData(index, api.vault), view=_param(query, "view"), this=this))
