"""The cassette format: round trips, cuts, and every way a cassette can be wrong."""

from __future__ import annotations

import gzip
import json
import time
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cassette import (
    FORMAT,
    Cassette,
    CassetteWarning,
    CassetteWriter,
    Close,
    CloseReason,
    Connection,
    Header,
    Line,
    Record,
    write_cassette,
)
from harness.errors import CassetteFormatError, CassetteOrderError, CassetteVersionError, CassetteWriteError

HEADER = Header(endpoint="search-stream", url="https://api.x.com/2/tweets/search/stream", labels={"source": "test"})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
# JSON objects as a server may write them: compact, spaced, escaped or not
json_objects = st.builds(
    lambda obj, ascii, spaced: json.dumps(obj, ensure_ascii=ascii, separators=(", ", ": ") if spaced else (",", ":")),
    st.dictionaries(st.text(max_size=5), json_values, max_size=4),
    st.booleans(),
    st.booleans(),
).map(str.encode)
line_bytes = st.builds(
    lambda body, eol: body.replace(b"\n", b"") + eol,
    st.binary(max_size=64) | st.text(max_size=40).map(str.encode) | json_objects,
    st.sampled_from([b"\r\n", b"\r\n", b"\n", b""]),
)


@st.composite
def sessions(draw: st.DrawFn) -> list[Record]:
    records: list[Record] = []
    started = 0.0
    for index in range(draw(st.integers(1, 3))):
        t = draw(st.floats(0, 1, allow_nan=False)).__round__(6)
        headers = tuple(draw(st.lists(st.tuples(st.text("abcXYZ-", min_size=1), st.text(max_size=10)), max_size=3)))
        records.append(Connection(index, draw(st.sampled_from([200, 429, 503])), "R", headers, t, started))
        for raw in draw(st.lists(line_bytes, max_size=6)):
            t = round(t + draw(st.floats(0, 30, allow_nan=False)), 6)
            records.append(Line(t, raw))
        reason = draw(st.sampled_from(list(CloseReason)))
        records.append(Close(t, reason, "boom" if reason is CloseReason.ERROR else None))
        started = round(started + t + 1, 6)
    return records


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=sessions(), suffix=st.sampled_from([".jsonl", ".jsonl.gz"]))
def test_round_trip_is_byte_exact(tmp_path: Path, records: list[Record], suffix: str) -> None:
    path = write_cassette(tmp_path / f"c{suffix}", HEADER, records)
    cassette = Cassette(path)
    assert cassette.header == HEADER
    assert list(cassette) == records
    assert cassette.warnings == []


def test_line_encoding_is_readable_and_exact(tmp_path: Path) -> None:
    records: list[Record] = [
        Connection(0, 200, "OK"),
        Line(0.5, b'{"data":{"id":"1"}}\r\n'),
        Line(1.0, b"\r\n"),
        Line(1.5, b"\xff\xfe not utf-8\r\n"),
        Line(2.0, b'{"half'),
        Close(2.0, CloseReason.SERVER_CLOSED),
    ]
    path = write_cassette(tmp_path / "c.jsonl", HEADER, records)
    data = path.read_bytes().splitlines()
    lines = [json.loads(x) for x in data]
    assert lines[0]["format"] == FORMAT and lines[0]["version"] == 2
    # a JSON object is stored as itself: its bytes, verbatim, are the member's value
    assert data[2] == b'{"kind":"line","offset":0.5,"json":{"data":{"id":"1"}}}'
    assert lines[3] == {"kind": "heartbeat", "offset": 1.0}
    assert "b64" in lines[4]
    assert lines[5] == {"kind": "line", "offset": 2.0, "eol": "", "text": '{"half'}
    assert list(Cassette(path)) == records
    assert [e.raw for e in Cassette(path).events()] == [records[1].raw, records[3].raw, records[4].raw]  # type: ignore[union-attr]


def _small_cassette(path: Path) -> list[Record]:
    records: list[Record] = [
        Connection(0, 200, "OK", (("Content-Type", "application/json"),)),
        Line(0.1, b'{"data":{"id":"1","text":"a"}}\r\n'),
        Line(0.2, b"\r\n"),
        Line(0.3, b'{"data":{"id":"2","text":"b"}}\r\n'),
        Close(0.4, CloseReason.SERVER_CLOSED),
        Connection(1, 200, "OK", (), 0.0, 1.0),
        Line(0.1, b'{"data":{"id":"3","text":"c"}}\r\n'),
        Close(0.2, CloseReason.CLIENT_STOPPED),
    ]
    write_cassette(path, HEADER, records)
    return records


def _complete_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_cut_at_every_byte_reads_a_prefix(tmp_path: Path, suffix: str) -> None:
    full = tmp_path / f"full{suffix}"
    records = _small_cassette(full)
    data = full.read_bytes()
    for cut in range(len(data)):
        path = tmp_path / f"cut{suffix}"
        path.write_bytes(data[:cut])
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cassette = Cassette(path)
                got = list(cassette)
        except CassetteFormatError as exc:
            # only a cut inside the header (or the gzip header) leaves nothing readable
            assert exc.line == 1, (cut, exc)
            assert suffix.endswith(".gz") or b"\n" not in data[:cut], cut
            continue
        assert got == records[: len(got)], cut
        assert all(issubclass(w.category, CassetteWarning) for w in caught)
        if suffix == ".jsonl":
            partial = data[:cut].rsplit(b"\n", 1)[-1] if b"\n" in data[:cut] else b""
            assert bool(cassette.warnings) == (partial != b"" and not _complete_json(partial)), cut
        elif cut < len(data):
            assert cassette.warnings, cut  # a cut gzip stream is always said


def test_cut_last_line_is_a_warning_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    _small_cassette(path)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    cassette = Cassette(path)
    with pytest.warns(CassetteWarning, match=r"line 9 is cut short"):
        got = list(cassette)
    assert len(got) == 7
    assert "line 9 is cut short" in cassette.warnings[0]


def _write_lines(path: Path, *lines: object) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


HEAD = {"format": FORMAT, "version": 1, "endpoint": "search-stream", "url": "u"}
CONN = {"kind": "connection", "index": 0, "status": 200, "offset": 0.0}


def test_unknown_version_fails_loudly(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "c.jsonl", HEAD | {"version": 7})
    with pytest.raises(
        CassetteVersionError, match=r"c.jsonl:1: cassette format version 7 is not supported: .* versions 1 and 2"
    ):
        Cassette(path)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"data": {"id": "1"}}',  # spaced: kept as it came
        b'{"data":{"text":"\\u6771\\"q\\""}}',  # escapes kept, not re-encoded
        '{"data":{"text":"東京"}}'.encode(),
        b'{"a":1,"a":2}',  # duplicate members: JSON all the same
    ],
)
def test_json_lines_are_stored_verbatim(tmp_path: Path, payload: bytes) -> None:
    path = write_cassette(tmp_path / "c.jsonl", HEADER, [Connection(0, 200), Line(0.5, payload + b"\r\n")])
    record = path.read_bytes().splitlines()[2]
    assert record == b'{"kind":"line","offset":0.5,"json":' + payload + b"}"
    assert [line.raw for line in Cassette(path).events()] == [payload + b"\r\n"]


@pytest.mark.parametrize(
    "payload",
    [
        b'{"a":NaN}',  # json.loads takes it; not JSON for everyone else
        b'{"a":"\\ud800"}',  # a lone surrogate escape
        b'{"a":"\xff"}',  # not UTF-8
        b'{"a":1}\r{"b":2}',  # a CR inside: universal-newline readers would split the record
        b' {"a":1}',  # whitespace around the object would not survive a re-read
        b'{"a":1} x',
        b"[1, 2]",
        b'"text"',
    ],
)
def test_other_lines_are_stored_as_text_or_b64(tmp_path: Path, payload: bytes) -> None:
    path = write_cassette(tmp_path / "c.jsonl", HEADER, [Connection(0, 200), Line(0.5, payload + b"\r\n")])
    record = json.loads(path.read_bytes().splitlines()[2])
    assert "json" not in record and ("text" in record or "b64" in record)
    assert [line.raw for line in Cassette(path).events()] == [payload + b"\r\n"]


def test_version_1_cassettes_are_still_read(tmp_path: Path) -> None:
    path = _write_lines(
        tmp_path / "v1.jsonl",
        HEAD,
        CONN,
        {"kind": "line", "offset": 0.5, "text": '{"data":{"id":"1"}}'},
        {"kind": "line", "offset": 0.6, "b64": "//4=", "eol": "\n"},
        {"kind": "heartbeat", "offset": 1.0},
        {"kind": "close", "offset": 1.0, "reason": "server-closed"},
    )
    cassette = Cassette(path)
    assert cassette.header.version == 1
    assert [r.raw for r in cassette if isinstance(r, Line)] == [b'{"data":{"id":"1"}}\r\n', b"\xff\xfe\n", b"\r\n"]


@pytest.mark.parametrize(
    ("lines", "error", "match"),
    [
        ([], CassetteFormatError, r":1: empty file: expected a cassette header"),
        (['{"data": {}}'], CassetteFormatError, r":1: expected a header .*found format None"),
        (["not json at all"], CassetteFormatError, r":1: not JSON: 'not json at all'"),
        ([HEAD | {"format": "vcr"}], CassetteFormatError, r"found format 'vcr'"),
        ([HEAD, CONN, "garbage"], CassetteFormatError, r"c.jsonl:3: not JSON: 'garbage'"),
        ([HEAD, CONN, {"kind": "tape"}], CassetteFormatError, r":3: malformed record: unknown record kind 'tape'"),
        (
            [HEAD, CONN, {"kind": "line", "offset": 1, "json": {}, "text": "x"}],
            CassetteFormatError,
            r":3: malformed record: a line record holds one of json, text or b64, found more",
        ),
        ([HEAD, CONN, {"kind": "line", "text": "x"}], CassetteFormatError, r":3: malformed record: a line record with"),
        (
            [HEAD, CONN, {"kind": "close", "offset": 1, "reason": "bored"}],
            CassetteFormatError,
            r":3: malformed record: a close record's reason is one of server-closed, client-stopped, error, found 'bor",
        ),
        ([HEAD, CONN, {"kind": "line", "offset": "s"}], CassetteFormatError, r":3: malformed record: Expected `float"),
        ([HEAD, {"kind": "line", "offset": 1, "text": "x"}], CassetteOrderError, r":2: a line record outside any"),
        (
            [HEAD, CONN, {"kind": "line", "offset": 2, "text": "x"}, {"kind": "line", "offset": 1, "text": "y"}],
            CassetteOrderError,
            r":4: offset 1.0 goes back in time \(previous record at 2.0\)",
        ),
        ([HEAD, CONN | {"index": 3}], CassetteOrderError, r":2: expected connection index 0, found 3"),
        ([HEAD, CONN, CONN | {"index": 1}], CassetteOrderError, r":3: connection 1 starts before connection 0 was"),
    ],
)
def test_bad_cassettes_name_file_line_and_expectation(
    tmp_path: Path, lines: list[object], error: type[Exception], match: str
) -> None:
    path = _write_lines(tmp_path / "c.jsonl", *lines)
    with pytest.raises(error, match=match):
        list(Cassette(path))


def test_writer_refuses_out_of_order_records(tmp_path: Path) -> None:
    with CassetteWriter(tmp_path / "c.jsonl", HEADER) as w:
        with pytest.raises(CassetteOrderError, match="outside any connection"):
            w.line(b"x\r\n", 0.1)
        w.connection(200)
        w.line(b"x\r\n", 0.5)
        with pytest.raises(CassetteOrderError, match="goes back in time"):
            w.line(b"y\r\n", 0.1)
    # what was refused never reached the file
    assert len(list(Cassette(tmp_path / "c.jsonl"))) == 2


def test_writer_flushes_every_record(tmp_path: Path) -> None:
    for name in ("c.jsonl", "c.jsonl.gz"):
        w = CassetteWriter(tmp_path / name, HEADER)
        w.connection(200)
        w.line(b'{"data":{}}\r\n', 0.1)
        # read while the writer is still open, as after a SIGKILL
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CassetteWarning)
            assert [type(r) for r in Cassette(tmp_path / name)] == [Connection, Line]
        w.close()


def test_gzip_name_is_gzip(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    _small_cassette(path)
    assert json.loads(gzip.decompress(path.read_bytes()).splitlines()[0])["format"] == FORMAT


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(line_bytes, max_size=8), offset=st.floats(0, 1e6, allow_nan=False))
def test_batched_lines_equal_single_lines(tmp_path: Path, batch: list[bytes], offset: float) -> None:
    one, many = tmp_path / "one.jsonl", tmp_path / "many.jsonl"
    with CassetteWriter(one, HEADER) as w:
        w.connection(200)
        for raw in batch:
            w.line(raw, offset)
    with CassetteWriter(many, HEADER) as w:
        w.connection(200)
        w.lines(batch, offset)
        assert w.records == 1 + len(batch)
    with CassetteWriter(tmp_path / "bad.jsonl", HEADER) as w:
        w.connection(200)
        w.lines([b"x\r\n"], offset)
        with pytest.raises(CassetteOrderError, match="goes back in time"):
            w.lines([b"late\r\n"], offset - 1)
    assert one.read_bytes() == many.read_bytes()


# no deadline: a background thread's start-up is at the mercy of a shared machine
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(line_bytes, min_size=1, max_size=5), max_size=6))
def test_background_writing_writes_the_same_bytes(tmp_path: Path, batches: list[list[bytes]]) -> None:
    for name, background in (("fg.jsonl", False), ("bg.jsonl", True)):
        with CassetteWriter(tmp_path / name, HEADER, background=background) as w:
            w.connection(200)
            for i, batch in enumerate(batches):
                w.lines(batch, i * 0.5)
            w.close_connection(CloseReason.SERVER_CLOSED, 9.0)
    assert (tmp_path / "fg.jsonl").read_bytes() == (tmp_path / "bg.jsonl").read_bytes()


def test_a_failed_background_write_is_raised_by_the_next_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = CassetteWriter(tmp_path / "c.jsonl", HEADER, background=True)
    w.connection(200)
    real = w._file.write

    def full(data: bytes) -> int:
        if b'"x"' in data:
            raise OSError(28, "No space left on device")
        return real(data)

    monkeypatch.setattr(w._file, "write", full)
    w.lines([b'{"x":1}\r\n'], 0.5)  # handed over: the thread fails on it
    with pytest.raises(CassetteWriteError, match=r"c.jsonl: cannot write: No space left on device"):
        for _ in range(100):  # the next call after the thread failed says so
            w.lines([b'{"y":1}\r\n'], 1.0)
            time.sleep(0.01)
    with pytest.raises(CassetteWriteError):
        w.close()
    assert [type(r) for r in Cassette(tmp_path / "c.jsonl")] == [Connection]  # what was written stays readable


def test_a_json_line_with_a_cr_inside_is_stored_as_text(tmp_path: Path) -> None:
    raws = [b'{"a":\r1}\r\n', b'{"b":2}\r\n']
    with CassetteWriter(tmp_path / "c.jsonl", HEADER) as w:
        w.connection(200)
        w.lines(raws, 0.5)
    data = (tmp_path / "c.jsonl").read_bytes()
    assert b"\r" not in data and data.count(b"\n") == 4
    assert [r.raw for r in Cassette(tmp_path / "c.jsonl") if isinstance(r, Line)] == raws
