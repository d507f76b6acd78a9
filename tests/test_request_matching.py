"""The replay compares the consumer's query with the recorded one: fields and expansions, partitions, backfill.

Real sockets on 127.0.0.1 (requests as the consumer), plus a property test of the field cut.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from test_replayer import cassette, events

from harness._wire import STREAM_HEADERS
from harness.cassette import Close, CloseReason, Connection, Header, Line, Record, write_cassette
from harness.cassette.synth import encode_line
from harness.contract.checker import Contract
from harness.model import resolve_endpoint
from harness.replay._shaping import defaults, shape
from harness.replay.server import ReplayServer

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses
pytest_plugins = ["pytester"]

RECORDED = {
    "tweet.fields": "author_id,created_at,lang,referenced_tweets",
    "expansions": "author_id,referenced_tweets.id,referenced_tweets.id.author_id",
    "user.fields": "created_at,verified",
}
TWEET = {
    "id": "10",
    "text": "quoting",
    "edit_history_tweet_ids": ["10"],
    "author_id": "1",
    "created_at": "2026-11-01T00:00:00.000Z",
    "lang": "en",
    "referenced_tweets": [{"type": "quoted", "id": "9"}],
}
INCLUDES = {
    "users": [
        {"id": "1", "name": "One", "username": "one", "created_at": "2020-01-01T00:00:00.000Z", "verified": False},
        {"id": "2", "name": "Two", "username": "two", "created_at": "2021-01-01T00:00:00.000Z", "verified": True},
    ],
    "tweets": [{"id": "9", "text": "quoted", "edit_history_tweet_ids": ["9"], "author_id": "2", "lang": "en"}],
}
EVENT = encode_line({"data": TWEET, "includes": INCLUDES, "matching_rules": [{"id": "1", "tag": "t"}]})


@pytest.fixture
def rich(tmp_path: Path) -> Path:
    lines = [(0.1, EVENT), (0.2, EVENT)]
    return cassette(tmp_path / "rich.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 0.3), query=RECORDED)


def get(server: ReplayServer, path: str, query: str, token: str = "t") -> tuple[int, list[bytes]]:
    with requests.get(f"{server.base_url}{path}?{query}", headers={"Authorization": f"Bearer {token}"}, stream=True,
                      timeout=10) as r:  # fmt: skip
        return r.status_code, [line for line in r.iter_lines() if line]


def test_what_was_not_asked_for_is_cut_the_defaults_kept(rich: Path) -> None:
    recorded = "&".join(f"{k}={v}" for k, v in RECORDED.items())
    with ReplayServer([rich], speed=None) as server:
        status, lines = get(server, "/2/tweets/search/stream", "tweet.fields=lang&expansions=author_id")
        _, exact = get(server, "/2/tweets/search/stream", recorded, token="other")
    assert exact == [EVENT.rstrip(b"\r\n")] * 2  # the recorded query: the recorded bytes
    assert status == 200 and len(lines) == 2
    event = json.loads(lines[0])
    assert event["data"] == {"id": "10", "text": "quoting", "edit_history_tweet_ids": ["10"], "lang": "en",
                             "author_id": "1"}  # fmt: skip
    assert event["includes"] == {"users": [{"id": "1", "name": "One", "username": "one"}]}  # the author only
    assert event["matching_rules"] == [{"id": "1", "tag": "t"}]
    assert Contract().check_event(event, "search-stream") == []
    assert server.mismatches == []


@pytest.mark.parametrize("endpoint", ["sample-stream", "sample10-stream", "firehose-en"])
def test_every_stream_with_fields_is_cut_to_the_request(tmp_path: Path, endpoint: str) -> None:
    """Not only the seeds' three: each stream's `data` object is the model's."""
    e = resolve_endpoint(endpoint)
    query, asked = {"tweet.fields": "author_id,created_at,lang"}, "tweet.fields=lang"
    if any(p.name == "partition" for p in e.params):
        query, asked = {**query, "partition": "1"}, asked + "&partition=1"
    line = encode_line({"data": TWEET})
    path = cassette(tmp_path / "c.jsonl", endpoint, ([(0.1, line)], CloseReason.SERVER_CLOSED, 0.2), query=query)
    with ReplayServer([path], speed=None) as server:
        status, lines = get(server, e.path, asked)
    want = {"id": "10", "text": "quoting", "edit_history_tweet_ids": ["10"], "lang": "en"}
    assert status == 200 and [json.loads(raw)["data"] for raw in lines] == [want]


def test_expansions_kept_keep_what_they_reference(rich: Path) -> None:
    query = "expansions=referenced_tweets.id,referenced_tweets.id.author_id&user.fields=verified"
    with ReplayServer([rich], speed=None) as server:
        _, lines = get(server, "/2/tweets/search/stream", query)
    event = json.loads(lines[0])
    assert event["data"]["referenced_tweets"] == [{"type": "quoted", "id": "9"}]
    assert "author_id" not in event["data"] and "lang" not in event["data"]
    assert [u["id"] for u in event["includes"]["users"]] == ["2"]  # the quoted tweet's author, not the tweet's
    assert event["includes"]["users"][0] == {"id": "2", "name": "Two", "username": "two", "verified": True}
    assert event["includes"]["tweets"] == [{"id": "9", "text": "quoted", "edit_history_tweet_ids": ["9"]}]


def test_fields_the_cassette_lacks_are_served_without_and_said_with_how_to_record(rich: Path) -> None:
    said: list[str] = []
    with ReplayServer([rich], speed=None, on_message=said.append) as server:
        _, lines = get(
            server, "/2/tweets/search/stream", "tweet.fields=lang,possibly_sensitive&expansions=geo.place_id"
        )
    assert "possibly_sensitive" not in json.loads(lines[0])["data"]
    [message] = server.mismatches
    assert "tweet.fields possibly_sensitive; expansions geo.place_id" in message and "rich.jsonl lacks" in message
    assert "harness record search-stream CASSETTE" in message
    assert "--param tweet.fields=author_id,created_at,lang,referenced_tweets,possibly_sensitive" in message
    assert "--param expansions=author_id,referenced_tweets.id,referenced_tweets.id.author_id,geo.place_id" in message
    assert any(message in line for line in said)


PLUGIN_TEST = """
import pytest, requests

@pytest.mark.stream_cassette("rich", speed="max", on_end="close"{extra})
def test_consumer(stream_replay):
    url = stream_replay.base_url + "/2/tweets/search/stream?tweet.fields=lang,possibly_sensitive"
    with requests.get(url, headers={{"Authorization": "Bearer t"}}, stream=True, timeout=10) as r:
        assert len([line for line in r.iter_lines() if line]) == 2
"""


def test_the_plugin_fails_a_test_whose_consumer_asks_for_what_the_cassette_lacks(pytester: pytest.Pytester,
                                                                                  rich: Path) -> None:  # fmt: skip
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "rich.jsonl").write_bytes(rich.read_bytes())
    pytester.makepyfile(test_lacking=PLUGIN_TEST.format(extra=""))
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*asks for tweet.fields possibly_sensitive*re-record with: harness record*"])
    pytester.makepyfile(test_lacking=PLUGIN_TEST.format(extra=", allow_missing_fields=True"))
    pytester.runpytest().assert_outcomes(passed=1)


# -- partitions ----------------------------------------------------------------------------------------
def test_each_partition_is_served_its_own_cassette(tmp_path: Path) -> None:
    one = cassette(tmp_path / "p1.jsonl", "firehose-ja", (events(0, 3, endpoint="firehose-ja"),
                   CloseReason.SERVER_CLOSED, 1.0), query={"partition": "1"})  # fmt: skip
    two = cassette(tmp_path / "p2.jsonl", "firehose-ja", (events(100, 3, endpoint="firehose-ja"),
                   CloseReason.SERVER_CLOSED, 1.0), query={"partition": "2"})  # fmt: skip
    path = resolve_endpoint("firehose-ja").path
    with ReplayServer([one, two], speed=None, on_end="close") as server:
        for part, first in (("2", 100), ("1", 0)):  # the same consumer: its own place in each partition
            status, lines = get(server, path, f"partition={part}", token="same")
            assert status == 200
            assert [json.loads(line)["data"]["id"] for line in lines] == [str(first + i) for i in range(3)]


def test_a_partition_without_a_cassette_gets_heartbeats_and_a_log_line(tmp_path: Path) -> None:
    two = cassette(tmp_path / "p2.jsonl", "likes-sample10", (events(0, 3, endpoint="likes-sample10"),
                   CloseReason.SERVER_CLOSED, 1.0), query={"partition": "2"})  # fmt: skip
    said: list[str] = []
    server = ReplayServer([two], speed=1000.0, heartbeat=1.0, on_message=said.append, on_end="close")
    with server, requests.get(server.base_url + "/2/likes/sample10/stream?partition=1", stream=True, timeout=10,
                              headers={"Authorization": "Bearer t"}) as r:  # fmt: skip
        assert r.status_code == 200
        chunks = r.iter_lines()
        assert [next(chunks) for _ in range(3)] == [b"", b"", b""]  # heartbeats, and the stream stays open
    assert any("no cassette for partition 1 of likes-sample10" in line and "heartbeats only" in line for line in said)


# -- backfill ----------------------------------------------------------------------------------------
def test_backfill_minutes_resends_the_minutes_before_the_cut_duplicates_included(tmp_path: Path) -> None:
    offsets = [10.0, 50.0, 80.0, 95.0, 100.0, 130.0, 140.0]
    recorded = [(t, raw) for t, (_, raw) in zip(offsets, events(0, 7), strict=True)]
    path = cassette(tmp_path / "b.jsonl", "search-stream", (recorded, CloseReason.SERVER_CLOSED, 150.0))
    said: list[str] = []
    with ReplayServer([path], speed=None, faults=["disconnect@5"]) as server:
        get(server, "/2/tweets/search/stream", "")
        _, without = get(server, "/2/tweets/search/stream", "backfill_minutes=0")
    with ReplayServer([path], speed=None, faults=["disconnect@5"], on_message=said.append) as server:
        _, first = get(server, "/2/tweets/search/stream", "")
        _, second = get(server, "/2/tweets/search/stream", "backfill_minutes=1")
    assert [json.loads(line)["data"]["id"] for line in without] == ["5", "6"]  # no backfill: on where it stopped
    ids = [json.loads(line)["data"]["id"] for line in first if b'"data"' in line]
    assert ids == ["0", "1", "2", "3", "4"]  # cut after 5 events: the next one was recorded at 130 s
    again = [json.loads(line)["data"]["id"] for line in second]
    assert again == ["2", "3", "4", "5", "6"]  # recorded at 80, 95, 100 s: within a minute of 130 s; then on
    assert any("backfill: 3 event(s)" in line for line in said)


# -- the field cut, for any query ----------------------------------------------------------------------
TWEET_FIELDS = RECORDED["tweet.fields"].split(",")


@settings(max_examples=60, deadline=None)
@given(
    fields=st.lists(st.sampled_from([*TWEET_FIELDS, "possibly_sensitive", "source"]), unique=True),
    expansions=st.lists(st.sampled_from(RECORDED["expansions"].split(",")), unique=True),
)
def test_served_members_are_the_defaults_and_the_recorded_ones_asked_for(fields: list[str],
                                                                         expansions: list[str]) -> None:  # fmt: skip
    asked: dict[str, Any] = {}
    if fields:
        asked["tweet.fields"] = ",".join(fields)
    if expansions:
        asked["expansions"] = ",".join(expansions)
    s = shape(resolve_endpoint("search-stream"), RECORDED, asked)
    served = json.loads(s.line(EVENT, "Tweet")) if s.changes else json.loads(EVENT)
    hangs = {"author_id"} & set(expansions) | ({"referenced_tweets"} if "referenced_tweets.id" in expansions else set())
    assert set(served["data"]) == (defaults("Tweet") | set(fields) | hangs) & set(TWEET)
    assert Contract().check_event(served, "search-stream") == []
    users = {u["id"] for u in served.get("includes", {}).get("users", [])}
    expected = {"1"} if "author_id" in expansions else set()
    assert users == expected | ({"2"} if "referenced_tweets.id.author_id" in expansions else set())
    assert s.missing == ((f"tweet.fields {', '.join(sorted(set(fields) - set(TWEET_FIELDS)))}",)
                         if set(fields) - set(TWEET_FIELDS) else ())  # fmt: skip


# -- start_time / end_time -----------------------------------------------------------------------------
def dated(path: Path, recorded_at: str) -> Path:
    """Ten events recorded 1 s apart, from 1 s after `recorded_at`."""
    e = resolve_endpoint("search-stream")
    records: list[Record] = [Connection(0, 200, "OK", STREAM_HEADERS, 0.01, 0.0)]
    records += [Line(offset, raw) for offset, raw in events(0, 10, gap=1.0, start=1.0)]
    records.append(Close(11.0, CloseReason.SERVER_CLOSED))
    return write_cassette(path, Header(e.name, f"https://api.x.com{e.path}", recorded_at=recorded_at), records)


def test_start_and_end_time_serve_what_was_recorded_between_them(tmp_path: Path) -> None:
    path = dated(tmp_path / "d.jsonl", "2026-11-01T00:00:00Z")
    query = "start_time=2026-11-01T00:00:04Z&end_time=2026-11-01T00:00:07Z"
    with ReplayServer([path], speed=1000.0) as server:
        status, lines = get(server, "/2/tweets/search/stream", query)
        log = server.log[0]
        assert log.finished.wait(5)
    assert status == 200
    assert [json.loads(line)["data"]["id"] for line in lines] == ["3", "4", "5", "6"]  # recorded at 4..7 s
    assert log.end == "completed"
    assert log.lines[0].due == pytest.approx(0.01 / 1000)  # due at once, not 4 s (of the recording) in
    assert log.lines[1].due == pytest.approx(1.01 / 1000)  # then at the recorded gaps


def test_start_time_alone_serves_from_there_on(tmp_path: Path) -> None:
    path = dated(tmp_path / "d.jsonl", "2026-11-01T00:00:00Z")
    with ReplayServer([path], speed=None) as server:
        _, lines = get(server, "/2/tweets/search/stream", "start_time=2026-11-01T00:00:08.5Z")
    assert [json.loads(line)["data"]["id"] for line in lines] == ["8", "9"]


def test_a_cassette_that_does_not_say_when_it_was_recorded_is_served_whole_saying_so(tmp_path: Path) -> None:
    path = dated(tmp_path / "d.jsonl", "")
    said: list[str] = []
    with ReplayServer([path], speed=None, on_message=said.append) as server:
        _, lines = get(server, "/2/tweets/search/stream", "start_time=2026-11-01T00:00:08Z")
    assert len(lines) == 10
    assert any("start_time/end_time ignored" in line for line in said)
