"""Hostile loopback servers for the recorder's tests: each connection runs one misbehaving script.

    with Hostile(stream(b'{"data":{}}\\r\\n', end="close")) as server:
        ... record server.base_url + "/2/tweets/search/stream" ...

Connection i runs `scripts[i]` (the last script repeats), after the request head was read.
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import gzip as gzip_module
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from harness._wire import LAST_CHUNK, STREAM_HEADERS, BadRequest, Request, encode_chunk, response_head
from harness.replay._http_server import Client, LoopbackHTTPServer

Script = Callable[["Hostile", socket.socket], None]
STREAM_HEAD = response_head(200, "OK", STREAM_HEADERS)
SEARCH = "/2/tweets/search/stream"
EVENT = b'{"data":{"id":"1","text":"hi","edit_history_tweet_ids":["1"]},"matching_rules":[{"id":"2","tag":"t"}]}\r\n'


class Hostile:
    """A loopback server whose connections run the given scripts in turn."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = scripts
        self.requests: list[Request] = []
        self.http = LoopbackHTTPServer(self._handle)

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def stopping(self) -> threading.Event:
        return self.http.stopping

    def _handle(self, client: Client) -> None:
        try:
            request = client.read_request()
        except BadRequest:  # a TLS handshake, say: the script answers anyway
            request = None
        if request is not None:
            self.requests.append(request)
        self.scripts[min(client.index, len(self.scripts) - 1)](self, client.sock)

    def __enter__(self) -> Hostile:
        self.http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()


def stream(*lines: bytes, end: str = "clean", gap: float = 0.0, head: bytes = STREAM_HEAD) -> Script:
    """A chunked stream of `lines`, one chunk each; then `end`: clean, close or stall."""

    def script(server: Hostile, sock: socket.socket) -> None:
        sock.sendall(head)
        for line in lines:
            sock.sendall(encode_chunk(line))
            if gap:
                server.stopping.wait(gap)
        if end == "clean":
            sock.sendall(LAST_CHUNK)
        elif end == "stall":
            server.stopping.wait(30)

    return script


def forever(line: bytes = EVENT, gap: float = 0.01) -> Script:
    """A chunked stream repeating `line` every `gap` seconds until the server closes."""

    def script(server: Hostile, sock: socket.socket) -> None:
        sock.sendall(STREAM_HEAD)
        while not server.stopping.wait(gap):
            sock.sendall(encode_chunk(line))

    return script


def raw(data: bytes, *, stall: bool = False) -> Script:
    """Exactly these bytes, then close (or stall)."""

    def script(server: Hostile, sock: socket.socket) -> None:
        sock.sendall(data)
        if stall:
            server.stopping.wait(30)

    return script


def pieces(body: bytes, chunks: Sequence[int], writes: Sequence[int], *, terminate: bool = True) -> Script:
    """`body` chunked at the `chunks` boundaries and written to the socket in `writes` pieces."""
    cuts = sorted({c for c in chunks if 0 < c < len(body)})
    framed = b"".join(encode_chunk(body[a:b]) for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True) if b > a)
    wire = STREAM_HEAD + framed + (LAST_CHUNK if terminate else b"")
    splits = sorted({w for w in writes if 0 < w < len(wire)})

    def script(server: Hostile, sock: socket.socket) -> None:
        for a, b in zip([0, *splits], [*splits, len(wire)], strict=True):
            sock.sendall(wire[a:b])

    return script


def respond(status: int, reason: str, body: bytes, headers: Sequence[tuple[str, str]] = ()) -> Script:
    """A whole response with a Content-Length."""

    def script(server: Hostile, sock: socket.socket) -> None:
        head = response_head(status, reason, [*headers, ("Content-Length", str(len(body)))])
        sock.sendall(head + body)

    return script


def gzip_stream(*lines: bytes) -> Script:
    """A gzip-encoded chunked stream, sync-flushed per line as X does."""
    head = response_head(200, "OK", [*STREAM_HEADERS, ("Content-Encoding", "gzip")])

    def script(server: Hostile, sock: socket.socket) -> None:
        import zlib

        z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        sock.sendall(head)
        for line in lines:
            sock.sendall(encode_chunk(z.compress(line) + z.flush(zlib.Z_SYNC_FLUSH)))
        sock.sendall(encode_chunk(z.flush()) + LAST_CHUNK)

    return script


def echo_secrets() -> Script:
    """A stream that echoes the request's Authorization header, and sets a cookie holding it."""

    def script(server: Hostile, sock: socket.socket) -> None:
        auth = server.requests[-1].header("Authorization") or ""
        head = response_head(200, "OK", [*STREAM_HEADERS, ("Set-Cookie", f"session={auth}")])
        sock.sendall(head)
        sock.sendall(encode_chunk(b'{"data":{"id":"1","text":"%b"}}\r\n' % auth.encode()))
        sock.sendall(LAST_CHUNK)

    return script


def gzip_bomb(block: bytes, repeats: int) -> Script:
    """A gzip'd chunked stream of `block` `repeats` times, cheap to make at any size: after a
    full flush, compressing the same block again gives the same bytes, sent again and again."""
    head = response_head(200, "OK", [*STREAM_HEADERS, ("Content-Encoding", "gzip")])

    def script(server: Hostile, sock: socket.socket) -> None:
        import zlib

        z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        first = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
        again = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
        sock.sendall(head + encode_chunk(first))
        for _ in range(repeats - 1):
            sock.sendall(encode_chunk(again))
        sock.sendall(LAST_CHUNK)

    return script


def trickle(data: bytes, gap: float) -> Script:
    """`data` a byte at a time, `gap` seconds apart (a response head that never quite arrives)."""

    def script(server: Hostile, sock: socket.socket) -> None:
        for i in range(len(data)):
            sock.sendall(data[i : i + 1])
            if server.stopping.wait(gap):
                return

    return script


def echo(make: Callable[[str], bytes]) -> Script:
    """Whatever `make` builds from the bearer token the request carried, then close."""

    def script(server: Hostile, sock: socket.socket) -> None:
        sock.sendall(make(server.requests[-1].bearer() or ""))

    return script


@contextlib.contextmanager
def blackhole() -> Iterator[str]:
    """A loopback URL whose connection attempts hang: a listener with a full accept queue."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers: list[socket.socket] = []
    try:
        for _ in range(16):
            s = socket.socket()
            s.settimeout(0.2)
            fillers.append(s)
            try:
                s.connect(listener.getsockname())
            except (TimeoutError, BlockingIOError):
                break
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        for s in fillers:
            s.close()
        listener.close()


def gzipped(data: bytes) -> bytes:
    return gzip_module.compress(data)


CLI = """
import sys
from harness.cli import main
from harness.cli.stream import COMMANDS
for command in COMMANDS:
    if command.name not in main.commands:
        main.add_command(command)
main(sys.argv[1:])
"""


def cli_argv(*args: Any) -> list[str]:
    """A `harness` command line for a subprocess (works before the commands are registered too)."""
    return [sys.executable, "-c", CLI, *map(str, args)]
