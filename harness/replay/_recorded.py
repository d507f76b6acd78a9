"""What the replayer serves: each endpoint's recorded connections, read lazily from disk.

At start-up `scan` reads every cassette once, checks every record and notes where each
connection starts (a byte position) and how it ended; serving one connection then seeks
there and parses its lines one by one (`read_items`), so memory stays flat whatever the
cassette's size.
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

from harness.cassette import Cassette, Close, CloseReason, Connection, Header, Line, RecordOrder
from harness.cassette.records import NotJSON, parse_record
from harness.errors import CassetteError, CassetteFormatError, CassetteOrderError
from harness.model.params import parse_date_time


@dataclass(frozen=True)
class Recorded:
    """One recorded connection: where its records start in its cassette, and how it ended."""

    path: Path
    index: int
    start: int  # byte position of the first record after the connection record
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    offset: float  # when the response head arrived, seconds after the request
    close: Close
    lines: int
    events: int
    origin: float = math.nan  # when its request was sent, epoch seconds (nan: the cassette does not say)

    @property
    def name(self) -> str:
        return f"{self.path.name}#{self.index}"


class Item(NamedTuple):
    """A line to send, due `offset` s after the request on the recording's clock (None: a keep-alive
    of the replayer's own, due a heartbeat interval after the last write)."""

    offset: float | None
    raw: bytes
    event: bool  # not a heartbeat
    serial: int  # which recorded connection, counting every pass of a loop
    position: int  # byte position of its record in the cassette (-1: not from a cassette)
    number: int  # its place among its connection's lines
    recorded: float  # its offset as recorded (nan: not from a cassette)


def _open(path: Path) -> IO[bytes]:
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return open(path, "rb")
    except OSError as exc:
        raise CassetteFormatError(f"cannot open: {exc.strerror or exc}", path=path) from None


class _Scan:
    """The state of one cassette's scan: structure checks and the connections found."""

    def __init__(self, path: Path, origin: float = math.nan) -> None:
        self.path, self.origin = path, origin
        self.found: list[Recorded] = []
        self.order = RecordOrder()
        self.start = self.lines = self.events = 0

    def fail(self, lineno: int, message: str, order: bool = False) -> CassetteError:
        cls = CassetteOrderError if order else CassetteFormatError
        return cls(message, path=self.path, line=lineno)

    def record(self, lineno: int, data: bytes, position: int) -> None:
        try:
            record = parse_record(data)
        except NotJSON as exc:
            raise self.fail(lineno, str(exc)) from None
        except ValueError as exc:
            raise self.fail(lineno, f"malformed record: {exc!s}") from None
        if isinstance(record, Line):
            self.line(lineno, record.offset, not record.is_heartbeat)
        elif isinstance(record, Connection):
            self.connection(lineno, record, position + len(data))
        else:
            self.close(lineno, record)

    def line(self, lineno: int, offset: float, event: bool) -> None:
        problem = self.order.line(offset)
        if problem:
            raise self.fail(lineno, problem, True)
        self.lines += 1
        self.events += event

    def connection(self, lineno: int, c: Connection, start: int) -> None:
        problem = self.order.check(c)
        if problem:
            raise self.fail(lineno, problem, True)
        self.start, self.lines, self.events = start, 0, 0

    def close(self, lineno: int, close: Close) -> None:
        c = self.order.connection
        problem = self.order.check(close)
        if problem or c is None:
            raise self.fail(lineno, problem or "a close record outside any connection", True)
        self.found.append(Recorded(self.path, c.index, self.start, c.status, c.reason, c.headers, c.offset, close,
                                   self.lines, self.events, self.origin + c.started))  # fmt: skip

    def finish(self, warnings: list[str]) -> None:
        o = self.order
        if o.connection is not None and not o.closed:  # a recording that was killed: it ends at its last record
            index = o.connection.index
            warnings.append(f"{self.path}: connection {index} has no close record: served as stopped there")
            self.close(0, Close(o.last, CloseReason.CLIENT_STOPPED, "no close record"))


def scan(path: str | Path, warnings: list[str] | None = None) -> tuple[Header, list[Recorded]]:
    """A cassette's header and connections; raises CassetteError naming file and line."""
    path = Path(path)
    header = Cassette(path).header  # the header checks and their messages
    warnings = warnings if warnings is not None else []
    state = _Scan(path, _epoch(header.recorded_at))
    with _open(path) as f:
        position, lineno = 0, 0
        try:
            for data in f:
                lineno += 1
                if lineno > 1 and not data.isspace():
                    if not data.endswith(b"\n") and not _is_json(data):
                        warnings.append(f"{path}:{lineno}: cut short ({len(data)} bytes, no newline): ignored")
                        break
                    state.record(lineno, data, position)
                position += len(data)
        except gzip.BadGzipFile as exc:
            raise CassetteFormatError(f"not a gzip file: {exc}", path=path, line=1) from None
        except (EOFError, zlib.error):
            warnings.append(f"{path}: compressed stream ends early (the file was cut): read up to the cut")
    state.finish(warnings)
    if not state.found:
        raise CassetteFormatError("no connection recorded: nothing to replay", path=path)
    return header, state.found


def _epoch(recorded_at: str) -> float:
    """A header's `recorded_at` as epoch seconds; nan when it is missing or no date-time."""
    found = parse_date_time(recorded_at) if recorded_at else None
    return found.timestamp() if found is not None and found.tzinfo is not None else math.nan


def _is_json(data: bytes) -> bool:
    try:
        parse_record(data)
    except NotJSON:
        return False
    except ValueError:
        return True  # JSON, and the scan says what is wrong with it
    return True


def read_items(rec: Recorded, serial: int, shift: float, position: int | None = None,
               number: int = 0) -> Generator[Item, None, None]:  # fmt: skip
    """The lines of one recorded connection as `Item`s due `shift` + their offset, decoded lazily
    from `position` (a line record's byte position) and `number`; ends at the close record.

    This is the replay's hot loop: one `parse_record` and one tuple per line.
    """
    new = tuple.__new__
    with _open(rec.path) as f:
        pos = rec.start if position is None else position
        f.seek(pos)
        try:
            for data in f:
                if data.isspace():
                    pos += len(data)
                    continue
                try:
                    record = parse_record(data)
                except ValueError as exc:
                    raise CassetteFormatError(f"malformed record at byte {pos}: {exc!s}", path=rec.path) from None
                if type(record) is not Line:
                    return
                off = record.offset
                # tuple.__new__ skips the NamedTuple's Python-level __new__: a third of the cost
                yield new(Item, (shift + off, record.raw, not record.is_heartbeat, serial, pos, number, off))
                pos += len(data)
                number += 1
        except (EOFError, zlib.error):
            return  # a cut gzip: the scan said so already
