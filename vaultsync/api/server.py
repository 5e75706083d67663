"""The local HTTP API for the Obsidian plugin: its request handler (checks, the route table, the endpoints) and :class:`ApiServer`.

The server listens on 127.0.0.1 only. Its port and a random token (created at first start, then
kept) are written to ``<vault>/.vaultsync/api.json`` (:mod:`vaultsync.api.api_file`); every
request must carry ``Authorization: Bearer TOKEN``. Browsers may call it only from
``app://obsidian.md``. Every error is a JSON object ``{"error": code, "message": ..., "hint": ...}``
and no response carries a traceback. No vault logic here: the operations live in
:class:`vaultsync.api.operations.ApiService`, the OpenAPI document in :mod:`vaultsync.api.openapi`.

The connection plumbing (request deadlines, body limits, JSON answers) is
:mod:`vaultsync.api.connection`; the accept loop and the request threads (idle connections hold
none; 503 when all are busy) are :mod:`vaultsync.api.accept`.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from vaultsync.api.accept import AcceptLoop
from vaultsync.api.api_file import load_or_create_token, write_api_file
from vaultsync.api.bases import base_view
from vaultsync.api.connection import Connection, HttpError
from vaultsync.api.jobs import JobNotFoundError, JobNotReadyError
from vaultsync.api.openapi import openapi_document
from vaultsync.api.operations import ApiService, Host, NotAvailableError
from vaultsync.api.paths import PathRefusedError
from vaultsync.api.search import search_vault
from vaultsync.errors import (
    ConfigError,
    GitError,
    NoteNotFoundError,
    NoteReadError,
    NoteWriteError,
    VaultsyncError,
    error_code,
)

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
ORIGIN = "app://obsidian.md"
_ALLOWED_HOSTS = ("127.0.0.1", "localhost")
_NOTE_ROUTE = re.compile(r"^/notes/(?P<path>.+)/(?P<what>links|backlinks|unresolved)$")
_BASE_ROUTE = re.compile(r"^/bases/(?P<path>.+)$")
_EXPORT_ROUTE = re.compile(r"^/exports/(?P<id>[A-Za-z0-9-]{1,64})(?P<result>/result)?$")
_MEDIA = {".pdf": "application/pdf", ".epub": "application/epub+zip", ".apkg": "application/octet-stream"}


def status_for(exc: VaultsyncError) -> int:
    """The HTTP status of a library error."""
    if isinstance(exc, PathRefusedError):
        return 400
    if isinstance(exc, (NoteNotFoundError, JobNotFoundError)):
        return 404
    if isinstance(exc, (JobNotReadyError, NoteWriteError)):
        return 409
    if isinstance(exc, ConfigError):
        return 422
    if isinstance(exc, NotAvailableError):
        return 501
    if isinstance(exc, GitError):  # a failed git command (network, remote) is upstream's; the rest is a precondition
        return 502 if exc.cmd else 409
    if isinstance(exc, NoteReadError):
        return 409
    return 500


class _Handler(Connection):
    """The API's answers on one connection: host, origin and token checks, then the route table."""

    server: _Server

    def response_headers(self) -> dict[str, str]:
        """CORS: only Obsidian's own origin may read the answers."""
        if self.headers is not None and self.headers.get("Origin") == ORIGIN:
            return {"Access-Control-Allow-Origin": ORIGIN, "Vary": "Origin"}
        return {"Vary": "Origin"}

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's own errors (bad request line, unsupported method) as JSON too."""
        self.close_connection = True
        extra = {}
        if self.request_version == "HTTP/0.9":  # a request line we could not read: answer in HTTP/1.1
            self.request_version = "HTTP/1.1"
        if code == 501:  # a method we have no handler for
            code, message = 405, f"{self.command} is not allowed"
            extra = {"Allow": self._allowed_methods(self._target()[0]) or "GET, POST, OPTIONS"}
        with contextlib.suppress(Exception):
            phrase = HTTPStatus(code).phrase
            hint = "keep the request line and headers under 64 KiB" if code in (414, 431) else None
            self._json(code, {"error": phrase.lower().replace(" ", "_"), "message": message or phrase, "hint": hint}, extra)

    # -- checks ------------------------------------------------------------------------------------

    def _check_host(self) -> None:
        """The Host header, and the authority of an absolute-form target, must name this machine."""
        _check_authority(self.headers.get("Host") or "")
        target = self.path
        if target.startswith("/"):
            return
        if target.lower().startswith("http://"):  # absolute-form: a server must accept it (RFC 9112 3.2.2)
            _check_authority(urlsplit(target).netloc)
            return
        if target == "*" and self.command == "OPTIONS":
            return
        raise HttpError(400, "bad_request_target", f"the request-target {target[:100]!r} is not a path",
                        "send the path only, as in 'GET /status HTTP/1.1'")  # fmt: skip

    def _target(self) -> tuple[str, str]:
        """The path and query of the request-target (checked by :meth:`_check_host`)."""
        target = self.path
        if not target.startswith("/"):  # absolute-form: its path
            parts = urlsplit(target)
            return parts.path or "/", parts.query
        path, _, query = target.partition("#")[0].partition("?")
        return path, query  # not urlsplit: '//host/x' is a path here, not an authority

    def _check_origin(self) -> None:
        origin = self.headers.get("Origin")
        if origin is not None and origin != ORIGIN:
            raise HttpError(403, "origin_refused", f"requests from {origin!r} are not allowed", f"only {ORIGIN} may call this API")

    def _check_token(self) -> None:
        header = self.headers.get("Authorization") or ""
        scheme, _, given = header.partition(" ")
        expected = self.server.token.encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8", "replace"), expected):
            raise HttpError(401, "unauthorized", "a valid bearer token is required",
                            "the token is in <vault>/.vaultsync/api.json")  # fmt: skip

    # -- dispatch ----------------------------------------------------------------------------------

    def do_OPTIONS(self) -> None:
        """CORS preflight: answered without the token (browsers send none), only for Obsidian."""
        try:
            self._check_host()
            if self.headers.get("Origin") != ORIGIN:
                raise HttpError(403, "origin_refused", "preflight is only answered for app://obsidian.md")
        except HttpError as exc:
            self._error(exc.status, exc.code, exc.message, exc.hint)
            return
        self._send(204, b"", "text/plain", {
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
        })  # fmt: skip

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        try:
            self._check_host()
            self._check_origin()
            self._check_token()
            route = self._route(method)
            route()
        except HttpError as exc:
            self._error(exc.status, exc.code, exc.message, exc.hint, exc.headers)
        except VaultsyncError as exc:
            self._error(status_for(exc), error_code(exc), str(exc).splitlines()[0] if isinstance(exc, GitError) else str(exc), exc.hint)
        except Exception as exc:
            log.exception("api: %s %s failed", method, self.path)
            self._error(500, "internal", f"the server failed: {type(exc).__name__}", "see the vaultsync log")

    def _routes(self, query: dict[str, list[str]]) -> dict[tuple[str, str], Callable[[], None]]:
        """The route table: what answers each (method, path). One line per endpoint; the Allow
        header and the 405s follow from it (paths with a part in them are matched in :meth:`_route`)."""
        api = self.server.api
        return {
            ("GET", "/openapi.json"): lambda: self._json(200, openapi_document()),
            ("GET", "/status"): lambda: self._json(200, {**api.status(), "api": {"port": self.server.server_port}}),
            ("GET", "/unresolved"): lambda: self._json(200, api.unresolved(None)),
            ("GET", "/notes/links"): lambda: self._json(200, api.links(_query_path(query))),
            ("GET", "/notes/backlinks"): lambda: self._json(200, api.backlinks(_query_path(query))),
            ("GET", "/notes/unresolved"): lambda: self._json(200, api.unresolved(_query_path(query))),
            ("GET", "/search"): lambda: self._json(200, search_vault(api, query)),  # vaultsync/api/search.py
            ("POST", "/normalize"): self._normalize,
            ("POST", "/exports"): self._start_export,
            ("POST", "/rename"): self._rename,
            ("POST", "/sync"): self._sync,
        }

    def _allowed_methods(self, path: str) -> str | None:
        """The Allow header of a known path, None for an unknown one."""
        if _NOTE_ROUTE.match(path) or _EXPORT_ROUTE.match(path) or _BASE_ROUTE.match(path):
            return "GET, HEAD, OPTIONS"
        methods = {m for m, p in self._routes({}) if p == path}
        if not methods:
            return None
        return ", ".join([*(["GET", "HEAD"] if "GET" in methods else []), *sorted(methods - {"GET"}), "OPTIONS"])

    def _route(self, method: str) -> Callable[[], None]:
        path, raw_query = self._target()
        routes = self._routes(parse_qs(raw_query, keep_blank_values=True))
        allow = self._allowed_methods(path)
        if allow is not None and method not in allow:
            raise HttpError(405, "method_not_allowed", f"{method} is not allowed on {path}", headers={"Allow": allow})
        if (method, path) in routes:
            return routes[(method, path)]
        api = self.server.api
        if match := _NOTE_ROUTE.match(path):
            note = _unquote(match["path"])
            handler = {"links": api.links, "backlinks": api.backlinks, "unresolved": api.unresolved}[match["what"]]
            return lambda: self._json(200, handler(note))
        if match := _BASE_ROUTE.match(path):
            base_path = match["path"]
            query = parse_qs(raw_query, keep_blank_values=True)
            return lambda: self._json(200, base_view(api, _unquote(base_path), query))
        if match := _EXPORT_ROUTE.match(path):
            if match["result"]:
                return lambda: self._file(api.job_result(match["id"]))
            return lambda: self._json(200, api.job(match["id"]).as_dict())
        raise HttpError(404, "not_found", f"no endpoint {path}", "the endpoints are listed in /openapi.json")

    # -- endpoints with bodies ---------------------------------------------------------------------

    def _normalize(self) -> None:
        body = self._body()
        write = body.get("write", False)
        if not isinstance(write, bool):
            raise HttpError(400, "bad_request", "'write' must be true or false")
        path = body.get("path")
        if "path" in body and not isinstance(path, str):
            raise HttpError(400, "bad_request", "'path' must be a string")
        self._json(200, self.server.api.normalize(path, write))

    def _start_export(self) -> None:
        body = self._body()
        selection = body.get("selection", {})
        options = body.get("options", {})
        if not isinstance(selection, dict):
            raise HttpError(400, "bad_request", "'selection' must be an object")
        if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
            raise HttpError(400, "bad_request", "'options' must map names to strings")
        title = body.get("title")
        if "title" in body and not isinstance(title, str):
            raise HttpError(400, "bad_request", "'title' must be a string")
        job = self.server.api.start_export(body.get("format"), selection, title, options)
        self._json(202, job.as_dict(), {"Location": f"/exports/{job.id}"})

    def _rename(self) -> None:
        body = self._body()
        old, new = body.get("from"), body.get("to")
        if not isinstance(old, str) or not isinstance(new, str):
            raise HttpError(400, "bad_request", "'from' and 'to' must be strings (vault paths)")
        self._json(200, self.server.api.rename(old, new))

    def _sync(self) -> None:
        self._body(required=False)  # no fields, but a body sent must still be well-formed
        self._json(200, self.server.api.sync())

    def _file(self, path: Path) -> None:
        data = path.read_bytes()
        name = path.name.encode("ascii", "replace").decode().replace('"', "_")
        self._send(200, data, _MEDIA.get(path.suffix, "application/octet-stream"),
                   {"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def _check_authority(authority: str) -> None:
    host = authority.rpartition("@")[2].rsplit(":", 1)[0].strip("[]").lower()
    if host not in _ALLOWED_HOSTS:
        raise HttpError(421, "wrong_host", "this server only answers requests addressed to 127.0.0.1")


def _unquote(raw: str) -> str:
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise HttpError(400, "invalid_path", "the path is not valid percent-encoded UTF-8") from None


def _query_path(query: dict[str, list[str]]) -> str:
    values = query.get("path")
    if not values or len(values) != 1:
        raise HttpError(400, "bad_request", "give exactly one 'path' query parameter")
    return values[0]


class _Server(AcceptLoop):
    """The accept loop, with what the handler needs: the operations and the token."""

    api: ApiService
    token: str


class ApiServer:
    """The API's HTTP server on a thread of its own; :meth:`start` writes ``api.json``."""

    def __init__(self, host: Host, *, port: int = 0, refresh_s: float = 0.0) -> None:
        self.host = host
        self.api = ApiService(host)
        self.state_dir = host.vault.state_dir
        self.token = load_or_create_token(self.state_dir)
        self._httpd = _Server((HOST, port), _Handler)
        self._httpd.api = self.api
        self._httpd.token = self.token
        self._thread: threading.Thread | None = None
        self._refresher: threading.Thread | None = None
        self.stopping = threading.Event()
        self._refresh_s = refresh_s

    @property
    def port(self) -> int:
        return int(self._httpd.server_port)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> ApiServer:
        write_api_file(self.state_dir, {"url": self.url, "port": self.port, "token": self.token, "pid": os.getpid()})
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="vaultsync-api", daemon=True)
        self._thread.start()
        refresh = getattr(self.host, "refresh", None)
        if self._refresh_s > 0 and refresh is not None:
            self._refresher = threading.Thread(target=self._refresh_loop, args=(refresh,), name="vaultsync-refresh", daemon=True)
            self._refresher.start()
        log.info("API listening on %s", self.url)
        return self

    def _refresh_loop(self, refresh: Callable[[], None]) -> None:
        while not self.stopping.wait(self._refresh_s):
            try:
                refresh()
            except Exception as exc:  # noqa: BLE001 - keep serving (STYLE 3.5.8)
                log.warning("index refresh failed: %s", exc)

    def serve_forever(self) -> None:
        """Block until :meth:`stop` (or SIGINT in the caller).

        The wait wakes now and then: a signal the kernel hands to one of the worker threads (all
        blocked too) is only handled once the main thread runs again, so an endless wait could
        sleep through SIGTERM.
        """
        while not self.stopping.wait(0.5):
            pass

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        # A running export reads through one of the pool's SQLite connections: closing them under
        # it crashes the process (seen as a segfault once stop became immediate). So the queued
        # jobs are cancelled and the running ones finished first; interpreter exit would wait for
        # them anyway (the pool's threads are not daemons). ApiService.close should own this.
        self.api._executor.shutdown(wait=True, cancel_futures=True)
        self.api.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
