"""The cassette format: a recorded stream session as versioned JSON Lines.

Line 1 is the header. Then, per connection, a `connection` record (status and headers),
one record per line received (`line`, or `heartbeat` for a blank keep-alive), and a
`close` record saying how the connection ended. Offsets are seconds since that
connection's request was sent. Lines are stored byte-exact: `text` without its line
terminator, `eol` only where the terminator was not CRLF, and `b64` instead of `text`
for bytes that are not UTF-8. A name ending in `.gz` is read and written as gzip.

    {"format": "x-stream-cassette", "version": 1, "endpoint": "search-stream", ...}
    {"kind": "connection", "index": 0, "started": 0.0, "offset": 0.0123, "status": 200, ...}
    {"kind": "line", "offset": 0.5, "text": "{\\"data\\": {...}}"}
    {"kind": "heartbeat", "offset": 20.5}
    {"kind": "close", "offset": 31.0, "reason": "client-stopped"}
"""

from __future__ import annotations

import base64
import enum
import json
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import orjson

from harness._lines import NumberedLines, open_binary
from harness.errors import CassetteError, CassetteFormatError, CassetteOrderError, CassetteVersionError

FORMAT = "x-stream-cassette"
VERSION = 1
CRLF = b"\r\n"


class CassetteWarning(UserWarning):
    """A cassette was readable up to a cut (an unfinished last record)."""


class CloseReason(enum.StrEnum):
    """How a recorded connection ended."""

    SERVER_CLOSED = "server-closed"
    CLIENT_STOPPED = "client-stopped"
    ERROR = "error"


@dataclass(frozen=True)
class Header:
    """What was recorded, from where, with what (secrets already removed)."""

    endpoint: str
    url: str
    method: str = "GET"
    query: Mapping[str, str] = field(default_factory=dict)
    request_headers: Mapping[str, str] = field(default_factory=dict)
    recorded_at: str = ""
    tool: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    version: int = VERSION


@dataclass(frozen=True)
class Connection:
    """A response: `started` is seconds since the cassette's first request."""

    index: int
    status: int
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    offset: float = 0.0
    started: float = 0.0

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)


@dataclass(frozen=True)
class Line:
    """One line of the body, byte-exact, terminator included."""

    offset: float
    raw: bytes

    @property
    def is_heartbeat(self) -> bool:
        return self.raw.strip(b"\r\n") == b""

    @property
    def payload(self) -> bytes:
        """The line without its terminator."""
        return self.raw.rstrip(b"\r\n")


@dataclass(frozen=True)
class Close:
    """The end of a connection."""

    offset: float
    reason: CloseReason
    error: str | None = None


Record = Union[Connection, Line, Close]


def _round(offset: float) -> float:
    return round(offset, 6)


def encode_header(h: Header) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": h.version,
        "endpoint": h.endpoint,
        "method": h.method,
        "url": h.url,
        "query": dict(h.query),
        "request_headers": dict(h.request_headers),
        "recorded_at": h.recorded_at,
        "tool": h.tool,
        "labels": dict(h.labels),
    }


def _line_obj(offset: float, raw: bytes) -> dict[str, Any]:
    payload = raw.rstrip(b"\r\n")
    heartbeat = not payload.strip(b"\r\n")
    out: dict[str, Any] = {"kind": "heartbeat" if heartbeat else "line", "offset": round(offset, 6)}
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        out["b64"] = base64.b64encode(payload).decode("ascii")
    else:
        if text or not heartbeat:
            out["text"] = text
    if len(raw) - len(payload) != 2 or not raw.endswith(CRLF):
        out["eol"] = raw[len(payload) :].decode("latin-1")
    return out


def encode_record(r: Record) -> dict[str, Any]:
    if isinstance(r, Line):
        return _line_obj(r.offset, r.raw)
    if isinstance(r, Connection):
        return {
            "kind": "connection",
            "index": r.index,
            "started": _round(r.started),
            "offset": _round(r.offset),
            "status": r.status,
            "reason": r.reason,
            "headers": [list(h) for h in r.headers],
        }
    out = {"kind": "close", "offset": _round(r.offset), "reason": r.reason.value}
    if r.error is not None:
        out["error"] = r.error
    return out


def _dumps(obj: Mapping[str, Any]) -> bytes:
    # orjson: the recorder's hot path is this encode (about 5x json.dumps on 2 KB lines)
    return orjson.dumps(obj) + b"\n"


class RecordOrder:
    """The ordering rules of a cassette's records, shared by every writer and reader."""

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.closed = True
        self.last = 0.0
        self.count = 0

    def check(self, r: Record) -> str | None:
        if isinstance(r, Connection):
            if not self.closed:
                return f"connection {r.index} starts before connection {self.count - 1} was closed"
            if r.index != self.count:
                return f"expected connection index {self.count}, found {r.index}"
            if self.connection is not None and r.started < self.connection.started:
                return f"connection {r.index} starts at {r.started}s, before the previous one"
            self.connection, self.closed, self.last = r, False, r.offset
            self.count += 1
            return None
        problem = self.line(r.offset, "close" if isinstance(r, Close) else "line")
        if problem is None and isinstance(r, Close):
            self.closed = True
        return problem

    def line(self, offset: float, kind: str = "line") -> str | None:
        """The check of a line (or close) record at `offset`, without building the record."""
        if self.connection is None or self.closed:
            return f"a {kind} record outside any connection (expected a connection record first)"
        if offset < self.last:
            return f"offset {offset} goes back in time (previous record at {self.last})"
        self.last = offset
        return None


class CassetteWriter:
    """Appends records to a new cassette, flushing each so a killed process loses nothing."""

    def __init__(self, path: str | Path, header: Header, *, overwrite: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open_binary(self.path, "wb" if overwrite else "xb")
        self._order = RecordOrder()
        self.header = header
        self.records = 0
        self._emit(encode_header(header))

    def _emit(self, obj: Mapping[str, Any]) -> None:
        self._file.write(_dumps(obj))
        self._file.flush()

    def write(self, record: Record) -> None:
        problem = self._order.check(record)
        if problem:
            raise CassetteOrderError(problem, path=self.path, line=self.records + 2)
        self._emit(encode_record(record))
        self.records += 1

    def connection(self, status: int, reason: str = "", headers: tuple[tuple[str, str], ...] = (),
                   *, offset: float = 0.0, started: float = 0.0) -> Connection:  # fmt: skip
        c = Connection(self._order.count, status, reason, headers, offset, started)
        self.write(c)
        return c

    def line(self, raw: bytes, offset: float) -> None:
        self.write(Line(offset, raw))

    def lines(self, raws: list[bytes], offset: float) -> None:
        """Lines that arrived together (one socket read): one order check, write and flush."""
        if not raws:
            return
        problem = self._order.check(Line(offset, b""))
        if problem:
            raise CassetteOrderError(problem, path=self.path, line=self.records + 2)
        self._file.write(b"".join(_dumps(_line_obj(offset, raw)) for raw in raws))
        self._file.flush()
        self.records += len(raws)

    def close_connection(self, reason: CloseReason, offset: float, error: str | None = None) -> None:
        self.write(Close(max(offset, self._order.last), reason, error))

    @property
    def in_connection(self) -> bool:
        return not self._order.closed

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> CassetteWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _decode_header(obj: Any, path: Path) -> Header:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        found = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        raise CassetteFormatError(
            f'expected a header {{"format": "{FORMAT}", "version": {VERSION}, ...}}, found format {found!r}',
            path=path,
            line=1,
        )
    version = obj.get("version")
    if version != VERSION:
        raise CassetteVersionError(
            f"cassette format version {version!r} is not supported: this harness reads version {VERSION}",
            path=path,
            line=1,
        )
    try:
        return Header(
            endpoint=str(obj["endpoint"]),
            url=str(obj["url"]),
            method=str(obj.get("method", "GET")),
            query=dict(obj.get("query") or {}),
            request_headers=dict(obj.get("request_headers") or {}),
            recorded_at=str(obj.get("recorded_at", "")),
            tool=str(obj.get("tool", "")),
            labels=dict(obj.get("labels") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CassetteFormatError(f"header is missing or has a bad member: {exc}", path=path, line=1) from None


def decode_record(obj: Any) -> Record:
    """A record from its JSON object; raises ValueError/KeyError/TypeError if malformed."""
    kind = obj["kind"]
    if kind in ("line", "heartbeat"):
        payload = base64.b64decode(obj["b64"], validate=True) if "b64" in obj else obj.get("text", "").encode()
        eol = obj.get("eol", "\r\n").encode("latin-1")
        return Line(float(obj["offset"]), payload + eol)
    if kind == "connection":
        headers = tuple((str(k), str(v)) for k, v in obj.get("headers", []))
        return Connection(int(obj["index"]), int(obj["status"]), str(obj.get("reason", "")), headers,
                          float(obj["offset"]), float(obj.get("started", 0.0)))  # fmt: skip
    if kind == "close":
        return Close(float(obj["offset"]), CloseReason(obj["reason"]), obj.get("error"))
    raise ValueError(f"unknown record kind {kind!r}: expected line, heartbeat, connection or close")


class Cassette:
    """A cassette on disk, read lazily: iterating streams its records from the file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.warnings: list[str] = []
        with self._lines() as lines:
            first = next(lines, None)
        if first is None or not first[1].strip():
            raise CassetteFormatError("empty file: expected a cassette header", path=self.path, line=1)
        self.header = _decode_header(self._parse(first[1], 1), self.path)

    def _lines(self) -> NumberedLines:
        return NumberedLines(self.path, lambda message, line: CassetteFormatError(message, path=self.path, line=line))

    def _parse(self, data: bytes, lineno: int) -> Any:
        try:
            return json.loads(data)
        except ValueError:
            snippet = data.rstrip(b"\r\n")[:60].decode("utf-8", "replace")
            raise CassetteFormatError(f"not JSON: {snippet!r}", path=self.path, line=lineno) from None

    def entries(self) -> Iterator[tuple[int, Record]]:
        """Every record with its line number in the file, checked for order."""
        order = RecordOrder()
        self.warnings = []
        with self._lines() as lines:
            next(lines, None)
            for lineno, data in lines:
                if not data.strip():
                    continue
                if not data.endswith(b"\n"):
                    try:
                        json.loads(data)
                    except ValueError:
                        self._cut(f"line {lineno} is cut short ({len(data)} bytes, no newline): ignored")
                        return
                try:
                    record = decode_record(self._parse(data, lineno))
                except CassetteError:
                    raise
                except (KeyError, TypeError, ValueError) as exc:
                    raise CassetteFormatError(f"malformed record: {exc!s}", path=self.path, line=lineno) from None
                problem = order.check(record)
                if problem:
                    raise CassetteOrderError(problem, path=self.path, line=lineno)
                yield lineno, record
            if lines.truncated:
                self._cut("compressed stream ends early (the file was cut): read up to the cut")

    def _cut(self, message: str) -> None:
        text = f"{self.path}: {message}"
        self.warnings.append(text)
        warnings.warn(text, CassetteWarning, stacklevel=3)

    def __iter__(self) -> Iterator[Record]:
        return (record for _, record in self.entries())

    def events(self) -> Iterator[Line]:
        """The non-heartbeat lines of every connection, in order."""
        return (r for r in self if isinstance(r, Line) and not r.is_heartbeat)


def write_cassette(path: str | Path, header: Header, records: list[Record] | Iterator[Record]) -> Path:
    """Write a whole cassette at once (synthetic sessions, conversions, tests)."""
    with CassetteWriter(path, header) as w:
        for r in records:
            w.write(r)
    return Path(path)
