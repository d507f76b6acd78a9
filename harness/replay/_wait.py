"""Waiting in a replayed stream: for a line's due time, a wake, a client's hang-up, or a turn at --speed max."""

from __future__ import annotations

import contextlib
import math
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator

COARSE = 0.002


class Vanished(Exception):
    """The client hung up."""


class Stopped(Exception):
    """The server is stopping."""


class Gate:
    """Turns for the streams at --speed max: at most `turns` of them run at once, first come first served.

    A thousand threads writing as fast as they can all want the interpreter lock between
    writes: a stream at 1x, due now, would wait its turn among them for a hundred
    milliseconds. Max-speed streams take turns instead, a batch each, and give their turn up
    whenever they would wait (a slow reader, a stall, a heartbeat), so that nobody waits on
    a stream that is itself waiting.
    """

    def __init__(self, turns: int = 2) -> None:
        self._free = turns
        self._lock = threading.Lock()
        self._queue: deque[threading.Lock] = deque()

    def enter(self) -> None:
        with self._lock:
            if self._free and not self._queue:
                self._free -= 1
                return
            ticket = threading.Lock()
            ticket.acquire()
            self._queue.append(ticket)
        ticket.acquire()  # released by the `leave` that hands this turn over

    def leave(self) -> None:
        with self._lock:
            if self._queue:
                self._queue.popleft().release()
            else:
                self._free += 1


class Waiter:
    """Sleeps until a monotonic deadline; wakes early for `wake()`, raises when the client hangs up or on stop.

    The client's socket is watched where it is, never through a duplicate descriptor: a
    duplicate shares the open file, and making it non-blocking would make every `sendall`
    to a slow reader fail half-way. Peeking uses MSG_DONTWAIT, a flag of the call alone.
    An end of file is how a client that hangs up is seen, except before the response head:
    a client may shut its write side once it has sent its request (HTTP allows it) and
    still read. Such a half-closed client is served; once it has gone for good, a write
    brings a reset, and that is noticed.
    """

    def __init__(self, sock: socket.socket, stopping: threading.Event, gate: Gate | None = None) -> None:
        self.stopping = stopping
        self._sock = sock
        self.answered = False  # the response head went out: an end of file is a hang-up now
        # turns at --speed max (`holding` while this stream has one); not for TLS, which cannot send without blocking
        self.gate = gate if type(sock) is socket.socket else None
        self.holding = False
        self._fd = sock.fileno()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)
        self._poll.register(self._wake_r.fileno(), select.POLLIN)
        self._out = select.poll()
        self._out.register(self._fd, select.POLLOUT)
        self._first = True
        self._pushed: list[bytes] = []
        self._pushed_lock = threading.Lock()

    def push(self, data: bytes) -> None:
        """Bytes for the stream to write at its next turn (from another thread), then a wake."""
        with self._pushed_lock:
            self._pushed.append(data)
        self.wake()

    def pushed(self) -> list[bytes]:
        """What was pushed since the last call, in order."""
        with self._pushed_lock:
            taken, self._pushed = self._pushed, []
        return taken

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # full (already woken) or closed
            self._wake_w.send(b"\0")

    def until(self, deadline: float) -> bool:
        """True once `deadline` has come, False when woken first."""
        if self._first:  # a write side shut with the request: seen at once, at any speed
            self._first = False
            for fd, mask in self._poll.poll(0):
                if fd == self._fd:
                    self._peer(mask)
        while True:
            if self.stopping.is_set():
                raise Stopped
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            if left <= COARSE:
                time.sleep(left)
                continue
            with self.aside():
                ready = self._poll.poll(math.ceil((left - COARSE) * 1000))
            for fd, mask in ready:
                if fd == self._fd:
                    self._peer(mask)
                else:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                    return False

    @contextlib.contextmanager
    def aside(self) -> Iterator[None]:
        """This stream's turn (if it has one) given up for the time of a wait."""
        gate = self.gate if self.holding else None
        if gate is None:
            yield
            return
        gate.leave()
        self.holding = False
        try:
            yield
        finally:
            gate.enter()
            self.holding = True

    def take_turn(self) -> None:
        if self.gate is not None and not self.holding:
            self.gate.enter()
            self.holding = True

    def pass_turn(self) -> None:
        """Let the next max-speed stream have a batch (this one queues again for its next).

        A client behind on its reading is waited for here, with no turn and no batch in hand:
        a thousand streams waiting on slow readers hold no memory to speak of.
        """
        if not self.holding:
            return
        if not self._out.poll(0):
            self.writable()
            return
        with self.aside():
            pass

    def end_turn(self) -> None:
        if self.gate is not None and self.holding:
            self.gate.leave()
            self.holding = False

    def writable(self) -> None:
        """Wait (without a turn) until the client's socket takes more bytes; raises on stop."""
        with self.aside():
            while not self._out.poll(500):
                if self.stopping.is_set():
                    raise Stopped

    def _peer(self, mask: int) -> None:
        if self.stopping.is_set():  # stop() shuts the socket down: that is no hang-up
            raise Stopped
        try:
            # the plain socket's recv, also under a TLS object: what a client sends now is not for us
            data = socket.socket.recv(self._sock, 65536, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            raise Vanished from None
        if data:
            return
        if mask & (select.POLLERR | select.POLLHUP) or self.answered:
            raise Vanished
        # an end of file before the answer: the client shut its write side and reads on;
        # from now on only an error or a hang-up (a reset after a write) tells that it has gone
        self._poll.modify(self._fd, 0)

    def close(self) -> None:
        for s in (self._wake_r, self._wake_w):
            s.close()
