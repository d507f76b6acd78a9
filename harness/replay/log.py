"""What the replayer logs per connection: each line written (bounded), each fault, how it ended."""

from __future__ import annotations

import enum
import threading
import time
from array import array
from dataclasses import dataclass, field

from harness._wire import Request
from harness.replay._recorded import Item
from harness.replay.faults import Fault

KEEP_LINES = 100_000


class End(enum.StrEnum):
    """How a connection ended."""

    COMPLETED = "completed"  # the server ended the body cleanly (as recorded, on_end=close, or a disconnect fault)
    DROPPED = "dropped"  # the server cut the connection (as recorded, or a drop fault)
    VANISHED = "vanished"  # the client went away
    STOPPED = "stopped"  # the replay server was stopped
    REFUSED = "refused"  # answered with an error status (contract, fault or recorded)
    INVALID = "invalid"  # no request worth the name: garbage, a half request, a hang-up
    ERROR = "error"  # the replayer failed (a cassette that went bad under it): logged


class LineKind(enum.StrEnum):
    """What a written line was."""

    EVENT = "event"  # a recorded line that is not a heartbeat (an event or an error payload)
    HEARTBEAT = "heartbeat"  # a recorded heartbeat
    KEEPALIVE = "keepalive"  # a heartbeat of the replayer's own, after the recording (on_end=hold)
    FAULT = "fault"  # a payload a fault sent (operational-disconnect)
    PUSHED = "pushed"  # bytes a test pushed (`ReplayServer.push`), sent at once (`due`: the next heartbeat's)


_KINDS = tuple(LineKind)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def _redacted(name: str, value: str) -> str:
    """A header value as the log keeps it: a credential's scheme only (`Bearer <redacted>`)."""
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, sep, _ = value.partition(" ")
    return f"{scheme} <redacted>" if sep else "<redacted>"


@dataclass(frozen=True)
class SentLine:
    """One line written: `offset` as recorded, `due` and `sent` in seconds since this request arrived."""

    kind: LineKind
    offset: float
    due: float
    sent: float
    size: int

    @property
    def error(self) -> float:
        """How late it went out (seconds)."""
        return self.sent - self.due


@dataclass(frozen=True)
class AppliedFault:
    """A fault that hit a connection: when (seconds since the request) and after how many events."""

    fault: Fault
    at: float
    events: int


@dataclass
class ConnectionLog:
    """What happened on one accepted connection; filled in while it is served."""

    index: int
    peer: str
    started: float  # time.monotonic() at the request's arrival
    method: str = ""
    target: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # the request's, the credentials' values redacted
    tunnel: str | None = None  # host of the CONNECT this request came through (proxy mode)
    gzip: bool = False  # the request accepts a gzip body (Accept-Encoding)
    endpoint: str | None = None
    status: int | None = None
    recorded: int | None = None  # the recorded connection served first (its place in the endpoint's recording)
    resumed_at: int | None = None  # the line it resumed from, when it took up a cut connection
    events: int = 0
    heartbeats: int = 0
    bytes: int = 0
    faults: list[AppliedFault] = field(default_factory=list)
    end: End | None = None
    vanished: bool = False
    error: str | None = None
    ended: float | None = None  # time.monotonic() once the connection was done with
    killed: str | None = None  # set to end the stream as the connections API does (why)
    finished: threading.Event = field(default_factory=threading.Event, repr=False)
    _kind: bytearray = field(default_factory=bytearray, repr=False)
    _recorded: array[float] = field(default_factory=lambda: array("d"), repr=False)
    _due: array[float] = field(default_factory=lambda: array("d"), repr=False)
    _sent: array[float] = field(default_factory=lambda: array("d"), repr=False)
    _sizes: array[int] = field(default_factory=lambda: array("q"), repr=False)
    keep: int = field(default=KEEP_LINES, repr=False)

    def took(self, request: Request) -> None:
        """The request this connection carries: its method, target and headers (credentials redacted)."""
        self.method, self.target, self.gzip = request.method, request.target, request.accepts_gzip()
        self.headers = tuple((k, _redacted(k, v)) for k, v in request.headers)

    def finish(self) -> None:
        self.ended = time.monotonic()
        self.finished.set()

    def note(self, kind: LineKind, offset: float, due: float, sent: float, size: int) -> None:
        """One line written (`due` and `sent` in seconds since the request)."""
        self.events += kind is LineKind.EVENT
        self.heartbeats += kind is LineKind.HEARTBEAT or kind is LineKind.KEEPALIVE
        self.bytes += size
        if len(self._kind) < self.keep:
            self._kind.append(_KINDS.index(kind))
            self._recorded.append(offset)
            self._due.append(due)
            self._sent.append(sent)
            self._sizes.append(size)

    def note_items(self, items: list[Item], speed: float | None, sent: float) -> int:
        """Recorded lines written together at `sent`; returns how many were events."""
        flags = [i.event for i in items]
        sizes = [len(i.raw) for i in items]
        events = flags.count(True)
        self.events += events
        self.heartbeats += len(items) - events
        self.bytes += sum(sizes)
        room = self.keep - len(self._kind)
        if room > 0:  # bounded: a long replay's memory stays flat
            take = items[:room]
            self._kind.extend([0 if f else 1 for f in flags[:room]])
            self._recorded.extend([i.recorded for i in take])
            self._due.extend([0.0] * len(take) if speed is None else [i.offset / speed for i in take])  # type: ignore[operator]
            self._sent.extend([sent] * len(take))
            self._sizes.extend(sizes[:room])
        return events

    @property
    def lines(self) -> list[SentLine]:
        """The lines written, in order (the first `keep` of them)."""
        parts = zip(self._kind, self._recorded, self._due, self._sent, self._sizes, strict=True)
        return [SentLine(_KINDS[k], offset, due, sent, size) for k, offset, due, sent, size in parts]
