"""Cutting and joining cassettes (`harness slice`, `harness cat`), keeping timing and the format.

A slice keeps a contiguous run of records: by events (`A:B`, the A-th up to before the B-th
event, counted from 0 over the whole cassette; an event is a line that is not a heartbeat in
a 200 connection) or by time (`A:B` seconds on the cassette's clock, a connection's `started`
plus a record's offset). Whatever lies between the first and the last record kept stays:
heartbeats, closes, whole reconnections and their error answers. Every gap between records
is kept as recorded: the first connection kept loses only the time before its first record
kept (that record is as far from the response head as from the record before it; in a time
slice, A is where the head was), and later connections start as long after as they did. A
connection the slice ends in is closed `client-stopped` where it ends, as a recording stopped
there would be. `cat` puts the connections of several cassettes of one endpoint one after
the other, each cassette starting when the one before it ended; the output's header is the
first cassette's (its query and rules are what a replay serves), labelled with the names joined.

Both read their inputs as streams (a slice by events reads its input twice) and write
through `CassetteWriter`, so offsets stay non-decreasing and records in order; the output
is written aside and moved into place once complete.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from harness.cassette.reader import Cassette
from harness.cassette.records import Close, CloseReason, Connection, Header, Line, Record
from harness.cassette.writer import CassetteWriter
from harness.errors import UsageError

__all__ = ["Span", "Written", "cat_cassettes", "parse_span", "slice_cassette"]


@dataclass(frozen=True)
class Span:
    """`start:stop` of a slice: event numbers (`events`) or seconds; None is an open end."""

    start: float | None
    stop: float | None
    events: bool

    def __str__(self) -> str:
        def fmt(v: float | None) -> str:
            return "" if v is None else str(int(v)) if float(v).is_integer() else repr(v)

        return f"{'events' if self.events else 'time'} {fmt(self.start)}:{fmt(self.stop)}"


def parse_span(text: str, *, events: bool) -> Span:
    """`A:B`, `A:` or `:B`: whole numbers >= 0 for events, seconds >= 0 for time, A < B."""
    what = "event numbers, e.g. 10:20" if events else "seconds, e.g. 30:90 or 2.5:"
    start_text, colon, stop_text = text.strip().partition(":")
    if not colon or ":" in stop_text:
        raise UsageError(f"slice {text!r}: expected A:B with A and B {what}")
    bounds: list[float | None] = []
    for part in (start_text.strip(), stop_text.strip()):
        if not part:
            bounds.append(None)
            continue
        try:
            value = float(int(part)) if events else float(part)
        except ValueError:
            raise UsageError(f"slice {text!r}: expected A:B with A and B {what}, found {part!r}") from None
        if not (value >= 0 and math.isfinite(value)):
            raise UsageError(f"slice {text!r}: expected A:B with A and B {what}, found {part!r}")
        bounds.append(value)
    start, stop = bounds
    if start is not None and stop is not None and stop <= start:
        raise UsageError(f"slice {text!r}: expected A < B, found {start:g} >= {stop:g}")
    return Span(start, stop, events)


@dataclass(frozen=True)
class Written:
    """What an edit wrote: connections, events (non-heartbeat lines) and heartbeats."""

    path: Path
    connections: int
    events: int
    heartbeats: int

    def describe(self) -> str:
        return (f"wrote {self.path}: {self.connections} connection(s), {self.events} event(s), "
                f"{self.heartbeats} heartbeat(s)")  # fmt: skip


@contextlib.contextmanager
def _output(out: Path, header: Header, inputs: Sequence[Path]) -> Iterator[CassetteWriter]:
    """A writer to a file beside `out`, moved onto `out` once all went well."""
    out = Path(out)
    if any(_same(out, p) for p in inputs):
        raise UsageError(f"{out}: the output would overwrite an input: write to another file")
    partial = out.with_name(f".partial-{out.name}")  # same suffix: gzip by name as the output
    try:
        with CassetteWriter(partial, header) as writer:
            yield writer
        os.replace(partial, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and a.samefile(b)
    except OSError:
        return False


class _Counter:
    def __init__(self, writer: CassetteWriter, out: Path) -> None:
        self.writer, self.out = writer, out
        self.connections = self.events = self.heartbeats = 0

    def write(self, record: Record) -> None:
        if isinstance(record, Connection):
            record = replace(record, index=self.connections)
            self.connections += 1
        elif isinstance(record, Line):
            self.heartbeats += record.is_heartbeat
            self.events += not record.is_heartbeat
        self.writer.write(record)

    def done(self) -> Written:
        return Written(self.out, self.connections, self.events, self.heartbeats)


# -- slice ------------------------------------------------------------------------------------------
def _timeline(cassette: Cassette) -> Iterator[tuple[int, Record, Connection | None]]:
    """Each record with its place in the file and the connection it belongs to."""
    conn: Connection | None = None
    for n, record in enumerate(cassette):
        if isinstance(record, Connection):
            conn = record
        yield n, record, conn


def _event_window(path: Path, span: Span) -> tuple[int, int | None, int]:
    """Places in the file of the first and last records an event slice keeps (None: to the end),
    and how many events the cassette has."""
    first: int | None = None
    last: int | None = None
    count = 0
    for n, record, conn in _timeline(Cassette(path)):
        if isinstance(record, Line) and conn is not None and conn.status == 200 and not record.is_heartbeat:
            if count == (span.start or 0):
                first = n
            if span.stop is not None and count == span.stop - 1:
                last = n
            count += 1
    if first is None:
        raise UsageError(f"{path}: {span} holds no event: the cassette has {count} event(s), numbered from 0")
    return first, last, count


def slice_cassette(path: str | Path, out: str | Path, span: Span) -> Written:
    """Write the records `span` selects from `path` into `out` (see the module docstring)."""
    path, out = Path(path), Path(out)
    source = Cassette(path)
    window = _event_window(path, span) if span.events else None
    header = replace(source.header, labels={**source.header.labels, "slice": f"{span} of {path.name}"})
    with _output(out, header, [path]) as writer:
        counter = _Counter(writer, out)
        _Slicer(counter, span, window).run(_timeline(source))
        if counter.connections == 0:
            raise UsageError(f"{path}: {span} holds no record (see `harness inspect {path}` for its span)")
        return counter.done()


class _Slicer:
    """Keeps the records of a window: the first connection kept loses the time before the window,
    later ones start as long after it as they did."""

    def __init__(self, out: _Counter, span: Span, window: tuple[int, int | None, int] | None) -> None:
        self.out, self.span, self.window = out, span, window
        self.current: Connection | None = None  # the source connection being read
        self.opened: Connection | None = None  # the same, once its connection record is written
        self.shift = 0.0  # taken off the offsets of the open connection
        self.base: float | None = None  # the source time that becomes the output's 0
        self.last_started = 0.0
        self.last_offset = 0.0  # of the last record written in the open connection
        self.before = 0.0  # offset of the last record read in the current connection

    def _where(self, n: int, record: Record, conn: Connection) -> str:
        """'before', 'in' or 'after' the window."""
        if self.window is not None:
            first, last, _ = self.window
            return "before" if n < first else "after" if last is not None and n > last else "in"
        t = conn.started + (conn.offset if isinstance(record, Connection) else record.offset)
        if self.span.start is not None and t < self.span.start:
            return "before"
        return "after" if self.span.stop is not None and t >= self.span.stop else "in"

    def run(self, timeline: Iterator[tuple[int, Record, Connection | None]]) -> None:
        for n, record, conn in timeline:
            if conn is None:
                continue
            if isinstance(record, Connection):  # written with its first record kept
                self.current, self.opened, self.before = record, None, record.offset
                if self.window is None and self._where(n, record, conn) == "after":
                    break
                continue
            where = self._where(n, record, conn)
            if where == "after":
                break
            if where == "before":
                self.before = record.offset
                continue
            self._keep(record)
        self._end()

    def _keep(self, record: Record) -> None:
        conn = self.current
        assert conn is not None
        if self.opened is not conn:
            if self.base is None:  # the first connection kept: cut where the window starts
                start = self.span.start or 0.0
                cut = self.before if self.window is not None else max(conn.offset, start - conn.started)
                self.shift = max(0.0, cut - conn.offset)
                self.base = conn.started + self.shift
                started = 0.0
            else:
                self.shift = 0.0
                started = max(self.last_started, conn.started - self.base)
            self.out.write(replace(conn, started=started))
            self.opened, self.last_started, self.last_offset = conn, started, conn.offset
        offset = max(record.offset - self.shift, self.last_offset)
        self.out.write(replace(record, offset=offset))
        self.last_offset = offset
        if isinstance(record, Close):
            self.opened = None

    def _end(self) -> None:
        """The connection the window ends in is closed as a recording stopped there."""
        conn = self.opened
        if conn is None:
            return
        end = self.last_offset
        if self.window is None and self.span.stop is not None:
            end = max(end, self.span.stop - conn.started - self.shift)
        self.out.write(Close(end, CloseReason.CLIENT_STOPPED))
        self.opened = None


# -- cat --------------------------------------------------------------------------------------------
def cat_cassettes(paths: Sequence[str | Path], out: str | Path) -> Written:
    """The connections of `paths`, one cassette after the other, into `out` (one endpoint)."""
    if len(paths) < 2:
        raise UsageError(f"cat: expected at least two cassettes to join, found {len(paths)}")
    sources = [Cassette(p) for p in paths]
    first = sources[0].header
    for source in sources[1:]:
        if source.header.endpoint != first.endpoint:
            raise UsageError(f"{source.path}: a {source.header.endpoint} cassette cannot follow a "
                             f"{first.endpoint} one: cat joins recordings of one endpoint")  # fmt: skip
    names = ",".join(s.path.name for s in sources)
    header = replace(first, labels={**first.labels, "joined-from": names})
    with _output(Path(out), header, [s.path for s in sources]) as writer:
        counter = _Counter(writer, Path(out))
        start = 0.0  # where the next cassette's first connection starts
        for source in sources:
            start = _append(counter, source, start)
        return counter.done()


def _append(out: _Counter, source: Cassette, start: float) -> float:
    """Write `source`'s connections from `start` on; returns when its last one ended."""
    base: float | None = None
    end = start
    conn: Connection | None = None
    for record in source:
        if isinstance(record, Connection):
            base = record.started if base is None else base
            conn = replace(record, started=start + record.started - base)
            out.write(conn)
            end = conn.started + record.offset
            continue
        if conn is None:
            continue
        out.write(record)
        end = conn.started + record.offset
        if isinstance(record, Close):
            conn = None
    if conn is not None:  # a cassette cut before its last close: closed where it was cut
        out.write(Close(end - conn.started, CloseReason.ERROR, "the recording ended here without a close record"))
    return end
