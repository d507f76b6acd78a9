"""vcrpy interop and `harness inspect`, against real loopback sockets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import vcr
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from harness.cassette import Cassette, Header, Line, Record, write_cassette
from harness.cassette.vcr import export_vcr, import_vcr
from harness.cli import main
from harness.errors import InputError
from harness.testing import strategies as xs

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "cassettes" / "synthetic" / "firehose-ja.jsonl"

pytest_plugins = ["pytester"]


@pytest.fixture
def finite_stream() -> Iterator[str]:
    """A loopback server answering the filtered stream path with a short, finished body."""
    body = b'{"data":{"id":"1","text":"a"}}\r\n\r\n{"data":{"id":"2","text":"b"}}\r\n'

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/2/tweets/search/stream"
    server.shutdown()
    server.server_close()


def _lines(cassette: Path) -> list[list[bytes]]:
    per_connection: list[list[bytes]] = []
    for record in Cassette(cassette):
        if isinstance(record, Line):
            per_connection[-1].append(record.raw)
        elif hasattr(record, "status"):
            per_connection.append([])
    return per_connection


def test_export_replays_with_plain_vcr_use_cassette(tmp_path: Path) -> None:
    out = tmp_path / "fj.yaml"
    assert export_vcr(SAMPLE, out) == 2
    url = Cassette(SAMPLE).header.url
    expected = _lines(SAMPLE)
    with vcr.use_cassette(str(out), record_mode="none"):
        got = []
        for _ in expected:  # one request per recorded connection, in order
            with requests.get(url, stream=True, timeout=5) as r:
                assert r.status_code == 200
                got.append([line + b"\r\n" for line in r.iter_lines(delimiter=b"\r\n")][:-1] or [])
    assert [[x for x in c if x != b"\r\n"] for c in got] == [[x for x in c if x != b"\r\n"] for c in expected]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(session=xs.sessions(max_events=6))
def test_export_then_import_is_the_same_session(tmp_path: Path, session: tuple[Header, list[Record]]) -> None:
    header, records = session
    src = write_cassette(tmp_path / "s.jsonl", header, records)
    export_vcr(src, tmp_path / "s.yaml")
    import_vcr(tmp_path / "s.yaml", tmp_path / "back.jsonl")
    back = Cassette(tmp_path / "back.jsonl")
    assert list(back) == records
    assert back.header.endpoint == header.endpoint and back.header.labels["timing"] == "restored"


def test_import_a_real_vcrpy_recording_of_a_finished_stream(tmp_path: Path, finite_stream: str) -> None:
    recorded = tmp_path / "rec.yaml"
    with vcr.use_cassette(str(recorded), record_mode="once"):
        requests.get(finite_stream + "?tweet.fields=lang", headers={"Authorization": "Bearer s3cret"}, timeout=5)
    out = tmp_path / "imported.jsonl"
    result = CliRunner().invoke(main, ["import", str(recorded), str(out)])
    assert result.exit_code == 0, result.output
    cassette = Cassette(out)
    assert cassette.header.endpoint == "search-stream"
    assert cassette.header.labels["source"] == "imported" and cassette.header.labels["timing"] == "none"
    assert cassette.header.query == {"tweet.fields": "lang"}
    assert b"s3cret" not in out.read_bytes()
    lines = [r for r in cassette if isinstance(r, Line)]
    assert [r.raw for r in lines] == [
        b'{"data":{"id":"1","text":"a"}}\r\n',
        b"\r\n",
        b'{"data":{"id":"2","text":"b"}}\r\n',
    ]
    assert [r.offset for r in lines] == [0.0, 0.0, 0.0]
    assert lines[1].is_heartbeat
    assert CliRunner().invoke(main, ["validate", str(out)]).exit_code == 0


def test_import_refuses_what_is_not_a_stream_cassette(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("interactions: [}")
    with pytest.raises(InputError, match="not a vcrpy cassette"):
        import_vcr(bad, tmp_path / "x.jsonl")
    other = tmp_path / "other.yaml"
    other.write_text(
        "interactions:\n- request: {body: null, headers: {}, method: GET, uri: 'https://api.x.com/2/users/me'}\n"
        "  response: {status: {code: 200, message: OK}, headers: {}, body: {string: '{}'}}\nversion: 1\n"
    )
    with pytest.raises(InputError, match="no interaction with a stream endpoint"):
        import_vcr(other, tmp_path / "x.jsonl")
    result = CliRunner().invoke(main, ["import", str(tmp_path / "missing.yaml"), str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_pytest_recording_replays_an_export(pytester: pytest.Pytester, tmp_path: Path) -> None:
    url = Cassette(SAMPLE).header.url
    first = _lines(SAMPLE)[0]
    events = [x for x in first if x.strip()]
    expected_first = events[0].rstrip(b"\r\n")
    cassettes = pytester.path / "cassettes" / "test_stream"
    cassettes.mkdir(parents=True)
    export_vcr(SAMPLE, cassettes / "test_consumer.yaml")
    pytester.makepyfile(
        test_stream=f"""
        import pytest, requests

        @pytest.mark.vcr
        def test_consumer():
            with requests.get({url!r}, stream=True, timeout=5) as r:
                lines = [l for l in r.iter_lines(delimiter=b"\\r\\n") if l]
            assert len(lines) == {len(events)}
            assert lines[0] == {expected_first!r}
        """
    )
    pytester.runpytest("-p", "recording", "--record-mode=none").assert_outcomes(passed=1)


def test_inspect_summarizes_a_cassette() -> None:
    result = CliRunner().invoke(main, ["inspect", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "endpoint     firehose-ja" in out
    assert "over 2 connection(s)" in out
    assert "events       60" in out
    assert "1 in-stream error payload(s), 0 non-200 response(s)" in out
    assert "[1] HTTP 200 at +29.809s" in out and "client-stopped" in out
    assert "s per bar, peak" in out
    doc = json.loads(CliRunner().invoke(main, ["inspect", "--format", "json", str(SAMPLE)]).output)
    assert doc[0]["events"] == 60 and len(doc[0]["connections"]) == 2 and sum(doc[0]["rate"]) == 60


def test_inspect_refuses_a_broken_cassette(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "x-stream-cassette", "version": 3}\n')
    result = CliRunner().invoke(main, ["inspect", str(bad)])
    assert result.exit_code == 2 and "version 3 is not supported" in result.stderr
