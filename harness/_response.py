"""Reading a stream response as it arrives, and saying in one line what went wrong.

`requests`' own iterators wait for whole chunks one at a time (and `iter_lines` mistakes a
CR/LF split across chunks for a heartbeat). For a chunked body this reads whatever bytes
have arrived straight from the response's socket buffer (`read1`: one receive at most, no
waiting to fill a buffer) and decodes the framing and gzip itself, so one call can return
many lines. Other bodies go through urllib3's `read1`, which decodes for us.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import urllib3

from harness._wire import ChunkDecoder, ChunkError, LineSplitter
from harness.backoff import Failure

READ_SIZE = 64 * 1024  # larger reads would be mmap-allocated per call by malloc


class UnsupportedEncoding(ValueError):
    """A Content-Encoding this reader cannot decode."""


class Body(Protocol):
    """A response body being read."""

    def read(self) -> list[bytes]:
        """Decoded bytes that have arrived (blocking until some do), in pieces; [] at the end."""

    @property
    def complete(self) -> bool:
        """The body ended as its framing says (chunked terminator, Content-Length, close)."""


def _decompressor(encoding: str) -> Any:
    enc = encoding.strip().lower()
    if enc in ("", "identity"):
        return None
    if enc in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if enc == "deflate":
        return zlib.decompressobj()
    raise UnsupportedEncoding(f"Content-Encoding {encoding!r} cannot be decoded (the recorder asks for gzip)")


class ChunkedBody:
    """A chunked body read from the socket's buffered reader, many chunks per call."""

    def __init__(self, fp: Any, encoding: str) -> None:
        self._read1 = fp.read1
        self.decoder = ChunkDecoder()
        self._unzip = _decompressor(encoding)
        self._eof = False

    def read(self) -> list[bytes]:
        decoder, unzip, read1 = self.decoder, self._unzip, self._read1
        while not decoder.done:
            if decoder.failed is not None:
                raise decoder.failed
            data = read1(READ_SIZE)
            if not data:
                self._eof = True
                break
            pieces = decoder.pieces(data)
            if unzip is not None:
                pieces = [unzip.decompress(b"".join(pieces))]
            if any(pieces):
                return pieces
        return []

    @property
    def complete(self) -> bool:
        return self.decoder.done

    @property
    def mid_chunk(self) -> bool:
        return self.decoder.mid_chunk


class PlainBody:
    """Any other body, through urllib3's `read1` (which decodes gzip itself)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self._done = False

    def read(self) -> list[bytes]:
        data: bytes = self.raw.read1(READ_SIZE, decode_content=True)
        if not data:
            self._done = True
            return []
        return [data]

    @property
    def complete(self) -> bool:
        return self._done

    mid_chunk = False


def open_body(resp: requests.Response) -> ChunkedBody | PlainBody:
    """The fastest reader this response allows."""
    raw = resp.raw
    fp = getattr(getattr(raw, "_fp", None), "fp", None)  # http.client.HTTPResponse.fp: the socket reader
    if getattr(raw, "chunked", False) and fp is not None and hasattr(fp, "read1"):
        return ChunkedBody(fp, resp.headers.get("Content-Encoding", ""))
    return PlainBody(raw)


def response_socket(resp: requests.Response) -> socket.socket | None:
    """The socket under a streaming response (to shut it down from another thread)."""
    raw = resp.raw
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if sock is None:
        fp = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(fp, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: the reader has ended anyway
        sock.shutdown(socket.SHUT_RDWR)


def recorded_headers(resp: requests.Response) -> list[tuple[str, str]]:
    """The response headers as received, less the encoding the recorder has undone."""
    raw_headers = resp.raw.headers
    items = raw_headers.iteritems() if hasattr(raw_headers, "iteritems") else raw_headers.items()
    decoded = resp.headers.get("Content-Encoding", "").strip().lower() not in ("", "identity")
    drop = {"content-encoding", "content-length"} if decoded else set()
    return [(str(k), str(v)) for k, v in items if k.lower() not in drop]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """An exception and everything it wraps (causes, contexts, urllib3's `reason`, args)."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        e = stack.pop(0)
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        stack += [getattr(e, "reason", None), e.__cause__, e.__context__, *e.args]


def _where(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def connect_error(exc: BaseException, url: str, connect_timeout: float, read_timeout: float) -> str:
    """One line for a request that got no response."""
    where, host = _where(url), urlsplit(url).hostname
    chain = list(_chain(exc))
    kinds = {type(e).__name__ for e in chain}
    if any(isinstance(e, (ssl.SSLError, requests.exceptions.SSLError)) for e in chain):
        detail = next((str(e) for e in reversed(chain) if isinstance(e, ssl.SSLError)), str(exc))
        return f"TLS error talking to {where}: {detail} (is it really https?)"
    if "NameResolutionError" in kinds or any(isinstance(e, socket.gaierror) for e in chain):
        return f"DNS lookup failed for {host!r}: no such host (check the URL or --base-url)"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return f"connection refused by {where}: nothing is listening there"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"could not connect to {where} within {connect_timeout:g} s: the host is unreachable or not answering"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no response from {where} within {read_timeout:g} s (--read-timeout)"
    bad = next((e for e in chain if type(e).__name__ in ("BadStatusLine", "RemoteDisconnected", "LineTooLong")), None)
    if bad is not None:
        return f"{where} did not answer with HTTP ({type(bad).__name__}: {str(bad)[:80]!r})"
    unreachable = next((e for e in chain if isinstance(e, OSError) and e.errno is not None), None)
    if unreachable is not None:
        return f"could not connect to {where}: {unreachable.strerror or unreachable}"
    return f"request to {where} failed: {exc}"


def read_error(exc: BaseException, read_timeout: float) -> str:
    """One line for a stream that broke while being read."""
    chain = list(_chain(exc))
    if any(isinstance(e, (TimeoutError, socket.timeout, urllib3.exceptions.ReadTimeoutError)) for e in chain):
        return f"the stream stalled: no bytes for {read_timeout:g} s (read timeout; heartbeats come every 20 s)"
    framing = next((e for e in chain if isinstance(e, ChunkError)), None)
    if framing is not None:
        return f"the server sent garbage: {framing}"
    if any(isinstance(e, zlib.error) for e in chain):
        return f"the gzip-encoded body is corrupt: {exc}"
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return "the connection was reset by the server"
    return f"reading the stream failed: {exc}"


def not_a_stream(resp: requests.Response) -> str | None:
    """Why this response cannot be recorded as a stream, or None if it can."""
    if resp.status_code != 200:
        return f"HTTP {resp.status_code}"
    ctype = resp.headers.get("Content-Type", "")
    media = ctype.split(";")[0].strip().lower()
    if media and media != "application/json":
        page = " (an HTML page)" if media == "text/html" else ""
        return f"not a stream: expected Content-Type application/json, the server sent {ctype!r}{page}"
    return None


def not_chunked(resp: requests.Response) -> str:
    length = resp.headers.get("Content-Length")
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


def status_message(resp: requests.Response, body: bytes, url: str) -> str:
    """One line for a non-200: status, what it means, the server's own detail, rate limits."""
    status = resp.status_code
    parts = [f"HTTP {status} {resp.reason or ''}".rstrip() + f" from {_where(url)}"]
    hint = _HINTS.get(status)
    if hint:
        parts.append(hint)
    detail = _body_detail(body, resp.headers.get("Content-Type", ""))
    if detail:
        parts.append(detail)
    limits = [(k, v) for k, v in resp.headers.items() if k.lower().startswith("x-rate-limit-")]
    if limits:
        text = ", ".join(f"{k.lower()}={v}" for k, v in limits)
        reset = resp.headers.get("x-rate-limit-reset", "")
        if reset.isdigit():
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


def read_whole(resp: requests.Response, emit: Callable[[bytes, float], None], limit: int) -> tuple[bytes, bool]:
    """Emit each line of a (non-stream) body with its arrival time, up to `limit` bytes.

    Returns the body's first bytes (for a message) and whether it was cut at `limit`.
    """
    body, splitter = open_body(resp), LineSplitter()
    first, size = b"", 0
    while size < limit and (pieces := body.read()):
        now = time.monotonic()
        size += sum(map(len, pieces))
        first = first or b"".join(pieces)[:2048]
        for raw in splitter.feed_pieces(pieces):
            emit(raw, now)
    if splitter.pending:
        emit(splitter.pending, time.monotonic())
    return first, size >= limit


class Tally(Protocol):
    violations: int
    errors: int
    events: int


class LineCheck:
    """`--validate`: checks each stream line against the contract, counting into `counts`."""

    def __init__(self, endpoint: str, counts: Tally) -> None:
        from harness.validator import Contract  # builds every schema: only when asked

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
