"""The HTTP server both loopback servers stand on (`harness serve` and the replayer): one thread
per connection, with the limits a server facing hostile clients needs.

- a request head must arrive whole within `head_timeout` seconds (not per read: a client
  sending a byte now and then is cut off at the deadline all the same);
- at most `max_clients` connections are open; one more is answered at once with a 503
  Problem (`Retry-After: 1`) by the accepting thread, and never gets a thread of its own;
- log lines quote what clients send through `printable`, so control bytes cannot reach a
  terminal raw.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from harness._wire import Request, read_request, send_response

HEAD_TIMEOUT = 10.0  # seconds for a whole request head, however slowly its bytes come
MAX_CLIENTS = 1024  # open connections; one more is answered 503 at once
REFUSED_LINGER = 2.0  # seconds a refused connection is given to read its 503


def printable(text: str) -> str:
    """`text` fit for a log line: control and other non-printable characters escaped (`\\x1b`)."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    o = ord(m.group())
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def problem(status: int, title: str, detail: str) -> bytes:
    """An `about:blank` Problem body, as X answers 401, 404, 405 and 503."""
    return json.dumps({"title": title, "detail": detail, "type": "about:blank", "status": status}).encode()


class HeadReader(io.RawIOBase):
    """A socket's bytes for reading a request head, all of it due by `deadline` (time.monotonic()).

    A per-read timeout lets a client that sends a byte now and then hold a connection for
    ever; here every read waits only for what is left of the one deadline.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def left(self) -> float:
        """Seconds left; raises TimeoutError once the deadline has passed."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request head did not come in time")
        return left

    def readinto(self, buffer: Any) -> int:
        self.sock.settimeout(self.left())
        return self.sock.recv_into(buffer)


def head_reader(sock: socket.socket, timeout: float) -> BinaryIO:
    """A buffered `HeadReader` over `sock`, due `timeout` seconds from now."""
    return io.BufferedReader(HeadReader(sock, time.monotonic() + timeout))


@dataclass
class Client:
    """One accepted connection: `rfile` reads its request head (within the server's deadline)."""

    sock: socket.socket
    rfile: BinaryIO
    index: int
    peer: tuple[str, int]

    def read_request(self) -> Request | None:
        """The request head; the socket is blocking again afterwards (a stream's writes wait for slow readers)."""
        try:
            return read_request(self.rfile)
        finally:
            with contextlib.suppress(OSError):
                self.sock.settimeout(None)


Handler = Callable[[Client], None]


class LoopbackHTTPServer:
    """A threaded TCP server on 127.0.0.1: one thread per connection runs `handler`.

    Accepted sockets get TCP_NODELAY so that each line leaves at once. `close()` stops
    accepting and shuts every open connection down, so streaming handlers end promptly.
    Limits: each client's `rfile` gives its request head `head_timeout` seconds in all
    (then a read raises TimeoutError); beyond `max_clients` open connections, a new one is
    answered 503 at once, without a thread, and closed.
    """

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0, *,
                 head_timeout: float = HEAD_TIMEOUT, max_clients: int = MAX_CLIENTS) -> None:  # fmt: skip
        if not head_timeout > 0:
            raise ValueError(f"head_timeout: expected seconds > 0, found {head_timeout}")
        if max_clients < 1:
            raise ValueError(f"max_clients: expected a count >= 1, found {max_clients}")
        self.handler = handler
        self.head_timeout, self.max_clients = head_timeout, max_clients
        self._listener = socket.create_server((host, port), backlog=min(1024, socket.SOMAXCONN))
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()[:2]
        self.stopping = threading.Event()
        self._clients: dict[int, Client] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._accepter: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._refused: dict[socket.socket, float] = {}  # answered 503, given time to read it
        self.connections = 0
        self.refused = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._clients)

    def start(self) -> LoopbackHTTPServer:
        if self._accepter is None:
            self._accepter = threading.Thread(target=self._accept_loop, name=f"loopback:{self.port}", daemon=True)
            self._accepter.start()
        return self

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ, None)
            selector.register(self._wake_r, selectors.EVENT_READ, None)
            while not self.stopping.is_set():
                for key, _ in selector.select(0.5):
                    if key.fileobj is self._listener:
                        self._accept_some(selector)
                    elif key.fileobj is not self._wake_r:
                        self._drain(selector, key.fileobj)  # type: ignore[arg-type]
                self._expire(selector)
            for sock in list(self._refused):
                self._drop(selector, sock)

    def _accept_some(self, selector: selectors.BaseSelector) -> None:
        for _ in range(64):  # a burst, then the others get a turn
            try:
                sock, peer = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of descriptors, say: the listener stays ready, so do not spin on it
                self.stopping.wait(0.05)
                return
            with self._lock:
                full = len(self._clients) >= self.max_clients
            if full:
                self._refuse(selector, sock)
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                client = Client(sock, head_reader(sock, self.head_timeout), self.connections, peer)
                self.connections += 1
                self._clients[client.index] = client
                thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _refuse(self, selector: selectors.BaseSelector, sock: socket.socket) -> None:
        """A 503 Problem, the write side shut, and the socket kept (without a thread) until the
        client has read it: closing at once over an unread request would reset the connection
        and could lose the answer."""
        self.refused += 1
        detail = f"this server has {self.max_clients} connections open, its limit: retry later"
        body = problem(503, "Service Unavailable", detail)
        head = (("Content-Type", "application/json; charset=utf-8"), ("Retry-After", "1"))
        try:
            sock.setblocking(False)
            send_response(sock, 503, "Service Unavailable", head, body)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        if len(self._refused) >= self.max_clients:  # bounded too: the oldest goes
            self._drop(selector, next(iter(self._refused)))
        self._refused[sock] = time.monotonic() + REFUSED_LINGER
        selector.register(sock, selectors.EVENT_READ, None)

    def _drain(self, selector: selectors.BaseSelector, sock: socket.socket) -> None:
        try:
            if sock.recv(65536):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._drop(selector, sock)

    def _expire(self, selector: selectors.BaseSelector) -> None:
        now = time.monotonic()
        for sock in [s for s, until in self._refused.items() if until <= now]:
            self._drop(selector, sock)

    def _drop(self, selector: selectors.BaseSelector, sock: socket.socket) -> None:
        self._refused.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(sock)
        sock.close()

    def _serve(self, client: Client) -> None:
        try:
            self.handler(client)
        except OSError:
            pass  # the peer went away mid-response: nothing to tell anyone
        finally:
            with self._lock:
                self._clients.pop(client.index, None)
            _close(client.sock)

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, end every connection, wait for the handlers."""
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")
        if self._accepter is not None:
            self._accepter.join(timeout)
        self._listener.close()
        with self._lock:
            clients, threads = list(self._clients.values()), list(self._threads)
        for client in clients:
            _close(client.sock)
        for thread in threads:
            thread.join(timeout)
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> LoopbackHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the peer may have closed first
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
