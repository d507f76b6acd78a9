"""The plugin checks the consumer, not only the payloads (issue 16), through pytester with real
consumers: what it requested, whether it played the cassette, its conduct (backoff, connections,
read timeout), the network block, on_end="refuse", push and wait_connections."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
from test_replayer import cassette, events

import harness.replay._proxy  # noqa: F401  # cryptography (trustme) loaded once, not in each pytester run
from harness.cassette import CloseReason

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "cassettes" / "synthetic" / "search-stream.jsonl"  # one connection, 40 events

HEAD = """
import json, threading, time, pytest, requests

URL_AUTH = {"Authorization": "Bearer secret-token-123"}

def consume(url, timeout=10, **kw):
    with requests.get(url, headers=URL_AUTH, stream=True, timeout=timeout, **kw) as r:
        return r.status_code, [l for l in r.iter_lines() if l]
"""


@pytest.fixture
def tape(pytester: pytest.Pytester) -> Path:
    (pytester.path / "cassettes").mkdir()
    return Path(shutil.copy(SAMPLE, pytester.path / "cassettes" / "s.jsonl"))


def test_requests_assert_requested_and_all_played(pytester: pytest.Pytester, tape: Path) -> None:
    pytester.makepyfile(
        HEAD
        + """
@pytest.mark.stream_cassette("s", speed="max", on_end="close", allow_missing_fields=True)
def test_seen(stream_replay):
    assert not stream_replay.all_played
    status, lines = consume(stream_replay.base_url + "/2/tweets/search/stream?tweet.fields=lang")
    assert status == 200 and len(lines) == 40
    stream_replay.wait_connections(1)
    [seen] = stream_replay.requests
    assert (seen.method, seen.path, dict(seen.query)) == ("GET", "/2/tweets/search/stream", {"tweet.fields": "lang"})
    assert seen.header("authorization") == "Bearer <redacted>" and seen.at >= 0 and seen.status == 200
    assert "secret-token-123" not in repr(stream_replay.requests)
    stream_replay.assert_requested("search-stream", query={"tweet.fields": "lang"}, times=1)
    assert stream_replay.all_played and stream_replay.unplayed == []

@pytest.mark.stream_cassette("s", speed="max", on_end="close")
def test_not_requested(stream_replay):
    consume(stream_replay.base_url + "/2/tweets/search/stream")
    stream_replay.assert_requested("/2/tweets/search/stream", query={"expansions": "author_id"})

@pytest.mark.stream_cassette("s", speed=10)
def test_not_all_played(stream_replay):
    with requests.get(stream_replay.url("search-stream"), headers=URL_AUTH, stream=True, timeout=10) as r:
        next(r.iter_lines())
    assert stream_replay.unplayed == ["search-stream#0"]
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: expected at least 1 request(s) GET /2/tweets/search/stream "
            "query {'expansions': 'author_id'}, found 0; requests seen:",
            "*#0 GET /2/tweets/search/stream -> 200 at *",
        ]
    )


def test_on_end_refuse_ends_the_reconnect_path_with_a_clear_status(pytester: pytest.Pytester, tape: Path) -> None:
    pytester.makepyfile(
        HEAD
        + """
@pytest.mark.stream_cassette("s", speed="max", on_end="refuse")
def test_refused(stream_replay):
    assert consume(stream_replay.url("search-stream"))[0] == 200
    time.sleep(0.3)  # X's backoff after a stream that ended at once: 250 ms
    r = requests.get(stream_replay.url("search-stream"), headers=URL_AUTH, timeout=10)
    assert r.status_code == 410
    assert "the recording has ended (on_end='refuse')" in r.json()["detail"]
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_push_writes_into_the_open_stream_now(pytester: pytest.Pytester, tape: Path) -> None:
    pytester.makepyfile(
        HEAD
        + """
@pytest.mark.stream_cassette("s", speed="max", on_end="hold")
def test_pushed(stream_replay):
    with pytest.raises(Exception, match="no stream is open"):
        stream_replay.push({"data": {"id": "1", "text": "too early"}})
    got = []
    def read():
        with requests.get(stream_replay.url("search-stream"), headers=URL_AUTH, stream=True, timeout=10) as r:
            for line in r.iter_lines():
                if line:
                    got.append(json.loads(line))
                if len(got) == 42:
                    return
    reader = threading.Thread(target=read)
    reader.start()
    stream_replay.wait_connections(1)
    assert stream_replay.push({"data": {"id": "77", "text": "pushed"}}) == 1
    stream_replay.push(b'{"data":{"id":"78","text":"raw"}}\\r\\n')
    reader.join(10)
    # "now": between the recorded lines, if the recording was still going out (at max speed on
    # a loaded machine, it may be); each once, in the order pushed, and nothing lost
    ids = [g["data"]["id"] for g in got]
    assert len(ids) == 42 and [i for i in ids if i in ("77", "78")] == ["77", "78"]
    assert [l.kind for l in stream_replay.log[0].lines].count("pushed") == 2

@pytest.mark.stream_cassette("s", speed="max")
def test_wait_times_out_saying_what_came(stream_replay):
    stream_replay.wait_connections(1, timeout=0.2)
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*expected 1 stream connection(s) within 0.2 s, found 0; requests seen:", "*(none)"])


def test_a_reconnect_storm_fails_the_test_with_the_backoff_rule(pytester: pytest.Pytester, tape: Path) -> None:
    pytester.makepyfile(
        HEAD
        + """
@pytest.mark.stream_cassette("s", speed="max", on_end="close")
def test_storm(stream_replay):
    statuses = [consume(stream_replay.url("search-stream"))[0] for _ in range(3)]
    # the 2nd may come at once (the 1st delivered events); the 3rd not: the 2nd ended without one
    assert statuses == [200, 200, 403]

@pytest.mark.stream_cassette("s", speed="max", on_end="close", relax="backoff")
def test_relaxed(stream_replay):
    assert [consume(stream_replay.url("search-stream"))[0] for _ in range(3)] == [200, 200, 200]

@pytest.mark.stream_cassette("s", speed="max", on_end="close")
def test_backing_off(stream_replay):
    for attempt in range(3):
        assert consume(stream_replay.url("search-stream"))[0] == 200
        time.sleep(0.25 * attempt)  # 0 after the stream of 40 events, then X's linear steps
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_storm*",
            "test_a_reconnect_storm_fails_the_test_with_the_backoff_rule.py::test_storm (cassette *s.jsonl):",
            "the consumer broke X's rules for streams (1 finding(s)):",
            "  - backoff: connection #2 came * s after #1 ended (a stream that ended without an event, failure 1 "
            "in a row): X's backoff asks for 0.25 s (replay time)",
            "(relax a check with *backoff, connections, read-timeout)",
        ]
    )


def test_xdk_against_on_end_close_fails_in_seconds_saying_why(pytester: pytest.Pytester, tape: Path) -> None:
    """xdk reconnects at once, for ever, after a stream that ends cleanly: the test used to hang."""
    pytester.makepyfile(
        """
        import pytest
        from xdk import Client

        @pytest.mark.stream_cassette("s", speed="max", on_end="close")
        def test_xdk(stream_replay):
            client = Client(base_url=stream_replay.base_url, bearer_token="xdk-token")
            for _ in client.stream.posts():
                pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*backoff: connection #2 came * s after #1 ended (a stream that ended without an event, failure 1 in "
            "a row): X's backoff asks for 0.25 s (replay time)",
            "*StreamError: Authentication error (403)*",
        ]
    )


def test_tweepy_reconnecting_after_a_drop_and_a_disconnect_keeps_the_rules(pytester: pytest.Pytester) -> None:
    """No false alarm: a stream that delivered events may be taken up at once, as tweepy does."""
    (pytester.path / "cassettes").mkdir()
    cassette(pytester.path / "cassettes" / "c.jsonl", "search-stream", (events(0, 8), CloseReason.CLIENT_STOPPED, 1.0))
    pytester.makepyfile(
        """
        import pytest, tweepy

        class Client(tweepy.StreamingClient):
            def on_tweet(self, tweet):
                self.ids.append(tweet.id)
                if len(self.ids) == 8:
                    self.disconnect()

        @pytest.mark.stream_cassette("c", speed=10, faults=["drop@2", "disconnect@3"])
        def test_tweepy(stream_replay_proxy):
            client = Client("tweepy-token", max_retries=5)
            client.ids = []
            client.filter()
            assert client.ids == list(range(8))
            assert [r.status for r in stream_replay_proxy.requests] == [200, 200, 200]
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_more_connections_than_allowed(pytester: pytest.Pytester, tape: Path) -> None:
    pytester.makepyfile(
        HEAD
        + """
def two_streams(replay):
    first = requests.get(replay.url("search-stream"), headers=URL_AUTH, stream=True, timeout=10)
    second = requests.get(replay.url("search-stream"), headers=URL_AUTH, stream=True, timeout=10)
    first.close()
    second.close()
    return second.status_code

@pytest.mark.stream_cassette("s", speed=1)
def test_two(stream_replay):
    assert two_streams(stream_replay) == 403

@pytest.mark.stream_cassette("s", speed=1, connections=2)
def test_two_allowed(stream_replay):
    assert two_streams(stream_replay) == 200
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["  - connections: connection #1 opened while #0 still streamed search-stream: at most 1 allowed at once"]
    )


def test_a_stalled_stream_left_open_breaks_the_read_timeout_rule(pytester: pytest.Pytester, tape: Path) -> None:
    pytester.makepyfile(
        HEAD
        + """
@pytest.mark.stream_cassette("s", speed=100, faults=["stall=150@1"], on_end="close")
def test_no_read_timeout(stream_replay):
    assert len(consume(stream_replay.url("search-stream"))[1]) == 40  # waited 1.5 s: 150 s of replay time

@pytest.mark.stream_cassette("s", speed=100, faults=["stall=150@1"], on_end="close")
def test_read_timeout(stream_replay):
    with pytest.raises(requests.ConnectionError):
        consume(stream_replay.url("search-stream"), timeout=(5, 0.5))  # 50 s of replay time
"""
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["  - read-timeout: connection #0 stayed open through 1?? s of silence from * s (replay time): *"]
    )


def test_block_network_fails_at_once_naming_the_host(pytester: pytest.Pytester, tape: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        pytester.makepyfile(
            HEAD
            + f"""
import socket
from harness.errors import NetworkBlockedError

@pytest.mark.stream_cassette("s", speed="max", on_end="close", block_network=True)
def test_bypass(stream_replay):
    assert consume(stream_replay.url("search-stream"))[0] == 200
    with pytest.raises(NetworkBlockedError, match=r"api\\.x\\.com:443 is not allowed"):
        socket.getaddrinfo("api.x.com", 443)
    with pytest.raises(requests.ConnectionError, match="network blocked while replaying: 127.0.0.1:{port}"):
        requests.get("http://127.0.0.1:{port}/", timeout=5)

@pytest.mark.stream_cassette("s", speed="max", on_end="close", block_network=True,
                             allowed_hosts=["127.0.0.1:{port}"])
def test_allowed(stream_replay):
    socket.create_connection(("127.0.0.1", {port}), timeout=5).close()

def test_restored():
    socket.create_connection(("127.0.0.1", {port}), timeout=5).close()
"""
        )
        result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [f"the consumer tried to reach 127.0.0.1:{port}, api.x.com:443 while replaying (2 attempt(s), each refused)*"]
    )


def test_block_network_from_the_command_line_beside_pytest_recording(pytester: pytest.Pytester, tape: Path) -> None:
    pytester.makepyfile(
        HEAD
        + """
import socket

@pytest.mark.stream_cassette("s", speed="max", on_end="close")
def test_replayed(stream_replay):
    assert consume(stream_replay.url("search-stream"))[0] == 200
    with pytest.raises(OSError, match="network blocked while replaying: api.x.com:443"):
        socket.create_connection(("api.x.com", 443), timeout=5)
"""
    )
    help_text = pytester.runpytest("--help").stdout.str()
    assert "--block-network" in help_text and "--stream-block-network" in help_text  # both plugins, no clash
    result = pytester.runpytest("--block-network", "--allowed-hosts=127.0.0.1", "--stream-block-network")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*the consumer tried to reach api.x.com:443 while replaying*"])
