"""The parts the OpenAPI document of the local HTTP API is made of: schemas and responses. Pure data."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "required": ["error", "message", "hint"],
    "properties": {
        "error": {"type": "string", "description": "A stable snake_case code, e.g. note_not_found."},
        "message": {"type": "string"},
        "hint": {"type": ["string", "null"], "description": "The fix, when there is a known one."},
    },
}
_DIAG = {
    "type": "object",
    "required": ["uri", "code", "message", "severity"],
    "properties": {
        "uri": {"type": "string"},
        "code": {"type": "string"},
        "message": {"type": "string"},
        "severity": {"type": "string"},
    },
}
_SPAN = {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}
_LINK = {
    "type": "object",
    "required": ["kind", "span", "target", "subpath", "display", "dest", "ambiguous"],
    "properties": {
        "kind": {"type": "string"},
        "span": _SPAN,
        "target": {"type": "string"},
        "subpath": {"type": "string"},
        "display": {"type": ["string", "null"]},
        "dest": {"type": ["string", "null"], "description": "The vault path it resolves to; null when unresolved."},
        "ambiguous": {"type": "boolean"},
    },
}
_BACKLINK = {
    "type": "object",
    "required": ["source", "kind", "span", "target", "subpath", "display"],
    "properties": {
        "source": {"type": "string"},
        "kind": {"type": "string"},
        "span": _SPAN,
        "target": {"type": "string"},
        "subpath": {"type": "string"},
        "display": {"type": ["string", "null"]},
    },
}
_UNRESOLVED_TARGET = {
    "type": "object",
    "required": ["target", "count", "sources"],
    "properties": {"target": {"type": "string"}, "count": {"type": "integer"}, "sources": {"type": "integer"}},
}
_JOB = {
    "type": "object",
    "required": ["id", "format", "title", "state", "progress", "created", "finished"],
    "properties": {
        "id": {"type": "string"},
        "format": {"type": "string"},
        "title": {"type": "string"},
        "state": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "progress": {
            "type": "object",
            "required": ["done", "total"],
            "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}},
        },
        "created": {"type": "number"},
        "finished": {"type": ["number", "null"]},
        "result": {
            "type": "object",
            "required": ["filename", "size", "notes", "url"],
            "properties": {
                "filename": {"type": "string"},
                "size": {"type": "integer"},
                "notes": {"type": "integer"},
                "url": {"type": "string"},
            },
        },
        "error": {"$ref": "#/components/schemas/Error"},
    },
}
_NORMALIZED = {
    "type": "object",
    "required": ["note", "written", "changed", "diffs", "counts", "diagnostics"],
    "properties": {
        "note": {"type": ["string", "null"]},
        "written": {"type": "boolean"},
        "changed": {"type": "array", "items": {"type": "string"}},
        "diffs": {"type": "array", "items": {"type": "string"}, "description": "Unified diffs of what changes."},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "diagnostics": {"type": "array", "items": {"$ref": "#/components/schemas/Diagnostic"}},
    },
}
_RENAMED = {
    "type": "object",
    "required": ["moved", "links_updated", "notes_updated", "warnings", "diagnostics"],
    "properties": {
        "moved": {"type": "object", "additionalProperties": {"type": "string"}},
        "links_updated": {"type": "integer"},
        "notes_updated": {"type": "array", "items": {"type": "string"}},
        "warnings": {"type": "integer"},
        "diagnostics": {"type": "array", "items": {"$ref": "#/components/schemas/Diagnostic"}},
    },
}
_VAULT_PATH = {
    "type": "string",
    "minLength": 1,
    "pattern": r"^[^/.\\\x00~][^\\\x00]*$",
    "description": (
        "A vault-relative path ('folder/Note.md'; '.md' optional). Refused (400): absolute paths, backslashes, "
        "'.' and '..' segments, encoded dots or slashes, hidden segments, and symlinks that lead out of the vault."
    ),
}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_COMMON = {
    "401": _err("No or wrong bearer token."),
    "403": _err("A browser origin other than app://obsidian.md."),
    "408": _err("The request line and headers took over 5 s to arrive, or the body over 10 s; the connection closes."),
    "421": _err("The Host header, or an absolute-form target's authority, is not 127.0.0.1 or localhost."),
    "431": _err("A header line is over 64 KiB, or there are over 100 headers."),
    "503": _err("Every request thread is busy (error 'busy'); retry in a moment."),
}
_BODY = {"400": _err("Malformed JSON or a field of the wrong type."), "413": _err("The body is over 1 MiB.")}
_PATHS = {"400": _err("The path is refused: it is not plainly inside the vault."), "404": _err("No such note.")}


def _note_op(op_id: str, summary: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "operationId": op_id,
            "summary": summary,
            "parameters": [{"name": "path", "in": "path", "required": True, "schema": _VAULT_PATH}],
            "responses": {"200": _ok(schema), **_PATHS, **_COMMON},
        }
    }


def _note_query_op(op_id: str, summary: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "operationId": op_id,
            "summary": summary + " (path as a query parameter)",
            "parameters": [{"name": "path", "in": "query", "required": True, "schema": _VAULT_PATH}],
            "responses": {"200": _ok(schema), **_PATHS, **_COMMON},
        }
    }


def _note_result(key: str, items: dict[str, Any], nullable: bool = False) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["note", key],
        "properties": {"note": {"type": ["string", "null"] if nullable else "string"}, key: {"type": "array", "items": items}},
    }


_HIT = {
    "type": "object",
    "required": ["uri", "title", "heading", "line", "line_end", "snippet", "marks", "seconds", "clock", "video_id", "video_url", "score"],
    "properties": {
        "uri": {"type": "string", "description": "The note's vault path."},
        "title": {"type": "string"},
        "heading": {"type": "string", "description": "The heading path, 'Top > Sub'; empty before the first heading."},
        "line": {"type": "integer", "description": "The passage's first line (1-based)."},
        "line_end": {"type": "integer"},
        "snippet": {"type": "string"},
        "marks": {"type": "array", "items": _SPAN, "description": "[start, end) of each matched word in snippet."},
        "seconds": {"type": ["integer", "null"], "description": "The second the passage's timestamp points at."},
        "clock": {"type": ["string", "null"], "description": "That second as MM:SS or HH:MM:SS."},
        "video_id": {"type": ["string", "null"]},
        "video_url": {"type": ["string", "null"], "description": "https://www.youtube.com/watch?v=ID&t=83s"},
        "score": {"type": "number", "description": "BM25, higher is better."},
    },
}
_LIST = {"type": "array", "items": {"type": "string"}}
_SEARCH = {
    "get": {
        "operationId": "search",
        "summary": "Full-text search: passages, best first, each with its note, heading, line and video second",
        "parameters": [
            {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1},
             "description": 'Words, "phrases", -excluded, OR, prefix*, file:, path:, tag:, section:, line:, video:ID.'},
            {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
            {"name": "folder", "in": "query", "required": False, "schema": _LIST, "style": "form", "explode": True},
            {"name": "tag", "in": "query", "required": False, "schema": _LIST, "style": "form", "explode": True},
            {"name": "where", "in": "query", "required": False, "schema": _LIST, "style": "form", "explode": True,
             "description": "Frontmatter KEY=VALUE."},
        ],
        "responses": {
            "200": _ok({"type": "object", "required": ["query", "count", "hits"], "properties": {
                "query": {"type": "string"}, "count": {"type": "integer"}, "hits": {"type": "array", "items": _HIT}}}),
            "400": _err("A folder is refused: it is not plainly inside the vault."),
            "422": _err("The query cannot be read (an unclosed quote, an operator without a value...) or a bad limit."),
            **_COMMON,
        },
    }
}  # fmt: skip
