"""Recording through the consumer (issue 16), through pytester: the consumer's own requests go
upstream (the built-in loopback source here) and its session is what the cassette holds."""

from __future__ import annotations

import json

import pytest

import harness.replay._proxy  # noqa: F401  # cryptography (trustme) loaded once, not in each pytester run
from harness.cassette import Cassette, Connection, Header, write_cassette

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

pytest_plugins = ["pytester"]

ONCE = ("--stream-record-mode=once", "--stream-record-url=loopback")
TOKEN = "consumer-secret-token-42"

REQUESTS_CONSUMER = f"""
import json, pytest, requests

AUTH = {{"Authorization": "Bearer {TOKEN}"}}

@pytest.mark.stream_cassette(max_events=4, redact_json=["/data/text"], on_end="close")
def test_consumer(stream_replay, request):
    url = stream_replay.base_url + "/2/tweets/search/stream?tweet.fields=lang,author_id&expansions=author_id"
    with requests.get(url, headers=AUTH, stream=True, timeout=10) as r:
        assert r.status_code == 200
        events = [json.loads(l) for l in r.iter_lines() if l]
    assert len(events) == 4
    recording = request.config.getoption("--stream-record-mode") == "once"
    assert all((e["data"]["text"] != "<redacted>") is recording for e in events)  # recording: the real text
    stream_replay.assert_requested("search-stream", query={{"expansions": "author_id"}}, times=1)
"""


def test_the_cassette_holds_the_consumers_own_request(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plug_rec=REQUESTS_CONSUMER)
    pytester.runpytest(*ONCE).assert_outcomes(passed=1)
    cassette = pytester.path / "cassettes" / "test_plug_rec" / "test_consumer.jsonl"  # MODULE/TEST
    header = Cassette(cassette).header
    assert header.endpoint == "search-stream"
    assert dict(header.query) == {"tweet.fields": "lang,author_id", "expansions": "author_id"}
    assert header.labels["source"] == "loopback"
    assert header.labels["test"] == "test_plug_rec.py::test_consumer"
    assert header.request_headers["Authorization"] == "Bearer <redacted>"
    lines = list(Cassette(cassette).events())
    assert len(lines) == 4
    assert all(json.loads(line.raw)["data"]["text"] == "<redacted>" for line in lines)
    assert [line.offset for line in lines] == sorted(line.offset for line in lines) and lines[-1].offset > 0
    assert TOKEN not in cassette.read_text()
    # replayed as recorded: the same test passes from the cassette alone, which is left as it was
    recorded = cassette.read_bytes()
    pytester.runpytest().assert_outcomes(passed=1)
    assert cassette.read_bytes() == recorded


def test_rules_calls_go_upstream_and_into_the_header(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plug_rules=f"""
        import pytest, requests

        AUTH = {{"Authorization": "Bearer {TOKEN}"}}

        @pytest.mark.stream_cassette(max_events=2)
        def test_rules_then_stream(stream_replay):
            rules = stream_replay.base_url + "/2/tweets/search/stream/rules"
            r = requests.post(rules, json={{"add": [{{"value": "cats"}}]}}, headers=AUTH, timeout=10)
            assert r.status_code == 200 and r.json()["data"][0]["value"] == "cats"  # the source's answer
            with requests.get(stream_replay.url("search-stream"), headers=AUTH, stream=True, timeout=10) as s:
                assert len([l for l in s.iter_lines() if l]) == 2
            after = requests.get(rules, headers=AUTH, timeout=10).json()["data"]  # after the stream: kept too
            assert "cats" in [rule["value"] for rule in after]
        """
    )
    pytester.runpytest(*ONCE).assert_outcomes(passed=1)
    header = Cassette(pytester.path / "cassettes" / "test_plug_rules" / "test_rules_then_stream.jsonl").header
    calls = [(c["method"], c["path"], c["status"]) for c in header.api_calls]
    assert calls == [("POST", "/2/tweets/search/stream/rules", 200), ("GET", "/2/tweets/search/stream/rules", 200)]
    assert header.api_calls[0]["body"] == {"add": [{"value": "cats"}]}
    assert "cats" in [rule["value"] for rule in header.api_calls[1]["response"]["data"]]
    assert header.rules is not None and "cats" in [rule["value"] for rule in header.rules]  # in effect at the start


def test_a_recording_without_a_connection_is_a_missing_cassette(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_plug_idle="""
        import os, pytest, requests

        @pytest.mark.stream_cassette(max_events=2)
        def test_idle(stream_replay):
            if os.environ.get("CONSUME"):
                url = stream_replay.url("search-stream")
                with requests.get(url, headers={"Authorization": "Bearer t"}, stream=True, timeout=10) as r:
                    assert len([l for l in r.iter_lines() if l]) == 2
        """
    )
    cassette = pytester.path / "cassettes" / "test_plug_idle" / "test_idle.jsonl"
    result = pytester.runpytest(*ONCE)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            f"test_plug_idle.py::test_idle: the recording into {cassette} failed: the consumer opened no stream "
            "through the recording proxy. Nothing was kept: record mode 'once' records it again"
        ]
    )
    assert not cassette.exists()
    # a cassette left by a failed recording (a header, no connection) counts as missing too
    write_cassette(cassette, Header(endpoint="search-stream", url="http://127.0.0.1/"), [])
    none = pytester.runpytest()
    none.assert_outcomes(errors=1)
    none.stdout.fnmatch_lines(["test_plug_idle.py::test_idle: cassette holds no connection (a failed recording): *"])
    monkeypatch.setenv("CONSUME", "1")
    pytester.runpytest(*ONCE).assert_outcomes(passed=1)  # once: recorded again
    assert any(isinstance(r, Connection) and r.status == 200 for r in Cassette(cassette))


def test_same_test_name_in_two_modules_gets_two_cassettes(pytester: pytest.Pytester) -> None:
    body = """
        import pytest, requests

        @pytest.mark.stream_cassette(max_events=1)
        def test_x(stream_replay):
            url = stream_replay.base_url + "/2/tweets/search/stream?tweet.fields={}"
            with requests.get(url, headers={{"Authorization": "Bearer t"}}, stream=True, timeout=10) as r:
                assert len([l for l in r.iter_lines() if l]) == 1
        """
    pytester.makepyfile(test_plug_a=body.format("lang"), test_plug_b=body.format("source"))
    pytester.runpytest(*ONCE).assert_outcomes(passed=2)
    queries = {
        m: Cassette(pytester.path / "cassettes" / m / "test_x.jsonl").header.query
        for m in ("test_plug_a", "test_plug_b")
    }
    assert queries == {"test_plug_a": {"tweet.fields": "lang"}, "test_plug_b": {"tweet.fields": "source"}}


def test_xdk_records_then_replays_its_own_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plug_sdk="""
        import pytest
        from xdk import Client

        @pytest.mark.stream_cassette(max_events=10)
        def test_xdk(stream_replay):
            client = Client(base_url=stream_replay.base_url, bearer_token="xdk-token")
            got = []
            for item in client.stream.posts(tweet_fields=["lang"]):
                got.append(item)
                if len(got) == 1:  # xdk drops the synthetic lines its models (spec 2.167) refuse: most of them
                    break
            stream_replay.assert_requested("search-stream", query={"tweet.fields": "lang"})
        """
    )
    pytester.runpytest(*ONCE).assert_outcomes(passed=1)
    cassette = pytester.path / "cassettes" / "test_plug_sdk" / "test_xdk.jsonl"
    assert dict(Cassette(cassette).header.query) == {"tweet.fields": "lang"}
    assert 0 < len(list(Cassette(cassette).events())) <= 10  # until xdk hung up (or max_events)
    pytester.runpytest().assert_outcomes(passed=1)


def test_tweepy_records_through_the_proxy_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plug_tw="""
        import pytest, tweepy

        class Client(tweepy.StreamingClient):
            def on_tweet(self, tweet):
                self.ids.append(tweet.id)
                if len(self.ids) == 2:  # the synthetic 3rd has an include tweepy 4.17 cannot read
                    self.disconnect()

        @pytest.mark.stream_cassette(max_events=2)
        def test_tweepy(stream_replay_proxy):
            client = Client("tweepy-token", max_retries=1)
            client.ids = []
            client.filter(tweet_fields=["lang"])
            assert len(client.ids) == 2
            [seen] = stream_replay_proxy.requests
            assert seen.tunnel == "api.twitter.com" and seen.query == {"tweet.fields": "lang"}
        """
    )
    pytester.runpytest(*ONCE).assert_outcomes(passed=1)
    cassette = pytester.path / "cassettes" / "test_plug_tw" / "test_tweepy.jsonl"
    assert dict(Cassette(cassette).header.query) == {"tweet.fields": "lang"}
    pytester.runpytest().assert_outcomes(passed=1)


def test_duration_ends_the_recording_for_the_consumer_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plug_dur="""
        import pytest, requests

        @pytest.mark.stream_cassette(max_events=10_000, duration=0.5)
        def test_for_half_a_second(stream_replay):
            url = stream_replay.url("search-stream")
            with requests.get(url, headers={"Authorization": "Bearer t"}, stream=True, timeout=10) as r:
                lines = [l for l in r.iter_lines() if l]  # ends cleanly when the recording does
            assert lines
            again = requests.get(url, headers={"Authorization": "Bearer t"}, timeout=10)
            assert again.status_code == 410 and "the recording has ended (duration)" in again.json()["detail"]
        """
    )
    pytester.runpytest(*ONCE).assert_outcomes(passed=1)
    records = list(Cassette(pytester.path / "cassettes" / "test_plug_dur" / "test_for_half_a_second.jsonl"))
    assert records[-1].reason == "client-stopped"  # type: ignore[union-attr]


def test_the_upstream_route_is_the_one_before_the_test_changed_the_environment(pytester: pytest.Pytester) -> None:
    """The proxy fixture points HTTPS_PROXY and the CA bundle at the test's own proxy, for the consumer:
    the recording's own connection upstream keeps the route it had (else it would loop into itself)."""
    pytester.makepyfile(
        test_plug_route="""
        import os, pytest, requests

        @pytest.mark.stream_cassette(max_events=2)
        def test_env_changed_under_the_recording(stream_replay, monkeypatch):
            monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
            monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
            session = requests.Session()
            session.trust_env = False  # the consumer talks to the recording proxy directly
            url = stream_replay.url("search-stream")
            with session.get(url, headers={"Authorization": "Bearer t"}, stream=True, timeout=10) as r:
                assert r.status_code == 200 and len([l for l in r.iter_lines() if l]) == 2
        """
    )
    pytester.runpytest(*ONCE).assert_outcomes(passed=1)


def test_url_gives_the_markers_params_when_recording_and_the_recorded_query_when_replaying(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_marker_params="""
        import pytest, requests

        @pytest.mark.stream_cassette(max_events=1, params={"tweet.fields": "lang"}, on_end="close")
        def test_params(stream_replay):
            url = stream_replay.url("search-stream")
            assert url.endswith("/2/tweets/search/stream?tweet.fields=lang")
            with requests.get(url, headers={"Authorization": "Bearer t"}, stream=True, timeout=10) as r:
                assert len([l for l in r.iter_lines() if l]) == 1
        """
    )
    pytester.runpytest(*ONCE).assert_outcomes(passed=1)
    assert Cassette(pytester.path / "cassettes" / "test_marker_params" / "test_params.jsonl").header.query == {
        "tweet.fields": "lang"
    }
    pytester.runpytest().assert_outcomes(passed=1)
