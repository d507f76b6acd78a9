"""Real, unmodified consumers against the replayer: the official SDK xdk, and tweepy through the proxy.

Each test asserts what the consumer receives (every event, in order, at the recorded
offsets within a tolerance) and how it behaves under the faults the live API produces,
including the consumer bugs the harness exists to catch.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import pytest
import tweepy
from test_replayer import cassette, event_line, events
from xdk import Client
from xdk.streaming import StreamConfig, StreamError, StreamErrorType

from harness.cassette import CloseReason
from harness.cassette.synth import encode_line
from harness.contract.checker import Contract
from harness.replay._proxy import client_env
from harness.replay.server import End, ReplayServer
from harness.testing.plugin import apply_env

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

SPEED = 10.0
TOLERANCE = 0.06  # seconds of wall clock, at SPEED: 0.6 s of the recording
FAST_RETRY = StreamConfig(max_retries=5, initial_backoff=0.01, max_backoff=0.05, jitter=False)
METHODS: dict[str, Callable[[Client, StreamConfig], Iterator[Any]]] = {
    "search-stream": lambda c, cfg: c.stream.posts(stream_config=cfg),
    "firehose-ja": lambda c, cfg: c.stream.posts_firehose_ja(partition=1, stream_config=cfg),
    "likes-sample10": lambda c, cfg: c.stream.likes_sample10(partition=1, stream_config=cfg),
}


@dataclass
class Consumed:
    items: list[tuple[float, Any]] = field(default_factory=list)  # (time.monotonic(), what it yielded)
    error: BaseException | None = None

    @property
    def ids(self) -> list[str]:
        return [item.data.id for _, item in self.items]


def xdk_consume(server: ReplayServer, endpoint: str, n: int, *, config: StreamConfig = FAST_RETRY,
                token: str = "xdk", timeout: float = 10.0) -> Consumed:  # fmt: skip
    """What xdk's stream method yields, until `n` items (or `timeout`: then the server is stopped)."""
    client = Client(base_url=server.base_url, bearer_token=token)
    out = Consumed()

    def consume() -> None:
        try:
            for item in METHODS[endpoint](client, config):
                out.items.append((time.monotonic(), item))
                if len(out.items) >= n:
                    return
        except Exception as exc:  # StreamError: what the consumer's caller would see
            out.error = exc

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        server.stop()  # unblocks the read; xdk retries, then gives up
        thread.join(5)
    return out


def arrival_errors(server: ReplayServer, consumed: Consumed, offsets: list[float], connection: int = 0) -> list[float]:
    started = server.log[connection].started
    return [at - started - offset / SPEED for (at, _), offset in zip(consumed.items, offsets, strict=True)]


def assert_on_time(late: list[float]) -> None:
    """Each line handed over at its offset: a stall of this process (~0.3 s, 0.1 s between lines)
    delays the three or four lines due during it (the replay catches up after it), so the median, and
    fewer than half late. A consumer that buffers lines (in pairs: half of them late; 512 bytes at a
    time: most) fails one or the other."""
    assert abs(median(late)) < TOLERANCE, late
    assert 2 * sum(abs(x) >= TOLERANCE for x in late) < len(late), late


# -- xdk -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", list(METHODS))
def test_xdk_receives_every_event_in_order_at_the_recorded_offsets(tmp_path: Path, endpoint: str) -> None:
    lines = events(100, 12, gap=1.0, endpoint=endpoint)  # 1.2 s here: a stall is a small part of it
    lines.insert(6, (5.5, b"\r\n"))  # a heartbeat, which xdk skips
    query = {} if endpoint == "search-stream" else {"partition": "1"}  # the partition xdk asks for
    path = cassette(tmp_path / "c.jsonl", endpoint, (lines, CloseReason.CLIENT_STOPPED, 12.5), query=query)
    with ReplayServer([path], speed=SPEED) as server:
        got = xdk_consume(server, endpoint, 12)
        log = server.log[0]
    assert got.error is None
    assert got.ids == [str(100 + i) for i in range(12)]
    assert_on_time(arrival_errors(server, got, [offset for offset, raw in lines if raw != b"\r\n"]))
    assert log.status == 200 and log.endpoint == endpoint and len(server.log) == 1


def test_xdk_silently_drops_lines_its_spec_2_167_models_refuse(tmp_path: Path) -> None:
    """Valid by the contract, lost by the SDK: classic public_metrics, withheld.scope "tweet", and
    the operational-disconnect payload itself (xdk never tells its caller it was disconnected)."""
    rules = [{"id": "1", "tag": "replay"}]
    metrics = {"retweet_count": 1, "reply_count": 2, "like_count": 3, "quote_count": 4}
    withheld = {"copyright": False, "country_codes": ["DE"], "scope": "tweet"}
    refused = [
        {"data": {"id": "901", "text": "metrics", "edit_history_tweet_ids": ["901"], "public_metrics": metrics},
         "matching_rules": rules},
        {"data": {"id": "902", "text": "withheld", "edit_history_tweet_ids": ["902"], "withheld": withheld},
         "matching_rules": rules},
        {"errors": [{"title": "operational-disconnect", "disconnect_type": "OperationalDisconnect",
                     "detail": "This stream has been disconnected for operational reasons.",
                     "type": "https://api.twitter.com/2/problems/operational-disconnect"}]},
    ]  # fmt: skip
    assert all(Contract().check_event(payload, "search-stream") == [] for payload in refused)
    raws = [event_line(1), encode_line(refused[0]), event_line(2), encode_line(refused[1]), event_line(3),
            encode_line(refused[2]), event_line(4)]  # fmt: skip
    lines = [(0.1 * (i + 1), raw) for i, raw in enumerate(raws)]
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.CLIENT_STOPPED, 1.0))
    with ReplayServer([path], speed=SPEED) as server:
        got = xdk_consume(server, "search-stream", 4)
        log = server.log[0]
    assert got.ids == ["1", "2", "3", "4"]
    assert log.events == 7  # all seven went out on the wire; xdk yielded four


def test_xdk_reconnects_after_a_disconnect_and_a_drop_and_loses_nothing(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 10), CloseReason.CLIENT_STOPPED, 1.2))
    with ReplayServer([path], speed=SPEED, faults=["disconnect@3", "drop@3"]) as server:
        got = xdk_consume(server, "search-stream", 10)
        logs = list(server.log)
    assert got.error is None
    assert got.ids == [str(i) for i in range(10)]  # the replay takes up where each cut left off
    assert [log.end for log in logs[:2]] == [End.COMPLETED, End.DROPPED]
    assert [[str(f.fault) for f in log.faults] for log in logs[:2]] == [["disconnect@3"], ["drop@3"]]
    assert len(logs) == 3 and logs[2].resumed_at == 6


def test_xdk_retries_503_and_429_then_streams(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 3), CloseReason.CLIENT_STOPPED, 0.5))
    with ReplayServer([path], speed=SPEED, faults=["status=503x2", "status=429"]) as server:
        got = xdk_consume(server, "search-stream", 3)
        statuses = [log.status for log in server.log]
    assert got.ids == ["0", "1", "2"]
    assert statuses == [503, 503, 429, 200]


def test_xdk_gives_up_on_401_at_once(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 3), CloseReason.CLIENT_STOPPED, 0.5))
    with ReplayServer([path], speed=SPEED, token="the-right-one") as server:
        got = xdk_consume(server, "search-stream", 3, token="another")
        assert len(server.log) == 1 and server.log[0].status == 401
    assert isinstance(got.error, StreamError)
    assert got.error.error_type is StreamErrorType.AUTHENTICATION_ERROR and got.error.status_code == 401
    assert json.loads(got.error.response_body or "")["title"] == "Unauthorized"


def test_xdk_tolerates_a_line_split_between_cr_and_lf(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 5), CloseReason.CLIENT_STOPPED, 0.7))
    with ReplayServer([path], speed=SPEED, faults=["split@1", "split@3"]) as server:
        got = xdk_consume(server, "search-stream", 5)
        assert len(server.log[0].faults) == 2
    assert got.ids == ["0", "1", "2", "3", "4"]


def test_xdk_with_a_read_timeout_recovers_from_a_stall(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 6), CloseReason.CLIENT_STOPPED, 0.8))
    # 21 s of silence is the usual client timeout; 2.1 s here at 10x, stall of 60 s recorded = 6 s here
    config = StreamConfig(max_retries=5, initial_backoff=0.01, jitter=False, timeout=2.1)
    with ReplayServer([path], speed=SPEED, faults=["stall=60@2"]) as server:
        started = time.monotonic()
        got = xdk_consume(server, "search-stream", 6, config=config)
        took = time.monotonic() - started
        assert server.log[0].end is End.VANISHED  # xdk hung up on the silent stream
    assert got.ids == [str(i) for i in range(6)]
    assert 2.0 < took < 4.5


def test_xdk_by_default_never_notices_a_silent_stream(tmp_path: Path) -> None:
    """xdk's StreamConfig has no read timeout: a stream gone silent (no heartbeat for 35 s, past the
    21-31 s every client should give up after) keeps it waiting on the same connection."""
    assert StreamConfig().timeout is None
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 4), CloseReason.CLIENT_STOPPED, 0.6))
    with ReplayServer([path], speed=SPEED, faults=["stall=600@2"]) as server:
        got = xdk_consume(server, "search-stream", 3, config=StreamConfig(max_retries=0), timeout=3.5)
        assert len(server.log) == 1  # 35 recorded seconds of silence, and no reconnect
    assert got.ids == ["0", "1"]


# -- tweepy through the proxy --------------------------------------------------------------------------
class Recorder(tweepy.StreamingClient):  # type: ignore[misc]
    """A StreamingClient that notes what its callbacks are told, with arrival times."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[float, str, Any]] = []
        self.until: int | None = None  # how much of `seen` came before the test stopped the server

    def on_tweet(self, tweet: Any) -> None:
        self.seen.append((time.monotonic(), "tweet", tweet.id))

    def on_keep_alive(self) -> None:
        self.seen.append((time.monotonic(), "keep-alive", None))

    def on_errors(self, errors: Any) -> None:
        self.seen.append((time.monotonic(), "errors", errors))

    def on_closed(self, response: Any) -> None:
        self.seen.append((time.monotonic(), "closed", response.status_code))

    def on_connection_error(self) -> None:
        self.seen.append((time.monotonic(), "connection-error", None))

    def of(self, kind: str) -> list[Any]:
        return [value for _, k, value in self.seen[: self.until] if k == kind]


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[ReplayServer], None]:
    def apply(server: ReplayServer) -> None:
        assert server.proxy_url is not None and server.ca_bundle is not None
        apply_env(monkeypatch, client_env(server.proxy_url, server.ca_bundle))

    return apply


def tweepy_consume(server: ReplayServer, tweets: int, timeout: float = 10.0) -> Recorder:
    client = Recorder("tweepy-token", max_retries=5)
    thread = client.filter(threaded=True)
    deadline = time.monotonic() + timeout
    while len(client.of("tweet")) < tweets and time.monotonic() < deadline:
        time.sleep(0.01)
    client.until = len(client.seen)
    client.disconnect()
    server.stop()  # ends the read it is blocked in
    thread.join(5)
    return client


def test_tweepy_through_the_proxy_gets_every_tweet_and_heartbeat_in_order(
    tmp_path: Path, proxy_env: Callable[[ReplayServer], None]
) -> None:
    lines = events(0, 12, gap=1.0)  # 1.2 s here: a stall is a small part of it
    lines[6:6] = [(5.5, b"\r\n"), (5.51, b"\r\n")]
    path = cassette(tmp_path / "c.jsonl", "search-stream", (lines, CloseReason.CLIENT_STOPPED, 12.5))
    with ReplayServer([path], speed=SPEED, proxy=True) as server:
        proxy_env(server)
        client = tweepy_consume(server, 12)
        log = server.log[0]
    assert log.tunnel == "api.twitter.com"  # tweepy's hard-coded host, intercepted
    assert client.of("tweet") == list(range(12))
    kinds = [k for _, k, _ in client.seen if k in ("tweet", "keep-alive")]
    assert kinds == ["tweet"] * 6 + ["keep-alive"] * 2 + ["tweet"] * 6
    arrivals = [at for at, k, _ in client.seen if k == "tweet"]
    offsets = [offset for offset, raw in lines if raw != b"\r\n"]
    assert_on_time([at - log.started - offset / SPEED for at, offset in zip(arrivals, offsets, strict=True)])


def test_tweepy_reports_a_false_keep_alive_when_cr_and_lf_are_split(
    tmp_path: Path, proxy_env: Callable[[ReplayServer], None]
) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 5), CloseReason.CLIENT_STOPPED, 0.7))
    with ReplayServer([path], speed=SPEED, proxy=True, faults=["split@2"]) as server:
        proxy_env(server)
        client = tweepy_consume(server, 5)
    assert client.of("tweet") == list(range(5))
    assert len(client.of("keep-alive")) == 1  # the recording has none: requests' iter_lines made it up


def test_tweepy_sees_the_disconnect_reconnects_and_gets_the_rest(
    tmp_path: Path, proxy_env: Callable[[ReplayServer], None]
) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 8), CloseReason.CLIENT_STOPPED, 1.0))
    with ReplayServer([path], speed=SPEED, proxy=True, faults=["disconnect@3", "drop@2"]) as server:
        proxy_env(server)
        client = tweepy_consume(server, 8)
        ends = [log.end for log in server.log[:2]]
    assert client.of("tweet") == list(range(8))
    errors = client.of("errors")
    assert len(errors) == 1 and errors[0][0]["disconnect_type"] == "OperationalDisconnect"
    assert client.of("closed") == [200]  # the clean close after the payload
    assert len(client.of("connection-error")) == 1  # the drop, mid-line
    assert ends == [End.DROPPED, End.COMPLETED]  # drop@2 hit the first connection, disconnect@3 the next
