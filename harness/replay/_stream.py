"""One replayed stream: lines paced against a monotonic clock, faults applied, all of it logged.

Each line is due at `t0 + offset / speed`, `t0` being the request's arrival, so lateness
never accumulates. Waiting is coarse (a selector that also notices a client hanging up
and a wake from `stop()` or `inject()`) until the last two milliseconds, then a plain
sleep, which on Linux wakes within tens of microseconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import socket
import struct
import termios
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from harness._wire import BATCH_BYTES, ChunkedWriter, response_head
from harness.replay._clock import Pacing
from harness.replay._payloads import (
    BAD_CHUNK_SIZE,
    CORRUPT_DEFLATE,
    DISCONNECT_LINE,
    FORCE_DISCONNECT_LINE,
    GARBAGE_LINE,
)
from harness.replay._recorded import Item
from harness.replay._wait import Waiter
from harness.replay.faults import ON_NEXT_EVENT, Fault, FaultBook, FaultKind
from harness.replay.log import AppliedFault, ConnectionLog, End, LineKind

RESET_DRAIN = 1.0  # seconds a reset waits for what was written to be taken (a reset drops the rest)


class Finish(NamedTuple):
    """The end of the body at `offset`: clean (last chunk) or not (the connection cut)."""

    offset: float
    clean: bool
    serial: int


#: The filter of the moment (None: every line goes as recorded), asked once per write: it maps an
#: event line to the line to send (rewritten or not), or None (held back).
Select = Callable[[], "Callable[[bytes], bytes | None] | None"]


class Streamer:
    """Writes one stream's items, applying the server's faults as they trigger.

    `select` (the filtered stream's rules) is asked about each event line as it is sent, so a
    change of rules applies at once; while it holds every event back, the stream still gets a
    heartbeat after each heartbeat interval of silence, as the live API sends.
    """

    def __init__(self, sock: socket.socket, waiter: Waiter, pacing: Pacing, faults: FaultBook,
                 log: ConnectionLog, chunked: bool = True, select: Select | None = None) -> None:  # fmt: skip
        self.sock, self.waiter, self.pacing, self.book, self.log = sock, waiter, pacing, faults, log
        self.writer = ChunkedWriter(sock, chunked=chunked)  # unchunked for HTTP/1.0: the body ends with the connection
        self.done: set[int] = set()
        self.armed: list[Fault] = []  # drop/split waiting for the next event line
        self.rate: float | None = None  # throttle, wall bytes/s
        self.throttle_start = self.throttle_bytes = 0.0
        self.last_write = pacing.t0
        self.events = 0
        self.select = select
        self.zip: Any = None  # a gzip body (a badgzip fault was pending at the head)

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

    def claim(self, ident: int, fault: Fault) -> bool:
        """Take a use of the fault for this connection and log it; False when another took the last one."""
        self.done.add(ident)
        if not self.book.claim(ident):
            return False
        self.log.faults.append(AppliedFault(fault, time.monotonic() - self.pacing.t0, self.events))
        return True

    def apply_faults(self, pending: list[tuple[int, Fault]]) -> End | None:
        """Apply what has triggered; how the stream ends when it must end now."""
        now = time.monotonic()
        for ident, fault in pending:
            t = self._trigger_time(fault)
            if t is None and fault.after_events is not None and self.events < fault.after_events:
                continue
            if t is not None and now < t:
                continue
            if fault.kind is FaultKind.SLOWHEAD or (fault.kind is FaultKind.BADGZIP and self.zip is None):
                self.done.add(ident)  # the head has gone (or went out without gzip): not for this connection
                continue
            if not self.claim(ident, fault):
                continue  # another connection took its last use
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
                self.disconnect(DISCONNECT_LINE)
                return End.COMPLETED
            elif fault.kind is FaultKind.GARBAGE:
                sent = time.monotonic() - self.pacing.t0
                self._write(self.frame(GARBAGE_LINE))
                self.log.note(LineKind.FAULT, math.nan, sent, sent, len(GARBAGE_LINE))
            elif fault.kind is FaultKind.RESET:
                self.reset()
                return End.DROPPED
            elif fault.kind is FaultKind.UNFINISHED:
                return End.DROPPED  # closed by the server with no last chunk
        return None

    def disconnect(self, payload: bytes) -> None:
        """A disconnect payload, then the body's end: how the server ends a stream it means to end."""
        sent = time.monotonic() - self.pacing.t0
        self._write(self.frame(payload))
        self.log.note(LineKind.FAULT, math.nan, sent, sent, len(payload))
        self.finish()

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
        """The response head: gzip-encoded when a badgzip fault is pending and the client takes gzip,
        trickled out by a slowhead fault."""
        pending = self.book.pending(self.done)
        if any(f.kind is FaultKind.BADGZIP for _, f in pending):
            if self.log.gzip:
                self.zip = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
                headers = (*headers, ("Content-Encoding", "gzip"))
            else:  # nothing to corrupt: the fault waits for a connection that asks for gzip
                self.done.update(i for i, f in pending if f.kind is FaultKind.BADGZIP)
        slow = [(i, f) for i, f in pending if f.kind is FaultKind.SLOWHEAD]
        fault = next((f for i, f in slow if self.claim(i, f)), None)
        self.done.update(i for i, _ in slow)
        if fault is None:
            self.writer.start(status, reason, headers)
        else:
            assert fault.seconds is not None
            kept = headers if self.writer.chunked else tuple(h for h in headers if h[0].lower() != "transfer-encoding")
            self.slow_head(response_head(status, reason, kept), fault.seconds / self.pacing.scale)
        self.waiter.answered = True

    def selected(self, items: list[Item]) -> bool:
        """`items` as `select` lets them out (in place); False when none is left."""
        assert self.select is not None
        select = self.select()
        if select is None:
            return True
        kept: list[Item] = []
        for item in items:
            raw = select(item.raw) if item.event else item.raw
            if raw is not None:
                kept.append(item if raw is item.raw else Item(item.offset, raw, True, *item[3:]))
        items[:] = kept
        if kept:
            return True
        if time.monotonic() >= self.last_write + self.pacing.heartbeat / self.pacing.scale:
            self.keepalive(Item(None, b"\r\n", False, -1, -1, 0, math.nan))
        return False

    def slow_head(self, head: bytes, seconds: float) -> None:
        """The head a line at a time, the first at once, the last `seconds` later."""
        pieces = head.splitlines(keepends=True)
        gap, start = seconds / max(1, len(pieces) - 1), time.monotonic()
        for n, piece in enumerate(pieces):
            while not self.waiter.until(start + n * gap):
                pass  # a wake does not hurry it
            self._send(piece)

    def encode(self, raw: bytes) -> bytes:
        return raw if self.zip is None else self.zip.compress(raw) + self.zip.flush(zlib.Z_SYNC_FLUSH)

    def frame(self, raw: bytes) -> bytes:
        return self.writer.frame(self.encode(raw))

    def send_items(self, items: list[Item]) -> None:
        """Recorded lines, one chunk each, in one write (`items` is emptied)."""
        if self.select is not None and not self.selected(items):
            return
        parts: list[bytes] = []
        if self.zip is not None:
            parts = [self.frame(item.raw) for item in items]
        elif self.writer.chunked:
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

    def keepalive(self, item: Item, kind: LineKind = LineKind.KEEPALIVE) -> None:
        due, now = self.due(item) - self.pacing.t0, time.monotonic()
        self._write(self.frame(item.raw))
        self.log.note(kind, math.nan, due, now - self.pacing.t0, len(item.raw))
        self.last_write = time.monotonic()

    def split(self, item: Item) -> None:
        """The line with its `\\r` and `\\n` in two chunks, two writes."""
        if self.select is not None:
            batch = [item]
            if not self.selected(batch):
                return
            item = batch[0]
        raw = item.raw
        cut = len(raw) - 1 if raw.endswith(b"\r\n") else len(raw) // 2
        now = time.monotonic()
        self._write(self.frame(raw[:cut]))
        self._write(self.frame(raw[cut:]))
        self.events += self.log.note_items([item], self.pacing.speed, now - self.pacing.t0)
        self.last_write = time.monotonic()

    def cut(self, item: Item) -> None:
        """Half of the line's chunk, then the connection is closed under it."""
        raw = self.encode(item.raw)
        head = b"%x\r\n" % len(raw) if self.writer.chunked else b""
        self._write(head + raw[: max(1, len(raw) // 2)])

    def break_line(self, item: Item) -> End | None:
        """The next event line as an armed drop, badchunk or badgzip breaks it (the stream ends)."""
        if self.take_armed(FaultKind.DROP):
            self.cut(item)
        elif self.take_armed(FaultKind.BADCHUNK):
            if self.writer.chunked:
                self._write(BAD_CHUNK_SIZE + self.encode(item.raw) + b"\r\n")
            else:
                self.cut(item)  # no chunks to break: the line is cut
        elif self.take_armed(FaultKind.BADGZIP):
            self._write(self.writer.frame(CORRUPT_DEFLATE))
        else:
            return None
        return End.DROPPED

    def reset(self) -> None:
        """The connection reset: what was written is given a moment to be taken (a reset drops
        what the peer has not acknowledged), then the socket closed with a zero linger: an RST."""
        deadline = time.monotonic() + RESET_DRAIN
        with contextlib.suppress(OSError), self.waiter.aside():  # no max-speed turn held meanwhile
            while _unacknowledged(self.sock) and time.monotonic() < deadline:
                time.sleep(0.001)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # closed now, whoever else holds the socket object (a buffered reader keeps it open otherwise)
        os.close(self.sock.detach())

    def finish(self) -> None:
        tail = self.zip.flush(zlib.Z_FINISH) if self.zip is not None else b""
        if tail:
            self._write(self.writer.frame(tail))
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
        for data in waiter.pushed():  # ReplayServer.push
            s.keepalive(Item(None, data, True, -1, -1, 0, math.nan), LineKind.PUSHED)
        if s.log.killed:
            s.disconnect(FORCE_DISCONNECT_LINE)
            return End.COMPLETED
        pending = book.pending(s.done)
        if pending and (end := s.apply_faults(pending)) is not None:
            return end
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
            if (end := s.break_line(nxt)) is not None:
                return end
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


def _unacknowledged(sock: socket.socket) -> int:
    """Bytes written to `sock` the peer has not acknowledged yet (Linux's SIOCOUTQ)."""
    out = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return int(struct.unpack("i", out)[0])
