"""`harness slice`, `harness cat`, `harness diff`: what they keep (timing, heartbeats between,
the format's order), replayed over a real socket, and their command line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_replayer import RawStream, cassette, event_line, events

from harness.cassette import Cassette, Close, CloseReason, Connection, Header, Line, Record, write_cassette
from harness.cassette.compare import diff_cassettes
from harness.cassette.edit import Span, cat_cassettes, parse_span, slice_cassette
from harness.cassette.synth import encode_line
from harness.cli.app import main
from harness.errors import UsageError
from harness.replay.server import ReplayServer

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

HEADER = Header("search-stream", "https://api.x.com/2/tweets/search/stream")
TOL = 1e-5  # offsets are written rounded to microseconds
HB = b"\r\n"


def run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


# -- cassettes drawn at random ----------------------------------------------------------------------
@dataclass(frozen=True)
class Placed:
    """A source record with the connection it belongs to and its place in the file."""

    n: int
    record: Record
    conn: Connection


@st.composite
def sessions(draw: st.DrawFn) -> list[Record]:
    records: list[Record] = []
    started, number = 0.0, 0
    for index in range(draw(st.integers(1, 4))):
        status = draw(st.sampled_from([200, 200, 200, 429]))
        head = draw(st.integers(1, 50)) / 1000
        records.append(Connection(index, status, "", (), head, started))
        offset = head
        if status != 200:
            records.append(Line(offset, encode_line({"title": "Too Many Requests", "status": 429})))
        else:
            for kind in draw(st.lists(st.sampled_from("eeeh"), max_size=12)):
                offset += draw(st.integers(0, 3000)) / 1000  # lines may share an offset (one read)
                if kind == "e":
                    records.append(Line(offset, event_line(number)))
                    number += 1
                else:
                    records.append(Line(offset, HB))
        offset += draw(st.integers(0, 500)) / 1000
        records.append(Close(offset, draw(st.sampled_from(list(CloseReason)))))
        started += offset + draw(st.integers(0, 5000)) / 1000
    return records


def placed(path: Path) -> list[Placed]:
    out, conn = [], None
    for n, record in enumerate(Cassette(path)):
        conn = record if isinstance(record, Connection) else conn
        assert conn is not None
        out.append(Placed(n, record, conn))
    return out


def is_event(p: Placed) -> bool:
    return isinstance(p.record, Line) and p.conn.status == 200 and not p.record.is_heartbeat


def lines_of(items: list[Placed]) -> list[bytes]:
    return [p.record.raw for p in items if isinstance(p.record, Line)]


def gaps(items: list[Placed]) -> list[tuple[int, float]]:
    """(connection, gap from the record before) of each line, the connection's head counting as a record."""
    out, last, conn = [], 0.0, -1
    for p in items:
        if isinstance(p.record, Connection):
            conn, last = p.record.index, p.record.offset
        elif isinstance(p.record, Line):
            out.append((conn, p.record.offset - last))
            last = p.record.offset
        else:
            last = p.record.offset
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=sessions(), a=st.integers(0, 12), width=st.one_of(st.none(), st.integers(1, 12)))
def test_a_slice_by_events_keeps_them_the_heartbeats_between_and_every_gap(
    tmp_path: Path, records: list[Record], a: int, width: int | None
) -> None:
    src = write_cassette(tmp_path / "src.jsonl", HEADER, records)
    source = placed(src)
    evs = [p for p in source if is_event(p)]
    b = None if width is None else a + width
    out = tmp_path / "out.jsonl"
    out.unlink(missing_ok=True)  # one tmp_path for every example
    if a >= len(evs):
        with pytest.raises(UsageError, match=f"holds no event: the cassette has {len(evs)} event"):
            slice_cassette(src, out, Span(a, b, events=True))
        assert not out.exists()
        return
    written = slice_cassette(src, out, Span(a, b, events=True))
    got = placed(out)  # read back: the reader checks the records' order and offsets
    first = evs[a].n
    last = evs[b - 1].n if b is not None and b <= len(evs) else len(source) - 1
    window = [p for p in source if first <= p.n <= last]
    assert lines_of(got) == lines_of(window)  # the events, and whatever lay between them
    assert lines_of([p for p in got if is_event(p)]) == lines_of(evs[a:b])
    assert written.events == len([p for p in got if isinstance(p.record, Line) and not p.record.is_heartbeat])
    # every gap as recorded: the first line's from the record before it (now the head), the rest's too
    src_gaps = gaps([p for p in source if p.n <= last])[-len(lines_of(window)) :]
    assert [round(g, 4) for _, g in gaps(got)] == [round(g, 4) for _, g in src_gaps]
    closes = [p.record for p in got if isinstance(p.record, Close)]
    assert len(closes) == len([p for p in got if isinstance(p.record, Connection)])  # each connection closed
    if last != len(source) - 1 and not isinstance(source[last].record, Close):
        assert closes[-1].reason is CloseReason.CLIENT_STOPPED  # cut short: as a recording stopped there
    conns = [p.record for p in got if isinstance(p.record, Connection)]
    assert conns[0].started == 0.0 and [c.index for c in conns] == list(range(len(conns)))
    kept = sorted({p.conn.index: p.conn.started for p in window}.items())
    for (_, x), (_, y), u, v in zip(kept[1:], kept[2:], conns[1:], conns[2:], strict=False):
        assert abs((y - x) - (v.started - u.started)) < TOL  # later reconnections as far apart as recorded


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=sessions(), a=st.integers(0, 20000), width=st.integers(1, 20000))
def test_a_slice_by_time_keeps_what_lies_in_it(tmp_path: Path, records: list[Record], a: int, width: int) -> None:
    src = write_cassette(tmp_path / "src.jsonl", HEADER, records)
    source = placed(src)
    start, stop = a / 1000, (a + width) / 1000
    inside = [p for p in source if isinstance(p.record, Line) and start <= p.conn.started + p.record.offset < stop]
    out = tmp_path / "out.jsonl"
    out.unlink(missing_ok=True)  # one tmp_path for every example
    try:
        slice_cassette(src, out, Span(start, stop, events=False))
    except UsageError as exc:
        assert "holds no record" in str(exc)
        assert inside == [] and not out.exists()
        return
    got = placed(out)
    assert lines_of(got) == lines_of(inside)
    for p in got:  # nothing after the span's end, on the slice's clock
        assert (
            p.conn.started + (p.record.offset if not isinstance(p.record, Connection) else 0)
            <= stop - start + 0.05 + TOL
        )


# -- by hand: what the user sees ---------------------------------------------------------------------
@pytest.fixture
def two(tmp_path: Path) -> Path:
    """Connection 0: events 0-4 with a heartbeat after event 2, closed by the server; connection 1
    (0.1 s later): events 5-9."""
    first = events(0, 5)
    first.insert(3, (0.35, HB))
    return cassette(tmp_path / "two.jsonl", "search-stream", (first, CloseReason.SERVER_CLOSED, 0.6),
                    (events(5, 5), CloseReason.CLIENT_STOPPED, 0.6))  # fmt: skip


def test_a_slice_across_a_reconnection_replays_as_recorded(tmp_path: Path, two: Path) -> None:
    out = slice_cassette(two, tmp_path / "s.jsonl", parse_span("2:7", events=True))
    assert (out.connections, out.events, out.heartbeats) == (2, 5, 1)
    records = list(Cassette(out.path))
    assert isinstance(records[0], Connection) and isinstance(records[1], Line)
    assert records[1].offset == pytest.approx(0.01 + 0.1)  # event 2 is 0.1 s after event 1, so after the head
    assert [r.reason for r in records if isinstance(r, Close)] == [CloseReason.SERVER_CLOSED,
                                                                   CloseReason.CLIENT_STOPPED]  # fmt: skip
    assert Cassette(out.path).header.labels["slice"] == "events 2:7 of two.jsonl"
    with ReplayServer([out.path], speed=None, on_end="close") as server:
        got = []
        for _ in range(2):
            with RawStream(server.port, "/2/tweets/search/stream") as s:
                got.append([c.data for c in s.chunks()])
    assert got == [[event_line(2), HB, event_line(3), event_line(4)], [event_line(5), event_line(6)]]


def test_cat_serves_the_cassettes_as_successive_connections(tmp_path: Path, two: Path) -> None:
    other = cassette(tmp_path / "o.jsonl", "search-stream", (events(100, 2), CloseReason.CLIENT_STOPPED, 0.3))
    out = cat_cassettes([two, other], tmp_path / "cat.jsonl")
    assert (out.connections, out.events) == (3, 12)
    conns = [r for r in Cassette(out.path) if isinstance(r, Connection)]
    assert [c.index for c in conns] == [0, 1, 2]
    assert conns[2].started == pytest.approx(conns[1].started + 0.6)  # when the first cassette ended
    with ReplayServer([out.path], speed=None, on_end="close") as server:
        got = []
        for _ in range(3):
            with RawStream(server.port, "/2/tweets/search/stream") as s:
                got.append(len(list(s.chunks())))
    assert got == [6, 5, 2]


def test_cat_refuses_cassettes_of_two_endpoints(tmp_path: Path, two: Path) -> None:
    ja = cassette(
        tmp_path / "ja.jsonl", "firehose-ja", (events(0, 1, endpoint="firehose-ja"), CloseReason.CLIENT_STOPPED, 1)
    )
    code, out, err = run("cat", two, ja, "-o", tmp_path / "x.jsonl")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "firehose-ja cassette cannot follow a search-stream one" in err
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--events", "5:3"], "expected A < B, found 5 >= 3"),
        (["--events", "a:3"], "expected A:B with A and B event numbers"),
        (["--time", "-1:3"], "expected A:B with A and B seconds"),
        (["--events", "3"], "expected A:B"),
        ([], "give one of --events A:B or --time A:B"),
        (["--events", "1:2", "--time", "1:2"], "give one of --events A:B or --time A:B"),
        (["--events", "40:"], "holds no event: the cassette has 10 event(s)"),
        (["--time", "100:200"], "holds no record"),
    ],
)
def test_slice_errors_are_one_line_and_exit_2(tmp_path: Path, two: Path, args: list[str], message: str) -> None:
    code, out, err = run("slice", two, *args, "-o", tmp_path / "x.jsonl")
    assert code == 2 and out == "" and message in err and err.strip().count("\n") == 0, err
    assert not (tmp_path / "x.jsonl").exists()


def test_slice_and_cat_on_the_command_line(tmp_path: Path, two: Path) -> None:
    code, out, _ = run("slice", two, "--time", "0.25:0.45", "-o", tmp_path / "t.jsonl.gz")
    assert code == 0 and out.strip() == f"wrote {tmp_path / 't.jsonl.gz'}: 1 connection(s), 2 event(s), 1 heartbeat(s)"
    lines = [r for r in Cassette(tmp_path / "t.jsonl.gz") if isinstance(r, Line)]
    assert [r.raw for r in lines] == [event_line(2), HB, event_line(3)]
    assert lines[0].offset == pytest.approx(0.01 + 0.05)  # 0.3 s recorded, 0.05 s after the span starts
    code, out, _ = run("cat", two, tmp_path / "t.jsonl.gz", "-o", tmp_path / "c.jsonl")
    assert code == 0 and "3 connection(s), 12 event(s), 2 heartbeat(s)" in out
    code, _, err = run("slice", two, "--events", "1:2", "-o", two)
    assert code == 2 and "would overwrite an input" in err


# -- diff --------------------------------------------------------------------------------------------
DISCONNECT = {"title": "operational-disconnect", "disconnect_type": "OperationalDisconnect",
              "type": "https://api.twitter.com/2/problems/operational-disconnect"}  # fmt: skip


def tweet(n: int, **extra: object) -> bytes:
    return encode_line({"data": {"id": str(n), "text": f"t{n}", "lang": "en" if n % 2 else "fr", **extra}})


def test_diff_says_what_changed_between_two_recordings(tmp_path: Path) -> None:
    old = [(0.1 * i, tweet(i)) for i in range(1, 7)] + [(20.7, HB)]
    new = [(0.2 * i, tweet(i, possibly_sensitive=False)) for i in range(1, 5)]
    new += [(0.9, encode_line({"data": {"id": 7, "text": "t7", "lang": "ja"}})),
            (1.0, encode_line({"data": {"id": "8", "text": "t8", "lang": "ja"}})), (21.0, HB),
            (21.5, encode_line({"errors": [DISCONNECT]}))]  # fmt: skip
    a = cassette(tmp_path / "a.jsonl", "search-stream", (old, CloseReason.CLIENT_STOPPED, 30.0))
    b = cassette(tmp_path / "b.jsonl", "search-stream", (new, CloseReason.SERVER_CLOSED, 30.0))
    d = diff_cassettes(a, b)
    assert d.changed
    assert d.added == {"data.possibly_sensitive": ["boolean"]} and d.removed == {}
    assert d.retyped == {"data.id": (["string"], ["integer", "string"])}
    assert d.values == {"data.lang": (["ja"], [])}  # ids and texts never repeat: no enum
    assert d.errors == {"in-stream error operational-disconnect / OperationalDisconnect / "
                        "https://api.twitter.com/2/problems/operational-disconnect": (0, 1)}  # fmt: skip
    assert d.a.rate == pytest.approx(6 / 29.99) and d.b.rate == pytest.approx(6 / 29.99)
    assert d.a.cadence == pytest.approx((20.1, 20.1)) and d.b.cadence == pytest.approx((20.0, 20.0))
    code, out, _ = run("diff", a, b)
    assert code == 1
    assert "+ field data.possibly_sensitive: boolean" in out and "~ type data.id: string -> integer|string" in out
    assert "~ values data.lang: +'ja'" in out and "~ errors in-stream error operational-disconnect" in out
    assert "heartbeats  every 20.1s (longest 20.1s, 1) -> every 20.0s (longest 20.0s, 1)" in out
    code, out, _ = run("diff", a, a, "--format", "json")
    assert code == 0 and json.loads(out)["changed"] is False


def test_diff_of_a_file_that_is_no_cassette_is_one_line_exit_2(tmp_path: Path, two: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    code, out, err = run("diff", two, bad)
    assert code == 2 and out == "" and "not JSON" in err and err.strip().count("\n") == 0
