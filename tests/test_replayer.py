"""The replayer: faithful streams, timing, reconnects, the live API's contract, bad input, many clients.

Everything runs over real sockets on 127.0.0.1. `RawStream` (used by the other replayer
test modules too) reads a response chunk by chunk and stamps each chunk's arrival.
"""

from __future__ import annotations

import itertools
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness._wire import STREAM_HEADERS
from harness.cassette import Close, CloseReason, Connection, Header, Line, Record, write_cassette
from harness.cassette.synth import Synth, encode_line
from harness.contract.checker import Contract
from harness.errors import CassetteError, UsageError
from harness.model import resolve_endpoint
from harness.replay.server import End, LineKind, ReplayServer

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

HERE = Path(__file__).parent
SAMPLES = HERE.parent / "cassettes" / "synthetic"
QUERY = {"search-stream": {}, "firehose-ja": {"partition": "1"}, "likes-sample10": {"partition": "2"}}
CLI = """
import sys
from harness.cli import main
from harness.cli.replay import COMMANDS
for command in COMMANDS:
    if command.name not in main.commands:
        main.add_command(command)
main(sys.argv[1:])
"""


# -- helpers (imported by test_faults, test_proxy, test_consumers) -------------------------------
def event_line(n: int, endpoint: str = "search-stream") -> bytes:
    """A small valid event, numbered by its id."""
    if endpoint == "likes-sample10":
        like = {"id": str(n), "created_at": "2026-11-01T00:00:00.000Z", "liked_tweet_id": "7", "tweet_author_id": "8"}
        return encode_line({"data": like})
    tweet = {"id": str(n), "text": f"event {n}", "edit_history_tweet_ids": [str(n)]}
    if endpoint == "firehose-ja":
        return encode_line({"data": {**tweet, "text": f"イベント {n}", "lang": "ja"}})
    return encode_line({"data": tweet, "matching_rules": [{"id": "1", "tag": "replay"}]})


Conn = tuple[Sequence[tuple[float, bytes]], CloseReason, float]  # lines, how it ended, when


def cassette(path: Path, endpoint: str, *connections: Conn, status: int = 200, query: dict[str, str] | None = None,
             headers: tuple[tuple[str, str], ...] = STREAM_HEADERS) -> Path:  # fmt: skip
    """A cassette of `connections` (each: (offset, raw) lines, close reason, close offset)."""
    records: list[Record] = []
    started = 0.0
    for i, (lines, reason, end) in enumerate(connections):
        records.append(Connection(i, status, "OK" if status == 200 else "Error", headers, 0.01, started))
        records += [Line(offset, raw) for offset, raw in lines]
        records.append(Close(end, reason))
        started += end + 0.1
    e = resolve_endpoint(endpoint)
    q = QUERY[e.name] if query is None else query
    url = f"https://api.x.com{e.path}" + ("?" + "&".join(f"{k}={v}" for k, v in q.items()) if q else "")
    return write_cassette(path, Header(e.name, url, query=q), records)


def events(first: int, n: int, gap: float = 0.1, start: float = 0.1,
           endpoint: str = "search-stream") -> list[tuple[float, bytes]]:  # fmt: skip
    return [(round(start + i * gap, 6), event_line(first + i, endpoint)) for i in range(n)]


@dataclass(frozen=True)
class Chunk:
    at: float  # time.monotonic() when its last byte arrived
    data: bytes


class RawStream:
    """A GET over a plain socket: the response head, then chunks with their arrival times."""

    def __init__(self, port: int, target: str, *, token: str | None = "t", timeout: float = 10.0,
                 extra: bytes = b"") -> None:  # fmt: skip
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        auth = f"Authorization: Bearer {token}\r\n" if token is not None else ""
        self.sent = time.monotonic()
        self.sock.sendall(f"GET {target} HTTP/1.1\r\nHost: api.x.com\r\n{auth}".encode() + extra + b"\r\n")
        self.buf = b""
        self.clean: bool | None = None  # True: the last chunk came; False: the connection closed first
        head = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        self.status = int(head[0].split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
        self.body = b""
        if "content-length" in self.headers:
            self.body = self._take(int(self.headers["content-length"]))

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def _until(self, sep: bytes) -> bytes:
        while sep not in self.buf:
            if not self._fill():
                raise EOFError(f"closed before {sep!r}: {self.buf[:80]!r}")
        head, _, self.buf = self.buf.partition(sep)
        return head

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError(f"closed with {len(self.buf)} of {n} bytes")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def chunks(self) -> Iterator[Chunk]:
        """Each chunk's payload as it completes, until the last chunk or the connection's end."""
        try:
            while True:
                size = int(self._until(b"\r\n"), 16)
                if size == 0:
                    self._take(2)
                    self.clean = True
                    return
                data = self._take(size)
                assert self._take(2) == b"\r\n", "chunk framing"
                yield Chunk(time.monotonic(), data)
        except (EOFError, ConnectionError):
            self.clean = False

    def take(self, n: int) -> list[Chunk]:
        out: list[Chunk] = []
        for chunk in self.chunks():
            out.append(chunk)
            if len(out) == n:
                break
        return out

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def target(server: ReplayServer, endpoint: str) -> str:
    return server.url(endpoint).removeprefix(server.base_url)


def cli_argv(*args: Any) -> list[str]:
    return [sys.executable, "-c", CLI, *map(str, args)]


def ready_info(ready: Path, timeout: float = 10.0) -> Any:
    """What a `--ready-file` holds, once the process has written it (written whole, by a rename)."""
    deadline = time.monotonic() + timeout
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return json.loads(ready.read_text())


# -- a faithful stream ---------------------------------------------------------------------------
def test_lines_go_out_byte_exact_one_chunk_each_with_the_recorded_head(tmp_path: Path) -> None:
    quoted = '{"data":{"id":"2","text":"東京 \\"q\\""}}\r\n'.encode()
    lines = [(0.1, event_line(1)), (0.2, b"\r\n"), (0.3, quoted), (0.4, b'{"data":{"id":"3","text":"lf"}}\n'),
             (0.5, b"\r\n")]  # fmt: skip
    recorded_head = (("Content-Type", "application/json; charset=utf-8"), ("Transfer-Encoding", "chunked"),
                     ("x-rate-limit-limit", "50"), ("Content-Length", "999"), ("Connection", "keep-alive"))  # fmt: skip
    path = cassette(
        tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 0.6), headers=recorded_head
    )
    with ReplayServer([path], speed=None) as server, RawStream(server.port, target(server, "search-stream")) as s:
        got = [c.data for c in s.chunks()]
        assert s.status == 200
        assert s.headers["content-type"] == "application/json; charset=utf-8"
        assert s.headers["transfer-encoding"] == "chunked"
        assert s.headers["x-rate-limit-limit"] == "50"  # recorded headers kept
        assert "content-length" not in s.headers  # but not the framing the recording had
    assert got == [raw for _, raw in lines]
    assert s.clean is True  # the recorded server close: a clean end


def test_each_line_leaves_at_its_recorded_offset_over_the_speed_without_drift(tmp_path: Path) -> None:
    speed = 20.0
    lines = events(0, 200, gap=0.15, start=0.15)  # 30 s recorded: a line every 7.5 ms for 1.5 s here
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 30.2))
    with ReplayServer([path], speed=speed) as server, RawStream(server.port, target(server, "search-stream")) as s:
        got = list(s.chunks())
        log = server.log[0]
    assert [line.offset for line in log.lines] == [offset for offset, _ in lines]
    # A stall of this process (load, GC, the other xdist worker: ~0.3 s) delays the lines due during
    # it, which then come at once as the replay catches up on the monotonic clock; it never makes a
    # line early. So: none early, most on time, and drift judged by the best of the last lines.
    # Lateness on the client: each arrival less the request and the line's offset over the speed.
    late = [c.at - s.sent - offset / speed for c, (offset, _) in zip(got, lines, strict=True)]
    assert min(late) > -0.002, late  # all sent at once: the last would come 1.5 s early
    assert sorted(late)[len(late) // 4] < 0.02, late  # three lines in four on time, unless stalls cover 1.1 s
    # Drift, on the server's own log: scheduled on the monotonic clock, a line after the last stall is
    # on time again (under a millisecond late); sleeping the gap after each write instead adds each
    # write's and wake-up's overhead (~60 us at the least) line after line and never catches up:
    # ~9 ms and more by line 150, ~28 ms measured.
    errors = [line.sent - line.due for line in log.lines]
    assert len(errors) == len(lines)
    assert min(errors[-len(errors) // 4 :]) < 0.004, errors


def test_speed_max_writes_as_fast_as_the_client_reads(tmp_path: Path) -> None:
    lines = events(0, 200, gap=10.0)  # 2000 s recorded
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 2001.0))
    with ReplayServer([path], speed=None) as server, RawStream(server.port, target(server, "search-stream")) as s:
        got = list(s.chunks())
    assert [c.data for c in got] == [raw for _, raw in lines]
    assert got[-1].at - s.sent < 2.0


def test_a_gzip_cassette_replays_the_same(tmp_path: Path) -> None:
    lines = events(0, 5)
    path = cassette(tmp_path / "c.jsonl.gz", "firehose-ja", (lines, CloseReason.SERVER_CLOSED, 1.0))
    with ReplayServer([path], speed=None) as server, RawStream(server.port, target(server, "firehose-ja")) as s:
        assert [c.data for c in s.chunks()] == [raw for _, raw in lines]


# -- reconnects and the end of the recording ---------------------------------------------------------
def test_successive_connections_get_the_recorded_connections_in_order(tmp_path: Path) -> None:
    a, b, c = events(0, 3), events(3, 2), events(5, 4)
    path = cassette(tmp_path / "c.jsonl", "search-stream", (a, CloseReason.SERVER_CLOSED, 1.0),
                    (b, CloseReason.ERROR, 1.0), (c, CloseReason.CLIENT_STOPPED, 1.0))  # fmt: skip
    with ReplayServer([path], speed=None, on_end="close") as server:
        t = target(server, "search-stream")
        got = []
        for _ in range(3):
            with RawStream(server.port, t) as s:
                got.append(([x.data for x in s.chunks()], s.clean))
        assert [r for r, _ in got] == [[raw for _, raw in conn] for conn in (a, b, c)]
        assert [clean for _, clean in got] == [True, False, True]  # a recorded network error is a cut
        assert [log.recorded for log in server.log] == [0, 1, 2]
        assert all(log.finished.wait(2) for log in server.log)
        assert [log.end for log in server.log] == [End.COMPLETED, End.DROPPED, End.COMPLETED]


def test_several_cassettes_serve_several_endpoints_and_concatenate_one(tmp_path: Path) -> None:
    s1 = cassette(tmp_path / "s1.jsonl", "search-stream", (events(0, 2), CloseReason.SERVER_CLOSED, 1.0))
    s2 = cassette(tmp_path / "s2.jsonl", "search-stream", (events(2, 2), CloseReason.SERVER_CLOSED, 1.0))
    likes = events(0, 3, endpoint="likes-sample10")
    lk = cassette(tmp_path / "l.jsonl", "likes-sample10", (likes, CloseReason.SERVER_CLOSED, 1.0))
    with ReplayServer([s1, lk, s2], speed=None, on_end="close") as server:
        assert server.url("likes-sample10") == server.base_url + "/2/likes/sample10/stream?partition=2"
        assert server.url("/2/tweets/search/stream") == server.base_url + "/2/tweets/search/stream"
        with RawStream(server.port, target(server, "likes-sample10")) as s:
            assert [c.data for c in s.chunks()] == [raw for _, raw in likes]
        seen = []
        for _ in range(2):
            with RawStream(server.port, target(server, "search-stream")) as s:
                seen += [c.data for c in s.chunks()]
        assert seen == [raw for _, raw in events(0, 4)]
        with pytest.raises(UsageError, match="no cassette for firehose-ja"):
            server.url("firehose-ja")


def test_on_end_hold_keeps_the_stream_open_with_heartbeats_at_the_scaled_interval(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 2), CloseReason.CLIENT_STOPPED, 0.5))
    with ReplayServer([path], speed=100, heartbeat=20.0) as server:  # heartbeats every 0.2 s
        with RawStream(server.port, target(server, "search-stream")) as s:
            got = s.take(9)
        assert [c.data for c in got[2:]] == [b"\r\n"] * 7
        # each heartbeat 0.2 s after the last write: a one-off stall (up to ~0.3 s) stretches one gap,
        # or on the client shrinks the next: the median of seven tells (unscaled: 20 s, none: the take times out)
        gaps = [b.at - a.at for a, b in itertools.pairwise(got[1:])]
        assert 0.15 < median(gaps) < 0.3, gaps
        assert server.log[0].finished.wait(2)  # it noticed the client go at once, not at the next heartbeat
        assert server.log[0].end is End.VANISHED
        kinds = [line.kind for line in server.log[0].lines]
        assert kinds[:9] == [LineKind.EVENT] * 2 + [LineKind.KEEPALIVE] * 7
        # a later connection finds the recording run out: heartbeats only, as a quiet live stream
        with RawStream(server.port, target(server, "search-stream")) as s:
            assert [c.data for c in s.take(2)] == [b"\r\n", b"\r\n"]


def test_on_end_close_ends_the_stream_and_loop_starts_over_on_the_same_connection(tmp_path: Path) -> None:
    lines = events(0, 3, gap=0.05)
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.CLIENT_STOPPED, 0.3))
    with (
        ReplayServer([path], speed=None, on_end="close") as server,
        RawStream(server.port, "/2/tweets/search/stream") as s,
    ):
        assert len(list(s.chunks())) == 3 and s.clean
    with ReplayServer([path], speed=2, on_end="loop") as server:
        with RawStream(server.port, target(server, "search-stream")) as s:
            got = s.take(9)
        log = server.log[0]
        assert [c.data for c in got] == [raw for _, raw in lines] * 3
        # the next pass is on the recording's clock too: its first line 0.3 - 0.2 + 0.1 - 0.01 (the
        # head's offset) = 0.19 s recorded after the last line, 0.095 s here (at once: 0 or less)
        due = [line.due for line in log.lines[:9]]
        assert [round(due[i + 1] - due[i], 3) for i in (2, 5)] == [0.095, 0.095], due
        # and kept: no line reaches the client before it is due (a stall can only make them late)
        assert all(c.at - s.sent > d - 0.002 for c, d in zip(got, due, strict=True)), (got, due)


def test_each_consumer_token_has_its_own_place_in_the_recording(tmp_path: Path) -> None:
    a, b = events(0, 2), events(2, 2)
    path = cassette(tmp_path / "c.jsonl", "search-stream", (a, CloseReason.SERVER_CLOSED, 1.0),
                    (b, CloseReason.SERVER_CLOSED, 1.0))  # fmt: skip
    with ReplayServer([path], speed=None, on_end="close") as server:
        t = target(server, "search-stream")
        got = []
        for token in ("alice", "bob", "alice"):
            with RawStream(server.port, t, token=token) as s:
                got.append([c.data for c in s.chunks()])
        assert got == [[r for _, r in a], [r for _, r in a], [r for _, r in b]]


def test_a_client_that_vanishes_mid_stream_is_logged_and_its_reconnect_takes_up_from_there(tmp_path: Path) -> None:
    lines = events(0, 10, gap=0.1)
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 1.1))
    with ReplayServer([path], speed=5) as server:
        t = target(server, "search-stream")
        with RawStream(server.port, t) as s:
            first = [c.data for c in s.take(3)]
        assert server.log[0].finished.wait(3)
        assert server.log[0].vanished and server.log[0].end is End.VANISHED
        with RawStream(server.port, t) as s:
            rest = [c.data for c in s.chunks()]
    # lines written while the client was going may be lost with it, never repeated out of order
    assert first == [raw for _, raw in lines[:3]]
    assert rest == [raw for _, raw in lines[len(lines) - len(rest) :]]
    assert len(rest) >= len(lines) - 5


@st.composite
def recorded_sessions(draw: st.DrawFn) -> list[Conn]:
    """Connections of arbitrary byte lines: any bytes but LF, CRLF or LF ends, heartbeats, a cut last line."""
    out: list[Conn] = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(0, 8))
        payloads = [draw(st.binary(max_size=300)).replace(b"\n", b" ") for _ in range(n)]
        raws = [p + draw(st.sampled_from([b"\r\n", b"\n"])) for p in payloads]
        reason = draw(st.sampled_from(list(CloseReason)))
        if raws and reason is CloseReason.ERROR and draw(st.booleans()):
            raws[-1] = raws[-1].rstrip(b"\r\n") or b"x"  # the connection died in the middle of a line
        out.append(([(0.01 * (i + 1), raw) for i, raw in enumerate(raws)], reason, 0.01 * (n + 1)))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(session=recorded_sessions())
def test_any_recording_replays_byte_exact_connection_by_connection(tmp_path: Path, session: list[Conn]) -> None:
    path = cassette(tmp_path / "p.jsonl", "search-stream", *session)
    with ReplayServer([path], speed=None, on_end="close") as server:
        for lines, reason, _ in session:
            with RawStream(server.port, "/2/tweets/search/stream") as s:
                assert [c.data for c in s.chunks()] == [raw for _, raw in lines]
                assert s.clean is (reason is not CloseReason.ERROR)


# -- the live API's contract --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def samples() -> Iterator[ReplayServer]:
    """The sample cassettes; each test streams with tokens of its own (each token has its own place)."""
    with ReplayServer([SAMPLES / f"{name}.jsonl" for name in QUERY], speed=None) as server:
        yield server


def answer(server: ReplayServer, path: str, token: str | None = "t", method: str = "GET") -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.request(method, server.base_url + path, headers=headers, timeout=5, stream=True)


@pytest.mark.parametrize("token", [None, "", "wrong"])
def test_no_or_another_bearer_token_gets_xs_401(token: str | None) -> None:
    with ReplayServer([SAMPLES / "search-stream.jsonl"], token="secret") as server:
        r = answer(server, "/2/tweets/search/stream", token)
        assert r.status_code == 401
        assert r.json() == {"title": "Unauthorized", "detail": "Unauthorized", "type": "about:blank", "status": 401}
        assert Contract().check_problem(r.json()) == []
        assert answer(server, "/2/tweets/search/stream", "secret").status_code == 200


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/2/tweets/firehose/stream/lang/ja", "partition"),
        ("/2/tweets/firehose/stream/lang/ja?partition=3", "partition"),
        ("/2/likes/sample10/stream?partition=1&backfill_minutes=9", "backfill_minutes"),
        ("/2/tweets/search/stream?tweet.fields=id,nonsense", "tweet.fields"),
        ("/2/tweets/search/stream?colour=red", "colour"),
    ],
)
def test_bad_query_parameters_get_an_invalid_request_naming_the_parameter(
    samples: ReplayServer, path: str, parameter: str
) -> None:
    r = answer(samples, path)
    assert r.status_code == 400
    body = r.json()
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert list(body["errors"][0]["parameters"]) == [parameter]
    assert Contract().check_problem(body) == []


def test_unknown_paths_and_other_methods_are_refused_with_problems(samples: ReplayServer) -> None:
    r = answer(samples, "/2/tweets/sample/streams")
    assert r.status_code == 404 and "no stream at /2/tweets/sample/streams" in r.json()["detail"]
    r = answer(samples, "/2/tweets/search/stream", method="POST")
    assert r.status_code == 405
    for r in (answer(samples, "/nope"), answer(samples, "/2/tweets/search/stream", method="DELETE")):
        assert Contract().check_problem(r.json()) == []


def test_a_valid_request_streams(samples: ReplayServer) -> None:
    r = answer(samples, "/2/likes/sample10/stream?partition=1&like_with_tweet_author.fields=timestamp_ms", "valid")
    assert r.status_code == 200
    first = next(line for line in r.iter_lines() if line)
    assert Contract().check_event(json.loads(first), "likes-sample10") == []
    r.close()


def test_max_connections_answers_the_next_one_with_too_many_connections(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 1), CloseReason.CLIENT_STOPPED, 0.2))
    with ReplayServer([path], speed=None, max_connections=2) as server:
        t = target(server, "search-stream")
        with RawStream(server.port, t, token="a") as a, RawStream(server.port, t, token="b") as b:
            assert a.status == b.status == 200
            with RawStream(server.port, t, token="c") as c:
                assert c.status == 429
                body = json.loads(c.body)
                assert body["connection_issue"] == "TooManyConnections"
                assert Contract().check_problem(body) == []
                assert c.headers["x-rate-limit-remaining"] == "0"
                assert int(c.headers["x-rate-limit-reset"]) >= int(time.time())
                assert c.headers["x-rate-limit-limit"].isdigit()
        assert server.log[0].finished.wait(3) and server.log[1].finished.wait(3)
        with RawStream(server.port, t, token="d") as d:  # the others have gone: room again
            assert d.status == 200


# -- bad input --------------------------------------------------------------------------------------
def test_garbage_half_requests_and_hang_ups_are_logged_and_the_server_carries_on(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 2), CloseReason.SERVER_CLOSED, 0.5))
    messages: list[str] = []
    server = ReplayServer([path], speed=None, on_message=messages.append, request_timeout=0.3)
    with server:
        with socket.create_connection(("127.0.0.1", server.port)) as g:
            g.sendall(b"\x16\x03\x01 definitely not HTTP\r\n\r\n")
            assert g.recv(100).startswith(b"HTTP/1.1 400")
        half = socket.create_connection(("127.0.0.1", server.port))
        half.sendall(b"GET /2/tweets/search/stream HTTP/1.1\r\nAuthor")
        socket.create_connection(("127.0.0.1", server.port)).close()
        with RawStream(server.port, "/2/tweets/search/stream") as s:  # meanwhile, a real client
            assert len(list(s.chunks())) == 2
        assert server.wait_connections(4, 3)
        for log in server.log:
            assert log.finished.wait(3)
        half.close()
    ends = [log.end for log in server.log]
    assert ends.count(End.INVALID) == 3 and ends.count(End.COMPLETED) == 1
    assert any("no complete request" in m for m in messages)
    assert any("closed before sending a request" in m for m in messages)


def test_an_unreadable_cassette_or_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(CassetteError, match=r"bad\.jsonl:1"):
        ReplayServer([bad])
    with pytest.raises(CassetteError, match="cannot open"):
        ReplayServer([tmp_path / "missing.jsonl"])
    disorder = tmp_path / "disorder.jsonl"
    good = cassette(
        tmp_path / "good.jsonl", "search-stream", ([(0.2, b"a\r\n"), (0.5, b"b\r\n")], CloseReason.SERVER_CLOSED, 1.0)
    )
    disorder.write_text(good.read_text().replace('"offset":0.2', '"offset":0.7'))  # the writer would refuse it
    with pytest.raises(CassetteError, match="goes back in time"):
        ReplayServer([disorder])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(UsageError, match=r"cannot listen on 127\.0\.0\.1"):
            ReplayServer([SAMPLES / "search-stream.jsonl"], port=busy.getsockname()[1])


def test_cli_prints_listening_first_writes_the_ready_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    argv = cli_argv("replay", SAMPLES / "search-stream.jsonl", SAMPLES / "firehose-ja.jsonl", "--speed", "max",
                    "--ready-file", ready, "--fault", "status=503")  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("listening http://127.0.0.1:")
        info = ready_info(ready, 5)
        assert info["url"] == first.removeprefix("listening ")
        assert info["endpoints"]["firehose-ja"].startswith(
            info["url"] + "/2/tweets/firehose/stream/lang/ja?partition=1&"
        )
        r = requests.get(info["endpoints"]["search-stream"], headers={"Authorization": "Bearer x"}, timeout=5)
        assert r.status_code == 503  # the fault
        assert requests.get(info["endpoints"]["search-stream"], headers={"Authorization": "Bearer x"},
                            timeout=5, stream=True).status_code == 200  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert not ready.exists()
    assert "-> 503" in err and "stopped after" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere.jsonl"], "nowhere.jsonl: cannot open"),
        (["README.md"], "README.md:1: not JSON"),
        ([str(SAMPLES / "search-stream.jsonl"), "--fault", "explode@3"], "expected one of disconnect, drop, stall"),
        ([str(SAMPLES / "search-stream.jsonl"), "--speed", "fast"], "expected a factor > 0"),
    ],
)
def test_cli_bad_input_exits_2_before_listening(args: list[str], message: str) -> None:
    out = subprocess.run(cli_argv("replay", *args), capture_output=True, text=True, timeout=30, cwd=HERE.parent)
    assert out.returncode == 2
    assert "listening" not in out.stdout
    assert message in out.stderr


def test_cli_on_a_busy_port_exits_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run(cli_argv("replay", SAMPLES / "search-stream.jsonl", "--port", port),
                             capture_output=True, text=True, timeout=30)  # fmt: skip
    assert out.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in out.stderr and not out.stdout


# -- many clients -----------------------------------------------------------------------------------
def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's RSS from /proc")
def test_100_concurrent_clients_some_vanishing_each_survivor_gets_every_event_in_order(tmp_path: Path) -> None:
    lines = events(0, 40, gap=0.05, start=0.05)  # 2 s recorded, 0.1 s at 20x
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 2.1))
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(cli_argv("replay", path, "--speed", 20, "--ready-file", ready, "-q"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        port = ready_info(ready)["port"]
        rss = []
        for round_ in range(3):
            results: dict[int, list[bytes]] = {}
            errors: list[BaseException] = []

            def client(i: int, round_: int = round_, results: dict[int, list[bytes]] = results,
                       errors: list[BaseException] = errors) -> None:  # fmt: skip
                try:
                    with RawStream(port, "/2/tweets/search/stream", token=f"c{round_}-{i}") as s:
                        if i % 5 == 0:  # one in five vanishes mid-stream
                            s.take(3 + i % 7)
                            return
                        results[i] = [c.data for c in s.chunks()]
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=client, args=(i,)) for i in range(100)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert not errors, errors[:3]
            assert len(results) == 80
            assert all(got == [raw for _, raw in lines] for got in results.values())
            assert proc.poll() is None
            rss.append(_rss(proc.pid))
        assert rss[2] - rss[1] < 8 << 20, rss  # flat: the third hundred costs no more than the second
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_the_sample_cassettes_replay_with_valid_events(samples: ReplayServer) -> None:
    contract = Contract()
    for endpoint in QUERY:
        with RawStream(samples.port, target(samples, endpoint), token="sample") as s:
            for chunk in s.take(3):
                assert contract.check_line(chunk.data, endpoint) == []


def test_synth_events_are_valid_as_replayed(tmp_path: Path) -> None:
    synth = Synth(5, optional=0.0)
    lines = [(0.1 * (i + 1), encode_line(synth.event("firehose-ja"))) for i in range(5)]
    path = cassette(tmp_path / "c.jsonl", "firehose-ja", (lines, CloseReason.SERVER_CLOSED, 1.0))
    with ReplayServer([path], speed=None) as server, RawStream(server.port, target(server, "firehose-ja")) as s:
        assert all(Contract().check_line(c.data, "firehose-ja") == [] for c in s.chunks())
