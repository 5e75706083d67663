"""The local API's accept loop (I/O): one selector thread parks idle connections, a fixed pool answers requests.

Connections are accepted on a non-blocking socket and parked in a selector, holding no thread. A
parked connection is closed after :data:`IDLE_TIMEOUT_S` (:data:`FIRST_BYTE_TIMEOUT_S` for a new
one), the longest-idle first once :data:`MAX_IDLE_CONNECTIONS` are parked. A request's head is read
here as it arrives (within ``HEADER_TIMEOUT_S`` of its first byte, else 408), so a client sending
its headers slowly holds no thread; once whole it goes to one of :data:`MAX_WORKERS` threads, and
when every one is busy the request gets 503 ``busy`` at once. What a request means is not known
here: that is the :class:`vaultsync.api.connection.Connection` subclass the loop is built with.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import HTTPServer

from vaultsync.api import connection
from vaultsync.api.connection import Connection

log = logging.getLogger(__name__)

FIRST_BYTE_TIMEOUT_S = 10.0  # a new connection that sends nothing is closed after this
IDLE_TIMEOUT_S = 30.0  # a keep-alive connection with no next request is closed after this
MAX_WORKERS = 32  # request threads; a request arriving when all are busy gets 503
MAX_IDLE_CONNECTIONS = 1024  # parked connections (no thread each); beyond, the longest idle is closed
_MAX_HEAD_BYTES = 65_536 + 8_192  # a head longer than this goes to a worker, which answers 431
_MAX_HEAD_LINES = 110  # http.server allows 100 headers
_SWEEP_S = 0.25  # how often parked connections are checked for their deadline


class AcceptLoop(HTTPServer):
    """One accept loop over a selector, and a fixed pool of :data:`MAX_WORKERS` request threads.

    The loop accepts connections and parks them; a parked connection that becomes readable goes
    to a free worker, which answers one request and hands it back (a pipelined request already
    read is answered on the same worker). So a thread is held only while a request is arriving or
    being answered, each phase under a deadline, and idle connections cost a file descriptor.
    """

    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[Connection]) -> None:
        super().__init__(address, handler)
        self._handler = handler  # what answers a connection's requests
        self.socket.setblocking(False)
        self.workers = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="vaultsync-http")
        self._free = MAX_WORKERS  # workers not serving a request; changed by the loop and the workers
        self._free_lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._parked: collections.OrderedDict[Connection, float] = collections.OrderedDict()  # -> deadline
        self._returned: collections.deque[Connection] = collections.deque()
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
                            refuse(conn, 408, "request_timeout", f"the request did not arrive within {connection.HEADER_TIMEOUT_S:g} s")
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
                conn = self._handler(sock, addr, self)
            except OSError:
                sock.close()
                continue
            self._park(conn, FIRST_BYTE_TIMEOUT_S)

    def _readable(self, conn: Connection) -> None:
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
            self._parked[conn] = min(self._parked[conn], time.monotonic() + connection.HEADER_TIMEOUT_S)
        conn.early += data
        head = conn.early
        if b"\r\n\r\n" in head or b"\n\n" in head or len(head) > _MAX_HEAD_BYTES or head.count(b"\n") > _MAX_HEAD_LINES:
            self._unpark(conn)
            self._dispatch(conn)

    def _park(self, conn: Connection, timeout: float) -> None:
        if self._stop.is_set():
            conn.close()
            return
        try:
            self._selector.register(conn.connection, selectors.EVENT_READ, conn)
        except (ValueError, OSError):  # closed meanwhile
            conn.close()
            return
        self._parked[conn] = time.monotonic() + timeout

    def _unpark(self, conn: Connection) -> None:
        del self._parked[conn]
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(conn.connection)

    def _dispatch(self, conn: Connection) -> None:
        with self._free_lock:
            busy = self._free == 0
            if not busy:
                self._free -= 1
        if busy:
            refuse_busy(conn)
            return
        try:
            self.workers.submit(self._serve, conn)
        except RuntimeError:  # shutting down
            self._release()
            conn.close()

    def _release(self) -> None:
        with self._free_lock:
            self._free += 1

    def _serve(self, conn: Connection) -> None:
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


def refuse_busy(conn: Connection) -> None:
    """503 without reading the request (every worker is busy)."""
    refuse(conn, 503, "busy", "the server is answering too many requests", "retry in a moment")


def refuse(conn: Connection, status: int, code: str, message: str, hint: str | None = None) -> None:
    """An error answered from the accept loop: a short write that never blocks, then close."""
    body = json.dumps({"error": code, "message": message, "hint": hint}).encode()
    retry = "Retry-After: 1\r\n" if status == 503 else ""
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{retry}Cache-Control: no-store\r\nConnection: close\r\n\r\n").encode()  # fmt: skip
    with contextlib.suppress(OSError):
        conn.connection.setblocking(False)
        conn.connection.send(head + body)
    conn.close()
