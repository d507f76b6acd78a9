"""The replayer against hostile and awkward peers: slow readers, half-closed and HTTP/1.0 clients,
slow request heads, too many connections, a flood of bearer tokens. All over real sockets."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from harness.cassette import CloseReason
from harness.replayer import End, ReplayServer
from tests.test_replayer import cassette, event_line, events, target

TARGET = "/2/tweets/search/stream"


def request(token: str = "t", version: str = "HTTP/1.1", target: str = TARGET) -> bytes:
    return f"GET {target} {version}\r\nHost: api.x.com\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


def read_all(sock: socket.socket) -> bytes:
    out = bytearray()
    while data := sock.recv(1 << 16):
        out += data
    return bytes(out)


def dechunk(body: bytes) -> tuple[list[bytes], bool]:
    """The chunks' payloads, and whether the last chunk came."""
    out, pos = [], 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return out, False
        size = int(body[pos:eol], 16)
        if size == 0:
            return out, body[eol + 2 : eol + 4] == b"\r\n"
        start = eol + 2
        if len(body) < start + size + 2:
            return out, False
        out.append(body[start : start + size])
        pos = start + size + 2


def big_lines(n: int) -> list[tuple[float, bytes]]:
    pad = "x" * 2000
    return [(0.1 + 0.001 * i, event_line(i).replace(b'"text":"', f'"text":"{pad}'.encode(), 1)) for i in range(n)]


def test_a_slow_reader_at_speed_max_gets_every_byte_in_order(tmp_path: Path) -> None:
    lines = big_lines(4000)  # 8 MB: far more than the socket buffers hold
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 10.0))
    messages: list[str] = []
    with ReplayServer([path], speed=None, on_message=messages.append) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(request())
        time.sleep(3)  # busy: reads nothing while the server has everything due
        assert not server.log[0].finished.is_set()
        assert not any("vanished" in m for m in messages)  # the client is there all along
        data = read_all(sock)
        sock.close()
        assert server.log[0].finished.wait(3)
        assert server.log[0].end is End.COMPLETED and not server.log[0].vanished
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert dechunk(body) == ([raw for _, raw in lines], True)


def test_a_client_that_shuts_its_write_side_after_the_request_is_served(tmp_path: Path) -> None:
    lines = events(0, 5, gap=0.05)
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 0.4))
    for speed in (None, 5.0):
        with ReplayServer([path], speed=speed) as server:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(request(target=target(server, "search-stream")))
                sock.shutdown(socket.SHUT_WR)
                data = read_all(sock)
            assert server.log[0].finished.wait(3)
            assert server.log[0].end is End.COMPLETED
        body = data.partition(b"\r\n\r\n")[2]
        assert dechunk(body) == ([raw for _, raw in lines], True), speed


def test_a_client_that_hangs_up_is_still_noticed_at_once(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 1), CloseReason.CLIENT_STOPPED, 0.2))
    with ReplayServer([path], speed=None, heartbeat=600) as server:  # nothing to write for 10 minutes
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(request())
        data = b""
        while event_line(0) not in data:
            data += sock.recv(65536)
        sock.close()
        assert server.log[0].finished.wait(3)
        assert server.log[0].end is End.VANISHED
