"""``GET /search``: the full-text search operation of the local API, free of HTTP.

Reads the query parameters (``q``, ``limit``, and the selection ``folder``, ``tag``,
``where=KEY=VALUE``, each repeatable), checks every folder with the API's path rule
(:func:`vaultsync.api.operations.safe_uri`: nothing outside the vault), and runs
:func:`vaultsync.search.engine.search` on a read connection of the service's pool. The answer is
:func:`vaultsync.search.engine.result`'s, the same object ``vaultsync search --json`` prints.
"""

from __future__ import annotations

from typing import Any

from vaultsync.api.operations import ApiService
from vaultsync.api.paths import safe_uri
from vaultsync.errors import QueryError
from vaultsync.export.selection import Selection, chosen_notes
from vaultsync.search.engine import DEFAULT_LIMIT, MAX_LIMIT, result, search


def search_vault(api: ApiService, params: dict[str, list[str]]) -> dict[str, Any]:
    """The hits for one ``GET /search`` (``params`` as ``urllib.parse.parse_qs`` gives them)."""
    queries = params.get("q", [])
    if len(queries) != 1:
        raise QueryError("give exactly one 'q' query parameter", hint="GET /search?q=words")
    limit = _limit(params.get("limit", []))
    folders = [safe_uri(api.vault, f.rstrip("/")) for f in params.get("folder", [])]
    tags, where = params.get("tag", []), params.get("where", [])
    with api.pool.reader() as index:
        among = chosen_notes(index, Selection.parse(folders, tags, None, 0, where)) if folders or tags or where else None
        hits = search(index, queries[0], limit=limit, among=among)
    return result(queries[0], hits)


def _limit(values: list[str]) -> int:
    if not values:
        return DEFAULT_LIMIT
    if len(values) > 1 or not values[0].isascii() or not values[0].isdigit() or not 1 <= int(values[0]) <= MAX_LIMIT:
        raise QueryError(f"'limit' must be one number from 1 to {MAX_LIMIT}", hint="GET /search?q=words&limit=20")
    return int(values[0])


__all__ = ["search_vault"]
