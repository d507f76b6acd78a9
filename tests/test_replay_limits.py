"""The replayer against hostile and awkward peers: slow readers, half-closed and HTTP/1.0 clients,
slow request heads, too many connections, a flood of bearer tokens. All over real sockets."""

from __future__ import annotations

import json
import math
import select
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_replayer import cassette, cli_argv, event_line, events, ready_info, target

from harness.cassette import CloseReason
from harness.contract.checker import Contract
from harness.replay.loopback import LoopbackServer, ServeOptions
from harness.replay.server import End, ReplayServer

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

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
    out: list[bytes] = []
    pos = 0
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
                # corked: the request and the FIN leave together, as from a client that shuts its
                # write side with its request (in this process the server's thread could answer
                # between the two calls, and an end of file after the answer is a hang-up)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
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


def test_tokens_are_remembered_as_digests_in_a_bounded_table(tmp_path: Path) -> None:
    lines = events(0, 2)
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 0.5),
                    (events(2, 2), CloseReason.SERVER_CLOSED, 0.5))  # fmt: skip
    with ReplayServer([path], speed=None, on_end="close", consumers=20) as server:
        tokens = [f"{i:05d}" + "k" * 60_000 for i in range(150)]  # 9 MB of tokens in all
        for token in tokens:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(request(token))
                assert read_all(sock).startswith(b"HTTP/1.1 200")
            assert server.consumers <= 20
        assert all(log.finished.wait(3) for log in server.log)
        table = server._cursors
        assert len(table) == 20 and all(len(key) == 16 for key in table)
        # the latest consumers still have their place: the next connection gets the next recording
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request(tokens[-1]))
            body = read_all(sock).partition(b"\r\n\r\n")[2]
        assert dechunk(body) == ([raw for _, raw in events(2, 2)], True)
        # and one forgotten starts over, as a new consumer does
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request(tokens[0]))
            body = read_all(sock).partition(b"\r\n\r\n")[2]
        assert dechunk(body) == ([raw for _, raw in lines], True)


def servers(tmp_path: Path, **limits: Any) -> Iterator[tuple[str, Any, list[str]]]:
    """The replayer and the loopback source, both with `limits` (request_timeout, max_clients)."""
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 3), CloseReason.SERVER_CLOSED, 0.5))
    messages: list[str] = []
    with ReplayServer([path], speed=None, on_end="close", on_message=messages.append, **limits) as replay:
        yield "replay", replay, messages
    messages = []
    with LoopbackServer(ServeOptions(rate=math.inf, max_events=3, seed=1), log=messages.append, **limits) as loop:
        yield "loopback", loop, messages


def test_a_request_head_sent_a_byte_at_a_time_is_cut_off_at_the_deadline(tmp_path: Path) -> None:
    for name, server, messages in servers(tmp_path, request_timeout=1.0):
        head = request()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            started, sent = time.monotonic(), 0
            try:
                for byte in head:  # 0.25 s a byte: under any per-read timeout, 20 s for the whole head
                    sock.sendall(bytes([byte]))
                    sent += 1
                    time.sleep(0.25)
                    if time.monotonic() - started > 4:
                        break
                answer = sock.recv(100)
            except ConnectionError:
                answer = b""
        assert sent < len(head), name  # cut off before the head was complete
        assert answer == b"", name  # closed, nothing sent: there is no request to answer
        if name == "replay":
            assert server.log[0].finished.wait(3)
            assert server.log[0].end is End.INVALID
        assert any("request" in m and ("time" in m or "no complete" in m) for m in messages), (name, messages)


def test_connections_beyond_the_cap_get_a_503_problem_and_the_server_carries_on(tmp_path: Path) -> None:
    for name, server, _ in servers(tmp_path, max_clients=3):
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(3)]
        time.sleep(0.3)  # accepted
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(request())
                answer = read_all(sock)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503 Service Unavailable"), (name, answer[:200])
            problem = json.loads(body)
            assert problem["status"] == 503 and problem["type"] == "about:blank"
            assert "3 connections" in problem["detail"]
            assert Contract().check_problem(problem) == []
        for sock in idle:
            sock.close()
        deadline = time.monotonic() + 5
        while server._http.open_connections and time.monotonic() < deadline:
            time.sleep(0.02)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request(target=TARGET))
            assert read_all(sock).startswith(b"HTTP/1.1 200"), name
        assert server._http.refused == 2


def test_http10_clients_get_a_close_delimited_body_and_http11_ones_chunks(tmp_path: Path) -> None:
    lines = [raw for _, raw in events(0, 3)]
    for name, server, _ in servers(tmp_path):
        bodies = {}
        for version in ("HTTP/1.0", "HTTP/1.1"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(request(token=version, version=version))  # each its own consumer
                head, _, bodies[version] = read_all(sock).partition(b"\r\n\r\n")
            chunked = b"transfer-encoding: chunked" in head.lower()
            assert chunked is (version == "HTTP/1.1"), (name, version, head)
            assert b"content-length" not in head.lower()
        chunks, clean = dechunk(bodies["HTTP/1.1"])
        assert clean
        if name == "replay":
            assert chunks == lines
            assert bodies["HTTP/1.0"] == b"".join(lines)
        else:  # synthetic events: the same ones, framed or not
            assert bodies["HTTP/1.0"] == b"".join(chunks) and len(chunks) == 3


def test_control_bytes_in_a_request_target_are_escaped_in_the_log(tmp_path: Path) -> None:
    for name, server, messages in servers(tmp_path):
        evil = TARGET + "?\x1b[2J\x1b]0;owned\x07\x7f\x9b"
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(f"GET {evil} HTTP/1.1\r\nAuthorization: Bearer t\r\n\r\n".encode("latin-1"))
            assert read_all(sock).startswith(b"HTTP/1.1 400")
        deadline = time.monotonic() + 3
        while not any("owned" in m for m in messages) and time.monotonic() < deadline:
            time.sleep(0.02)
        logged = "\n".join(messages)
        assert "\\x1b[2J\\x1b]0;owned\\x07\\x7f\\x9b" in logged, (name, logged)
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in logged.replace("\n", "")), name


@pytest.mark.parametrize("command", ["replay", "serve"])
def test_cli_limits_are_options(tmp_path: Path, command: str) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 3), CloseReason.SERVER_CLOSED, 0.5))
    ready = tmp_path / "ready.json"
    source = [path, "--speed", "max"] if command == "replay" else ["--rate", 10]
    argv = cli_argv(command, *source, "--ready-file", ready, "--max-clients", 1, "--request-timeout", 0.5)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = ready_info(ready)["port"]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(request())
                assert read_all(sock).startswith(b"HTTP/1.1 503")
            assert idle.recv(10) == b""  # then the deadline closed the idle one
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "no complete request" in err


def test_clients_that_read_nothing_at_speed_max_hold_up_no_one(tmp_path: Path) -> None:
    lines = big_lines(1500)  # 3 MB: more than a socket's buffers, so the idle clients' writes wait
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 10.0))
    with ReplayServer([path], speed=None, on_end="close") as server:
        idle = []
        for i in range(4):  # more than the turns max-speed streams take at once
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", server.port))
            sock.sendall(request(f"idle{i}"))
            idle.append(sock)
        assert server.wait_connections(4, 5)
        time.sleep(0.5)  # every idle stream is stuck on its full socket by now
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            sock.sendall(request("busy"))
            data = read_all(sock)  # times out if the idle streams kept their turns
        assert dechunk(data.partition(b"\r\n\r\n")[2]) == ([raw for _, raw in lines], True)
        for sock in idle:  # and the idle ones, once they read, get it all too
            assert dechunk(read_all(sock).partition(b"\r\n\r\n")[2]) == ([raw for _, raw in lines], True)
            sock.close()


def test_the_loopback_source_waits_for_a_slow_reader_past_the_head_deadline(tmp_path: Path) -> None:
    with LoopbackServer(ServeOptions(rate=math.inf, max_events=3000, seed=1), request_timeout=0.5) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(request())
        time.sleep(1.5)  # reads nothing for three head deadlines: the writes must wait, not time out
        data = read_all(sock)
        sock.close()
    chunks, clean = dechunk(data.partition(b"\r\n\r\n")[2])
    assert clean and len(chunks) == 3000


def test_a_tls_handshake_dripped_a_byte_at_a_time_is_cut_off_at_the_deadline(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 2), CloseReason.SERVER_CLOSED, 0.5))
    client = ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), out := ssl.MemoryBIO(), server_hostname="api.x.com")
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    hello = out.read()  # the ClientHello, a few hundred bytes
    messages: list[str] = []
    with ReplayServer([path], proxy=True, request_timeout=1.0, on_message=messages.append) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"CONNECT api.x.com:443 HTTP/1.1\r\nHost: api.x.com:443\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
            started, closed = time.monotonic(), False
            for byte in hello:  # 0.2 s a byte: under any per-read timeout, a minute for the whole hello
                try:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.2)
                    if select.select([sock], [], [], 0)[0] and not sock.recv(100):
                        closed = True
                except ConnectionError:
                    closed = True
                if closed or time.monotonic() - started > 6:
                    break
        assert closed  # the server gave up on it at its deadline (CPython's handshake timeout is one deadline)
        assert server.log[0].finished.wait(3)
        assert server.log[0].end is End.INVALID and "TLS handshake" in (server.log[0].error or "")


def test_a_consumer_reconnecting_the_instant_it_is_cut_resumes_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # xdk reconnects as soon as it reads the disconnect payload, before the server has closed
    # the connection and noted where it stopped. Slowing that handler down (as a loaded
    # machine does) must not let the reconnection start past the end of the recording.
    import harness.replay.server as server_module
    from harness.replay._wait import Waiter

    class SlowToClose(Waiter):
        def close(self) -> None:
            time.sleep(0.5)
            super().close()

    monkeypatch.setattr(server_module, "Waiter", SlowToClose)
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 6), CloseReason.CLIENT_STOPPED, 0.7))
    with ReplayServer([path], speed=None, faults=["disconnect@2"], on_end="close") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as first:
            first.sendall(request())
            cut = b""
            while b"operational-disconnect" not in cut:
                cut += first.recv(1 << 16)
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as second:
                second.sendall(request())  # while the first is still open
                rest = read_all(second)
        logs = list(server.log)
    assert b"operational-disconnect" in cut
    body = rest.split(b"\r\n\r\n", 1)[1]
    lines, ended = dechunk(body)
    assert ended and [json.loads(line)["data"]["id"] for line in lines if line.strip()] == ["2", "3", "4", "5"]
    assert logs[1].resumed_at == 2


def test_a_connection_that_fails_to_start_does_not_hold_up_the_consumers_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # e.g. out of file descriptors when its waiter is made: the consumer's next connection must
    # not wait for a resume point that will never be noted
    import harness.replay._plan as plan_module
    import harness.replay.server as server_module
    from harness.replay._wait import Waiter

    failures = [OSError(24, "Too many open files")]

    def waiter(*args: Any) -> Waiter:
        if failures:
            raise failures.pop()
        return Waiter(*args)

    monkeypatch.setattr(server_module, "Waiter", waiter)
    monkeypatch.setattr(plan_module, "CLAIM_WAIT", 600.0)  # a leaked claim would block the next one this long
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 3), CloseReason.SERVER_CLOSED, 0.4))
    with ReplayServer([path], speed=None) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as first:
            first.sendall(request())
            assert read_all(first) == b""  # closed, not served
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as second:
            second.sendall(request())
            body = read_all(second).partition(b"\r\n\r\n")[2]  # a socket timeout here: the claim leaked
    assert dechunk(body)[0] == [event_line(i) for i in range(3)]


@pytest.mark.parametrize("command", ["serve", "replay"])
def test_an_unwritable_ready_file_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 1), CloseReason.SERVER_CLOSED, 0.2))
    args = [command, "--ready-file", "/dev/null/not-a-folder/ready.json", "--port", "0"]
    args += [str(path)] if command == "replay" else []
    done = subprocess.run(cli_argv(*args), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith(("  ", "warning"))]
    assert lines[-1].startswith("error: --ready-file: cannot write /dev/null/not-a-folder/ready.json"), done.stderr
    assert "Traceback" not in done.stderr


def test_the_commands_make_room_for_their_clients_under_a_low_open_file_limit() -> None:
    code = (
        "import resource\n"
        "from harness.cli.stream import room_for\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        "room_for(1024)\n"
        "print(*resource.getrlimit(resource.RLIMIT_NOFILE))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    soft, hard = (int(n) for n in done.stdout.split())
    assert soft == min(hard, 4 * 1024 + 64) if hard >= 0 else soft >= 4 * 1024


def test_the_token_table_never_forgets_a_consumer_that_is_streaming() -> None:
    import threading

    from harness.replay._plan import Cursors

    lock = threading.Condition()
    table = Cursors(limit=2)
    with lock:
        streaming = table.claim("search-stream", "a", lock)  # oldest, and streaming
    table.get("search-stream", "b")
    table.get("search-stream", "c")  # over the limit: "b" goes, not "a"
    assert table.get("search-stream", "a") is streaming and len(table) == 2
    assert Cursors.key("search-stream", "b") not in set(table)
