"""The local HTTP API for the Obsidian plugin: routing, auth, CORS, JSON. No vault logic here.

The server listens on 127.0.0.1 only. Its port and a random token (created at first start, then
kept) are written to ``<vault>/.vaultsync/api.json`` with mode 0600; every request must carry
``Authorization: Bearer TOKEN``. Browsers may call it only from ``app://obsidian.md``. Bodies are
JSON objects of at most :data:`MAX_BODY` bytes. Every error is a JSON object
``{"error": code, "message": ..., "hint": ...}`` and no response carries a traceback. The
operations live in :class:`vaultsync.api.operations.ApiService`; the OpenAPI document in :mod:`vaultsync.api.openapi`.

Limits: a request's line and headers must arrive within :data:`HEADER_TIMEOUT_S` of its first
byte, its body within :data:`BODY_TIMEOUT_S` after that (else 408 and the connection closes). A
connection waiting for its next request holds no thread: it is parked in the accept loop's
selector, and closed after :data:`IDLE_TIMEOUT_S` (:data:`FIRST_BYTE_TIMEOUT_S` for a new one), the
longest-idle first once :data:`MAX_IDLE_CONNECTIONS` are parked. A request's head is read by the
accept loop as it arrives (within :data:`HEADER_TIMEOUT_S` of its first byte, else 408), so a client
sending its headers slowly holds no thread. Whole requests run on a fixed pool of
:data:`MAX_WORKERS` threads; when every one is busy, a request gets 503 ``busy`` at once.
"""

from __future__ import annotations

import collections
import contextlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from vaultsync import __version__
from vaultsync.api.openapi import openapi_document
from vaultsync.api.operations import (
    ApiService,
    Host,
    JobNotFoundError,
    JobNotReadyError,
    NotAvailableError,
    PathRefusedError,
    error_code,
)
from vaultsync.api.search import search_vault
from vaultsync.errors import (
    ConfigError,
    GitError,
    NoteNotFoundError,
    NoteReadError,
    NoteWriteError,
    VaultsyncError,
)

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
API_FILE = "api.json"
ORIGIN = "app://obsidian.md"
MAX_BODY = 1024 * 1024
_DRAIN_LIMIT = 16 * MAX_BODY  # larger bodies are cut off unread
HEADER_TIMEOUT_S = 5.0  # first byte of a request -> end of its headers
BODY_TIMEOUT_S = 10.0  # end of the headers -> end of the body
FIRST_BYTE_TIMEOUT_S = 10.0  # a new connection that sends nothing is closed after this
IDLE_TIMEOUT_S = 30.0  # a keep-alive connection with no next request is closed after this
SEND_TIMEOUT_S = 30.0  # a client that stops reading its response is dropped after this
MAX_WORKERS = 32  # request threads; a request arriving when all are busy gets 503
MAX_IDLE_CONNECTIONS = 1024  # parked connections (no thread each); beyond, the longest idle is closed
_MAX_HEAD_BYTES = 65_536 + 8_192  # a head longer than this goes to a worker, which answers 431
_MAX_HEAD_LINES = 110  # http.server allows 100 headers
_SWEEP_S = 0.25  # how often parked connections are checked for their deadline
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


_GET_PATHS = ("/openapi.json", "/status", "/unresolved", "/notes/links", "/notes/backlinks", "/notes/unresolved", "/search")
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


class _DeadlineReader(io.RawIOBase):
    """The socket's read side, failing with TimeoutError once the handler's deadline has passed.

    A socket timeout bounds each ``recv`` only (a client sending a byte a second would never hit
    it); this bounds the whole of a request's headers, then of its body.
    """

    def __init__(self, sock: socket.socket, handler: _Handler) -> None:
        super().__init__()
        self._sock = sock
        self._handler = handler
        self.peeking = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        early = self._handler.early
        if early:  # what the accept loop read before the request went to a worker
            n = min(len(buffer), len(early))
            buffer[:n] = early[:n]
            del early[:n]
            return n
        if self.peeking:  # only what has already arrived
            self._sock.setblocking(False)
            try:
                return self._sock.recv_into(buffer)
            except BlockingIOError:
                return None
        left = self._handler.deadline - time.monotonic()
        if left <= 0:
            self._handler.timed_out = True
            raise TimeoutError("the request took too long to arrive")
        self._sock.settimeout(left)
        try:
            return self._sock.recv_into(buffer)
        except TimeoutError:
            self._handler.timed_out = True
            raise


class _Writer(io.BufferedIOBase):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._sock.settimeout(SEND_TIMEOUT_S)
        self._sock.sendall(data)
        return len(data)


class _Handler(BaseHTTPRequestHandler):
    """One connection, kept from request to request; :meth:`serve_one` answers one request.

    Between requests the connection waits in the server's selector, not on a thread.
    """

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = f"vaultsync/{__version__}"
    sys_version = ""

    # -- plumbing ----------------------------------------------------------------------------------

    def __init__(self, request: socket.socket, client_address: Any, server: _Server) -> None:
        # not the base class's constructor, which would serve the connection to its end right away
        self.request, self.client_address, self.server = request, client_address, server
        self.deadline = 0.0
        self.timed_out = False
        self.responded = False
        self.early = bytearray()  # a request's head, read by the accept loop until it is whole
        self.setup()

    def setup(self) -> None:
        self.connection = self.request
        # headers and body go out in two writes: without this, Nagle and delayed ACKs add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = _DeadlineReader(self.connection, self)
        self._buffered = io.BufferedReader(self._reader, 65536)
        self.rfile = self._buffered
        self.wfile = _Writer(self.connection)

    def serve_one(self) -> bool:
        """Answer the next request on this connection; True when the connection stays open."""
        self.deadline = time.monotonic() + HEADER_TIMEOUT_S
        self.timed_out = self.responded = False
        self.requestline = ""
        self.headers = None  # type: ignore[assignment]  # none parsed yet (an error may come first)
        self.command, self.request_version = None, "HTTP/1.1"  # type: ignore[assignment]
        self.handle_one_request()  # a timeout while reading the request line or headers ends it
        if self.timed_out and not self.responded:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._error(408, "request_timeout", f"the request did not arrive within {HEADER_TIMEOUT_S:g} s")
        return not self.close_connection

    def pending(self) -> bool:
        """True when the next request's bytes are already here (a pipelining client)."""
        if self.early:
            return True
        self._reader.peeking = True
        try:
            return bool(self._buffered.peek(1))
        except OSError:
            return False
        finally:
            self._reader.peeking = False

    def close(self) -> None:
        """Close, first reading away what the client already sent: closing a socket with unread
        bytes sends a reset, which can destroy the error response still on its way."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            self.connection.setblocking(False)
            for _ in range(32):
                if not self.connection.recv(65536):
                    break
        with contextlib.suppress(OSError):
            self.rfile.close()
        self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("api: " + format, *args)

    def _cors(self) -> dict[str, str]:
        if self.headers is not None and self.headers.get("Origin") == ORIGIN:
            return {"Access-Control-Allow-Origin": ORIGIN, "Vary": "Origin"}
        return {"Vary": "Origin"}

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.responded = True
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
        if status in (408, 411, 413):
            self.close_connection = True  # the unread body must not be taken for the next request
        self._json(status, {"error": code, "message": message, "hint": hint}, headers)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's own errors (bad request line, unsupported method) as JSON too."""
        self.close_connection = True
        extra = {}
        if self.request_version == "HTTP/0.9":  # a request line we could not read: answer in HTTP/1.1
            self.request_version = "HTTP/1.1"
        if code == 501:  # a method we have no handler for
            code, message = 405, f"{self.command} is not allowed"
            extra = {"Allow": allowed_methods(self._target()[0]) or "GET, POST, OPTIONS"}
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

    def _body(self, required: bool = True) -> dict[str, Any]:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise HttpError(411, "length_required", "send the body with a Content-Length")
        raw_length = self.headers.get("Content-Length") or "0"
        if not raw_length.isdigit():
            raise HttpError(400, "bad_request", "Content-Length must be a number")
        length = int(raw_length)
        self.deadline = time.monotonic() + BODY_TIMEOUT_S
        try:
            if length > MAX_BODY:
                if length <= _DRAIN_LIMIT:  # read it away, so that the client sees the 413 and not a reset
                    while length > 0:
                        length -= len(self.rfile.read(min(length, 65536)) or b"\0" * length)
                raise HttpError(413, "body_too_large", f"the body is over {MAX_BODY} bytes")
            data = self.rfile.read(length) if length else b""
        except TimeoutError:
            raise HttpError(408, "request_timeout", f"the body did not arrive within {BODY_TIMEOUT_S:g} s") from None
        if len(data) < length:
            self.close_connection = True
            raise HttpError(400, "bad_request", "the body is shorter than its Content-Length")
        if not data.strip():
            if required:
                raise HttpError(400, "bad_request", "this endpoint needs a JSON object body")
            return {}
        try:
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "malformed_json", "the body is not valid JSON") from None
        except RecursionError:  # the parser recurses once per level of nesting
            raise HttpError(400, "malformed_json", "the body's JSON is nested too deeply") from None
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
        path, raw_query = self._target()
        query = parse_qs(raw_query, keep_blank_values=True)
        api = self.server.api
        simple: dict[tuple[str, str], Callable[[], None]] = {
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


class _Server(HTTPServer):
    """One accept loop over a selector, and a fixed pool of :data:`MAX_WORKERS` request threads.

    The loop accepts connections and parks them; a parked connection that becomes readable goes
    to a free worker, which answers one request and hands it back (a pipelined request already
    read is answered on the same worker). So a thread is held only while a request is arriving or
    being answered, each phase under a deadline, and idle connections cost a file descriptor.
    """

    request_queue_size = 128
    api: ApiService
    token: str

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        super().__init__(address, handler)
        self.socket.setblocking(False)
        self.workers = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="vaultsync-http")
        self._free = MAX_WORKERS  # workers not serving a request; changed by the loop and the workers
        self._free_lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._parked: collections.OrderedDict[_Handler, float] = collections.OrderedDict()  # -> deadline
        self._returned: collections.deque[_Handler] = collections.deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        sel = self._selector
        sel.register(self.socket, selectors.EVENT_READ, None)
        sel.register(self._wake_r, selectors.EVENT_READ, self._wake_r)
        next_sweep = 0.0
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(_SWEEP_S if self._parked else poll_interval):
                    if key.data is None:
                        self._accept()
                    elif key.data is self._wake_r:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                    else:
                        self._readable(key.data)
                while self._returned:
                    conn = self._returned.popleft()
                    self._park(conn, IDLE_TIMEOUT_S)
                now = time.monotonic()
                if now >= next_sweep:  # parked connections past their deadline are closed
                    next_sweep = now + _SWEEP_S
                    for conn in [c for c, deadline in self._parked.items() if deadline <= now]:
                        self._unpark(conn)
                        if conn.early:  # a head that never finished arriving
                            _refuse(conn, 408, "request_timeout", f"the request did not arrive within {HEADER_TIMEOUT_S:g} s")
                        else:
                            conn.close()
        finally:
            for conn in list(self._parked):
                self._unpark(conn)
                conn.close()
            sel.unregister(self.socket)
            sel.unregister(self._wake_r)
            self._stopped.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._wake()
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        self.workers.shutdown(wait=False, cancel_futures=True)
        while self._returned:
            self._returned.popleft().close()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a full pipe wakes the loop just as well
            self._wake_w.send(b"\0")

    def _accept(self) -> None:
        for _ in range(64):  # a few per turn, so that parked connections are not starved
            try:
                sock, addr = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of file descriptors: the longest idle makes room
                log.warning("api: accept failed: %s", exc)
                if self._parked:
                    oldest = next(iter(self._parked))
                    self._unpark(oldest)
                    oldest.close()
                return
            sock.setblocking(True)
            if len(self._parked) >= MAX_IDLE_CONNECTIONS:
                oldest = next(iter(self._parked))
                self._unpark(oldest)
                oldest.close()
            try:
                conn = _Handler(sock, addr, self)
            except OSError:
                sock.close()
                continue
            self._park(conn, FIRST_BYTE_TIMEOUT_S)

    def _readable(self, conn: _Handler) -> None:
        """Read what a parked connection sent; hand it to a worker once its request head is whole
        (or too long to be one), so that a client sending its headers slowly holds no thread."""
        try:
            data = conn.connection.recv(65536, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client closed
            self._unpark(conn)
            conn.close()
            return
        if not conn.early:  # the head's deadline runs from its first byte
            self._parked[conn] = min(self._parked[conn], time.monotonic() + HEADER_TIMEOUT_S)
        conn.early += data
        head = conn.early
        if b"\r\n\r\n" in head or b"\n\n" in head or len(head) > _MAX_HEAD_BYTES or head.count(b"\n") > _MAX_HEAD_LINES:
            self._unpark(conn)
            self._dispatch(conn)

    def _park(self, conn: _Handler, timeout: float) -> None:
        if self._stop.is_set():
            conn.close()
            return
        try:
            self._selector.register(conn.connection, selectors.EVENT_READ, conn)
        except (ValueError, OSError):  # closed meanwhile
            conn.close()
            return
        self._parked[conn] = time.monotonic() + timeout

    def _unpark(self, conn: _Handler) -> None:
        del self._parked[conn]
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(conn.connection)

    def _dispatch(self, conn: _Handler) -> None:
        with self._free_lock:
            busy = self._free == 0
            if not busy:
                self._free -= 1
        if busy:
            _refuse_busy(conn)
            return
        try:
            self.workers.submit(self._serve, conn)
        except RuntimeError:  # shutting down
            self._release()
            conn.close()

    def _release(self) -> None:
        with self._free_lock:
            self._free += 1

    def _serve(self, conn: _Handler) -> None:
        keep = False
        try:
            keep = conn.serve_one()
            while keep and conn.pending() and not self._stop.is_set():
                keep = conn.serve_one()
        except Exception as exc:  # noqa: BLE001 - a connection reset, say: that connection ends, the server goes on
            log.debug("api: connection from %s ended: %s", conn.client_address, exc)
            keep = False
        finally:
            self._release()
        if keep and not self._stop.is_set():
            self._returned.append(conn)
            self._wake()
        else:
            conn.close()


def _refuse_busy(conn: _Handler) -> None:
    """503 without reading the request (every worker is busy)."""
    _refuse(conn, 503, "busy", "the server is answering too many requests", "retry in a moment")


def _refuse(conn: _Handler, status: int, code: str, message: str, hint: str | None = None) -> None:
    """An error answered from the accept loop: a short write that never blocks, then close."""
    body = json.dumps({"error": code, "message": message, "hint": hint}).encode()
    retry = "Retry-After: 1\r\n" if status == 503 else ""
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{retry}Cache-Control: no-store\r\nConnection: close\r\n\r\n").encode()  # fmt: skip
    with contextlib.suppress(OSError):
        conn.connection.setblocking(False)
        conn.connection.send(head + body)
    conn.close()


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
