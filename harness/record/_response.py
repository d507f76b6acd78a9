"""Reading a stream response as it arrives, and saying in one line what went wrong.

`Body` reads whatever bytes have arrived on the recorder's own socket (`_http_client.Link`:
one receive at most, no waiting to fill a buffer), decodes the chunked framing and gzip
itself, and stamps every read with its arrival time, so that one call can return many lines.

Decoding is bounded whatever the server sends: gzip is inflated `DECODE_SLICE` bytes at a
time (`max_length`), never more than that per step, and a body that inflates more than
`MAX_EXPANSION`-fold (once past `EXPANSION_FLOOR` bytes) is refused as a decompression bomb.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import time
import zlib
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from harness._wire import ChunkDecoder, ChunkError, LineSplitter
from harness.record._http_client import ConnectTimeout, Head, Link, NotHTTP, ProxyError, ResponseTimeout
from harness.record.backoff import Failure
from harness.record.redact import exception_chain

DECODE_SLICE = 256 * 1024  # decoded bytes one step may produce: what a bomb can make us hold
MAX_EXPANSION = 100  # gzip'd lines flushed one by one inflate ~10-fold; a bomb 1000-fold
EXPANSION_FLOOR = 1 << 20  # below this many decoded bytes the ratio is not judged


class UnsupportedEncoding(ValueError):
    """A Content-Encoding this reader cannot decode."""


class DecompressionBomb(ValueError):
    """A body that inflates far more than any stream does."""


def _decompressor(encoding: str) -> Any:
    enc = encoding.strip().lower()
    if enc in ("", "identity"):
        return None
    if enc in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if enc == "deflate":
        return zlib.decompressobj()
    raise UnsupportedEncoding(f"Content-Encoding {encoding!r} cannot be decoded (the recorder asks for gzip)")


class Inflater:
    """gzip or deflate, inflated at most DECODE_SLICE bytes at a time, its ratio watched."""

    def __init__(self, encoding: str, z: Any = None) -> None:
        self.encoding = encoding
        self._z = z if z is not None else _decompressor(encoding)
        self.fed = self.out = 0
        self._full = False  # the last step filled its slice: zlib may hold more output

    @classmethod
    def of(cls, encoding: str) -> Inflater | None:
        """An inflater for a Content-Encoding; None for identity (UnsupportedEncoding: neither)."""
        z = _decompressor(encoding)
        return None if z is None else cls(encoding, z)

    @property
    def has_more(self) -> bool:
        z = self._z
        return self._full or bool(z.unconsumed_tail) or (z.eof and bool(z.unused_data))

    def feed(self, data: bytes) -> bytes:
        self.fed += len(data)
        return self._step(data)

    def more(self) -> bytes:
        """The next slice of what was fed before (b"" if nothing more comes of it)."""
        z = self._z
        if z.eof and z.unused_data:  # another gzip member follows
            self._z = _decompressor(self.encoding)
            return self._step(z.unused_data)
        return self._step(z.unconsumed_tail)

    def _step(self, data: bytes) -> bytes:
        z = self._z
        out: bytes = z.decompress(data, DECODE_SLICE)
        self._full = len(out) == DECODE_SLICE
        self.out += len(out)
        consumed = self.fed - len(z.unconsumed_tail) - len(z.unused_data)
        if self.out == 0 and consumed > EXPANSION_FLOOR:  # empty blocks for ever: bytes, and no stream
            raise DecompressionBomb(f"{consumed} bytes of {self.encoding} inflate to nothing: refused")
        if self.out > EXPANSION_FLOOR and self.out > MAX_EXPANSION * max(consumed, 1):
            raise DecompressionBomb(
                f"the {self.encoding} body inflates more than {MAX_EXPANSION}-fold ({self.out} bytes "
                f"from {consumed}): refused as a decompression bomb"
            )
        return out


class Body:
    """A response body as it arrives: decoded pieces, each read stamped with `arrived`."""

    def __init__(self, link: Link, head: Head) -> None:
        self.link = link
        self.chunked = head.chunked and not head.bodiless
        self.decoder = ChunkDecoder() if self.chunked else None
        length = head.get("Content-Length").strip()
        self._left: int | None = None  # bytes still due under a Content-Length
        if head.bodiless:
            self._left = 0
        elif not self.chunked and length.isascii() and length.isdigit():
            self._left = int(length)
        encoding = head.get("Content-Encoding")
        self._inflate = Inflater.of(encoding)
        self.eof = False
        self.arrived = link.arrived  # time.monotonic() the bytes last returned arrived

    @property
    def complete(self) -> bool:
        """The body ended as its framing says (chunked terminator, Content-Length, close)."""
        if self.decoder is not None:
            return self.decoder.done
        return self._left == 0 if self._left is not None else self.eof

    def read(self) -> list[bytes]:
        """Decoded bytes that have arrived (waiting until some do), in pieces; [] at the end."""
        inflate = self._inflate
        while True:
            if inflate is not None and inflate.has_more:
                out = inflate.more()
                if out:
                    return [out]
                continue
            if self.complete:
                return []
            if self.decoder is not None and self.decoder.failed is not None:
                raise self.decoder.failed
            data = self.link.recv()
            if not data:
                self.eof = True
                return []
            self.arrived = self.link.arrived
            pieces = self._frame(data)
            if inflate is not None and pieces:
                pieces = [inflate.feed(b"".join(pieces))]
            if any(pieces):
                return pieces

    def _frame(self, data: bytes) -> list[bytes]:
        if self.decoder is not None:
            return self.decoder.pieces(data)
        if self._left is not None:
            data = data[: self._left]
            self._left -= len(data)
        return [data]


def recorded_headers(head: Head) -> list[tuple[str, str]]:
    """The response headers as received, less the encoding the recorder has undone."""
    decoded = head.get("Content-Encoding").strip().lower() not in ("", "identity")
    drop = {"content-encoding", "content-length"} if decoded else set()
    return [(k, v) for k, v in head.headers if k.lower() not in drop]


def _where(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def connect_error(exc: BaseException, url: str, connect_timeout: float, read_timeout: float) -> str:
    """One line for a request that got no response."""
    where, host = _where(url), urlsplit(url).hostname
    chain = exception_chain(exc)
    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if tls is not None:
        return f"TLS error talking to {where}: {tls} (is it really https?)"
    if any(isinstance(e, socket.gaierror) for e in chain):
        return f"DNS lookup failed for {host!r}: no such host (check the URL or --base-url)"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return f"connection refused by {where}: nothing is listening there"
    if isinstance(exc, ConnectTimeout):
        return f"could not connect to {where} within {connect_timeout:g} s: the host is unreachable or not answering"
    if isinstance(exc, ResponseTimeout):
        return f"no response from {where} within {read_timeout:g} s (--read-timeout)"
    if isinstance(exc, NotHTTP):
        return f"{where} did not answer with HTTP ({exc})"
    if isinstance(exc, ProxyError):
        return str(exc)
    unreachable = next((e for e in chain if isinstance(e, OSError) and e.errno is not None), None)
    if unreachable is not None:
        return f"could not connect to {where}: {unreachable.strerror or unreachable}"
    return f"request to {where} failed: {exc}"


def read_error(exc: BaseException, read_timeout: float) -> str:
    """One line for a stream that broke while being read."""
    chain = exception_chain(exc)
    if any(isinstance(e, TimeoutError) for e in chain):
        return f"the stream stalled: no bytes for {read_timeout:g} s (read timeout; heartbeats come every 20 s)"
    framing = next((e for e in chain if isinstance(e, ChunkError)), None)
    if framing is not None:
        return f"the server sent garbage: {framing}"
    if isinstance(exc, (DecompressionBomb, UnsupportedEncoding)):
        return str(exc)
    if any(isinstance(e, zlib.error) for e in chain):
        return f"the gzip-encoded body is corrupt: {exc}"
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return "the connection was reset by the server"
    return f"reading the stream failed: {exc}"


def not_a_stream(head: Head) -> str | None:
    """Why this response cannot be recorded as a stream, or None if it can."""
    if head.status != 200:
        return f"HTTP {head.status}"
    ctype = head.get("Content-Type")
    media = ctype.split(";")[0].strip().lower()
    if media and media != "application/json":
        page = " (an HTML page)" if media == "text/html" else ""
        return f"not a stream: expected Content-Type application/json, the server sent {ctype!r}{page}"
    return None


def not_chunked(head: Head) -> str:
    length = head.get("Content-Length")
    how = f"Content-Length: {length}" if length else "a body delimited by closing the connection"
    return f"not a stream: the response was not chunked ({how}); X streams are chunked"


def status_failure(status: int) -> Failure | None:
    """How to back off after a non-200; None where retrying cannot help (400, 401, 403, 404...)."""
    if status in (420, 429):
        return Failure.RATE_LIMIT
    if status >= 500 or status == 408:
        return Failure.HTTP
    return None


_HINTS = {
    401: "the server refused the bearer token (check --token or X_BEARER_TOKEN)",
    403: "the token's app may not use this endpoint (access level or product)",
    404: "no such stream at this URL",
    429: "too many requests",
    503: "service unavailable: X is overloaded or in maintenance; --reconnect backs off and retries",
}


def status_message(head: Head, body: bytes, url: str) -> str:
    """One line for a non-200: status, what it means, the server's own detail, rate limits."""
    status = head.status
    parts = [f"HTTP {status} {head.reason}".rstrip() + f" from {_where(url)}"]
    hint = _HINTS.get(status)
    if hint:
        parts.append(hint)
    detail = _body_detail(body, head.get("Content-Type"))
    if detail:
        parts.append(detail)
    limits = [(k, v) for k, v in head.headers if k.lower().startswith("x-rate-limit-")]
    if limits:
        text = ", ".join(f"{k.lower()}={v}" for k, v in limits)
        reset = head.get("x-rate-limit-reset").strip()
        if reset.isascii() and reset.isdigit() and len(reset) < 12:
            when = dt.datetime.fromtimestamp(int(reset), dt.UTC).strftime("%H:%M:%SZ")
            text += f" (resets at {when}, in {max(0, int(reset) - int(time.time()))} s)"
        parts.append(text)
    return ": ".join(parts[:1]) + (": " + "; ".join(parts[1:]) if len(parts) > 1 else "")


def _body_detail(body: bytes, ctype: str) -> str | None:
    if "html" in ctype.lower() or body.lstrip()[:1] == b"<":
        return "the body is an HTML page"
    try:
        payload = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return f"body: {text[:120]!r}" if text else None
    if isinstance(payload, dict):
        detail = payload.get("detail") or payload.get("title")
        if detail is None and isinstance(payload.get("errors"), list) and payload["errors"]:
            first = payload["errors"][0]
            detail = first.get("message") if isinstance(first, dict) else None
        return f"server says: {str(detail)[:160]!r}" if detail else None
    return None


def read_whole(
    body: Body, emit: Callable[[bytes, float], None], limit: int, max_lines: int
) -> tuple[bytes, str | None]:
    """Emit each line of a (non-stream) body with its arrival time, up to `limit` bytes and
    `max_lines` lines: a body of a million newlines writes `max_lines` records, not a million.

    Returns the body's first bytes (for a message) and, if it was cut short, how.
    """
    splitter = LineSplitter()
    first, size, count = b"", 0, 0
    while size < limit and (pieces := body.read()):
        now = body.arrived
        size += sum(map(len, pieces))
        first = first or b"".join(pieces)[:2048]
        lines = splitter.feed_pieces(pieces)
        for raw in lines[: max(0, max_lines - count)]:
            emit(raw, now)
        count += len(lines)
        if count > max_lines:
            return first, f"body cut after {max_lines} lines"
    if splitter.pending:
        if count >= max_lines:
            return first, f"body cut after {max_lines} lines"
        emit(splitter.pending, time.monotonic())
    return first, f"body cut after {limit} bytes" if size >= limit else None


class ViolationCounts(Protocol):
    violations: int
    errors: int
    events: int


class LineCheck:
    """`--validate`: checks each stream line against the contract, counting into `counts`."""

    def __init__(self, endpoint: str, counts: ViolationCounts) -> None:
        from harness.contract.checker import Contract  # builds every schema: only when asked

        self.contract = Contract()
        self.endpoint = endpoint
        self.counts = counts
        self.samples: list[str] = []  # the first few violations, for the summary

    def line(self, raw: bytes) -> bool:
        """Validate one line; True if it is an in-stream error payload (counted as such)."""
        c = self.counts
        # the fast engine's raw-line path: no json.loads + dict walk for the common valid line
        kind, violations = self.contract.inspect_line(raw, self.endpoint)
        if violations:
            c.violations += len(violations)
            if len(self.samples) < 5:
                self.samples.append(f"event {c.events + c.errors + 1}: {violations[0]}")
        if kind == "error":
            c.errors += 1
            return True
        return False
