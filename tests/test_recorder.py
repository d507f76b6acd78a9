"""The recorder against the loopback source and hostile loopback servers (127.0.0.1 only)."""

from __future__ import annotations

import gzip
import itertools
import json
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from statistics import median

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import (
    EVENT,
    SEARCH,
    STREAM_HEAD,
    Hostile,
    blackhole,
    echo_secrets,
    forever,
    gzip_stream,
    pieces,
    raw,
    respond,
    stream,
)

from harness.cassette import Cassette, Close, CloseReason, Connection, Line
from harness.errors import HTTPStatusError, ParameterError, StreamError, UnknownEndpointError
from harness.record.backoff import BackoffPolicy
from harness.record.recorder import Recorder, RecordOptions, RecordResult, StopReason
from harness.record.redact import Redaction
from harness.replay.loopback import LoopbackServer, ServeOptions, synth_source

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

TOKEN = "AAAAAAAAAAAAAAAAAAAAAHarnessTestToken%2Bq9Z7x1c0ffee"
FAST = BackoffPolicy(network_step=0.01, network_max=0.05, http_base=0.01, http_max=0.05, rate_limit_base=0.02)


def record(url: str, path: Path, **options: object) -> RecordResult:
    opts = replace(RecordOptions(token=TOKEN, read_timeout=5.0, connect_timeout=2.0), **options)  # type: ignore[arg-type]
    return Recorder(url, path, opts).run()


def records(path: Path) -> list[Connection | Line | Close]:
    return list(Cassette(path))


def lines(path: Path) -> list[bytes]:
    return [r.raw for r in Cassette(path) if isinstance(r, Line)]


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    return tmp_path / "out.jsonl"


@pytest.fixture
def source() -> Iterator[LoopbackServer]:
    with LoopbackServer(ServeOptions(token=TOKEN, rate=500, heartbeat=0.05, seed=7)) as server:
        yield server


# -- the happy path ---------------------------------------------------------------------------


def test_records_the_sources_lines_byte_exact(source: LoopbackServer, cassette: Path) -> None:
    # partition 1: the source's own sequence for the seed (partition 2 carries other events)
    result = record(source.base_url + "/2/tweets/firehose/stream/lang/ja?partition=1", cassette, max_events=25)
    assert result.reason is StopReason.MAX_EVENTS and result.ok
    assert result.stats.events == 25
    expected = synth_source(7)("firehose-ja", 0)
    assert lines(cassette) == [next(expected) for _ in range(25)]
    first, *_, last = records(cassette)
    assert isinstance(first, Connection) and first.status == 200 and first.header("Transfer-Encoding") == "chunked"
    assert isinstance(last, Close) and last.reason is CloseReason.CLIENT_STOPPED
    header = Cassette(cassette).header
    assert header.endpoint == "firehose-ja" and header.query == {"partition": "1"}
    assert header.request_headers["User-Agent"].startswith("x-stream-harness/")


def test_offsets_are_arrival_times(cassette: Path) -> None:
    line = b'{"data":{"id":"1","text":"x"}}\r\n'
    with Hostile(stream(*[line] * 7, gap=0.15)) as server:
        record(server.base_url + SEARCH, cassette)
    offsets = [r.offset for r in Cassette(cassette) if isinstance(r, Line)]
    # a one-off stall here (up to ~0.3 s) stretches one gap and squeezes the next two: the median
    # of six tells the 0.15 s the lines were written apart (stamped at write or at the end: ~0)
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert len(offsets) == 7 and 0.12 < median(gaps) < 0.6, gaps


def test_heartbeats_are_recorded_and_duration_stops(cassette: Path) -> None:
    with LoopbackServer(ServeOptions(rate=0, heartbeat=0.03)) as server:
        result = record(server.base_url + SEARCH, cassette, duration=0.7)
    assert result.reason is StopReason.DURATION and result.ok
    beats = [r for r in Cassette(cassette) if isinstance(r, Line)]
    # ~23 in 0.7 s; a stall of the process (~0.3 s) costs ten of them (heartbeats not kept: none)
    assert 5 <= len(beats) == result.stats.heartbeats and all(b.is_heartbeat for b in beats)


def test_a_server_close_ends_the_recording_cleanly(cassette: Path) -> None:
    with LoopbackServer(ServeOptions(rate=1000, max_events=5, error_every=2)) as server:
        result = record(server.base_url + "/2/likes/sample10/stream?partition=1", cassette)
    assert (result.reason, result.stats.events, result.stats.errors) == (StopReason.SERVER_CLOSED, 5, 2)
    last = records(cassette)[-1]
    assert isinstance(last, Close) and last.reason is CloseReason.SERVER_CLOSED and last.error is None


def test_validate_counts_violations_as_events_arrive(cassette: Path) -> None:
    bad = b'{"data":{"id":"x1","text":7}}\r\n'
    with Hostile(stream(EVENT, bad, b"not json\r\n", b'{"errors":[{"title":"t","detail":"d"}]}\r\n')) as server:
        result = record(server.base_url + SEARCH, cassette, validate=True)
    assert result.stats.events == 3 and result.stats.errors == 1
    assert result.stats.violations >= 3 and len(result.samples) >= 2


def test_a_gzip_response_is_stored_decoded(cassette: Path) -> None:
    sent = [EVENT, b"\r\n", b'{"data":{"id":"2","text":"\xe6\x9d\xb1"}}\r\n']
    with Hostile(gzip_stream(*sent)) as server:
        result = record(server.base_url + SEARCH, cassette)
    assert result.ok and lines(cassette) == sent
    connection = records(cassette)[0]
    assert isinstance(connection, Connection) and connection.header("Content-Encoding") is None
    assert server.requests[0].header("Accept-Encoding") == "gzip"


def test_the_loopback_sources_gzip_matches_its_plain_stream(tmp_path: Path) -> None:
    for gz in (False, True):
        with LoopbackServer(ServeOptions(rate=2000, max_events=30, seed=3, gzip=gz)) as server:
            record(server.base_url + SEARCH, tmp_path / f"{gz}.jsonl")
    assert lines(tmp_path / "True.jsonl") == lines(tmp_path / "False.jsonl")
    assert len(lines(tmp_path / "True.jsonl")) == 30


# -- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz"])
def test_the_token_never_reaches_disk(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with Hostile(echo_secrets()) as server:
        url = server.base_url + SEARCH + f"?access_token={TOKEN}&backfill_minutes=1"
        result = Recorder(url, path, RecordOptions(token=TOKEN, endpoint="search-stream")).run()
    assert server.requests[0].header("Authorization") == f"Bearer {TOKEN}"  # it was sent...
    data = path.read_bytes()
    data = gzip.decompress(data) if name.endswith(".gz") else data
    assert TOKEN.encode() not in data and b"HarnessTestToken" not in data  # ...never written
    assert result.stats.events == 1
    header = Cassette(path).header
    assert header.request_headers["Authorization"] == "Bearer <redacted>"
    assert header.query == {"access_token": "<redacted>", "backfill_minutes": "1"}


def test_more_redaction_by_header_param_and_json_pointer(cassette: Path) -> None:
    line = b'{"data":{"id":"1","text":"hi"},"includes":{"users":[{"id":"2","location":"Kyoto"}]}}\r\n'
    head = STREAM_HEAD.replace(b"\r\n\r\n", b"\r\nX-Account: acct-42\r\n\r\n")
    with Hostile(stream(line, EVENT, head=head)) as server:
        redaction = Redaction(
            headers=("x-account",), params=("backfill_minutes",), pointers=("/includes/users/*/location",)
        )
        url = server.base_url + SEARCH + "?backfill_minutes=2"
        record(url, cassette, redaction=redaction)
    data = cassette.read_bytes()
    assert b"acct-42" not in data and b"Kyoto" not in data and b"backfill_minutes=2" not in data
    first, second = lines(cassette)
    assert json.loads(first)["includes"]["users"][0] == {"id": "2", "location": "<redacted>"}
    assert second == EVENT  # untouched lines stay byte-exact


# -- non-200 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "body", "expect"),
    [
        (401, "Unauthorized", b'{"title":"Unauthorized","status":401,"detail":"Unauthorized","type":"about:blank"}',
         "refused the bearer token"),
        (403, "Forbidden", b'{"title":"Forbidden","detail":"client-not-enrolled"}', "client-not-enrolled"),
        (503, "Service Unavailable", b"<html><body>Over capacity</body></html>", "HTML page"),
    ],
)  # fmt: skip
def test_non_200_is_recorded_and_reported(cassette: Path, status: int, reason: str, body: bytes, expect: str) -> None:
    with Hostile(respond(status, reason, body, [("Content-Type", "application/json")])) as server:
        result = record(server.base_url + SEARCH, cassette)
    assert result.reason is StopReason.HTTP_STATUS and result.stats.status == status
    assert expect in (result.error or "") and f"HTTP {status}" in (result.error or "")
    connection, line, _ = records(cassette)
    assert isinstance(connection, Connection) and connection.status == status and connection.reason == reason
    assert isinstance(line, Line) and line.raw == body
    with pytest.raises(HTTPStatusError):
        result.raise_for_error()


def test_429_reports_its_rate_limit_headers(cassette: Path) -> None:
    reset = str(int(time.time()) + 600)
    headers = [("x-rate-limit-limit", "50"), ("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", reset)]
    with Hostile(respond(429, "Too Many Requests", b'{"title":"Too Many Requests"}', headers)) as server:
        result = record(server.base_url + SEARCH, cassette)
    assert "x-rate-limit-remaining=0" in (result.error or "") and "resets at" in (result.error or "")
    connection = records(cassette)[0]
    assert isinstance(connection, Connection) and connection.header("x-rate-limit-reset") == reset


# -- reconnect --------------------------------------------------------------------------------


def test_reconnect_makes_segments_and_counts_over_all_of_them(cassette: Path) -> None:
    scripts = (
        stream(EVENT, EVENT, end="clean"),
        respond(503, "Service Unavailable", b"busy"),
        raw(b"garbage\r\n\r\n"),
        stream(EVENT, b"\r\n", EVENT[:20], end="close"),
        forever(),
    )
    messages: list[str] = []
    with Hostile(*scripts) as server:
        options = RecordOptions(token=TOKEN, reconnect=True, max_events=6, backoff=FAST, read_timeout=5)
        result = Recorder(server.base_url + SEARCH, cassette, options, on_message=messages.append).run()
    assert result.reason is StopReason.MAX_EVENTS and result.stats.events == 6
    statuses = [r.status for r in Cassette(cassette) if isinstance(r, Connection)]
    assert statuses == [200, 503, 200, 200]  # the garbage answer never became a response
    closes = [r.reason for r in Cassette(cassette) if isinstance(r, Close)]
    assert closes == [
        CloseReason.SERVER_CLOSED,
        CloseReason.SERVER_CLOSED,
        CloseReason.ERROR,
        CloseReason.CLIENT_STOPPED,
    ]
    assert any("reconnecting in" in m for m in messages)


def test_reconnect_gives_up_on_a_refused_token(cassette: Path) -> None:
    with Hostile(respond(401, "Unauthorized", b"{}")) as server:
        result = record(server.base_url + SEARCH, cassette, reconnect=True, backoff=FAST)
    assert result.reason is StopReason.HTTP_STATUS and len(server.requests) == 1


# -- the Python API ---------------------------------------------------------------------------


def test_context_manager_stops_a_silent_stream_at_once(cassette: Path) -> None:
    with LoopbackServer(ServeOptions(rate=0, heartbeat=60)) as server:
        with Recorder(server.base_url + SEARCH, cassette, RecordOptions(token=TOKEN)) as recorder:
            time.sleep(0.2)
            t = time.monotonic()
        assert time.monotonic() - t < 5.0  # not at once: the next heartbeat, 60 s away
    assert recorder.result is not None and recorder.result.reason is StopReason.STOPPED
    last = records(cassette)[-1]
    assert isinstance(last, Close) and last.reason is CloseReason.CLIENT_STOPPED


def test_parameters_are_checked_before_connecting(cassette: Path) -> None:
    with pytest.raises(ParameterError) as info:
        Recorder("firehose-ja", cassette, RecordOptions(params={"partition": "3"}))
    assert info.value.parameter == "partition"
    with pytest.raises(ParameterError, match="backfill_minutes"):
        Recorder("search-stream", cassette, RecordOptions(params={"backfill_minutes": "6"}))
    with pytest.raises(UnknownEndpointError, match="--endpoint"):
        Recorder("http://127.0.0.1:9/not/a/stream", cassette)
    assert not cassette.exists()


# -- bad input: a clear message, and what arrived is in the cassette --------------------------


def bad(script: object, cassette: Path, **options: object) -> tuple[RecordResult, list[Connection | Line | Close]]:
    with Hostile(script) as server:  # type: ignore[arg-type]
        result = record(server.base_url + SEARCH, cassette, **options)
    assert not result.ok
    with pytest.raises(StreamError):
        result.raise_for_error()
    return result, records(cassette)


def test_refused_connection(cassette: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = record(f"http://127.0.0.1:{port}{SEARCH}", cassette)
    assert "connection refused by 127.0.0.1" in (result.error or "") and result.reason is StopReason.ERROR
    assert Cassette(cassette).header.endpoint == "search-stream" and records(cassette) == []


def test_unreachable_host(cassette: Path) -> None:
    with blackhole() as url:
        result = record(url + SEARCH, cassette, connect_timeout=0.3)
    assert "could not connect" in (result.error or "") and "within 0.3 s" in (result.error or "")


def test_dns_failure(cassette: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(host: str, *args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)  # no packet leaves the machine
    result = record("search-stream", cassette, base_url="http://stream.example.invalid")
    assert "DNS lookup failed for 'stream.example.invalid'" in (result.error or "")


def test_tls_error(cassette: Path) -> None:
    with Hostile(raw(b"HTTP/1.1 200 OK\r\n\r\n")) as server:
        result = record(server.base_url.replace("http:", "https:") + SEARCH, cassette)
    assert (result.error or "").startswith("TLS error talking to 127.0.0.1")


def test_a_server_that_does_not_speak_http(cassette: Path) -> None:
    result, recs = bad(raw(b"\x16\x03\x01garbage\xff\r\n\r\n"), cassette)
    assert "did not answer with HTTP" in (result.error or "") and recs == []


def test_garbage_in_the_chunk_framing(cassette: Path) -> None:
    result, recs = bad(raw(STREAM_HEAD + b"%x\r\n%b\r\nzz-not-hex\r\n" % (len(EVENT), EVENT)), cassette)
    assert "garbage" in (result.error or "") and "hex chunk size" in (result.error or "")
    assert [r.raw for r in recs if isinstance(r, Line)] == [EVENT]
    assert isinstance(recs[-1], Close) and recs[-1].reason is CloseReason.ERROR


def test_half_a_line_then_close(cassette: Path) -> None:
    result, recs = bad(stream(EVENT, EVENT[:30], end="close"), cassette)
    assert "middle of a line (30 bytes" in (result.error or "")
    assert [r.raw for r in recs if isinstance(r, Line)] == [EVENT, EVENT[:30]]


def test_a_line_of_several_megabytes(cassette: Path) -> None:
    huge = b'{"data":{"id":"1","text":"' + b"x" * 3_000_000 + b'"}}\r\n'
    result, recs = bad(stream(EVENT, huge), cassette, max_line=1_000_000)
    assert "longer than 1000000 bytes" in (result.error or "")
    got = [r.raw for r in recs if isinstance(r, Line)]
    assert got[0] == EVENT and 1_000_000 < len(got[1]) < len(huge) and huge.startswith(got[1])


def test_a_non_chunked_body(cassette: Path) -> None:
    body = EVENT * 3
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    result, recs = bad(raw(head + body), cassette)
    assert "not chunked (Content-Length: " in (result.error or "")
    assert [r.raw for r in recs if isinstance(r, Line)] == [EVENT] * 3


def test_an_html_page_with_status_200(cassette: Path) -> None:
    page = b"<!DOCTYPE html>\n<html><body>Please log in</body></html>\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(page)
    result, recs = bad(raw(head + page), cassette)
    assert "expected Content-Type application/json" in (result.error or "") and "HTML page" in (result.error or "")
    assert b"".join(r.raw for r in recs if isinstance(r, Line)) == page


def test_a_stall_past_the_read_timeout(cassette: Path) -> None:
    t = time.monotonic()
    result, recs = bad(stream(EVENT, end="stall"), cassette, read_timeout=0.4)
    assert 0.35 < time.monotonic() - t < 3
    assert "stalled: no bytes for 0.4 s" in (result.error or "")
    assert [r.raw for r in recs if isinstance(r, Line)] == [EVENT]


# -- chunk boundaries: wherever the bytes are cut, the same lines -----------------------------

LINE = (
    st.binary(max_size=40)
    .map(lambda b: b.replace(b"\n", b""))
    .flatmap(lambda body: st.sampled_from([body + b"\r\n", body + b"\n", b"\r\n"]))
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body_lines=st.lists(LINE, min_size=1, max_size=12),
    chunks=st.lists(st.integers(0, 600), max_size=8),
    writes=st.lists(st.integers(0, 900), max_size=8),
)
def test_any_chunk_and_write_boundaries_yield_the_same_lines(
    body_lines: list[bytes], chunks: list[int], writes: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as tmp, Hostile(pieces(b"".join(body_lines), chunks, writes)) as server:
        path = Path(tmp) / "c.jsonl"
        result = record(server.base_url + SEARCH, path)
        assert result.reason is StopReason.SERVER_CLOSED, result.error
        assert lines(path) == body_lines


def test_the_request_carries_the_parameters_token_and_user_agent(cassette: Path) -> None:
    with Hostile(stream(EVENT)) as server:
        record(server.base_url + SEARCH, cassette, params={"tweet.fields": "id,text", "backfill_minutes": "1"})
    request = server.requests[0]
    assert request.target == SEARCH + "?tweet.fields=id,text&backfill_minutes=1"
    assert request.header("Authorization") == f"Bearer {TOKEN}"
    assert (request.header("User-Agent") or "").startswith("x-stream-harness/0.")
