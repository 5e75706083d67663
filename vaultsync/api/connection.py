"""One HTTP connection of the local API, from request to request (I/O): deadlines, bodies, JSON answers.

:class:`Connection` is the plumbing under the API's request handler
(:class:`vaultsync.api.server`'s ``_Handler``, which adds the checks and the routes): it reads a
request's line and headers within :data:`HEADER_TIMEOUT_S` of its first byte and its body within
:data:`BODY_TIMEOUT_S` after that (:class:`_DeadlineReader`; else 408 and the connection closes),
takes bodies of at most :data:`MAX_BODY` bytes that must be JSON objects, writes every answer as
JSON with the same safety headers, and closes without resetting an answer still on its way. Between
requests a connection holds no thread: it waits in :class:`vaultsync.api.accept.AcceptLoop`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from vaultsync import __version__

if TYPE_CHECKING:
    from vaultsync.api.accept import AcceptLoop

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
_DRAIN_LIMIT = 16 * MAX_BODY  # larger bodies are cut off unread
HEADER_TIMEOUT_S = 5.0  # first byte of a request -> end of its headers
BODY_TIMEOUT_S = 10.0  # end of the headers -> end of the body
SEND_TIMEOUT_S = 30.0  # a client that stops reading its response is dropped after this


class HttpError(Exception):
    """An error answered before any vault operation runs (auth, routing, body)."""

    def __init__(self, status: int, code: str, message: str, hint: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint
        self.headers = headers or {}


class _DeadlineReader(io.RawIOBase):
    """The socket's read side, failing with TimeoutError once the handler's deadline has passed.

    A socket timeout bounds each ``recv`` only (a client sending a byte a second would never hit
    it); this bounds the whole of a request's headers, then of its body.
    """

    def __init__(self, sock: socket.socket, handler: Connection) -> None:
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


class Connection(BaseHTTPRequestHandler):
    """One connection, kept from request to request; :meth:`serve_one` answers one request.

    Between requests the connection waits in the accept loop's selector, not on a thread. A
    subclass adds the ``do_*`` methods, :meth:`response_headers` and ``send_error``.
    """

    server: AcceptLoop
    protocol_version = "HTTP/1.1"
    server_version = f"vaultsync/{__version__}"
    sys_version = ""

    def __init__(self, request: socket.socket, client_address: Any, server: AcceptLoop) -> None:
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

    def response_headers(self) -> dict[str, str]:
        """Headers every answer carries besides the content's own (the subclass's CORS policy)."""
        return {}

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.responded = True
        self.send_response(status)
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            **self.response_headers(),
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
