"""HTTP/1.1 plumbing for stream sources and the recorder: requests, chunked bodies, lines.

The loopback source, the replayer and the tests' hostile servers serve through
`harness.replay._http_server.LoopbackHTTPServer` and `ChunkedWriter`; the recorder decodes with `ChunkDecoder` and
`LineSplitter`. Only what a stream needs: one request per connection, no keep-alive.
"""

from __future__ import annotations

import re
import socket
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024
LAST_CHUNK = b"0\r\n\r\n"
#: lines due together go out in one send of up to this many bytes (still one chunk per line)
BATCH_BYTES = 64 * 1024
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n]*)?\r?\n")
STREAM_HEADERS = (("Content-Type", "application/json; charset=utf-8"), ("Transfer-Encoding", "chunked"))


class BadRequest(ValueError):
    """A request a server cannot parse (answered 400, never shown to a harness user)."""


class ChunkError(ValueError):
    """A chunked body whose framing is broken."""


@dataclass(frozen=True)
class Request:
    """A parsed HTTP request head."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)

    def bearer(self) -> str | None:
        """The bearer token sent, or None when there is no `Authorization: Bearer` header."""
        value = self.header("Authorization") or ""
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    @property
    def http10(self) -> bool:
        """An HTTP/1.0 client: no chunked coding for it, the body ends with the connection."""
        return self.version.upper() == "HTTP/1.0"

    def accepts_gzip(self) -> bool:
        return any(p.split(";")[0].strip().lower() == "gzip" for p in (self.header("Accept-Encoding") or "").split(","))


def read_request(rfile: BinaryIO) -> Request | None:
    """The next request head from `rfile`; None if the peer closed before sending one."""
    first = rfile.readline(MAX_HEAD + 1)
    if not first:
        return None
    parts = first.decode("latin-1").strip().split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest(f"bad request line {first[:80]!r}")
    headers: list[tuple[str, str]] = []
    size = len(first)
    while True:
        line = rfile.readline(MAX_HEAD + 1)
        size += len(line)
        if size > MAX_HEAD:
            raise BadRequest("request head too large")
        if not line:
            raise BadRequest("connection closed inside the request head")
        if line in (b"\r\n", b"\n"):
            break
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest(f"bad header line {line[:80]!r}")
        headers.append((name.strip(), value.strip()))
    return Request(parts[0], parts[1], parts[2], tuple(headers))


def response_head(status: int, reason: str, headers: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_response(sock: socket.socket, status: int, reason: str, headers: Iterable[tuple[str, str]],
                  body: bytes) -> None:  # fmt: skip
    """A whole non-streaming response with a Content-Length."""
    head = response_head(status, reason, [*headers, ("Content-Length", str(len(body))), ("Connection", "close")])
    sock.sendall(head + body)


def encode_chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


class ChunkedWriter:
    """A chunked response body on a socket: each `send` is one chunk in one `sendall`.

    With `gzip`, the body is one gzip stream, sync-flushed after every chunk so that each
    line is decodable as soon as it arrives. With `chunked` False (an HTTP/1.0 client), the
    same bytes go unframed and the body ends when the connection closes.
    """

    def __init__(self, sock: socket.socket, *, gzip: bool = False, chunked: bool = True) -> None:
        self.sock = sock
        self.chunked = chunked
        self._zip = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if gzip else None
        self.bytes_sent = 0

    def start(self, status: int = 200, reason: str = "OK", headers: Iterable[tuple[str, str]] = STREAM_HEADERS) -> None:
        extra = [("Content-Encoding", "gzip")] if self._zip else []
        kept = headers if self.chunked else [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
        self.sock.sendall(response_head(status, reason, [*kept, *extra]))

    def send(self, data: bytes) -> None:
        self.send_many((data,))

    def send_many(self, lines: Iterable[bytes]) -> None:
        """Several chunks, one per item, in a single `sendall` (for a source that is behind)."""
        zipper = self._zip
        chunks = []
        for data in lines:
            if zipper is not None:
                data = zipper.compress(data) + zipper.flush(zlib.Z_SYNC_FLUSH)
            if data:
                chunks.append(b"%x\r\n%b\r\n" % (len(data), data) if self.chunked else data)
                self.bytes_sent += len(data)
        if chunks:
            self.sock.sendall(b"".join(chunks) if len(chunks) > 1 else chunks[0])

    def finish(self) -> None:
        tail = self._zip.flush(zlib.Z_FINISH) if self._zip is not None else b""
        if not self.chunked:
            if tail:
                self.sock.sendall(tail)
            return
        self.sock.sendall((encode_chunk(tail) if tail else b"") + LAST_CHUNK)

    def frame(self, data: bytes) -> bytes:
        """`data` as one chunk (or as it is, unchunked), not compressed: for callers that write themselves."""
        return b"%x\r\n%b\r\n" % (len(data), data) if self.chunked else data


class ChunkDecoder:
    """Decodes chunked transfer coding incrementally: `feed` bytes, get the payload so far."""

    def __init__(self) -> None:
        self._pending = b""
        self._left = 0  # payload bytes still due in the current chunk
        self._crlf = False  # the CRLF after a chunk's payload is due
        self._trailers = False
        self.done = False
        self.failed: ChunkError | None = None  # raised once what came before it was handed out

    @property
    def mid_chunk(self) -> bool:
        """Inside a chunk (payload or its CRLF still due)."""
        return self._left > 0 or self._crlf

    def feed(self, data: bytes) -> bytes:
        """The payload bytes `data` completes; broken framing raises ChunkError (after the
        payload before it was returned, so that nothing that arrived intact is lost)."""
        return b"".join(self.pieces(data))

    def pieces(self, data: bytes) -> list[bytes]:
        """`feed`, as the payload pieces it is made of: one per chunk `data` holds whole (a
        stream's line, as the API sends it), so nothing is copied to join them."""
        if self.failed is not None:
            raise self.failed
        if self._pending:
            data, self._pending = self._pending + data, b""
        out: list[bytes] = []
        pos, end = 0, len(data)
        match, append, crlf_at = _CHUNK_SIZE.match, out.append, data.startswith
        while pos < end and not self.done:
            if not (self._left or self._crlf or self._trailers):
                # fast path: whole chunks (size line, payload, CRLF), one after the other
                while m := match(data, pos):
                    start = m.end()
                    stop = start + int(m.group(1), 16)
                    if stop + 2 > end or stop == start or not crlf_at(b"\r\n", stop):
                        break
                    append(data[start:stop])
                    pos = stop + 2
                if pos >= end:
                    break
            try:
                pos = self._step(data, pos, end, out)
            except ChunkError as exc:
                self.failed = exc
                if not out:
                    raise
                break
        return out

    def _step(self, data: bytes, pos: int, end: int, out: list[bytes]) -> int:
        """One step of the general state machine (pieces of chunks, CRLFs, trailers)."""
        if self._left:
            take = min(self._left, end - pos)
            out.append(data[pos : pos + take])
            self._left -= take
            self._crlf = self._left == 0
            return pos + take
        if self._crlf:
            return self._after_chunk(data, pos, end)
        eol = data.find(b"\n", pos)
        if eol < 0:
            if end - pos > 4096:
                raise ChunkError(f"chunk framing: no line end within 4096 bytes: {data[pos : pos + 40]!r}")
            self._pending = data[pos:]
            return end
        line = data[pos : eol + 1]
        if self._trailers:
            self.done = line in (b"\r\n", b"\n")
        else:
            m = _CHUNK_SIZE.fullmatch(line)
            if m is None:
                raise ChunkError(f"chunk framing: expected a hex chunk size, found {line[:40]!r}")
            self._left = int(m.group(1), 16)
            self._trailers = self._left == 0
        return eol + 1

    def _after_chunk(self, data: bytes, pos: int, end: int) -> int:
        """The CRLF that ends a chunk's payload, checked as soon as its bytes arrive."""
        two = data[pos : pos + 2]
        if two == b"\r" and end - pos == 1:
            self._pending = two
            return end
        if two[:1] == b"\n" or two == b"\r\n":
            self._crlf = False
            return pos + len(two.split(b"\n")[0]) + 1
        raise ChunkError(f"chunk framing: expected CRLF after a chunk, found {data[pos : pos + 40]!r}")


class LineSplitter:
    """Splits a byte stream into lines on `\\n`, keeping every byte (terminators included)."""

    def __init__(self, max_line: int | None = None) -> None:
        self._parts: list[bytes] = []  # an unfinished line, in pieces (no quadratic joins)
        self._size = 0
        self.max_line = max_line

    @property
    def pending(self) -> bytes:
        """The bytes of the unfinished last line."""
        return b"".join(self._parts)

    def feed(self, data: bytes) -> list[bytes]:
        """The lines completed by `data`; the rest waits in `pending`."""
        return self.feed_pieces([data])

    def feed_pieces(self, pieces: list[bytes]) -> list[bytes]:
        """`feed` of consecutive pieces of the stream (see `ChunkDecoder.pieces`)."""
        out: list[bytes] = []
        for data in pieces:
            # the usual chunk: one whole line, handed on as it is
            if not self._parts and data[-1:] == b"\n" and data.find(b"\n") == len(data) - 1:
                out.append(data)
            else:
                out += self._feed(data)
        return out

    def _feed(self, data: bytes) -> list[bytes]:
        last = data.rfind(b"\n")
        if last < 0:
            if data:
                self._parts.append(data)
                self._size += len(data)
            return []
        if self._parts:
            data = b"".join(self._parts) + data
            last += self._size
        tail = data[last + 1 :]
        self._parts, self._size = ([tail], len(tail)) if tail else ([], 0)
        # split drops the separators: put them back
        return [line + b"\n" for line in data[: last + 1].split(b"\n")[:-1]]

    @property
    def overflowing(self) -> bool:
        return self.max_line is not None and self._size > self.max_line
