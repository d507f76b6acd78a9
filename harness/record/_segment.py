"""One connection of a recording: its response, line by line, into one segment of the cassette."""

from __future__ import annotations

import time
import zlib
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from harness._wire import ChunkError, LineSplitter
from harness.cassette import CloseReason
from harness.cassette.records import is_blank
from harness.record import _response as _diagnose
from harness.record._http_client import Head, Link, Stopped
from harness.record._response import Body, LineCheck, UnsupportedEncoding
from harness.record.backoff import Failure, rate_limit_wait
from harness.record.redact import RedactingWriter

if TYPE_CHECKING:
    from harness.record.recorder import RecordOptions
    from harness.record.target import Target

MAX_ERROR_BODY = 1 << 20  # decoded bytes of a non-200 (or non-stream) body that are recorded
MAX_ERROR_LINES = 1000  # and its lines: a proxy's HTML error page has a few hundred
# X sends a heartbeat after 20 s of silence, 3 a minute at most; a few come together after a
# reconnect or through a proxy. More than HEARTBEAT_FLOOD within any FLOOD_WINDOW seconds is a
# flood, whatever events come between: a stream sending one a second or faster, for a minute.
HEARTBEAT_FLOOD = 60
FLOOD_WINDOW = 60.0
_READ_ERRORS = (OSError, ValueError, ChunkError, zlib.error, Stopped)  # ValueError: bombs, encodings


class FloodWatch:
    """The arrival times of the last HEARTBEAT_FLOOD + 1 heartbeats: a sliding window."""

    __slots__ = ("_times",)

    def __init__(self) -> None:
        self._times: deque[float] = deque(maxlen=HEARTBEAT_FLOOD + 1)

    def flooded(self, arrived: float) -> bool:
        """Count a heartbeat: True once more than HEARTBEAT_FLOOD arrived within FLOOD_WINDOW s."""
        times = self._times
        times.append(arrived)
        return len(times) > HEARTBEAT_FLOOD and arrived - times[0] < FLOOD_WINDOW


class Counts:
    """What a recording has seen so far, over all its connections (the heartbeats' window too:
    a flood split over many short connections is still a flood)."""

    __slots__ = ("bytes", "connections", "errors", "events", "flood", "heartbeats", "status", "violations")

    def __init__(self) -> None:
        self.connections = self.events = self.heartbeats = self.errors = self.violations = self.bytes = 0
        self.status: int | None = None
        self.flood = FloodWatch()


class Session(Protocol):
    """What a segment needs from the recorder that runs it."""

    counts: Counts
    target: Target
    options: RecordOptions
    check: LineCheck | None
    origin: float

    @property
    def stopping(self) -> object | None: ...

    def tell(self, message: str) -> None: ...

    def max_events_reached(self) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """How one connection went: what to tell, and how to back off (None: do not retry)."""

    failure: Failure | None
    error: str | None = None
    status: int | None = None
    established: bool = False  # a 200 that delivered lines and lived long enough: the backoff starts over
    wait: float | None = None  # what the server asked for (x-rate-limit-reset), in seconds


class Segment:
    """Records one response: the connection record, every line as it arrives, the close."""

    def __init__(self, session: Session, writer: RedactingWriter, t0: float, url: str | None = None) -> None:
        self.s = session
        self.writer = writer
        self.t0 = t0  # time.monotonic() when the request was sent
        self.url = url  # where the response came from, when not from the cassette header's URL

    def record(self, link: Link, head: Head) -> Outcome:
        s = self.s
        s.counts.connections += 1
        s.counts.status = head.status
        self.writer.connection(head.status, head.reason, _diagnose.recorded_headers(head),
                               offset=link.arrived - self.t0, started=self.t0 - s.origin, url=self.url)  # fmt: skip
        try:
            body = Body(link, head)
        except UnsupportedEncoding as exc:
            self.writer.close_connection(CloseReason.ERROR, time.monotonic() - self.t0, str(exc))
            if head.status == 200:
                return Outcome(Failure.HTTP, str(exc), 200)
            return self._status(head, b"", f"the body was not read: {exc}")  # the status first, then this
        problem = _diagnose.not_a_stream(head)
        if problem is None:
            return self._pump(body, head)
        if head.status == 200:
            self._drain(body, problem)
            return Outcome(Failure.HTTP, problem, 200)  # said once, by whoever reports the outcome
        return self._status(head, self._drain(body))

    def _status(self, head: Head, start: bytes, note: str | None = None) -> Outcome:
        """Say what a non-200 means (`start`: its body's first bytes), and how to back off."""
        s = self.s
        message = _diagnose.status_message(head, start, s.target.url) + (f"; {note}" if note else "")
        s.tell(message)
        failure = _diagnose.status_failure(head.status)
        wait = None
        if failure is Failure.RATE_LIMIT:
            wait = rate_limit_wait(head.get("x-rate-limit-reset"), time.time(), s.options.backoff)
        return Outcome(failure, message, head.status, wait=wait)

    def _drain(self, body: Body, problem: str | None = None) -> bytes:
        """Record a non-stream body (up to MAX_ERROR_BODY bytes and MAX_ERROR_LINES lines); return its start,
        for the message."""
        first = b""

        def emit(raw: bytes, arrived: float) -> None:
            self.writer.line(raw, arrived - self.t0)

        try:
            first, cut = _diagnose.read_whole(body, emit, MAX_ERROR_BODY, MAX_ERROR_LINES)
            closing, error = (CloseReason.SERVER_CLOSED, None) if problem is None else (CloseReason.ERROR, problem)
            if cut is not None:
                closing, error = CloseReason.CLIENT_STOPPED, cut
        except _READ_ERRORS as exc:
            closing, error = CloseReason.ERROR, _diagnose.read_error(exc, self.s.options.read_timeout)
        if self.s.stopping is not None:
            closing, error = CloseReason.CLIENT_STOPPED, None
        self.writer.close_connection(closing, time.monotonic() - self.t0, error)
        return first

    def _pump(self, body: Body, head: Head) -> Outcome:
        """Record a 200 stream until it ends or a stop is asked for.

        All the lines one read returns arrived together: they share an offset and are
        written together. Secrets are redacted by the writer, on their way to the cassette.
        """
        s, c = self.s, self.s.counts
        max_line = s.options.max_line
        max_events = s.options.max_events if s.options.max_events is not None else -1
        splitter, write = LineSplitter(max_line), self.writer.lines
        lines_before = c.events + c.heartbeats + c.errors
        check = s.check.line if s.check is not None else None
        error: str | None = None
        flooded, hostile = c.flood.flooded, False  # hostile: a limit stopped it, do not reconnect
        try:
            while (pieces := body.read()) and s.stopping is None:
                arrived = body.arrived
                now = arrived - self.t0
                batch = splitter.feed_pieces(pieces)
                for i, raw in enumerate(batch):
                    c.bytes += len(raw)
                    if is_blank(raw):
                        c.heartbeats += 1
                        if flooded(arrived):
                            del batch[i + 1 :]
                            hostile = True
                            error = (f"a heartbeat flood: more than {HEARTBEAT_FLOOD} blank lines within "
                                     f"{FLOOD_WINDOW:g} s (X sends one every 20 s): stopped")  # fmt: skip
                            break
                    elif check is not None and check(raw):
                        pass  # an in-stream error payload, counted by the check
                    elif check is None and raw.startswith(b'{"errors"') and b'"data"' not in raw:
                        c.errors += 1
                    else:
                        c.events += 1
                        if c.events == max_events:
                            del batch[i + 1 :]
                            s.max_events_reached()
                            break
                write(batch, now)
                if error is not None:
                    break
                if splitter.overflowing:
                    error = f"a line longer than {max_line} bytes (no line end): stopped (see --max-line)"
                    hostile = True
                    break
        except _READ_ERRORS as exc:
            if s.stopping is None:
                error = _diagnose.read_error(exc, s.options.read_timeout)
                hostile = isinstance(exc, _diagnose.DecompressionBomb)
        got_lines = c.events + c.heartbeats + c.errors > lines_before
        return self._end(head, body, splitter, error, got_lines, hostile)

    def _end(self, head: Head, body: Body, splitter: LineSplitter, error: str | None, got_lines: bool,
             hostile: bool) -> Outcome:  # fmt: skip
        now = time.monotonic() - self.t0
        if self.s.stopping is not None:
            self.writer.close_connection(CloseReason.CLIENT_STOPPED, now)
            return Outcome(None)
        if splitter.pending:
            cut = len(splitter.pending)
            self.writer.line(splitter.pending, now)
            error = error or f"the connection closed in the middle of a line ({cut} bytes without a line end)"
        elif error is None and not body.chunked:
            error = _diagnose.not_chunked(head)
        # a stream that ends, even cleanly, before it lived min_lifetime is a failure: no hot loop
        established = got_lines and now >= self.s.options.backoff.min_lifetime
        if error is not None:
            self.writer.close_connection(CloseReason.ERROR, now, error)
            # a limit's stop is final, --reconnect or not: the next connection would bring the same
            return Outcome(None if hostile else Failure.NETWORK, error, 200, established)
        note = None if body.complete else "closed without the final chunk"
        self.writer.close_connection(CloseReason.SERVER_CLOSED, now, note)
        return Outcome(Failure.CLEAN_CLOSE if established else Failure.NETWORK, None, 200, established)
