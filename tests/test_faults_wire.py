"""The faults of issue 16 (reset, badchunk, badgzip, garbage, unavailable, slowhead, unfinished):
each on the wire, as requests, xdk and tweepy meet it, deterministic and logged."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import urllib3
from test_consumers import Recorder, proxy_env, xdk_consume
from test_replayer import RawStream, cassette, event_line, events, target

from harness.cassette import CloseReason
from harness.contract.checker import Contract
from harness.errors import UsageError
from harness.replay._payloads import GARBAGE_LINE
from harness.replay.faults import DEFAULT_RETRY_AFTER, DEFAULT_SLOW_HEAD, Fault, FaultKind
from harness.replay.server import End, LineKind, ReplayServer

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

__all__ = ["proxy_env"]  # a fixture, imported to be used here

RAWS = [event_line(i) for i in range(10)]
AUTH = {"Authorization": "Bearer r"}


@pytest.fixture
def ten(tmp_path: Path) -> Path:
    """Ten events 0.1 s apart, then the server closes."""
    return cassette(tmp_path / "ten.jsonl", "search-stream", (events(0, 10), CloseReason.SERVER_CLOSED, 1.1))


def chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what caused it, as requests and urllib3 wrap it (in args as well as in __context__)."""
    out: list[BaseException] = []
    todo = [exc]
    while todo:
        e = todo.pop()
        if any(e is seen for seen in out):
            continue
        out.append(e)
        todo += [a for a in e.args if isinstance(a, BaseException)]
        todo += [c for c in (e.__cause__, e.__context__) if c is not None]
    return out


def read_lines(server: ReplayServer, headers: dict[str, str] | None = None) -> tuple[list[bytes], Exception | None]:
    """What a requests consumer reads with `iter_lines`, and the error the stream ends with."""
    got: list[bytes] = []
    r = requests.get(server.url("search-stream"), headers={**AUTH, **(headers or {})}, stream=True, timeout=5)
    try:
        for line in r.iter_lines():
            got.append(line)
    except requests.RequestException as exc:
        return got, exc
    return got, None


# -- the grammar -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("reset@4", Fault(FaultKind.RESET, after_events=4)),
        ("badchunk@2", Fault(FaultKind.BADCHUNK, after_events=2)),
        ("badgzip@0.5s", Fault(FaultKind.BADGZIP, after_seconds=0.5)),
        ("garbage@1x*", Fault(FaultKind.GARBAGE, after_events=1, count=None)),
        ("unavailable=30x2", Fault(FaultKind.UNAVAILABLE, seconds=30.0, count=2)),
        ("unavailable", Fault(FaultKind.UNAVAILABLE, seconds=DEFAULT_RETRY_AFTER)),
        ("slowhead=2.5", Fault(FaultKind.SLOWHEAD, seconds=2.5)),
        ("slowhead", Fault(FaultKind.SLOWHEAD, seconds=DEFAULT_SLOW_HEAD)),
        ("unfinished@5", Fault(FaultKind.UNFINISHED, after_events=5)),
    ],
)
def test_the_new_kinds_parse_and_survive_their_spec(spec: str, fault: Fault) -> None:
    assert Fault.parse(spec) == fault
    assert Fault.parse(str(fault)) == fault


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("unavailable@3", "unavailable: answers whole connections, so it takes no @"),
        ("slowhead@2", "slowhead: acts on the response head, so it takes no @"),
        ("slowhead=0", "slowhead: expected a duration > 0 seconds"),
        ("unavailable=-5", "unavailable: expected a duration > 0 seconds"),
        ("reset=3", "reset takes no =VALUE"),
        ("garbage=1@2", "garbage takes no =VALUE"),
    ],
)
def test_bad_new_specs_say_what_is_expected(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Fault.parse(spec)


# -- reset and unfinished: two ways a stream ends without its last chunk ---------------------------------
def test_reset_sends_an_rst_after_the_events_before_it_and_the_reconnect_goes_on(ten: Path) -> None:
    with ReplayServer([ten], speed=None, faults=["reset@3"]) as server:
        got, error = read_lines(server)
        assert got == [raw.rstrip(b"\r\n") for raw in RAWS[:3]]  # what went before the reset arrives
        assert isinstance(error, requests.exceptions.ChunkedEncodingError)
        assert any(isinstance(e, ConnectionResetError) for e in chain(error)), chain(error)  # an RST, not a FIN
        with RawStream(server.port, "/2/tweets/search/stream", token="r") as s:
            assert [c.data for c in s.chunks()] == RAWS[3:] and s.clean  # nothing lost, nothing repeated
        first, second = server.log
        assert first.end is End.DROPPED and [(str(f.fault), f.events) for f in first.faults] == [("reset@3", 3)]
        assert second.resumed_at == 3 and second.faults == []


def test_unfinished_closes_at_a_chunk_boundary_without_the_last_chunk(ten: Path) -> None:
    with ReplayServer([ten], speed=None, faults=["unfinished@4"]) as server:
        with RawStream(server.port, "/2/tweets/search/stream") as s:
            assert [c.data for c in s.chunks()] == RAWS[:4]
            assert s.clean is False and s.buf == b""  # whole chunks, then the end of the connection
        server.inject("unfinished@2")
        got, error = read_lines(server, {"Authorization": "Bearer t"})  # the same consumer: it goes on
        assert got == [raw.rstrip(b"\r\n") for raw in RAWS[4:6]]
        assert isinstance(error, requests.exceptions.ChunkedEncodingError)
        assert any(isinstance(e, urllib3.exceptions.IncompleteRead | urllib3.exceptions.ProtocolError)
                   for e in chain(error))  # fmt: skip
        assert not any(isinstance(e, ConnectionResetError) for e in chain(error))  # a FIN, not an RST
        assert [log.end for log in server.log] == [End.DROPPED, End.DROPPED]
        assert [[str(f.fault) for f in log.faults] for log in server.log] == [["unfinished@4"], ["unfinished@2"]]


def test_unfinished_over_http_1_0_is_the_end_of_the_body(ten: Path) -> None:
    with ReplayServer([ten], speed=None, faults=["unfinished@3"]) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(b"GET /2/tweets/search/stream HTTP/1.0\r\nAuthorization: Bearer t\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        sock.close()
    assert data.partition(b"\r\n\r\n")[2] == b"".join(RAWS[:3])  # no chunks: the close ends the body


# -- badchunk, badgzip, garbage: bytes a client cannot take ---------------------------------------------
def test_badchunk_sends_a_size_line_that_is_not_hex_then_closes(ten: Path) -> None:
    with ReplayServer([ten], speed=None, faults=["badchunk@2"]) as server:
        got, error = read_lines(server)
        assert got == [raw.rstrip(b"\r\n") for raw in RAWS[:2]]
        assert isinstance(error, requests.exceptions.ChunkedEncodingError)
        assert any(isinstance(e, urllib3.exceptions.InvalidChunkLength) for e in chain(error)), chain(error)
        with RawStream(server.port, target(server, "search-stream"), token="r") as s:
            assert [c.data for c in s.chunks()] == RAWS[2:]  # the broken line comes again
        assert server.log[0].end is End.DROPPED and str(server.log[0].faults[0].fault) == "badchunk@2"


def test_badgzip_serves_gzip_to_a_client_that_asks_then_corrupts_it(ten: Path) -> None:
    with ReplayServer([ten], speed=None, faults=["badgzip@3"]) as server:
        with RawStream(server.port, "/2/tweets/search/stream", token="plain") as s:  # no Accept-Encoding
            assert "content-encoding" not in s.headers and [c.data for c in s.chunks()] == RAWS
        r = requests.get(server.url("search-stream"), headers=AUTH, stream=True, timeout=5)
        assert r.headers["Content-Encoding"] == "gzip"  # requests asks for gzip
        got = []
        with pytest.raises(requests.exceptions.ContentDecodingError):
            for line in r.iter_lines():
                got.append(line)
        assert got == [raw.rstrip(b"\r\n") for raw in RAWS[:3]]  # decoded as they came, until the corruption
        plain, gzipped = server.log[:2]
        assert gzipped.finished.wait(5)  # the client saw the end before the server noted it
        assert plain.faults == [] and plain.end is End.COMPLETED  # the fault waited for a gzip client
        assert [str(f.fault) for f in gzipped.faults] == ["badgzip@3"] and gzipped.end is End.DROPPED
        got, error = read_lines(server)  # the next connection: plain gzip, every line left
        assert error is None and got == [raw.rstrip(b"\r\n") for raw in RAWS[3:]]


def test_garbage_is_one_line_that_is_not_json_and_the_stream_goes_on(ten: Path) -> None:
    with ReplayServer([ten], speed=None, faults=["garbage@2"]) as server:
        with RawStream(server.port, "/2/tweets/search/stream") as s:
            assert [c.data for c in s.chunks()] == [*RAWS[:2], GARBAGE_LINE, *RAWS[2:]] and s.clean
        log = server.log[0]
    with pytest.raises(ValueError):
        json.loads(GARBAGE_LINE)
    assert [line.kind for line in log.lines][2] is LineKind.FAULT and log.events == 10
    assert [(str(f.fault), f.events) for f in log.faults] == [("garbage@2", 2)]


def test_xdk_skips_a_garbage_line_and_reconnects_after_reset_badchunk_and_unfinished(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 10), CloseReason.CLIENT_STOPPED, 1.2))
    faults = ["garbage@1", "reset@2", "badchunk@2", "unfinished@3"]
    with ReplayServer([path], speed=10, faults=faults) as server:
        got = xdk_consume(server, "search-stream", 10)
        logs = list(server.log)
    assert got.error is None
    assert got.ids == [str(i) for i in range(10)]  # the garbage skipped, nothing lost to the cuts
    assert [log.end for log in logs[:3]] == [End.DROPPED] * 3
    assert [[str(f.fault) for f in log.faults] for log in logs[:3]] == [["garbage@1", "reset@2"], ["badchunk@2"],
                                                                         ["unfinished@3"]]  # fmt: skip
    assert [log.resumed_at for log in logs[1:4]] == [2, 4, 7]


def test_tweepy_reconnects_after_a_reset_but_a_garbage_line_stops_it(
    tmp_path: Path, proxy_env: Callable[[ReplayServer], None]
) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 8), CloseReason.CLIENT_STOPPED, 1.0))
    errors: list[BaseException] = []

    class Noting(Recorder):
        def on_exception(self, exception: BaseException) -> None:
            errors.append(exception)

    with ReplayServer([path], speed=10, proxy=True, faults=["reset@2", "garbage@3"]) as server:
        proxy_env(server)
        client = Noting("tweepy-token", max_retries=5)
        thread = client.filter(threaded=True)
        thread.join(10)
        stopped = not thread.is_alive()
        assert all(log.finished.wait(5) for log in server.log)
        ends = [log.end for log in server.log]
    assert stopped  # on its own: no reconnect after the garbage
    # the reset, and it reconnected (through TLS, Python reads an RST as an end of file: "ended prematurely")
    assert len(client.of("connection-error")) == 1
    assert client.of("tweet") == list(range(5))  # then json.loads raised on the garbage: tweepy gave up
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert ends[0] is End.DROPPED and len(ends) == 2


# -- unavailable and slowhead: the answer to a connection ------------------------------------------------
def test_unavailable_answers_503_with_retry_after_on_the_recordings_clock(ten: Path) -> None:
    with ReplayServer([ten], speed=10, faults=["unavailable=30x2"]) as server:
        answers = []
        for _ in range(2):
            r = requests.get(server.url("search-stream"), headers=AUTH, timeout=5)
            answers.append((r.status_code, r.headers.get("Retry-After"), r.json()))
        with RawStream(server.port, target(server, "search-stream")) as s:
            assert s.status == 200 and [c.data for c in s.chunks()] == RAWS
        assert all(log.finished.wait(5) for log in server.log)
    assert [a[:2] for a in answers] == [(503, "3"), (503, "3")]  # 30 s recorded, at 10x
    assert Contract().check_problem(answers[0][2]) == [] and answers[0][2]["status"] == 503
    assert [log.end for log in server.log] == [End.REFUSED, End.REFUSED, End.COMPLETED]
    assert [str(f.fault) for log in server.log[:2] for f in log.faults] == ["unavailable=30x2"] * 2


def test_slowhead_trickles_the_head_so_a_short_read_timeout_fires(ten: Path) -> None:
    with ReplayServer([ten], speed=1, faults=["slowhead=20"]) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(b"GET /2/tweets/search/stream HTTP/1.1\r\nAuthorization: Bearer t\r\n\r\n")
        first = sock.recv(65536)
        sock.close()
        assert first.startswith(b"HTTP/1.1 200 ") and b"\r\n\r\n" not in first  # a piece of the head, no more
        server.inject("slowhead=20")
        with pytest.raises(requests.exceptions.ReadTimeout):  # in the head: the next line is a second away
            requests.get(server.url("search-stream"), headers=AUTH, stream=True, timeout=(5, 0.3))
    assert [str(f.fault) for log in server.log for f in log.faults] == ["slowhead=20"] * 2


def test_slowhead_then_the_stream_as_recorded(ten: Path) -> None:
    with ReplayServer([ten], speed=None, faults=["slowhead=0.3"]) as server:
        got, error = read_lines(server)
        log = server.log[0]
    assert error is None and got == [raw.rstrip(b"\r\n") for raw in RAWS]
    assert [(str(f.fault), f.events) for f in log.faults] == [("slowhead=0.3", 0)] and log.end is End.COMPLETED
