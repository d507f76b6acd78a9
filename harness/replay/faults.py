"""Faults the replayer injects into its streams, so consumers meet what the live API does.

A fault is written `KIND[=VALUE][xCOUNT][@WHEN]`:

    disconnect@5        after 5 events: an operational-disconnect payload, then a clean close
    drop@3              after 3 events: the next event line is cut in the middle, the TCP connection closed
    stall=25@2          after 2 events: 25 s with no byte at all (no heartbeat either)
    split@1             after 1 event: the next event's `\\r` and `\\n` go in two chunks
    status=429x2        the next 2 connections get a 429 (503, or any 4xx/5xx) instead of the stream
    throttle=2000       the stream is limited to 2000 bytes/s
    disconnect@1.5s     1.5 s after the request arrived (a time instead of an event count)
    reset@4             after 4 events: the TCP connection reset (RST), no FIN, no last chunk
    badchunk@2          after 2 events: the next event's chunk has a size line that is not hex, then a close
    badgzip@3           after 3 events: the gzip stream is corrupt from the next event on, then a close
                        (only a connection that asks for gzip is served gzip, while this fault is pending)
    garbage@1           after 1 event: a line of bytes that is not JSON (nor UTF-8), the stream goes on
    unavailable=30x2    the next 2 connections get a 503 with `Retry-After: 30` (default 30)
    slowhead=10         the response head trickles out a line at a time over 10 s (default 10)
    unfinished@5        after 5 events: the connection closed (FIN) without the last chunk

WHEN is `N` (events, i.e. lines that are not heartbeats, sent on the connection) or `Ts`
(seconds since the request arrived); without it a fault hits as the stream starts. COUNT
is how many connections the fault hits (default 1; `x*`: every connection). VALUE is
seconds for stall (default 32, longer than any client's read timeout), a status code for
status (required), bytes per second for throttle (required). Times and rates run on the
recording's clock, like the stream itself: at speed 10 `stall=25` lasts 2.5 s,
`throttle=2000` lets 20000 bytes/s through and `unavailable=30` says `Retry-After: 3`; with
speed `max` they are wall-clock. An HTTP/1.0 stream has no chunks: badchunk cuts its line as
drop does, and unfinished ends it as the close it is.
"""

from __future__ import annotations

import enum
import http
import json
import math
import re
import threading
import time
from dataclasses import dataclass

from harness._choice import parse_choice
from harness.errors import UsageError

DEFAULT_STALL = 32.0
_SPEC = re.compile(
    r"(?P<kind>[a-z]+)(?:=(?P<value>[^x@]+))?(?:x(?P<count>[^x@]+))?(?:@(?P<when>[^x@]+))?(?:x(?P<later>[^x@]+))?",
    re.IGNORECASE,
)
GRAMMAR = "KIND[=VALUE][xCOUNT][@EVENTS|@SECONDSs], e.g. disconnect@5, stall=25@2, status=429x2, throttle=2000"
DEFAULT_RETRY_AFTER = 30.0
DEFAULT_SLOW_HEAD = 10.0


class FaultKind(enum.StrEnum):
    """What a fault does (see the module docstring)."""

    DISCONNECT = "disconnect"
    DROP = "drop"
    STALL = "stall"
    SPLIT = "split"
    STATUS = "status"
    THROTTLE = "throttle"
    RESET = "reset"
    BADCHUNK = "badchunk"
    BADGZIP = "badgzip"
    GARBAGE = "garbage"
    UNAVAILABLE = "unavailable"
    SLOWHEAD = "slowhead"
    UNFINISHED = "unfinished"

    @classmethod
    def parse(cls, text: str) -> FaultKind:
        return parse_choice(cls, text.strip().lower(), "fault kind")


#: Kinds that act on the next event line rather than at the moment they trigger.
ON_NEXT_EVENT = frozenset({FaultKind.DROP, FaultKind.SPLIT, FaultKind.BADCHUNK, FaultKind.BADGZIP})
#: Kinds that answer a whole connection instead of the stream (`FaultBook.take_status`).
ANSWERS = frozenset({FaultKind.STATUS, FaultKind.UNAVAILABLE})
#: Kinds that act on the response head, so take no @WHEN.
NO_WHEN = ANSWERS | {FaultKind.SLOWHEAD}
#: The field each kind's =VALUE fills.
VALUE_FIELD = {FaultKind.STALL: "seconds", FaultKind.STATUS: "status", FaultKind.THROTTLE: "bytes_per_second",
               FaultKind.UNAVAILABLE: "seconds", FaultKind.SLOWHEAD: "seconds"}  # fmt: skip
_DEFAULT_SECONDS = {FaultKind.STALL: DEFAULT_STALL, FaultKind.UNAVAILABLE: DEFAULT_RETRY_AFTER,
                    FaultKind.SLOWHEAD: DEFAULT_SLOW_HEAD}  # fmt: skip


@dataclass(frozen=True)
class Fault:
    """One deterministic fault. Build it with `Fault.parse("drop@3")` or by fields.

    `after_events` / `after_seconds`: when it triggers on a connection (neither: at the
    start). `count`: how many connections it hits (None: every one). `seconds` (stall, the
    Retry-After of unavailable, slowhead), `status` (status) and `bytes_per_second` (throttle)
    are the kinds' values.
    """

    kind: FaultKind
    after_events: int | None = None
    after_seconds: float | None = None
    seconds: float | None = None
    status: int | None = None
    count: int | None = 1
    bytes_per_second: float | None = None

    def __post_init__(self) -> None:
        kind = FaultKind.parse(self.kind)
        object.__setattr__(self, "kind", kind)
        if self.after_events is not None and self.after_seconds is not None:
            raise UsageError(f"{kind}: give either a number of events or a time (@N or @Ts), not both")
        if self.after_events is not None and self.after_events < 0:
            raise UsageError(f"{kind}: expected a number of events >= 0, found {self.after_events}")
        if self.after_seconds is not None and not (self.after_seconds >= 0 and math.isfinite(self.after_seconds)):
            raise UsageError(f"{kind}: expected a time >= 0 seconds, found {self.after_seconds}")
        if self.count is not None and self.count < 1:
            raise UsageError(f"{kind}: expected a count >= 1 (or * for every connection), found {self.count}")
        self._check_value(kind)

    def _check_value(self, kind: FaultKind) -> None:
        given = {"seconds": self.seconds, "status": self.status, "bytes_per_second": self.bytes_per_second}
        extra = [name for name, value in given.items() if value is not None and name != VALUE_FIELD.get(kind)]
        if extra:
            raise UsageError(f"{kind}: takes no {extra[0]} (grammar: {GRAMMAR})")
        if kind in _DEFAULT_SECONDS and self.seconds is None:
            object.__setattr__(self, "seconds", _DEFAULT_SECONDS[kind])
        if kind in _DEFAULT_SECONDS and not (
            self.seconds is not None and self.seconds > 0 and math.isfinite(self.seconds)
        ):
            raise UsageError(f"{kind}: expected a duration > 0 seconds, found {self.seconds}")
        if kind is FaultKind.STATUS and (self.status is None or not 400 <= self.status <= 599):
            raise UsageError(
                f"status: expected an HTTP status 400..599, e.g. status=429 or status=503x2, found {self.status}"
            )
        if kind in NO_WHEN and (self.after_events is not None or self.after_seconds is not None):
            what = "acts on the response head" if kind is FaultKind.SLOWHEAD else "answers whole connections"
            raise UsageError(f"{kind}: {what}, so it takes no @ (use xCOUNT for how many)")
        if kind is FaultKind.THROTTLE and not (
            self.bytes_per_second is not None and self.bytes_per_second > 0 and math.isfinite(self.bytes_per_second)
        ):
            raise UsageError(
                f"throttle: expected bytes per second > 0, e.g. throttle=2000, found {self.bytes_per_second}"
            )

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """A fault from `KIND[=VALUE][xCOUNT][@WHEN]` (see the module docstring)."""
        m = _SPEC.fullmatch(spec.strip())
        if m is None:
            raise UsageError(f"fault {spec!r}: expected {GRAMMAR}")
        kind = FaultKind.parse(m["kind"])
        fields: dict[str, float | int | None] = {}
        if m["value"] is not None:
            if kind not in VALUE_FIELD:
                raise UsageError(f"fault {spec!r}: {kind} takes no =VALUE (grammar: {GRAMMAR})")
            fields[VALUE_FIELD[kind]] = (
                _int(m["value"], spec, "status") if kind is FaultKind.STATUS else _num(m["value"], spec)
            )
        if m["count"] is not None and m["later"] is not None:
            raise UsageError(f"fault {spec!r}: give xCOUNT once (grammar: {GRAMMAR})")
        count: int | None = 1
        given = m["count"] if m["count"] is not None else m["later"]
        if given is not None:
            count = None if given == "*" else _int(given, spec, "count")
        when = m["when"]
        if when is not None:
            if when.endswith("s"):
                fields["after_seconds"] = _num(when[:-1], spec)
            else:
                fields["after_events"] = _int(when, spec, "event count")
        return cls(kind, count=count, **fields)  # type: ignore[arg-type]

    @classmethod
    def coerce(cls, fault: Fault | str) -> Fault:
        return fault if isinstance(fault, Fault) else cls.parse(fault)

    def __str__(self) -> str:
        out = self.kind.value
        field = VALUE_FIELD.get(self.kind)
        v = None if field is None else getattr(self, field)
        if v is not None:
            out += f"={_fmt(v)}"
        if self.count != 1:
            out += "x*" if self.count is None else f"x{self.count}"
        if self.after_events is not None:
            out += f"@{self.after_events}"
        elif self.after_seconds is not None:
            out += f"@{_fmt(self.after_seconds)}s"
        return out


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _num(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"fault {spec!r}: expected a number, found {text!r} (grammar: {GRAMMAR})") from None
    return value


def _int(text: str, spec: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"fault {spec!r}: expected an integer {what}, found {text!r} (grammar: {GRAMMAR})")
    return int(text)


class _Armed:
    """A fault and how many more connections it may hit."""

    __slots__ = ("fault", "id", "left")

    def __init__(self, fault: Fault, ident: int) -> None:
        self.fault, self.id, self.left = fault, ident, fault.count


class FaultBook:
    """The faults of a server: connections claim them as they trigger, each at most once."""

    def __init__(self, faults: tuple[Fault, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []
        for fault in faults:
            self.add(fault)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._armed.append(_Armed(fault, len(self._armed)))

    def take_status(self) -> Fault | None:
        """The status or unavailable fault the next connection answers with, if any (claimed)."""
        with self._lock:
            for armed in self._armed:
                if armed.fault.kind in ANSWERS and armed.left != 0:
                    armed.left = None if armed.left is None else armed.left - 1
                    return armed.fault
        return None

    def pending(self, done: set[int]) -> list[tuple[int, Fault]]:
        """Stream faults that may still hit a connection that already had `done`."""
        with self._lock:
            return [(a.id, a.fault) for a in self._armed
                    if a.fault.kind not in ANSWERS and a.left != 0 and a.id not in done]  # fmt: skip

    def claim(self, ident: int) -> bool:
        """Take one use of a fault; False when another connection took the last one."""
        with self._lock:
            armed = self._armed[ident]
            if armed.left == 0:
                return False
            if armed.left is not None:
                armed.left -= 1
            return True


#: X's answer to one connection too many (a ConnectionException problem).
TOO_MANY_CONNECTIONS = {
    "title": "ConnectionException",
    "detail": "This stream is currently at the maximum allowed connection limit.",
    "connection_issue": "TooManyConnections",
    "type": "https://api.twitter.com/2/problems/streaming-connection",
}


def phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def status_answer(status: int, speed: float | None) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    """The body and extra headers of a refused connection: X's TooManyConnections for 429 (with the
    x-rate-limit headers twarc needs; the reset a minute away on the recording's clock), a generic
    Problem otherwise."""
    if status != 429:
        title = phrase(status)
        return json.dumps({"title": title, "detail": title, "type": "about:blank", "status": status}).encode(), ()
    reset = int(time.time()) + math.ceil(60 / (speed or 60))
    limits = (("x-rate-limit-limit", "50"), ("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", str(reset)))
    return json.dumps(TOO_MANY_CONNECTIONS).encode(), limits


def fault_answer(fault: Fault, speed: float | None) -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
    """Status, body and extra headers of a connection a status or unavailable fault answers; the
    Retry-After on the recording's clock, whole seconds (at least 1, as a client may not sleep 0)."""
    if fault.kind is FaultKind.UNAVAILABLE:
        assert fault.seconds is not None
        body, _ = status_answer(503, speed)
        return 503, body, (("Retry-After", str(max(1, math.ceil(fault.seconds / (speed or 1.0))))),)
    assert fault.status is not None
    return fault.status, *status_answer(fault.status, speed)
