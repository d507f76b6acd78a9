"""One replayed stream: lines paced against a monotonic clock, faults applied, all of it logged.

Each line is due at `t0 + offset / speed`, `t0` being the request's arrival, so lateness
never accumulates. Waiting is coarse (a selector that also notices a client hanging up
and a wake from `stop()` or `inject()`) until the last two milliseconds, then a plain
sleep, which on Linux wakes within tens of microseconds.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple

from harness._wire import BATCH_BYTES, ChunkedWriter
from harness.cassette.synth import encode_line
from harness.replay._clock import Pacing
from harness.replay._recorded import Item
from harness.replay._wait import Waiter
from harness.replay.faults import ON_NEXT_EVENT, Fault, FaultBook, FaultKind
from harness.replay.log import AppliedFault, ConnectionLog, End, LineKind

#: X's operational-disconnect payload, as the live API sends it before closing a stream.
DISCONNECT_PAYLOAD = {
    "errors": [
        {
            "title": "operational-disconnect",
            "disconnect_type": "OperationalDisconnect",
            "detail": "This stream has been disconnected for operational reasons.",
            "type": "https://api.twitter.com/2/problems/operational-disconnect",
        }
    ]
}
DISCONNECT_LINE = encode_line(DISCONNECT_PAYLOAD)


class Finish(NamedTuple):
    """The end of the body at `offset`: clean (last chunk) or not (the connection cut)."""

    offset: float
    clean: bool
    serial: int


class Streamer:
    """Writes one stream's items, applying the server's faults as they trigger."""

    def __init__(self, sock: socket.socket, waiter: Waiter, pacing: Pacing, faults: FaultBook,
                 log: ConnectionLog, chunked: bool = True) -> None:  # fmt: skip
        self.sock, self.waiter, self.pacing, self.book, self.log = sock, waiter, pacing, faults, log
        self.writer = ChunkedWriter(sock, chunked=chunked)  # unchunked for HTTP/1.0: the body ends with the connection
        self.done: set[int] = set()
        self.armed: list[Fault] = []  # drop/split waiting for the next event line
        self.rate: float | None = None  # throttle, wall bytes/s
        self.throttle_start = self.throttle_bytes = 0.0
        self.last_write = pacing.t0
        self.events = 0

    # -- faults --------------------------------------------------------------------------
    def _trigger_time(self, fault: Fault) -> float | None:
        if fault.after_seconds is None:
            return None
        return self.pacing.t0 + fault.after_seconds / self.pacing.scale

    def next_fault_time(self, pending: list[tuple[int, Fault]]) -> float:
        times = [t for _, f in pending if (t := self._trigger_time(f)) is not None]
        return min(times, default=math.inf)

    def event_limit(self, pending: list[tuple[int, Fault]]) -> int:
        """How many more events may go in one write before an event-count fault is due."""
        if self.armed:
            return 1
        counts = [f.after_events - self.events for _, f in pending if f.after_events is not None]
        return min((c for c in counts if c > 0), default=1 << 62)

    def apply_faults(self, pending: list[tuple[int, Fault]]) -> bool:
        """Apply what has triggered; True when the stream must end now (a disconnect)."""
        now = time.monotonic()
        for ident, fault in pending:
            t = self._trigger_time(fault)
            if t is None and fault.after_events is not None and self.events < fault.after_events:
                continue
            if t is not None and now < t:
                continue
            self.done.add(ident)
            if not self.book.claim(ident):
                continue  # another connection took its last use
            self.log.faults.append(AppliedFault(fault, time.monotonic() - self.pacing.t0, self.events))
            if fault.kind in ON_NEXT_EVENT:
                self.armed.append(fault)
            elif fault.kind is FaultKind.THROTTLE:
                assert fault.bytes_per_second is not None
                self.rate = fault.bytes_per_second * self.pacing.scale
                self.throttle_start, self.throttle_bytes = time.monotonic(), 0.0
            elif fault.kind is FaultKind.STALL:
                assert fault.seconds is not None
                deadline = time.monotonic() + fault.seconds / self.pacing.scale
                while not self.waiter.until(deadline):
                    pass  # a wake does not end a stall
            elif fault.kind is FaultKind.DISCONNECT:
                sent = time.monotonic() - self.pacing.t0
                self._write(self.writer.frame(DISCONNECT_LINE))
                self.log.note(LineKind.FAULT, math.nan, sent, sent, len(DISCONNECT_LINE))
                self.finish()
                return True
        return False

    def take_armed(self, kind: FaultKind) -> bool:
        for fault in self.armed:
            if fault.kind is kind:
                self.armed.remove(fault)
                return True
        return False

    # -- writing -------------------------------------------------------------------------
    def due(self, item: Item | Finish) -> float:
        if item.offset is None:
            return self.last_write + self.pacing.heartbeat / self.pacing.scale
        return self.pacing.at(item.offset)

    def head(self, status: int, reason: str, headers: tuple[tuple[str, str], ...]) -> None:
        self.writer.start(status, reason, headers)
        self.waiter.answered = True

    def send_items(self, items: list[Item]) -> None:
        """Recorded lines, one chunk each, in one write (`items` is emptied)."""
        parts: list[bytes] = []
        if self.writer.chunked:
            for item in items:
                parts += (b"%x\r\n" % len(item.raw), item.raw, b"\r\n")
        else:
            parts = [item.raw for item in items]
        now = time.monotonic()
        # noted before the write, and the lines let go: a write that waits on a slow reader holds
        # one copy of the batch, not two (a thousand streams at --speed max each hold one)
        self.events += self.log.note_items(items, self.pacing.speed, now - self.pacing.t0)
        items.clear()
        data = b"".join(parts)
        del parts
        self._write(data)
        self.last_write = time.monotonic()

    def push(self, data: bytes) -> None:
        """Bytes a test pushed: one chunk, written now, logged as pushed."""
        sent = time.monotonic() - self.pacing.t0
        self._write(self.writer.frame(data))
        self.log.note(LineKind.PUSHED, math.nan, sent, sent, len(data))
        self.last_write = time.monotonic()

    def keepalive(self, item: Item) -> None:
        due, now = self.due(item) - self.pacing.t0, time.monotonic()
        self._write(self.writer.frame(item.raw))
        self.log.note(LineKind.KEEPALIVE, math.nan, due, now - self.pacing.t0, len(item.raw))
        self.last_write = time.monotonic()

    def split(self, item: Item) -> None:
        """The line with its `\\r` and `\\n` in two chunks, two writes."""
        raw = item.raw
        cut = len(raw) - 1 if raw.endswith(b"\r\n") else len(raw) // 2
        now = time.monotonic()
        self._write(self.writer.frame(raw[:cut]))
        self._write(self.writer.frame(raw[cut:]))
        self.events += self.log.note_items([item], self.pacing.speed, now - self.pacing.t0)
        self.last_write = time.monotonic()

    def cut(self, item: Item) -> None:
        """Half of the line's chunk, then the connection is closed under it."""
        raw = item.raw
        head = b"%x\r\n" % len(raw) if self.writer.chunked else b""
        self._write(head + raw[: max(1, len(raw) // 2)])

    def finish(self) -> None:
        if self.writer.chunked:
            self._write(b"0\r\n\r\n")

    def _write(self, data: bytes) -> None:
        if self.rate is None:
            self._send(data)
            return
        # throttled: pieces of about 20 ms, each when the rate allows it
        piece = max(1, int(self.rate / 50))
        view = memoryview(data)
        for start in range(0, len(data), piece):
            deadline = self.throttle_start + self.throttle_bytes / self.rate
            while not self.waiter.until(deadline):
                pass
            chunk = view[start : start + piece]
            self._send(chunk)
            self.throttle_bytes += len(chunk)

    def _send(self, data: bytes | memoryview) -> None:
        if not self.waiter.holding:
            self.sock.sendall(data)
            return
        # with a turn: never block holding it (a slow reader would hold up every max-speed stream)
        view, sent = memoryview(data), 0
        while sent < len(view):
            try:
                sent += socket.socket.send(self.sock, view[sent:], socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                self.waiter.writable()


def run(streamer: Streamer, items: Iterator[Item | Finish], on_item: Callable[[Item | Finish | None], None]) -> End:
    """Serve `items` until the body ends; `on_item` is told the first item not yet sent as it changes."""
    waiter = streamer.waiter
    waiter.take_turn()
    try:
        return _run(streamer, items, on_item)
    finally:
        waiter.end_turn()


def _run(streamer: Streamer, items: Iterator[Item | Finish], on_item: Callable[[Item | Finish | None], None]) -> End:
    s, waiter, book = streamer, streamer.waiter, streamer.book
    speed, t0 = s.pacing.speed, s.pacing.t0
    ahead: list[Item | Finish | None] = []  # read ahead while nothing is due: no decoding between wake and write

    def take() -> Item | Finish | None:
        return ahead.pop() if ahead else next(items, None)

    nxt = take()
    on_item(nxt)
    while True:
        waiter.pass_turn()
        for data in waiter.pushed():
            s.push(data)
        pending = book.pending(s.done)
        if pending and s.apply_faults(pending):
            return End.COMPLETED
        if nxt is None:
            return End.COMPLETED
        if not ahead and isinstance(nxt, Item):
            ahead.append(next(items, None))
        due = s.due(nxt)
        fault_at = s.next_fault_time(pending) if pending else math.inf
        if fault_at < due:
            waiter.until(fault_at)
            continue
        if not waiter.until(due):
            continue  # woken: a fault may have been injected
        if isinstance(nxt, Finish):
            if nxt.clean:
                s.finish()
                return End.COMPLETED
            return End.DROPPED
        if nxt.offset is None:
            s.keepalive(nxt)
            continue
        if nxt.event and s.armed:
            if s.take_armed(FaultKind.DROP):
                s.cut(nxt)
                return End.DROPPED
            if s.take_armed(FaultKind.SPLIT):
                s.split(nxt)
                nxt = take()
                on_item(nxt)
                continue
        # what is already due leaves in one write (one chunk per line still), up to a fault's turn
        batch, size = [nxt], len(nxt.raw)
        limit = (s.event_limit(pending) if pending else 1 << 62) - nxt.event
        now = time.monotonic()
        nxt = take()
        while type(nxt) is Item and size < BATCH_BYTES and limit > 0:
            offset = nxt.offset
            if offset is None or (speed is not None and (t0 + offset / speed > now or t0 + offset / speed >= fault_at)):
                break
            batch.append(nxt)
            size += len(nxt.raw)
            limit -= nxt.event
            nxt = take()
        s.send_items(batch)
        on_item(nxt)
