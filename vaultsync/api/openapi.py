"""The OpenAPI 3.1 document of the local HTTP API, written by hand. Pure data."""

from __future__ import annotations

import copy
from typing import Any

from vaultsync import __version__
from vaultsync.api.openapi_parts import (  # noqa: F401 - the parts the document below is made of
    _BACKLINK,
    _BODY,
    _COMMON,
    _DIAG,
    _ERROR,
    _JOB,
    _LINK,
    _NORMALIZED,
    _PATHS,
    _RENAMED,
    _SEARCH,
    _UNRESOLVED_TARGET,
    _VAULT_PATH,
    _err,
    _note_op,
    _note_query_op,
    _note_result,
    _ok,
)

_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "vaultsync local API",
        "version": __version__,
        "description": (
            "The API the vaultsync Obsidian plugin calls. It listens on 127.0.0.1 only; the port and "
            "the bearer token are in <vault>/.vaultsync/api.json (mode 0600). Paths are vault-relative "
            "and refused when they leave the vault. Every error is {error, message, hint}. A connection "
            "waiting for its next request is closed after 30 s."
        ),
    },
    "servers": [{"url": "http://127.0.0.1:{port}", "variables": {"port": {"default": "0"}}}],
    "security": [{"bearer": []}],
    "paths": {
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": _ok({"type": "object"}), **_COMMON},
            }
        },
        "/status": {
            "get": {
                "operationId": "status",
                "summary": "Vault, index counts, daemon and sync state",
                "responses": {
                    "200": _ok({
                        "type": "object",
                        "required": ["version", "vault", "name", "mode", "counts", "daemon", "exporters", "api"],
                        "properties": {
                            "version": {"type": "string"},
                            "vault": {"type": "string"},
                            "name": {"type": "string"},
                            "mode": {"type": "string", "enum": ["serve", "watch"]},
                            "uptime_s": {"type": "number"},
                            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                            "daemon": {"type": "object"},
                            "exporters": {"type": "array", "items": {"type": "string"}},
                            "jobs": {"type": "object"},
                            "sync_available": {"type": "boolean"},
                            "api": {"type": "object", "properties": {"port": {"type": "integer"}}},
                        },
                    }),
                    **_COMMON,
                },
            }
        },
        "/unresolved": {
            "get": {
                "operationId": "unresolvedVault",
                "summary": "Link targets that match no file, vault-wide, most linked first",
                "responses": {"200": _ok(_note_result("unresolved", _UNRESOLVED_TARGET, nullable=True)), **_COMMON},
            }
        },
        "/notes/{path}/links": _note_op("links", "A note's outgoing links and where each leads", _note_result("links", _LINK)),
        "/notes/{path}/backlinks": _note_op("backlinks", "Notes linking to a note (linked mentions)", _note_result("backlinks", _BACKLINK)),
        "/notes/{path}/unresolved": _note_op("unresolved", "A note's links that match no file", _note_result("unresolved", _LINK)),
        "/notes/links": _note_query_op("linksByQuery", "A note's outgoing links", _note_result("links", _LINK)),
        "/notes/backlinks": _note_query_op("backlinksByQuery", "Notes linking to a note", _note_result("backlinks", _BACKLINK)),
        "/notes/unresolved": _note_query_op("unresolvedByQuery", "A note's unresolved links", _note_result("unresolved", _LINK)),
        "/bases/{path}": {
            "get": {
                "operationId": "baseView",
                "summary": "One view of a .base file evaluated over the vault (Obsidian Bases): columns, rows, groups, summaries",
                "parameters": [
                    {"name": "path", "in": "path", "required": True, "schema": _VAULT_PATH, "description": "A .base file of the vault."},
                    {"name": "view", "in": "query", "required": False, "schema": {"type": "string"}, "description": "The view's name (default: the first)."},
                    {"name": "this", "in": "query", "required": False, "schema": _VAULT_PATH, "description": "The note the base is shown in (default: the base)."},
                ],
                "responses": {"200": _ok({
                    "type": "object",
                    "required": ["base", "view", "type", "columns", "rows", "groups", "summaries", "matched"],
                    "properties": {
                        "base": {"type": "string"}, "view": {"type": "string"}, "type": {"type": "string"}, "matched": {"type": "integer"},
                        "columns": {"type": "array", "items": {"type": "object", "properties": {"key": {"type": "string"}, "name": {"type": "string"}}}},
                        "rows": {"type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"}, "cells": {"type": "object"}}}},
                        "groups": {"type": "array", "items": {"type": "object"}, "description": "Empty unless the view has groupBy."},
                        "summaries": {"type": "object"},
                    },
                }), **_PATHS, "422": _err("The base is invalid (YAML, expression, unknown function, no such view)."), **_COMMON},
            }
        },
        "/search": _SEARCH,
        "/normalize": {
            "post": {
                "operationId": "normalize",
                "summary": "Normalize one note (or the whole vault): the diffs, written when write is true",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {"path": _VAULT_PATH, "write": {"type": "boolean", "default": False}},
                    }}},
                },
                "responses": {"200": _ok(_NORMALIZED), **_BODY, "404": _err("No such note."), **_COMMON},
            }
        },
        "/exports": {
            "post": {
                "operationId": "startExport",
                "summary": "Start an export job (pdf, epub, anki) over a selection of notes",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["format"],
                        "properties": {
                            "format": {"type": "string", "examples": ["pdf", "epub", "anki"]},
                            "title": {"type": "string"},
                            "selection": {
                                "type": "object",
                                "properties": {
                                    "folders": {"type": "array", "items": {"type": "string"}},
                                    "tags": {"type": "array", "items": {"type": "string"}},
                                    "notes": {"type": "array", "items": _VAULT_PATH},
                                    "depth": {"type": "integer", "minimum": 0, "maximum": 10},
                                    "where": {"type": "object", "additionalProperties": {"type": "string"}},
                                },
                            },
                            "options": {"type": "object", "additionalProperties": {"type": "string"}},
                        },
                    }}},
                },
                "responses": {
                    "202": {**_ok(_JOB, "The job was queued; poll its Location."),
                            "headers": {"Location": {"schema": {"type": "string"}}}},
                    **_BODY,
                    "404": _err("A note of the selection does not exist."),
                    "422": _err("Unknown format, or the selection matches no note."),
                    **_COMMON,
                },
            }
        },
        "/exports/{id}": {
            "get": {
                "operationId": "exportJob",
                "summary": "An export job's state and progress",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _ok(_JOB), "404": _err("No such job."), **_COMMON},
            }
        },
        "/exports/{id}/result": {
            "get": {
                "operationId": "exportResult",
                "summary": "The exported file (PDF, EPUB or .apkg)",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "The file",
                        "content": {
                            "application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}},
                            "application/epub+zip": {"schema": {"type": "string", "contentMediaType": "application/epub+zip"}},
                            "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}},
                        },
                    },
                    "404": _err("No such job."),
                    "409": _err("The job has not finished, or failed."),
                    **_COMMON,
                },
            }
        },
        "/rename": {
            "post": {
                "operationId": "rename",
                "summary": "Move or rename a note or folder, updating every link to it",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["from", "to"],
                        "properties": {"from": _VAULT_PATH, "to": _VAULT_PATH},
                    }}},
                },
                "responses": {
                    "200": _ok(_RENAMED),
                    **_BODY,
                    "404": _err("Nothing to move."),
                    "422": _err("The target exists, or is hidden."),
                    **_COMMON,
                },
            }
        },
        "/sync": {
            "post": {
                "operationId": "sync",
                "summary": "Run one git sync cycle now",
                "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {
                    "200": _ok({"type": "object"}),
                    **_BODY,
                    "409": _err("The vault is not a git repository, or a conflict needs the user."),
                    "501": _err("This installation has no git sync."),
                    "502": _err("A git command failed (no remote, network)."),
                    **_COMMON,
                },
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Error": _ERROR, "Diagnostic": _DIAG},
    },
}


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document (callers may edit it)."""
    return copy.deepcopy(_DOCUMENT)
