"""`harness record` end to end: exit codes, messages, signals; the backoff schedule; redaction."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from servers import EVENT, SEARCH, Hostile, cli_argv, raw, respond, stream

from harness.cassette import Cassette, Close, CloseReason, Connection, Line
from harness.cli.app import HarnessGroup
from harness.cli.stream import COMMANDS, _StatusLine
from harness.errors import UsageError
from harness.record.backoff import Backoff, BackoffPolicy, Failure
from harness.record.recorder import RecordStats
from harness.record.redact import Redaction, parse_pointer, secret_param
from harness.replay.loopback import LoopbackServer, ServeOptions

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

TOKEN = "cli-test-token-5f1d2c3b4a"
cli = HarnessGroup(commands={c.name or "": c for c in COMMANDS})


def run(*args: object, token: str | None = TOKEN) -> tuple[int, str, str]:
    env = {"X_BEARER_TOKEN": token} if token else {}
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def source() -> Iterator[LoopbackServer]:
    with LoopbackServer(ServeOptions(token=TOKEN, rate=400, heartbeat=0.05, seed=2)) as server:
        yield server


def test_record_and_validate(source: LoopbackServer, tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    code, stdout, stderr = run("record", "likes-sample10", "--base-url", source.base_url, "-p", "partition=1",
                               "-o", out, "--max-events", 5, "--validate", "--label", "case=cli")  # fmt: skip
    assert code == 0, stderr
    assert stdout.startswith(f"recorded {out}: 5 event(s)") and "0 violation(s)" in stdout
    assert "--max-events reached" in stdout
    assert Cassette(out).header.labels == {"source": "recorded", "case": "cli"}
    assert TOKEN.encode() not in out.read_bytes()


def test_loopback_needs_no_credentials(tmp_path: Path) -> None:
    out = tmp_path / "demo.jsonl"
    code, stdout, stderr = run("record", "firehose-ja", "-p", "partition=1", "--loopback", "--max-events", 8,
                               "--validate", "-o", out, token=None)  # fmt: skip
    assert code == 0, stderr
    assert stdout.startswith(f"recorded {out}: 8 event(s)") and "0 violation(s)" in stdout
    cassette = Cassette(out)
    assert cassette.header.labels["source"] == "loopback"
    assert cassette.header.query == {"partition": "1"}
    assert sum(1 for _ in cassette.events()) == 8
    # the built-in source still checks the endpoint's contract before streaming
    code, _, stderr = run("record", "firehose-ja", "--loopback", "-o", tmp_path / "x.jsonl", token=None)
    assert code == 2 and "partition" in stderr


def test_refusals_before_connecting(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    code, _, err = run("record", "firehose-ja", "-o", out, "-p", "partition=0")
    assert code == 2 and err == "error: partition: expected an integer 1..2, found '0'\n"
    code, _, err = run("record", "search-stream", "-o", out, token=None)
    assert code == 2 and "no bearer token" in err and "X_BEARER_TOKEN" in err
    code, _, err = run("record", "search-stream", "-o", out, "--redact-json", "no-slash")
    assert code == 2 and "JSON pointer" in err
    assert not out.exists()
    out.write_text("keep me")
    code, _, err = run("record", "search-stream", "-o", out)
    assert code == 2 and "--force" in err and out.read_text() == "keep me"


def test_a_refused_token_is_recorded_and_exits_1(source: LoopbackServer, tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    code, stdout, stderr = run("record", source.base_url + SEARCH, "-o", out, token="wrong-token")
    assert code == 1
    assert stderr.startswith("HTTP 401 Unauthorized from 127.0.0.1:") and "refused the bearer token" in stderr
    assert stderr.count("\n") == 1 and "HTTP 401" in stdout
    assert [r.status for r in Cassette(out) if isinstance(r, Connection)] == [401]


def test_a_broken_stream_exits_2_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    with Hostile(stream(EVENT, EVENT[:10], end="close")) as server:
        code, stdout, stderr = run("record", server.base_url + SEARCH, "-o", out)
    assert code == 2 and stderr.startswith("error: the connection closed in the middle of a line")
    assert stderr.count("\n") == 1 and "1 event(s)" in stdout


def test_reconnect_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    with Hostile(stream(EVENT, end="clean"), raw(b"junk"), stream(EVENT, EVENT)) as server:
        code, stdout, stderr = run("record", server.base_url + SEARCH, "-o", out, "--reconnect", "--max-events", 3)
    assert code == 0, stderr
    # the junk answer was no HTTP response, so no connection record: two segments; a stream
    # that closed at once (before BackoffPolicy.min_lifetime) backs off like a network error
    assert "3 event(s)" in stdout and "2 connection(s)" in stdout and "reconnecting in 0.25 s" in stderr
    assert "did not answer with HTTP" in stderr


def test_the_status_line_refreshes_from_its_own_thread() -> None:
    class Fake:
        calls = 0

        @property
        def stats(self) -> RecordStats:  # 10 more events every 0.01 s: 1000/s lately
            self.calls += 1
            return RecordStats(events=10 * self.calls, heartbeats=3, bytes=2_500_000, elapsed=0.01 * self.calls)

    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stderr", err)
        with _StatusLine(Fake(), validate=True, interval=0.01) as status:  # type: ignore[arg-type]
            time.sleep(0.08)
            status.message("HTTP 503 from somewhere")
    text = err.getvalue()
    assert text.count("0 event(s), 3 heartbeat(s), 0 error payload(s), 0 violation(s), 1000/s, 2.5 MB") >= 3
    assert "\rHTTP 503 from somewhere\n" in text  # (click drops the clear-line code off a terminal)


def wait_for_lines(path: Path, n: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and sum(path.read_bytes().count(k) for k in (b'"kind":"line"', b'"kind":"heartbeat"')) >= n:
            return
        time.sleep(0.02)
    raise AssertionError(f"{path} never had {n} lines")


def test_sigkill_loses_at_most_the_line_in_flight(tmp_path: Path) -> None:
    out = tmp_path / "killed.jsonl"
    with LoopbackServer(ServeOptions(token=TOKEN, rate=25, seed=3)) as server:
        proc = subprocess.Popen(cli_argv("record", server.base_url + SEARCH, "-o", out),
                                env={**os.environ, "X_BEARER_TOKEN": TOKEN})  # fmt: skip
        try:
            wait_for_lines(out, 8)
            sent_before = server.events_sent
            proc.kill()
            sent_after = server.events_sent
        finally:
            proc.wait(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a cut last record is allowed
        got = [r for r in Cassette(out) if isinstance(r, Line)]
    assert sent_before - 1 <= len(got) <= sent_after
    assert [r.raw for r in got] == [r.raw for r in got if r.raw.startswith(b'{"data"')]


def test_sigterm_writes_the_closing_record_and_exits_0(tmp_path: Path) -> None:
    out = tmp_path / "stopped.jsonl"
    with LoopbackServer(ServeOptions(token=TOKEN, rate=0, heartbeat=0.02)) as server:
        proc = subprocess.Popen(cli_argv("record", server.base_url + SEARCH, "-o", out), stdout=subprocess.PIPE,
                                text=True, env={**os.environ, "X_BEARER_TOKEN": TOKEN})  # fmt: skip
        try:
            wait_for_lines(out, 3)
            proc.send_signal(signal.SIGTERM)
            stdout, _ = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0 and "stopped" in stdout
    last = list(Cassette(out))[-1]
    assert isinstance(last, Close) and last.reason is CloseReason.CLIENT_STOPPED


# -- the backoff schedule ---------------------------------------------------------------------


def test_backoff_follows_xs_guidance() -> None:
    b = Backoff()
    assert [b.next(Failure.NETWORK) for _ in range(3)] == [0.25, 0.5, 0.75]
    assert [b.next(Failure.HTTP) for _ in range(8)] == [5, 10, 20, 40, 80, 160, 320, 320]
    assert [b.next(Failure.RATE_LIMIT) for _ in range(3)] == [60, 120, 240]
    assert b.next(Failure.CLEAN_CLOSE) == 0.0
    b.reset()
    assert b.next(Failure.RATE_LIMIT) == 60
    assert BackoffPolicy().delay(Failure.NETWORK, 1000) == 16.0


@given(st.sampled_from(list(Failure)), st.integers(1, 10_000))
def test_backoff_never_shrinks_and_stays_capped(failure: Failure, attempt: int) -> None:
    policy = BackoffPolicy()
    d = policy.delay(failure, attempt)
    assert policy.delay(failure, attempt + 1) >= d >= 0
    assert d <= max(policy.network_max, policy.http_max, policy.rate_limit_max)


# -- redaction --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["access_token", "apiKey", "api_key", "oauth_signature", "client-secret", "auth"])
def test_token_like_parameters(name: str) -> None:
    assert secret_param(name)


@pytest.mark.parametrize("name", ["partition", "tweet.fields", "like_with_tweet_author.fields", "expansions"])
def test_ordinary_parameters(name: str) -> None:
    assert not secret_param(name)


def test_redaction_of_headers_urls_and_lines() -> None:
    r = Redaction(headers=("X-Mine",), params=("partition",), pointers=("/data/a~1b", "/includes/*/0")).with_secret(
        "s3cr3t-token"
    )
    assert r.header_value("Authorization", "Bearer s3cr3t-token") == "Bearer <redacted>"
    assert (
        r.header_value("x-mine", "v") == "<redacted>" and r.header_value("Via", "has s3cr3t-token") == "has <redacted>"
    )
    assert (
        r.url("https://u:p@h/x?q=1", {"partition": "1", "key": "k"})
        == "https://h/x?partition=<redacted>&key=<redacted>"
    )
    line = b'{"data":{"a/b":"x","c":1},"includes":{"users":[5,6],"media":[{"k":"v"}]}}\r\n'
    assert json.loads(r.line(line)) == {
        "data": {"a/b": "<redacted>", "c": 1},
        "includes": {"users": [None, 6], "media": [None]},
    }
    assert r.line(line).endswith(b"}\r\n")
    assert r.line(b"not json s3cr3t-token\r\n") == b"not json <redacted>\r\n"
    assert parse_pointer("/a/~0~1") == ("a", "~/")
    with pytest.raises(UsageError):
        Redaction(pointers=("data",))


def test_a_non_200_body_is_redacted_too(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    with Hostile(respond(403, "Forbidden", f'{{"detail":"token {TOKEN} not enrolled"}}'.encode())) as server:
        code, _, _ = run("record", server.base_url + SEARCH, "-o", out)
    assert code == 1 and TOKEN.encode() not in out.read_bytes()


def test_a_full_disk_is_one_clear_line_and_what_was_written_stays(tmp_path: Path) -> None:
    import resource

    out = tmp_path / "full.jsonl"

    def small_files() -> None:  # writes past 40 KB fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    proc = subprocess.run(cli_argv("record", "search-stream", "--loopback", "--max-events", 2000, "-o", out),
                          preexec_fn=small_files, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"error: {out}: cannot write: File too large\n"
    assert out.stat().st_size == 40_000
    cassette = Cassette(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lines = [r for r in cassette if isinstance(r, Line)]
    assert len(lines) > 5 and all(r.raw.startswith(b'{"data"') or r.is_heartbeat for r in lines)


def test_an_output_that_cannot_be_created_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    out = tmp_path / "file" / "c.jsonl"
    code, _, stderr = run("record", "search-stream", "--loopback", "--max-events", 1, "-o", out, token=None)
    assert code == 2
    assert stderr.startswith(f"error: {out}: cannot create: ") and stderr.count("\n") == 1


def test_a_short_token_is_kept_off_disk_where_it_is_sent_without_blanking_the_rest() -> None:
    r = Redaction().with_secret("t")  # a test placeholder: replaced everywhere, no "t" would be left
    assert r.header_value("Authorization", "Bearer t") == "Bearer <redacted>"
    assert r.line(b'{"data":{"text":"that"}}\r\n') == b'{"data":{"text":"that"}}\r\n'
    assert r.text("http://127.0.0.1/2/tweets/search/stream") == "http://127.0.0.1/2/tweets/search/stream"


@pytest.mark.parametrize("token", ["tok\r\nX-Injected: 1", "tok en", "t\u00f6ken", "tok\x7f"])
def test_a_token_that_would_break_the_request_is_refused_before_connecting(tmp_path: Path, token: str) -> None:
    out = tmp_path / "x.jsonl"
    code, _, stderr = run("record", "search-stream", "--base-url", "http://127.0.0.1:9", "-o", out, token=token)
    assert code == 2 and stderr.count("\n") == 1 and "visible ASCII" in stderr
    assert token not in stderr and not out.exists()


def test_a_parameter_that_quotes_the_token_back_is_redacted(tmp_path: Path) -> None:
    code, _, stderr = run("record", "search-stream", "-p", f"start_time={TOKEN}", "-o", tmp_path / "x.jsonl")
    assert code == 2 and TOKEN not in stderr and "<redacted>" in stderr
