"""Faults: the spec grammar, and what each fault does on the wire, deterministically and logged."""

from __future__ import annotations

import json
import time
from pathlib import Path
from statistics import median

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from test_replayer import RawStream, cassette, event_line, events, target

from harness.cassette import CloseReason
from harness.contract.checker import Contract
from harness.errors import UsageError
from harness.replay.faults import DEFAULT_STALL, NO_WHEN, Fault, FaultBook, FaultKind
from harness.replay.server import End, LineKind, ReplayServer

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses


# -- the grammar -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("disconnect@5", Fault(FaultKind.DISCONNECT, after_events=5)),
        ("drop@3", Fault(FaultKind.DROP, after_events=3)),
        ("stall=25@2", Fault(FaultKind.STALL, after_events=2, seconds=25.0)),
        ("stall@2", Fault(FaultKind.STALL, after_events=2, seconds=DEFAULT_STALL)),
        ("split@1", Fault(FaultKind.SPLIT, after_events=1)),
        ("status=429x2", Fault(FaultKind.STATUS, status=429, count=2)),
        ("status=503", Fault(FaultKind.STATUS, status=503)),
        ("throttle=2000", Fault(FaultKind.THROTTLE, bytes_per_second=2000.0)),
        ("disconnect@1.5s", Fault(FaultKind.DISCONNECT, after_seconds=1.5)),
        ("drop", Fault(FaultKind.DROP)),
        (" DROP@0x* ", Fault(FaultKind.DROP, after_events=0, count=None)),
        ("throttle=512.5x3@2s", Fault(FaultKind.THROTTLE, bytes_per_second=512.5, count=3, after_seconds=2.0)),
    ],
)
def test_specs_parse_into_faults(spec: str, fault: Fault) -> None:
    assert Fault.parse(spec) == fault
    assert Fault.parse(str(fault)) == fault


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "explode@3",
            "fault kind: expected one of disconnect, drop, stall, split, status, throttle, reset, badchunk, "
            "badgzip, garbage, unavailable, slowhead, unfinished, found 'explode'",
        ),
        ("", "expected KIND[=VALUE][xCOUNT][@EVENTS|@SECONDSs]"),
        ("status", "status: expected an HTTP status 400..599"),
        ("status=200", "status: expected an HTTP status 400..599"),
        ("status=429@3", "status: answers whole connections, so it takes no @"),
        ("throttle", "throttle: expected bytes per second > 0"),
        ("throttle=0", "throttle: expected bytes per second > 0"),
        ("drop=5", "drop takes no =VALUE"),
        ("stall=-1", "stall: expected a duration > 0 seconds"),
        ("stall=abc", "expected a number, found 'abc'"),
        ("split@x", "expected KIND[=VALUE][xCOUNT]"),
        ("dropx2x3", "give xCOUNT once"),
        ("split@-1", "expected an integer event count"),
        ("drop@2.5", "expected an integer event count, found '2.5'"),
        ("disconnectx0", "expected a count >= 1 (or * for every connection)"),
        ("disconnect@nans", "disconnect: expected a time >= 0 seconds"),
        ("disconnect@1e9999s", "disconnect: expected a time >= 0 seconds"),
    ],
)
def test_bad_specs_say_what_is_expected(spec: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        Fault.parse(spec)
    assert message in str(info.value)


def test_faults_built_by_fields_are_checked_too() -> None:
    with pytest.raises(UsageError, match="either a number of events or a time"):
        Fault(FaultKind.DROP, after_events=1, after_seconds=1.0)
    with pytest.raises(UsageError, match="takes no status"):
        Fault(FaultKind.SPLIT, status=500)
    assert Fault("stall").seconds == DEFAULT_STALL  # type: ignore[arg-type]  # a plain string kind is parsed


@st.composite
def faults(draw: st.DrawFn) -> Fault:
    kind = draw(st.sampled_from(list(FaultKind)))
    count = draw(st.one_of(st.none(), st.integers(1, 1000)))
    value = st.floats(1e-3, 1e9, allow_nan=False)
    if kind is FaultKind.STATUS:
        return Fault(kind, status=draw(st.integers(400, 599)), count=count)
    if kind in NO_WHEN:
        return Fault(kind, seconds=draw(value), count=count)
    when: dict[str, float | int] = draw(
        st.one_of(
            st.just({}),
            st.integers(0, 10**6).map(lambda n: {"after_events": n}),
            st.floats(0, 1e6, allow_nan=False).map(lambda t: {"after_seconds": t}),
        )
    )
    extra = {FaultKind.STALL: {"seconds": draw(value)}, FaultKind.THROTTLE: {"bytes_per_second": draw(value)}}
    return Fault(kind, count=count, **when, **extra.get(kind, {}))  # type: ignore[arg-type]


@given(faults())
def test_every_fault_survives_its_spec(fault: Fault) -> None:
    assert Fault.parse(str(fault)) == fault


@given(st.text(max_size=30))
def test_any_text_parses_or_is_refused_with_a_usage_error(spec: str) -> None:
    try:
        fault = Fault.parse(spec)
    except UsageError as exc:
        assert str(exc)
    else:
        assert Fault.parse(str(fault)) == fault


def test_a_fault_hits_as_many_connections_as_its_count() -> None:
    book = FaultBook((Fault.parse("status=503x2"), Fault.parse("drop@1x*")))
    assert [book.take_status() for _ in range(3)] == [Fault.parse("status=503x2")] * 2 + [None]
    pending = book.pending(set())
    assert [f for _, f in pending] == [Fault.parse("drop@1x*")]
    assert all(book.claim(pending[0][0]) for _ in range(50))  # x*: every connection
    assert book.pending({pending[0][0]}) == []  # but each connection once


# -- on the wire -----------------------------------------------------------------------------------
@pytest.fixture
def ten(tmp_path: Path) -> Path:
    """Ten events 0.1 s apart, then the server closes."""
    return cassette(tmp_path / "ten.jsonl", "search-stream", (events(0, 10), CloseReason.SERVER_CLOSED, 1.1))


RAWS = [event_line(i) for i in range(10)]


def test_disconnect_sends_an_operational_disconnect_then_closes_and_the_reconnect_goes_on(ten: Path) -> None:
    with ReplayServer([ten], speed=None, faults=["disconnect@4"]) as server:
        with RawStream(server.port, "/2/tweets/search/stream") as s:
            got = [c.data for c in s.chunks()]
        assert got[:4] == RAWS[:4] and len(got) == 5 and s.clean  # a clean end, as X closes
        payload = json.loads(got[4])
        assert payload["errors"][0]["type"].endswith("/2/problems/operational-disconnect")
        assert Contract().check_event(payload, "search-stream") == []
        with RawStream(server.port, "/2/tweets/search/stream") as s:
            assert [c.data for c in s.chunks()] == RAWS[4:]  # nothing lost, nothing repeated
        first, second = server.log
        assert [str(f.fault) for f in first.faults] == ["disconnect@4"] and first.faults[0].events == 4
        assert [line.kind for line in first.lines][-1] is LineKind.FAULT
        assert second.faults == [] and second.resumed_at == 4


def test_drop_cuts_a_line_in_the_middle_and_closes_without_the_last_chunk(ten: Path) -> None:
    with ReplayServer([ten], speed=None, faults=["drop@2"]) as server:
        with RawStream(server.port, "/2/tweets/search/stream") as s:
            assert [c.data for c in s.chunks()] == RAWS[:2]
            assert s.clean is False
            assert s.buf == RAWS[2][: len(RAWS[2]) // 2]  # half the next line's chunk came, then nothing
        with pytest.raises(requests.exceptions.ChunkedEncodingError):  # what a requests consumer meets
            server.inject("drop@1")
            r = requests.get(server.url("search-stream"), headers={"Authorization": "Bearer u"}, stream=True, timeout=5)
            list(r.iter_lines())
        assert server.log[0].end is End.DROPPED and server.log[0].events == 2


def test_stall_sends_nothing_at_all_for_its_time_then_the_backlog(tmp_path: Path) -> None:
    speed = 10.0
    lines = events(0, 10, gap=1.0, start=1.0)  # due at 0.1, 0.2 .. 1.0 s here
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 10.5))
    with (
        ReplayServer([path], speed=speed, faults=["stall=4@3"]) as server,  # 0.4 s here, from ~0.3 s
        RawStream(server.port, "/2/tweets/search/stream") as s,
    ):
        got = list(s.chunks())
        log = server.log[0]
    assert [c.data for c in got] == RAWS  # no heartbeat during the stall, nothing lost
    assert [str(f.fault) for f in log.faults] == ["stall=4@3"] and log.faults[0].events == 3
    sent = [line.sent for line in log.lines]
    # the server's own clock: the stall waits for its deadline, so a stall of this process (up to
    # ~0.3 s) can only lengthen it. Not applied: 0.1 s; applied unscaled: 4 s.
    assert 0.39 < sent[3] - sent[2] < 0.75, sent
    # the client cannot see the line before the stall's end (0.3 + 0.4 s after the request at the
    # earliest); with no stall it would come at 0.4 s, with one unscaled at 4.3 s
    assert 0.69 < got[3].at - s.sent < 1.2, got[3].at - s.sent
    # the lines that fell due during the stall (0.4 .. 0.7 s) leave at once after it, in one write:
    # on a schedule shifted by the stall instead, they would leave 0.3 s apart
    assert sent[6] - sent[3] < 0.15, sent


def test_split_puts_cr_and_lf_in_two_chunks_and_iter_lines_sees_a_false_heartbeat(ten: Path) -> None:
    with ReplayServer([ten], speed=None, faults=["split@1"]) as server:
        with RawStream(server.port, "/2/tweets/search/stream") as s:
            got = [c.data for c in s.chunks()]
        assert got == [RAWS[0], RAWS[1][:-1], b"\n", *RAWS[2:]]
        server.inject("split@1")
        r = requests.get(server.url("search-stream"), headers={"Authorization": "Bearer v"}, stream=True, timeout=5)
        lines = list(r.iter_lines())
    assert lines.count(b"") == 1  # the cassette has no heartbeat: requests made one up
    assert [json.loads(line) for line in lines if line] == [json.loads(raw) for raw in RAWS]


@pytest.mark.parametrize("status", [429, 503])
def test_status_answers_the_next_connections_then_the_stream_is_back(ten: Path, status: int) -> None:
    with ReplayServer([ten], speed=None, faults=[f"status={status}x2"]) as server:
        t = target(server, "search-stream")
        answers = []
        for _ in range(3):
            with RawStream(server.port, t) as s:
                answers.append((s.status, s.body, s.headers))
        assert [a[0] for a in answers] == [status, status, 200]
        body = json.loads(answers[0][1])
        assert Contract().check_problem(body) == []
        if status == 429:
            assert body["connection_issue"] == "TooManyConnections"
            assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(answers[0][2])
        else:
            assert body == {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank",
                            "status": 503}  # fmt: skip
        assert [log.end for log in server.log[:2]] == [End.REFUSED, End.REFUSED]
        assert all(str(log.faults[0].fault) == f"status={status}x2" for log in server.log[:2])


def test_throttle_limits_the_byte_rate_on_the_recordings_clock(tmp_path: Path) -> None:
    lines = events(0, 20, gap=0.0, start=0.01)  # all due at once: only the throttle spaces them
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 0.02))
    size = sum(len(raw) for _, raw in lines)
    rate = size / 4  # four seconds' worth at 1x; 1 s at speed 4
    with (
        ReplayServer([path], speed=4, faults=[f"throttle={rate}"]) as server,
        RawStream(server.port, "/2/tweets/search/stream") as s,
    ):
        got = list(s.chunks())
    assert [c.data for c in got] == [raw for _, raw in lines]
    # the throttle keeps a schedule from its start (a stall of this process, up to ~0.3 s, is caught
    # up after it), so the last byte cannot leave before ~1 s: none at all, ~0 s; the rate taken on the
    # wall clock rather than the recording's, 4 s
    took = got[-1].at - s.sent
    assert 0.9 < took < 1.6, took
    # spaced over that second: the middle line about half-way (sent at the end of the throttle: 1 s)
    middle = median(c.at - s.sent for c in got)
    assert 0.3 < middle < 0.85, middle


def test_time_triggered_faults_hit_at_their_time(ten: Path) -> None:
    with (
        ReplayServer([ten], speed=2, faults=["disconnect@0.45s"]) as server,
        RawStream(server.port, "/2/tweets/search/stream") as s,
    ):
        got = list(s.chunks())
    # events at 0.1 .. 0.4 s recorded (0.05 .. 0.2 s here) went out; at 0.45 s, 0.225 s here, the
    # disconnect payload, before the event due at 0.25 s here even when a stall made both due at once.
    # At the wrong speed (0.45 s here), events 4 to 7 would have gone out first.
    assert [c.data for c in got[:-1]] == RAWS[:4]
    assert b"operational-disconnect" in got[-1].data
    assert 0.22 < got[-1].at - s.sent < 0.7  # not before its time; after it, a stall of up to ~0.3 s
    assert server.log[0].faults[0].events == 4


def test_a_fault_injected_at_runtime_hits_an_open_stream_at_once(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 2), CloseReason.CLIENT_STOPPED, 0.3))
    with ReplayServer([path], speed=1) as server:  # held open: heartbeats every 20 s
        with RawStream(server.port, "/2/tweets/search/stream") as s:
            assert len(s.take(2)) == 2
            started = time.monotonic()
            server.inject(Fault(FaultKind.DISCONNECT))
            rest = list(s.chunks())
        # not waiting for the next line: the stream sleeps until its heartbeat, 20 s away
        assert time.monotonic() - started < 5.0
        assert len(rest) == 1 and b"operational-disconnect" in rest[0].data and s.clean


def test_faults_are_deterministic_one_connection_each_unless_counted(ten: Path) -> None:
    runs = []
    for _ in range(2):
        with ReplayServer([ten], speed=None, on_end="close", faults=["drop@3", "split@1x2"]) as server:
            for _ in range(4):
                with RawStream(server.port, "/2/tweets/search/stream") as s:
                    list(s.chunks())
            assert all(log.finished.wait(2) for log in server.log)
            runs.append([(log.end, [str(f.fault) for f in log.faults], log.events) for log in server.log])
    assert runs[0] == runs[1]
    assert runs[0][0] == (End.DROPPED, ["splitx2@1", "drop@3"], 3)  # in the order they hit
    assert runs[0][1] == (End.COMPLETED, ["splitx2@1"], 7)  # drop was used up; split had one more use
    assert runs[0][2][1] == [] and runs[0][3][1] == []
