"""What one replayed connection serves: the endpoint's recording, each consumer's place in it,
and the items of one connection up to what the end of the recording and `on_end` say."""

from __future__ import annotations

import contextlib
import enum
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from harness._choice import parse_choice
from harness._wire import STREAM_HEADERS, send_response
from harness.cassette import CloseReason
from harness.errors import UsageError
from harness.model import Endpoint
from harness.replay._http_server import problem
from harness.replay._recorded import Item, Recorded, read_items
from harness.replay._stream import Finish
from harness.replay.faults import phrase
from harness.replay.log import ConnectionLog, End

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "proxy-connection",
}


def check_settings(*, speed: float | None, heartbeat: float, request_timeout: float, token: str | None,
                   cassettes: int, counts: dict[str, int | None]) -> None:  # fmt: skip
    """The replay server's settings, each checked (UsageError naming it otherwise)."""
    if speed is not None and not (speed > 0 and math.isfinite(speed)):
        raise UsageError(f"speed: expected a factor > 0 (or None for as fast as possible), found {speed}")
    for name, seconds in (("heartbeat", heartbeat), ("request_timeout", request_timeout)):
        if not seconds > 0:
            raise UsageError(f"{name}: expected seconds > 0, found {seconds}")
    for name, value in counts.items():
        if value is not None and value < 1:
            raise UsageError(f"{name}: expected a count >= 1, found {value}")
    if token is not None and not token.strip():
        raise UsageError("token: expected a non-empty token (or None, to accept any bearer token)")
    if not cassettes:
        raise UsageError("expected at least one cassette to replay")


def send_recorded(sock: Any, rec: Recorded, log: ConnectionLog) -> None:
    """A recorded non-200 answer, body and all (bounded: the recorder keeps at most 1 MB)."""
    body = b"".join(item.raw for item in read_items(rec, 0, 0.0))
    headers = tuple((k, v) for k, v in rec.headers if k.lower() not in HOP_BY_HOP)
    log.status, log.end = rec.status, End.REFUSED
    try:
        send_response(sock, rec.status, rec.reason or phrase(rec.status), headers, body)
    except OSError:
        log.vanished = True


class OnEnd(enum.StrEnum):
    """What a stream does when the recording runs out."""

    HOLD = "hold"
    CLOSE = "close"
    LOOP = "loop"
    REFUSE = "refuse"  # close, then answer further connections 410: a consumer's reconnect path ends

    @classmethod
    def parse(cls, value: OnEnd | str) -> OnEnd:
        return parse_choice(cls, value, "on_end")


@dataclass(frozen=True)
class Resume:
    """Where a consumer's next connection takes up a cut one."""

    serial: int
    item: Item | None  # the first line not sent; None: from the start


CLAIM_WAIT = 2.0  # seconds a connection waits for the same consumer's last one to finish


class Cursor:
    """One consumer's place in an endpoint's recording."""

    def __init__(self) -> None:
        self.next = 0
        self.resume: Resume | None = None
        self.streaming = 0  # connections of this consumer not yet done noting where they stopped


class Cursors:
    """Each consumer's `Cursor`, per endpoint, in a table of at most `limit` entries.

    A consumer is known by a digest of its token, never the token: whatever size and number
    of tokens clients send, the table holds `limit` 16-byte keys. The consumer heard from
    longest ago makes room for a new one (and starts from the first recorded connection if
    it comes back).
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._table: OrderedDict[bytes, Cursor] = OrderedDict()

    def __len__(self) -> int:
        return len(self._table)

    @staticmethod
    def key(endpoint: str, token: str) -> bytes:
        h = hashlib.blake2b(digest_size=16)
        h.update(endpoint.encode() + b"\0")
        h.update(token.encode("utf-8", "surrogateescape"))
        return h.digest()

    def get(self, endpoint: str, token: str) -> Cursor:
        key = self.key(endpoint, token)
        cursor = self._table.get(key)
        if cursor is None:
            cursor = self._table[key] = Cursor()
            if len(self._table) > self.limit:  # the one heard from longest ago, not one streaming now
                idle = next((k for k, c in self._table.items() if not c.streaming and k != key), None)
                if idle is not None:
                    del self._table[idle]
        else:
            self._table.move_to_end(key)
        return cursor

    def claim(self, endpoint: str, token: str, lock: threading.Condition) -> Cursor:
        """(`lock` held.) The consumer's cursor, once its connection before has noted where it
        stopped. A client reconnects the moment a connection ends on the wire, which can be
        before that connection's handler has written its resume point; a second connection
        held open on purpose goes ahead after `CLAIM_WAIT`."""
        cursor = self.get(endpoint, token)
        lock.wait_for(lambda: not cursor.streaming, CLAIM_WAIT)
        cursor.streaming += 1
        return cursor

    @staticmethod
    def release(cursor: Cursor, lock: threading.Condition) -> None:
        """(`lock` held.) The connection that claimed `cursor` has noted where it stopped."""
        cursor.streaming -= 1
        lock.notify_all()

    def __iter__(self) -> Iterator[bytes]:
        return iter(list(self._table))


class Recording:
    """An endpoint's recorded connections, all its cassettes in the order given."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.connections: list[Recorded] = []
        self.query: dict[str, str] = {}
        self.key = endpoint.name  # what consumers' places in it are filed under (a partition's own)
        self.source = ""  # its first cassette

    def at(self, serial: int, loop: bool) -> Recorded | None:
        n = len(self.connections)
        if not n:  # a partition no cassette holds
            return None
        return self.connections[serial % n] if loop else (self.connections[serial] if serial < n else None)

    def gone(self) -> tuple[int, bytes]:
        """What on_end=refuse answers a connection that comes after the recording: 410 and why."""
        detail = f"{self.endpoint.path}: the recording has ended (on_end='refuse'): no further connection is served"
        return 410, problem(410, "Gone", detail)

    def headers(self, rec: Recorded | None) -> tuple[tuple[str, str], ...]:
        """A recorded head made fit to send: our own framing, no hop-by-hop headers."""
        if rec is None or rec.status != 200:
            rec = next((r for r in reversed(self.connections) if r.status == 200), None)
        kept = [(k, v) for k, v in (rec.headers if rec else ()) if k.lower() not in HOP_BY_HOP]
        if not any(k.lower() == "content-type" for k, _ in kept):
            kept.insert(0, STREAM_HEADERS[0])
        return (*kept, STREAM_HEADERS[1], ("Connection", "close"))


class Plan:
    """The items one HTTP connection serves: a recorded connection (or the rest of a cut one), then what
    its end and `on_end` say."""

    def __init__(self, recording: Recording, serial: int, rec: Recorded | None, resume: Resume | None,
                 on_end: OnEnd) -> None:  # fmt: skip
        self.recording, self.serial, self.rec, self.resume = recording, serial, rec, resume
        self.on_end = on_end if recording.connections else OnEnd.HOLD  # nothing recorded: heartbeats only

    def describe(self) -> str:
        if not self.recording.connections:
            return "nothing recorded: heartbeats only"
        if self.rec is None:
            return f"the recording has run out: {self.on_end}"
        start = self.resume.item if self.resume else None
        where = f" from line {start.number}" if start else ""
        return f"recorded connection {self.rec.name}{where}"

    def items(self) -> Generator[Item | Finish, None, None]:
        rec, serial = self.rec, self.serial
        if rec is None:  # run out before this connection came
            yield from self._after(serial - 1, 0.0)
            return
        loop = self.on_end is OnEnd.LOOP
        start = self.resume.item if self.resume else None
        # a cut connection goes on right after the head: its next line first, the gaps after it as recorded
        shift = rec.offset - start.recorded if start else 0.0
        lines = read_items(rec, serial, shift, start.position, start.number) if start else read_items(rec, serial, 0.0)
        while True:
            self.serial = serial
            with contextlib.closing(lines):
                yield from lines
            end = shift + rec.close.offset
            last = (
                (serial + 1) % len(self.recording.connections) == 0
                if loop
                else serial + 1 >= len(self.recording.connections)
            )
            closing = self.on_end in (OnEnd.CLOSE, OnEnd.REFUSE)
            if rec.close.reason is not CloseReason.CLIENT_STOPPED or not last or closing:
                yield Finish(end, rec.close.reason is not CloseReason.ERROR, serial)
                return
            if self.on_end is OnEnd.HOLD:
                yield from self._after(serial, end)
                return
            serial += 1
            nxt = self.recording.at(serial, True)
            assert nxt is not None
            rec, shift = nxt, end - nxt.offset
            lines = read_items(rec, serial, shift)

    def _after(self, serial: int, end: float) -> Iterator[Item | Finish]:
        self.serial = serial
        if self.on_end in (OnEnd.CLOSE, OnEnd.REFUSE):
            yield Finish(end, True, serial)
            return
        while True:
            yield Item(None, b"\r\n", False, serial + 1, -1, 0, math.nan)
