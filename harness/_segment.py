"""One connection of a recording: its response, line by line, into one segment of the cassette."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import requests
import urllib3

from harness import _response as _diagnose
from harness._records import is_blank
from harness._redact import Redaction
from harness._response import LineCheck, PlainBody, UnsupportedEncoding, open_body
from harness._wire import ChunkError, LineSplitter
from harness.backoff import Failure
from harness.cassette import CassetteWriter, CloseReason

if TYPE_CHECKING:
    from harness.params import Target
    from harness.recorder import RecordOptions

MAX_ERROR_BODY = 1 << 20


class Counts:
    """What a recording has seen so far, over all its connections."""

    __slots__ = ("bytes", "connections", "errors", "events", "heartbeats", "status", "violations")

    def __init__(self) -> None:
        self.connections = self.events = self.heartbeats = self.errors = self.violations = self.bytes = 0
        self.status: int | None = None


class Session(Protocol):
    """What a segment needs from the recorder that runs it."""

    counts: Counts
    redaction: Redaction
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
    established: bool = False  # a 200 that delivered lines: the backoff starts over


class Segment:
    """Records one response: the connection record, every line as it arrives, the close."""

    def __init__(self, session: Session, writer: CassetteWriter, t0: float) -> None:
        self.s = session
        self.writer = writer
        self.t0 = t0  # time.monotonic() when the request was sent

    def record(self, resp: requests.Response) -> Outcome:
        s = self.s
        s.counts.connections += 1
        s.counts.status = resp.status_code
        headers = s.redaction.headers_list(_diagnose.recorded_headers(resp))
        self.writer.connection(resp.status_code, resp.reason or "", headers,
                               offset=time.monotonic() - self.t0, started=self.t0 - s.origin)  # fmt: skip
        problem = _diagnose.not_a_stream(resp)
        if problem is None:
            return self._pump(resp)
        if resp.status_code == 200:
            self._drain(resp, problem)
            s.tell(problem)
            return Outcome(Failure.HTTP, problem, 200)
        start = self._drain(resp)
        message = _diagnose.status_message(resp, start, s.target.url)
        s.tell(message)
        return Outcome(_diagnose.status_failure(resp.status_code), message, resp.status_code)

    def _drain(self, resp: requests.Response, problem: str | None = None) -> bytes:
        """Record a non-stream body (up to MAX_ERROR_BODY); return its start, for the message."""
        first, redact = b"", self.s.redaction.line

        def emit(raw: bytes, arrived: float) -> None:
            self.writer.line(redact(raw), arrived - self.t0)

        try:
            first, cut = _diagnose.read_whole(resp, emit, MAX_ERROR_BODY)
            closing, error = (CloseReason.SERVER_CLOSED, None) if problem is None else (CloseReason.ERROR, problem)
            if cut:
                closing, error = CloseReason.CLIENT_STOPPED, f"body cut after {MAX_ERROR_BODY} bytes"
        except (OSError, requests.RequestException, urllib3.exceptions.HTTPError, ValueError, zlib.error) as exc:
            closing, error = CloseReason.ERROR, _diagnose.read_error(exc, self.s.options.read_timeout)
        self.writer.close_connection(closing, time.monotonic() - self.t0, error)
        return first

    def _pump(self, resp: requests.Response) -> Outcome:
        """Record a 200 stream until it ends or a stop is asked for.

        All the lines one read returns arrived together: they share an offset and are
        written together.
        """
        s, c, redaction = self.s, self.s.counts, self.s.redaction
        max_line, read_timeout = s.options.max_line, s.options.read_timeout
        max_events = s.options.max_events if s.options.max_events is not None else -1
        splitter, write = LineSplitter(max_line), batch_writer(self.writer)
        lines_before = c.events + c.heartbeats + c.errors
        check = s.check.line if s.check is not None else None
        # the common case, one secret and no pointers, is a substring test per line
        every_line = redaction.line if redaction.pointers or len(redaction.secrets) > 1 else None
        token = redaction.secrets[0].encode() if len(redaction.secrets) == 1 else None
        error: str | None = None
        body = open_body(resp)
        try:
            while (pieces := body.read()) and s.stopping is None:
                now = time.monotonic() - self.t0
                batch = splitter.feed_pieces(pieces)
                for i, raw in enumerate(batch):
                    if every_line is not None:
                        raw = batch[i] = every_line(raw)
                    elif token is not None and token in raw:
                        raw = batch[i] = redaction.line(raw)
                    c.bytes += len(raw)
                    if is_blank(raw):
                        c.heartbeats += 1
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
                if splitter.overflowing:
                    error = f"a line longer than {max_line} bytes (no line end): stopped (see --max-line)"
                    break
        except (OSError, requests.RequestException, urllib3.exceptions.HTTPError, ChunkError, zlib.error,
                UnsupportedEncoding) as exc:  # fmt: skip
            if s.stopping is None:
                error = _diagnose.read_error(exc, read_timeout)
        return self._end(resp, body, splitter, error, c.events + c.heartbeats + c.errors > lines_before)

    def _end(self, resp: requests.Response, body: object, splitter: LineSplitter, error: str | None,
             got_lines: bool) -> Outcome:  # fmt: skip
        now = time.monotonic() - self.t0
        if self.s.stopping is not None:
            self.writer.close_connection(CloseReason.CLIENT_STOPPED, now)
            return Outcome(None)
        if splitter.pending:
            cut = len(splitter.pending)
            self.writer.line(self.s.redaction.line(splitter.pending), now)
            error = error or f"the connection closed in the middle of a line ({cut} bytes without a line end)"
        elif error is None and isinstance(body, PlainBody):
            error = _diagnose.not_chunked(resp)
        if error is not None:
            self.writer.close_connection(CloseReason.ERROR, now, error)
            return Outcome(Failure.NETWORK, error, 200, got_lines)
        note = None if getattr(body, "complete", False) else "closed without the final chunk"
        self.writer.close_connection(CloseReason.SERVER_CLOSED, now, note)
        return Outcome(Failure.CLEAN_CLOSE if got_lines else Failure.NETWORK, None, 200, got_lines)


def batch_writer(writer: CassetteWriter) -> Callable[[list[bytes], float], None]:
    """Writes the lines of one read, all stamped `offset`: with one write where the writer can.

    `CassetteWriter.lines(batch, offset)` is used when the writer has it (one encode pass
    and one flush per read); otherwise each line is written and flushed on its own.
    """
    lines: Callable[[list[bytes], float], None] | None = getattr(writer, "lines", None)
    if lines is not None:
        return lines
    line = writer.line

    def each(batch: list[bytes], offset: float) -> None:
        for raw in batch:
            line(raw, offset)

    return each
