"""The recorder's limits against hostile servers, over real sockets on 127.0.0.1: heartbeat
floods at any rate, non-200 bodies of a million lines, undecodable error bodies, bugs whose
text quotes the token, and redirects on a reconnection.

Durations here are safety bounds on a recording that must stop by itself (the old recorder
ran until them), not measurements.
"""

from __future__ import annotations

import socket
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner
from servers import EVENT, SEARCH, STREAM_HEAD, Hostile, Script, echo_secrets, gzip_bomb, gzipped, respond, stream

from harness._wire import encode_chunk
from harness.cassette import Cassette, Close, CloseReason, Connection, Line
from harness.cli.app import HarnessGroup
from harness.cli.stream import COMMANDS
from harness.errors import CassetteWriteError, HarnessError, HTTPStatusError, ParameterError
from harness.record._segment import HEARTBEAT_FLOOD, MAX_ERROR_LINES
from harness.record.recorder import Recorder, RecordOptions, StopReason
from harness.record.redact import Redaction

pytestmark = pytest.mark.integration

TOKEN = "AAAAAAAAAAAAAAAAAAAAALimitsTestToken%2Fq9Z7%3Dx1c0ffee%2Bbeef"
cli = HarnessGroup(commands={c.name or "": c for c in COMMANDS})


def run_cli(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"X_BEARER_TOKEN": TOKEN})
    return result.exit_code, result.stdout, result.stderr


def blank_bursts(size: int, gap: float) -> Script:
    """A 200 stream sending `size` blank lines at once every `gap` seconds, for ever: under the
    old limit (1,000 within a second) when `size` < 1,000 and `gap` >= 1."""

    def script(server: Hostile, sock: socket.socket) -> None:
        sock.sendall(STREAM_HEAD)
        while True:
            sock.sendall(encode_chunk(b"\r\n" * size))
            if server.stopping.wait(gap):
                return

    return script


# -- 1. a heartbeat flood at any rate is stopped; bursts of a real stream are not -----------------


@pytest.mark.parametrize(("size", "gap"), [(900, 1.05), (1, 0.005)], ids=["900-a-second", "200-a-second"])
def test_a_sustained_heartbeat_flood_stops_with_one_line(tmp_path: Path, size: int, gap: float) -> None:
    out = tmp_path / "flood.jsonl"
    with Hostile(blank_bursts(size, gap)) as server:
        code, stdout, stderr = run_cli("record", server.base_url + SEARCH, "-o", out, "--duration", 8)
    assert code == 2, (stdout, stderr)
    assert "heartbeat flood" in stderr and stderr.strip().count("\n") == 0, stderr
    recs = list(Cassette(out))  # readable, and holding no more than the flood allowed
    beats = [r for r in recs if isinstance(r, Line)]
    assert len(beats) == HEARTBEAT_FLOOD + 1 and all(b.is_heartbeat for b in beats)
    assert isinstance(recs[-1], Close) and recs[-1].reason is CloseReason.ERROR
    assert "heartbeat flood" in (recs[-1].error or "")


def test_a_flood_split_over_short_connections_stops_even_with_reconnect(tmp_path: Path) -> None:
    burst = stream(b"\r\n" * (HEARTBEAT_FLOOD * 2 // 3))  # each connection under the limit, then a clean end
    with Hostile(burst) as server:
        result = Recorder(server.base_url + SEARCH, tmp_path / "c.jsonl",
                          RecordOptions(token=TOKEN, reconnect=True, duration=20.0)).run()  # fmt: skip
    assert result.reason is StopReason.ERROR and "heartbeat flood" in (result.error or ""), result
    assert result.stats.connections == 2 and result.stats.heartbeats == HEARTBEAT_FLOOD + 1


def test_a_gzip_bomb_stops_even_with_reconnect(tmp_path: Path) -> None:
    with Hostile(gzip_bomb(b"\0" * (1 << 20), 64)) as server:
        result = Recorder(server.base_url + SEARCH, tmp_path / "c.jsonl",
                          RecordOptions(token=TOKEN, reconnect=True, duration=20.0)).run()  # fmt: skip
    assert result.reason is StopReason.ERROR and "decompression bomb" in (result.error or ""), result
    assert result.stats.connections == 1


def test_bursts_of_blank_lines_in_a_real_stream_are_kept(tmp_path: Path) -> None:
    # after reconnects and through proxies a few blank lines come together: many such bursts,
    # and as many heartbeats as the limit allows at once, between events
    lines = [b"\r\n" * 5, EVENT] * 8 + [b"\r\n" * (HEARTBEAT_FLOOD - 40), EVENT]
    with Hostile(stream(*lines)) as server:
        result = Recorder(server.base_url + SEARCH, tmp_path / "c.jsonl", RecordOptions(token=TOKEN)).run()
    assert result.reason is StopReason.SERVER_CLOSED and result.error is None
    assert (result.stats.heartbeats, result.stats.events) == (HEARTBEAT_FLOOD, 9)


# -- 2. a non-200 body writes a bounded number of records --------------------------------------


@pytest.mark.parametrize(
    ("line", "encoding"),
    [(b"\n", ""), (b"<p>\n", ""), (b"\n", "gzip")],
    ids=["newlines", "html-lines", "gzip-newlines"],
)
def test_a_non_200_body_of_a_million_lines_writes_a_bounded_number_of_records(
    tmp_path: Path, line: bytes, encoding: str
) -> None:
    out = tmp_path / "c.jsonl"
    body = line * ((1 << 20) // len(line))  # 1 MiB: up to a million records before
    headers = [("Content-Type", "text/html")]
    if encoding:  # 16 MiB of newlines in ~16 KB
        body, headers = gzipped(body * 16), [*headers, ("Content-Encoding", encoding)]
    with Hostile(respond(503, "Service Unavailable", body, headers)) as server:
        code, _, stderr = run_cli("record", server.base_url + SEARCH, "-o", out)
    assert code == 1 and stderr.startswith("HTTP 503 Service Unavailable"), stderr  # the status is still the news
    recs = list(Cassette(out))
    assert len([r for r in recs if isinstance(r, Line)]) == MAX_ERROR_LINES
    assert isinstance(recs[-1], Close) and recs[-1].error == f"body cut after {MAX_ERROR_LINES} lines"


def test_a_non_200_body_within_the_limits_is_kept_whole(tmp_path: Path) -> None:
    body = b'{"title":"Service Unavailable",\n"detail":"busy"}\n' + b"\n" * (MAX_ERROR_LINES - 2)
    with Hostile(respond(503, "Service Unavailable", body)) as server:
        result = Recorder(server.base_url + SEARCH, tmp_path / "c.jsonl", RecordOptions(token=TOKEN)).run()
    recs = list(Cassette(tmp_path / "c.jsonl"))
    assert b"".join(r.raw for r in recs if isinstance(r, Line)) == body
    assert isinstance(recs[-1], Close) and recs[-1].reason is CloseReason.SERVER_CLOSED and recs[-1].error is None
    assert result.reason is StopReason.HTTP_STATUS and "server says: 'busy'" in (result.error or "")


# -- 5. an undecodable non-200 body: the status first -------------------------------------------


def test_a_non_200_in_an_unknown_encoding_reports_the_status_first(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    headers = [("Content-Encoding", "br"), ("x-rate-limit-reset", "1")]
    with Hostile(respond(429, "Too Many Requests", b"\x8b\x00garbage", headers)) as server:
        code, _, stderr = run_cli("record", server.base_url + SEARCH, "-o", out)
    assert code == 1, stderr
    first = stderr.splitlines()[0]
    assert first.startswith("HTTP 429 Too Many Requests") and "too many requests" in first, first
    assert first.index("HTTP 429") < first.index("Content-Encoding 'br'")
    conn, close = list(Cassette(out))
    assert isinstance(conn, Connection) and conn.status == 429
    assert isinstance(close, Close) and "Content-Encoding 'br'" in (close.error or "")


# -- 3. a bug's exception text passes the same redaction ----------------------------------------


def _quoting_bug(monkeypatch: pytest.MonkeyPatch, kind: type[Exception]) -> None:
    """A bug in the recorder whose message quotes the line it choked on: the echoed token."""

    def line(self: Redaction, raw: bytes) -> bytes:
        raise kind(f"cannot redact {raw!r}")

    monkeypatch.setattr(Redaction, "line", line)


def _shown(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


@pytest.mark.parametrize("kind", [RuntimeError, KeyError, TypeError])
def test_a_bug_escaping_run_is_raised_redacted_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: type[Exception]
) -> None:
    _quoting_bug(monkeypatch, kind)
    with Hostile(echo_secrets()) as server:
        recorder = Recorder(server.base_url + SEARCH, tmp_path / "c.jsonl", RecordOptions(token=TOKEN))
        with pytest.raises(kind) as info:
            recorder.run()
    shown = _shown(info.value)
    assert TOKEN not in shown and "LimitsTestToken" not in shown, shown
    assert "cannot redact b" in shown and '"text":"Bearer <redacted>' in shown  # it still says what failed
    assert "in line" in shown and "_segment.py" in shown  # and where: the traceback is the bug's
    assert info.value.__context__ is None and info.value.__cause__ is None
    close = list(Cassette(tmp_path / "c.jsonl"))[-1]  # the segment was still ended, redacted too
    assert (
        isinstance(close, Close) and "LimitsTestToken" not in (close.error or "") and "recorder:" in (close.error or "")
    )


def test_a_bug_in_the_background_recorder_is_raised_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _quoting_bug(monkeypatch, RuntimeError)
    with Hostile(echo_secrets()) as server:
        recorder = Recorder(server.base_url + SEARCH, tmp_path / "c.jsonl", RecordOptions(token=TOKEN)).start()
        with pytest.raises(RuntimeError) as info:
            recorder.wait(20)
    assert "LimitsTestToken" not in _shown(info.value) and "<redacted>" in str(info.value)


def test_an_exception_with_keyword_only_arguments_keeps_its_type() -> None:
    class Odd(Exception):
        def __init__(self, secret: str, *, where: int) -> None:
            super().__init__(f"{secret} at {where}")

    r = Redaction().with_secret(TOKEN)
    try:
        try:
            raise KeyError(TOKEN)
        except KeyError:
            raise Odd(f"Bearer {TOKEN}", where=3) from None
    except Odd as exc:
        shown = r.exception(exc)
    assert type(shown) is Odd and str(shown) == "Bearer <redacted> at 3"
    assert "LimitsTestToken" not in _shown(shown) and shown.__traceback__ is not None
    clean = ValueError("nothing secret")
    assert r.exception(clean) is clean


@pytest.mark.parametrize(
    "error",
    [
        HTTPStatusError(f"HTTP 401: {TOKEN} is not valid", status=401),
        ParameterError(f"start_time: found {TOKEN}", parameter="start_time"),
        CassetteWriteError(f"cannot write {TOKEN}"),
    ],
)
def test_a_harness_error_stays_one_when_redacted(error: HarnessError) -> None:
    # the CLI prints a HarnessError as one line with exit 2; anything else is a traceback
    shown = Redaction().with_secret(TOKEN).exception(error)
    assert type(shown) is type(error) and isinstance(shown, HarnessError)
    assert "LimitsTestToken" not in _shown(shown) and "<redacted>" in str(shown)
    assert vars(shown).keys() == vars(error).keys()


# -- 4. every connection says where it really came from ----------------------------------------


def test_each_connection_records_where_it_came_from(tmp_path: Path) -> None:
    out, messages = tmp_path / "c.jsonl", list[str]()
    with Hostile(stream(EVENT)) as final:
        there = final.base_url.replace("127.0.0.1", "localhost") + SEARCH
        moved = [("Content-Length", "0")]
        first = respond(302, "Found", b"", [*moved, ("Location", there + "?n=1")])
        again = respond(307, "Temporary Redirect", b"", [*moved, ("Location", there + f"?n=2&access_token={TOKEN}")])
        with Hostile(first, stream(EVENT), again) as origin:  # redirected, then not, then elsewhere
            options = RecordOptions(token=TOKEN, reconnect=True, max_events=3, duration=20.0)
            result = Recorder(origin.base_url + SEARCH, out, options, on_message=messages.append).run()
    assert result.reason is StopReason.MAX_EVENTS, (result, messages)
    cassette = Cassette(out)
    assert (
        cassette.header.url == there + "?n=1" and cassette.header.labels["redirected-from"] == origin.base_url + SEARCH
    )
    conns = [r for r in cassette if isinstance(r, Connection)]
    assert [c.url for c in conns] == [None, origin.base_url + SEARCH, there + "?n=2&access_token=<redacted>"]
    assert "LimitsTestToken" not in out.read_text() + "".join(messages)
    assert sum("redirected to" in m for m in messages) == 2  # and stderr says so, as before


def test_a_connection_record_without_url_and_an_unknown_member_still_read() -> None:
    from harness.cassette.records import encode_record, parse_record

    plain = Connection(0, 200, "OK", (), 0.1, 0.0)
    assert b'"url"' not in encode_record(plain) and parse_record(encode_record(plain)) == plain
    moved = Connection(1, 200, "OK", (), 0.1, 2.0, "https://elsewhere.example/2/tweets/search/stream")
    assert parse_record(encode_record(moved)) == moved
    later = b'{"kind":"connection","index":0,"offset":0.1,"status":200,"reason":"OK","via":{"a":[1]}}\n'
    assert parse_record(later) == plain  # members a later writer may add are ignored, as `url` was before


def test_a_connections_url_survives_export_to_vcr_and_back(tmp_path: Path) -> None:
    from harness.cassette import Header, Record, write_cassette
    from harness.cassette.vcr import export_vcr, import_vcr

    moved = "https://elsewhere.example/2/tweets/search/stream"
    end = Close(0.3, CloseReason.SERVER_CLOSED)
    records: list[Record] = [Connection(0, 200, "OK", (), 0.1, 0.0), Line(0.2, EVENT), end,
               Connection(1, 200, "OK", (), 0.1, 2.0, moved), Line(0.2, EVENT), end]  # fmt: skip
    src = write_cassette(tmp_path / "s.jsonl", Header("search-stream", "https://api.x.com" + SEARCH), records)
    export_vcr(src, tmp_path / "s.yaml")
    import_vcr(tmp_path / "s.yaml", tmp_path / "back.jsonl")
    assert [r.url for r in Cassette(tmp_path / "back.jsonl") if isinstance(r, Connection)] == [None, moved]
