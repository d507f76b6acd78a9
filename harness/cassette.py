"""The cassette format: a recorded stream session as versioned JSON Lines.

Line 1 is the header. Then, per connection, a `connection` record (status and headers),
one record per line received (`line`, or `heartbeat` for a blank keep-alive), and a
`close` record saying how the connection ended. Offsets are seconds since that
connection's request was sent. Lines are stored byte-exact: a JSON object as itself
(`json`), any other line as `text`, or `b64` for bytes that are not UTF-8; `eol` only
where the terminator was not CRLF. Version 1 (text and b64 only) is still read. A name
ending in `.gz` is read and written as gzip. Records are encoded and parsed in
`harness._records`.

    {"format": "x-stream-cassette", "version": 2, "endpoint": "search-stream", ...}
    {"kind": "connection", "index": 0, "started": 0.0, "offset": 0.0123, "status": 200, ...}
    {"kind": "line", "offset": 0.5, "json": {"data": {...}}}
    {"kind": "line", "offset": 0.6, "text": "not json"}
    {"kind": "heartbeat", "offset": 20.5}
    {"kind": "close", "offset": 31.0, "reason": "client-stopped"}
"""

from __future__ import annotations

import json
import queue
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from harness._lines import NumberedLines, open_binary
from harness._records import (
    CRLF,
    FORMAT,
    READABLE,
    VERSION,
    Close,
    CloseReason,
    Connection,
    Header,
    Line,
    NotJSON,
    Record,
    RecordOrder,
    encode_header,
    encode_lines,
    encode_record,
    parse_record,
)
from harness.errors import CassetteFormatError, CassetteOrderError, CassetteVersionError, CassetteWriteError

__all__ = [
    "CRLF",
    "FORMAT",
    "VERSION",
    "Cassette",
    "CassetteWarning",
    "CassetteWriter",
    "Close",
    "CloseReason",
    "Connection",
    "Header",
    "Line",
    "Record",
    "RecordOrder",
    "write_cassette",
]


class CassetteWarning(UserWarning):
    """A cassette was readable up to a cut (an unfinished last record)."""


class _Background:
    """Writes blocks in a thread of its own, in order, while the caller goes on.

    At most one block waits: a killed process loses what it had not yet handed over and
    that one block. A failed write is raised by the next `put` or by `close`.
    """

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="cassette-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._write(data)
                except BaseException as exc:  # handed to the caller's thread
                    self._error = exc

    def put(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


class CassetteWriter:
    """Appends records to a new cassette, flushing each so a killed process loses nothing."""

    def __init__(self, path: str | Path, header: Header, *, overwrite: bool = True, background: bool = False) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open_binary(self.path, "wb" if overwrite else "xb")
        except OSError as exc:
            raise CassetteWriteError(f"cannot create: {exc.strerror or exc}", path=self.path) from None
        self._failed = False
        self._order = RecordOrder()
        self.header = header
        self.records = 0
        self._emit: Callable[[bytes], None] = self._write
        self._write(encode_header(header))
        self._background = _Background(self._write) if background else None
        if self._background is not None:
            self._emit = self._background.put

    def _write(self, data: bytes) -> None:
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as exc:
            self._failed = True
            raise CassetteWriteError(f"cannot write: {exc.strerror or exc}", path=self.path) from None

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
        """Lines that arrived together (one socket read): one order check, write and flush.

        Each must hold one LF, at its end (as `harness._wire.LineSplitter` cuts them).
        """
        if not raws:
            return
        problem = self._order.line(offset)
        if problem:
            raise CassetteOrderError(problem, path=self.path, line=self.records + 2)
        self._emit(encode_lines(raws, offset, split=True))
        self.records += len(raws)

    def close_connection(self, reason: CloseReason, offset: float, error: str | None = None) -> None:
        self.write(Close(max(offset, self._order.last), reason, error))

    @property
    def in_connection(self) -> bool:
        return not self._order.closed

    def close(self) -> None:
        if not self._file.closed:
            try:
                if self._background is not None:
                    self._background.close()
            finally:
                try:
                    self._file.close()
                except OSError:
                    if not self._failed:  # else it was said already: what could be written is there
                        raise

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
    if version not in READABLE or type(version) is not int:
        readable = " and ".join(map(str, READABLE))
        raise CassetteVersionError(
            f"cassette format version {version!r} is not supported: this harness reads versions {readable}",
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
            version=version,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CassetteFormatError(f"header is missing or has a bad member: {exc}", path=path, line=1) from None


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
        except (ValueError, RecursionError):
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
                try:
                    record = parse_record(data)
                except NotJSON as exc:
                    if not data.endswith(b"\n"):
                        self._cut(f"line {lineno} is cut short ({len(data)} bytes, no newline): ignored")
                        return
                    raise CassetteFormatError(str(exc), path=self.path, line=lineno) from None
                except ValueError as exc:
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
