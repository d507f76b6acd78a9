"""Blocks of a cassette or NDJSON file, checked apart from the rest (`-j N`, `_parallel`).

A worker checks a block knowing nothing of what came before it: it turns the block into
`Run`s of line records (with their events checked, counted, and their findings located
relative to the run) and the structural records between them. The main process replays
those in order, with the state a block cannot know: record order, the connection's
status, event indices, tallies. Reading and record parsing follow `harness.cassette`
exactly, so a cut or malformed cassette ends at the same place with the same message.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Union

from harness.cassette import Close, Connection, Line
from harness.cassette._lines import MAX_LINE, LineCutter, Long
from harness.cassette.records import NotJSON, is_json_blank, parse_record
from harness.contract._native import NativeModel, Runner
from harness.contract.checker import Contract
from harness.contract.validator import Violation

__all__ = [
    "PLACEHOLDER",
    "Block",
    "CassetteItem",
    "Cut",
    "Fail",
    "FileEnd",
    "Record",
    "Run",
    "cassette_block",
    "file_blocks",
    "ndjson_block",
    "rebase_run",
    "rebased",
    "too_long",
]  # fmt: skip

#: (event index within the run or None, payload kind, line, arrival offset or None, violation)
Found = tuple[Union[int, None], str, int, Union[float, None], Violation]


@dataclass
class Run:
    """Consecutive payload lines (or line records of one connection, offsets in order)."""

    first_line: int = 0
    first_offset: float = 0.0
    last_offset: float = 0.0
    events: int = 0
    errors: int = 0
    heartbeats: int = 0
    payloads: int = 0
    found: list[Found] = field(default_factory=list)
    body: list[tuple[int, Line]] | None = None  # an error response's lines: kept, not checked

    def check(self, contract: Contract, endpoint: str, lines: Sequence[tuple[int, bytes | Long, float | None]]) -> Run:
        """Check payload lines (line number, raw, offset) and count them as a sequential reading does;
        a line too long to read is not JSON."""
        raws = [raw for _, raw, _ in lines if not isinstance(raw, Long)]
        checked = iter(contract.inspect_lines(raws, endpoint))
        results = [("event", [too_long(raw)]) if isinstance(raw, Long) else next(checked) for _, raw, _ in lines]
        for (lineno, _, offset), (kind, violations) in zip(lines, results, strict=True):
            self.payloads += 1
            event: int | None = None
            if kind == "error":
                self.errors += 1
            elif violations and violations[0].keyword == "json":  # not JSON: no event index
                self.events += 1
            else:
                event, self.events = self.events, self.events + 1
            self.found += [(event, kind, lineno, offset, v) for v in violations]
        return self


@dataclass(frozen=True)
class Record:
    """A connection or close record, at its line."""

    line: int
    record: Connection | Close


@dataclass(frozen=True)
class Cut:
    """The last line is cut short (no newline, not JSON): it and the rest are ignored."""

    line: int
    size: int

    @property
    def message(self) -> str:
        return f"line {self.line} is cut short ({self.size} bytes, no newline): ignored"


@dataclass(frozen=True)
class Fail:
    """A record that is not JSON or is malformed: the cassette cannot be read past it."""

    line: int
    message: str


CassetteItem = Union[Run, Record, Cut, Fail]


#: Stands for a line longer than `MAX_LINE` in a block's bytes: no line starts so
#: (neither JSON nor a blank), so the native checker stops there and Python looks it up.
PLACEHOLDER = b"\x00\n"


@dataclass(frozen=True)
class Block:
    """Whole lines of a cassette after its header (the file's last line may lack its
    newline): `data` (where `longs` says which lines stand for longer ones), or the `size`
    bytes at `start` of the file at `path`, read by whichever process checks the block
    (so the main process never copies them)."""

    data: bytes = b""
    path: str | None = None
    start: int = 0
    size: int = 0
    longs: tuple[tuple[int, Long], ...] = ()  # (offset in data, the line it stands for)

    def read(self) -> tuple[bytes, dict[int, Long]]:
        """The block's bytes, each line longer than `MAX_LINE` replaced by `PLACEHOLDER`
        (memory stays bounded whatever the file holds), and where those are."""
        if self.path is None:
            return self.data, dict(self.longs)
        with open(self.path, "rb") as f:
            f.seek(self.start)
            if self.size <= MAX_LINE:  # no line in it can be too long: as it is
                return f.read(self.size), {}
            out, longs, cutter, left = bytearray(), dict[int, Long](), LineCutter(), self.size
            while left > 0:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    break
                left -= len(chunk)
                _append(out, longs, cutter.feed(chunk))
            last = cutter.end()
            _append(out, longs, [last] if last is not None else [])
            return bytes(out), longs


def _append(out: bytearray, longs: dict[int, Long], lines: list[bytes | Long]) -> None:
    for line in lines:
        if isinstance(line, Long):
            longs[len(out)] = line
            out += PLACEHOLDER
        else:
            out += line


def too_long(line: Long) -> Violation:
    return Violation("", "json", "", f"not JSON ({line.describe()})")


@dataclass(frozen=True)
class FileEnd:
    """The end of a cassette's lines: cut short (`truncated`), or unreadable (`error`)."""

    truncated: bool = False
    error: str | None = None


def file_blocks(path: Path, size: int, *, header: bool = True) -> Iterator[Block | FileEnd]:
    """The lines (after the header, a cassette's first line), in blocks of about `size`
    bytes, then `FileEnd`.

    A plain file's blocks are places in it (found by seeking, not reading: the main
    process reads a few bytes per block). A gzip one's are read as `harness.cassette`
    reads it (`read1`, a cut stream ending quietly with what was decoded), so the lines
    are the same.
    """
    if path.suffix == ".gz":
        yield from _gzip_blocks(path, size)
        return
    with open(path, "rb") as f:
        if header:
            _skip_line(f)
        start, total = f.tell(), os.fstat(f.fileno()).st_size
        while start < total:
            end = total
            if total - start > size + size // 2:
                f.seek(start + size - 1)
                _skip_line(f)  # to the end of the line this block would cut
                end = f.tell()
            yield Block(path=str(path), start=start, size=end - start)
            start = end
    yield FileEnd()


def _skip_line(f: BinaryIO) -> None:
    """To the start of the next line, however long this one is, holding 1 MiB at most."""
    while (piece := f.readline(1 << 20)) and not piece.endswith(b"\n"):
        pass


_JSON_BLANK = frozenset(b" \t\r\n")  # what a heartbeat line holds
_MISSES, _RETRY = 64, 256  # native calls that took no line before a drift is assumed; lines between tries


def ndjson_block(contract: Contract, endpoint: str, block: Block) -> tuple[Run, int]:
    """A block of raw stream lines checked (line numbers from 1 at its start), and how
    many lines it holds. Blank lines are heartbeats."""
    native = _runner(contract, endpoint, records=False)
    data, longs = block.read()
    run, pending = Run(), list[tuple[int, bytes | Long, float | None]]()

    def flush() -> None:
        if pending:
            run.check(contract, endpoint, pending)
            pending.clear()

    start, lineno, misses = 0, 0, 0
    while start < len(data):
        # valid lines and blank ones in one call, then one line here; in a drift (every line
        # invalid) the call is tried again only every `_RETRY` lines
        lines = 0
        if native is not None and (misses < _MISSES or misses % _RETRY == 0):
            end, lines, events, errors, heartbeats, _, _ = native(data, start)
        misses = 0 if lines else misses + 1
        if lines:
            flush()  # before: event indices follow the lines' order
            run.events, run.errors = run.events + events, run.errors + errors
            run.payloads, run.heartbeats = run.payloads + events + errors, run.heartbeats + heartbeats
            start, lineno = end, lineno + lines
            if start >= len(data):
                break
        long = longs.get(start) if longs else None
        raw, start, lineno = *_line_at(data, start), lineno + 1
        if long is not None:
            pending.append((lineno, long, None))
        elif raw[0] in _JSON_BLANK and is_json_blank(raw):
            run.heartbeats += 1
        else:
            pending.append((lineno, raw, None))
    flush()
    return run, lineno


def _gzip_blocks(path: Path, size: int) -> Iterator[Block | FileEnd]:
    cutter, header, truncated = LineCutter(), False, False
    out, longs = bytearray(), dict[int, Long]()

    def block() -> Block:
        made = Block(bytes(out), longs=tuple(longs.items()))
        out.clear()
        longs.clear()
        return made

    with gzip.open(path, "rb") as f:
        while True:
            try:
                chunk = f.read1(1 << 16)
            except gzip.BadGzipFile as exc:
                yield FileEnd(error=f"not a gzip file: {exc}")
                return
            except (EOFError, OSError, zlib.error):
                truncated, chunk = True, b""
            if not chunk:
                break
            lines = cutter.feed(chunk)
            if not header and lines:
                lines, header = lines[1:], True
            _append(out, longs, lines)
            if len(out) >= size:
                yield block()
        last = cutter.end()
        if header and last is not None:
            _append(out, longs, [last])
        if out:
            yield block()
        yield FileEnd(truncated=truncated)


def cassette_block(contract: Contract, endpoint: str, block: Block, *, status: int) -> tuple[list[CassetteItem], int]:
    """A block's runs and records, and how many lines were read; line numbers count from
    1 at the block's start (the caller knows what comes before). Lines before its first
    connection record are taken to belong to a response with `status`."""
    items: list[CassetteItem] = []
    run: list[tuple[int, Line]] = []

    def flush() -> None:
        if run:
            items.append(_run(contract, endpoint, run, status))
            run.clear()

    native = _runner(contract, endpoint)
    data, longs = block.read()
    start, lineno, misses = 0, 0, 0
    while start < len(data):
        records = 0
        if native is not None and status == 200 and (misses < _MISSES or misses % _RETRY == 0):
            # The usual records (payloads valid, offsets in order) in one call; from the
            # first other line on, Python, one line, then the native checker again (in a
            # drift, every line invalid, only every `_RETRY` lines).
            end, records, events, errors, heartbeats, first, last = native(data, start)
        misses = 0 if records else misses + 1
        if records:
            flush()
            items.append(Run(lineno + 1, first, last, events, errors, heartbeats, events + errors))
            start, lineno = end, lineno + records
            if start >= len(data):
                break
        long = longs.get(start)
        line, start, lineno = *_line_at(data, start), lineno + 1
        if long is not None:
            flush()
            if long.terminated:
                items.append(Fail(lineno, f"a record of {long.size} bytes, more than the {MAX_LINE} one may have"))
            else:  # the file's last line, cut short
                items.append(Cut(lineno, long.size))
            return items, lineno
        if line.isspace():  # a blank line (no copy, unlike strip)
            continue
        try:
            record = parse_record(line)
        except NotJSON as exc:
            flush()
            if not line.endswith(b"\n"):  # the file's last line, cut short
                items.append(Cut(lineno, len(line)))
            else:
                items.append(Fail(lineno, str(exc)))
            return items, lineno
        except ValueError as exc:
            flush()
            items.append(Fail(lineno, f"malformed record: {exc!s}"))
            return items, lineno
        if isinstance(record, Line):
            if run and record.offset < run[-1][1].offset:
                flush()  # the replay reports the offset going back
            run.append((lineno, record))
        else:
            flush()
            items.append(Record(lineno, record))
            if isinstance(record, Connection):
                status, misses = record.status, 0  # a new response: the native checker again at once
    flush()
    return items, lineno


def rebased(items: list[CassetteItem], base: int) -> list[CassetteItem]:
    """Items with `base` added to their line numbers."""
    return [rebase_run(i, base) if isinstance(i, Run) else replace(i, line=i.line + base) for i in items]


def rebase_run(run: Run, base: int) -> Run:
    """`run` (changed in place) with `base` added to its line numbers."""
    run.first_line += base
    run.found = [(event, kind, line + base, offset, v) for event, kind, line, offset, v in run.found]
    if run.body is not None:
        run.body = [(line + base, record) for line, record in run.body]
    return run


def _line_at(data: bytes, start: int) -> tuple[bytes, int]:
    """The line starting at `start` (its newline included, if it has one), and where the next starts."""
    end = data.find(b"\n", start)
    end = len(data) if end < 0 else end + 1
    return data[start:end], end


def _runner(contract: Contract, endpoint: str, *, records: bool = True) -> Runner | None:
    native = getattr(contract.engine, "native", None)
    if native is None or not isinstance(native, NativeModel):
        return None
    return native.runner(contract.event_file(endpoint), records=records)


def _run(contract: Contract, endpoint: str, lines: list[tuple[int, Line]], status: int) -> Run:
    run = Run(lines[0][0], lines[0][1].offset, lines[-1][1].offset)
    if status != 200:
        run.body = list(lines)
        return run
    payloads: list[tuple[int, bytes, float | None]] = []
    for lineno, line in lines:
        if line.is_heartbeat:
            run.heartbeats += 1
        else:
            payloads.append((lineno, line.raw, line.offset))
    return run.check(contract, endpoint, payloads) if payloads else run
