"""The local HTTP API for the Obsidian plugin: routing, auth, CORS, JSON. No vault logic here.

The server listens on 127.0.0.1 only. Its port and a random token (created at first start, then
kept) are written to ``<vault>/.vaultsync/api.json`` with mode 0600; every request must carry
``Authorization: Bearer TOKEN``. Browsers may call it only from ``app://obsidian.md``. Bodies are
JSON objects of at most :data:`MAX_BODY` bytes. Every error is a JSON object
``{"error": code, "message": ..., "hint": ...}`` and no response carries a traceback. The
operations live in :class:`vaultsync.api.ApiService`; the OpenAPI document in :mod:`vaultsync.openapi`.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from vaultsync import __version__
from vaultsync.api import (
    ApiService,
    Host,
    JobNotFoundError,
    JobNotReadyError,
    NotAvailableError,
    PathRefusedError,
    error_code,
)
from vaultsync.errors import (
    ConfigError,
    GitError,
    NoteNotFoundError,
    NoteReadError,
    NoteWriteError,
    VaultsyncError,
)
from vaultsync.openapi import openapi_document

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
API_FILE = "api.json"
ORIGIN = "app://obsidian.md"
MAX_BODY = 1024 * 1024
_DRAIN_LIMIT = 16 * MAX_BODY  # larger bodies are cut off unread
_ALLOWED_HOSTS = ("127.0.0.1", "localhost")
_NOTE_ROUTE = re.compile(r"^/notes/(?P<path>.+)/(?P<what>links|backlinks|unresolved)$")
_EXPORT_ROUTE = re.compile(r"^/exports/(?P<id>[A-Za-z0-9-]{1,64})(?P<result>/result)?$")
_MEDIA = {".pdf": "application/pdf", ".epub": "application/epub+zip", ".apkg": "application/octet-stream"}


class HttpError(Exception):
    """An error answered before any vault operation runs (auth, routing, body)."""

    def __init__(self, status: int, code: str, message: str, hint: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint
        self.headers = headers or {}


_GET_PATHS = ("/openapi.json", "/status", "/unresolved", "/notes/links", "/notes/backlinks", "/notes/unresolved")
_POST_PATHS = ("/normalize", "/exports", "/rename", "/sync")


def allowed_methods(path: str) -> str | None:
    """The Allow header of a known path, None for an unknown one."""
    if path in _GET_PATHS or _NOTE_ROUTE.match(path) or _EXPORT_ROUTE.match(path):
        return "GET, HEAD, OPTIONS"
    if path in _POST_PATHS:
        return "POST, OPTIONS"
    return None


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


def load_or_create_token(state_dir: Path) -> str:
    """The token kept in ``api.json``, or a new random one."""
    try:
        token = json.loads((state_dir / API_FILE).read_text(encoding="utf-8")).get("token")
    except (OSError, ValueError, AttributeError):
        token = None
    if isinstance(token, str) and len(token) >= 32:
        return token
    return secrets.token_urlsafe(32)


def write_api_file(state_dir: Path, data: dict[str, Any]) -> Path:
    """Write ``api.json`` atomically, readable by the owner only (mode 0600 from creation on)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / API_FILE
    tmp = state_dir / f".{API_FILE}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(data, indent=1).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = f"vaultsync/{__version__}"
    sys_version = ""

    # -- plumbing ----------------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle and delayed ACKs add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("api: " + format, *args)

    def _cors(self) -> dict[str, str]:
        if self.headers.get("Origin") == ORIGIN:
            return {"Access-Control-Allow-Origin": ORIGIN, "Vary": "Origin"}
        return {"Vary": "Origin"}

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            **self._cors(),
            **(extra or {}),
        }
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, extra: dict[str, str] | None = None) -> None:
        body = json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
        self._send(status, body, "application/json", extra)

    def _error(self, status: int, code: str, message: str, hint: str | None = None, headers: dict[str, str] | None = None) -> None:
        if status in (411, 413):
            self.close_connection = True  # the unread body must not be taken for the next request
        self._json(status, {"error": code, "message": message, "hint": hint}, headers)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's own errors (bad request line, unsupported method) as JSON too."""
        self.close_connection = True
        extra = {}
        if code == 501:  # a method we have no handler for
            code, message = 405, f"{self.command} is not allowed"
            extra = {"Allow": allowed_methods(urlsplit(self.path).path) or "GET, POST, OPTIONS"}
        with contextlib.suppress(Exception):
            phrase = HTTPStatus(code).phrase
            self._json(code, {"error": phrase.lower().replace(" ", "_"), "message": message or phrase, "hint": None}, extra)

    # -- checks ------------------------------------------------------------------------------------

    def _check_host(self) -> None:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        if host not in _ALLOWED_HOSTS:
            raise HttpError(421, "wrong_host", "this server only answers requests addressed to 127.0.0.1")

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

    def _body(self, required: bool = True) -> dict[str, Any]:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise HttpError(411, "length_required", "send the body with a Content-Length")
        raw_length = self.headers.get("Content-Length") or "0"
        if not raw_length.isdigit():
            raise HttpError(400, "bad_request", "Content-Length must be a number")
        length = int(raw_length)
        if length > MAX_BODY:
            if length <= _DRAIN_LIMIT:  # read it away, so that the client sees the 413 and not a reset
                while length > 0:
                    length -= len(self.rfile.read(min(length, 65536)) or b"\0" * length)
            raise HttpError(413, "body_too_large", f"the body is over {MAX_BODY} bytes")
        data = self.rfile.read(length) if length else b""
        if not data.strip():
            if required:
                raise HttpError(400, "bad_request", "this endpoint needs a JSON object body")
            return {}
        try:
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "malformed_json", "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise HttpError(400, "malformed_json", "the body must be a JSON object")
        return body

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

    def _route(self, method: str) -> Callable[[], None]:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        api = self.server.api
        simple: dict[tuple[str, str], Callable[[], None]] = {
            ("GET", "/openapi.json"): lambda: self._json(200, openapi_document()),
            ("GET", "/status"): lambda: self._json(200, {**api.status(), "api": {"port": self.server.server_port}}),
            ("GET", "/unresolved"): lambda: self._json(200, api.unresolved(None)),
            ("GET", "/notes/links"): lambda: self._json(200, api.links(_query_path(query))),
            ("GET", "/notes/backlinks"): lambda: self._json(200, api.backlinks(_query_path(query))),
            ("GET", "/notes/unresolved"): lambda: self._json(200, api.unresolved(_query_path(query))),
            ("POST", "/normalize"): self._normalize,
            ("POST", "/exports"): self._start_export,
            ("POST", "/rename"): self._rename,
            ("POST", "/sync"): self._sync,
        }
        allow = allowed_methods(path)
        if allow is not None and method not in allow:
            raise HttpError(405, "method_not_allowed", f"{method} is not allowed on {path}", headers={"Allow": allow})
        if (method, path) in simple:
            return simple[(method, path)]
        if match := _NOTE_ROUTE.match(path):
            note = _unquote(match["path"])
            handler = {"links": api.links, "backlinks": api.backlinks, "unresolved": api.unresolved}[match["what"]]
            return lambda: self._json(200, handler(note))
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
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
        """Block until :meth:`stop` (or SIGINT in the caller)."""
        self.stopping.wait()

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self.api.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
