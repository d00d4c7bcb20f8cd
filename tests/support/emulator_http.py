"""A small, fast HTTP/1.1 server for the emulator (stdlib only).

``http.server`` parses headers with the email package and writes headers one syscall at a time;
the overhead benchmark measures microseconds, so this reads requests with a minimal parser and
writes each response in one ``sendall``. Keep-alive with ``Content-Length`` (JSON) or chunked
transfer encoding (SSE) lets the openai SDK reuse pooled connections. Clients that hang up
mid-response are normal here and never print tracebacks.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlsplit

from tests.support.emulator_replies import Wire

__all__ = ["HttpRequest", "LoopbackServer", "encode_head", "read_request", "write_wire"]

_DISCONNECTS = (
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
    TimeoutError,
    OSError,
)
_MAX_LINE = 65536


@dataclass
class HttpRequest:
    """One request as read off the socket."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    connection: int = 0  # which connection carried it (numbered by the server, from 1)


def read_request(rfile: BinaryIO) -> HttpRequest | None:
    """The next request on a keep-alive connection, or None when the client is gone."""
    line = rfile.readline(_MAX_LINE)
    while line in (b"\r\n", b"\n"):  # tolerate stray blank lines between requests
        line = rfile.readline(_MAX_LINE)
    if not line:
        return None
    method, target, _version = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = rfile.readline(_MAX_LINE)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _read_chunked(rfile)
    else:
        length = int(headers.get("content-length") or 0)
        body = rfile.read(length) if length else b""
    parts = urlsplit(target)
    return HttpRequest(method.upper(), parts.path, dict(parse_qsl(parts.query)), headers, body)


def _read_chunked(rfile: BinaryIO) -> bytes:
    pieces: list[bytes] = []
    while True:
        size = int(rfile.readline(_MAX_LINE).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(pieces)
        pieces.append(rfile.read(size))
        rfile.readline(_MAX_LINE)


def encode_head(wire: Wire, body_length: int) -> bytes:
    """Status line and headers of ``wire``."""
    reason = (
        HTTPStatus(wire.status).phrase if wire.status in HTTPStatus._value2member_map_ else "Error"
    )
    lines = [f"HTTP/1.1 {wire.status} {reason}", f"Content-Type: {wire.content_type}"]
    if wire.streamed:
        lines += ["Transfer-Encoding: chunked", "Cache-Control: no-cache"]
    else:
        lines.append(f"Content-Length: {body_length}")
    lines += [f"{name}: {value}" for name, value in wire.headers]
    lines.append("Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _framed_body(wire: Wire) -> list[bytes]:
    if not wire.streamed:
        return list(wire.parts)
    chunks = [b"%x\r\n%s\r\n" % (len(part), part) for part in wire.parts if part]
    return [*chunks, b"0\r\n\r\n"]


def write_wire(sock: socket.socket, wire: Wire, *, interval: float = 0.0) -> bool:
    """Send ``wire``; False when the connection must close (cut on purpose or client gone)."""
    body = _framed_body(wire)
    head = encode_head(wire, sum(len(p) for p in wire.parts))
    try:
        if wire.cut_after is not None:
            if wire.cut_after > 0:
                sock.sendall(head + b"".join(body)[: wire.cut_after])
            return False
        if interval <= 0 or not wire.streamed:
            sock.sendall(head + b"".join(body))
            return True
        sock.sendall(head)
        for piece in body:  # spaced out like a model generating tokens
            sock.sendall(piece)
            time.sleep(interval)
        return True
    except _DISCONNECTS:
        return False


Responder = Callable[[HttpRequest], "tuple[Wire, float]"]


class _Handler(socketserver.BaseRequestHandler):
    server: LoopbackServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rfile = sock.makefile("rb")
        self.server.track(sock, True)
        connection = next(self.server.connection_numbers)
        try:
            while True:
                request = read_request(rfile)
                if request is None:
                    return
                request.connection = connection
                wire, interval = self.server.respond(request)
                if not write_wire(sock, wire, interval=interval):
                    return
                if request.headers.get("connection", "").lower() == "close":
                    return
        except (*_DISCONNECTS, ValueError):
            return
        finally:
            self.server.track(sock, False)
            rfile.close()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class LoopbackServer(socketserver.ThreadingTCPServer):
    """Thread per connection; ``respond`` maps a request to (wire, streaming interval)."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    # a real server's backlog: socketserver's default of 5 resets bursts of concurrent connects
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], respond: Responder) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.respond = respond
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        # a connection's number tells which process sent a request (fork tests)
        self.connection_numbers = itertools.count(1)

    def track(self, sock: socket.socket, is_open: bool) -> None:
        with self._open_lock:
            (self._open.add if is_open else self._open.discard)(sock)

    def close_connections(self) -> None:
        """Unblock handler threads waiting on idle keep-alive connections."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silence: a client hanging up is a normal event for a test server."""
