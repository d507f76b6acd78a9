"""The filtered stream's rules API in the replay and `harness serve`, and the stream following the rules.

Unmodified consumers manage their rules and then stream: tweepy's StreamingClient through the
TLS proxy, xdk by base URL, and a requests script shaped like X's published filtered-stream
sample. Each receives exactly the recorded events that match the rules it set, named by the
rule ids it was given.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
import tweepy
from pydantic import ValidationError
from test_replayer import cli_argv, ready_info
from xdk import Client
from xdk.stream.models import UpdateRulesRequest

from harness._wire import STREAM_HEADERS
from harness.cassette import Close, CloseReason, Connection, Header, Line, write_cassette
from harness.cassette.synth import encode_line
from harness.contract.schemagen import Profile, definition_file
from harness.contract.validator import ReferenceEngine
from harness.replay._proxy import client_env
from harness.replay.loopback import DEFAULT_RULES, LoopbackServer, ServeOptions
from harness.replay.server import End, ReplayServer
from harness.testing.plugin import apply_env

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

pytest_plugins = ["pytester"]

RULES_PATH = "/2/tweets/search/stream/rules"
RECORDED = ({"id": "11", "value": "cats has:images", "tag": "cats"}, {"id": "22", "value": "dogs", "tag": "dogs"})
AUTH = {"Authorization": "Bearer test-token"}
ENGINES = (ReferenceEngine(), ReferenceEngine(Profile.STRICT))


def tweet_line(n: int, *rule_ids: str) -> bytes:
    tags = {r["id"]: r["tag"] for r in RECORDED}
    matching = [{"id": i, "tag": tags.get(i, "old")} for i in rule_ids]
    return encode_line({"data": {"id": str(n), "text": f"tweet {n}", "edit_history_tweet_ids": [str(n)]},
                        "matching_rules": matching})  # fmt: skip


def recorded_events(n: int = 12) -> list[bytes]:
    """Tweet i matched cats (i even), dogs (i odd), and tweet 0 both."""
    return [tweet_line(i, *(("11", "22") if i == 0 else ("11",) if i % 2 == 0 else ("22",))) for i in range(n)]


def rules_cassette(path: Path, lines: Sequence[bytes], *, rules: Sequence[dict[str, str]] | None = RECORDED,
                   gap: float = 0.05, heartbeats: bool = False) -> Path:  # fmt: skip
    records: list[Any] = [Connection(0, 200, "OK", STREAM_HEADERS, 0.01, 0.0)]
    for i, raw in enumerate(lines):
        records.append(Line(gap * (i + 1), raw))
        if heartbeats:
            records.append(Line(gap * (i + 1) + gap / 2, b"\r\n"))
    records.append(Close(gap * (len(lines) + 1), CloseReason.SERVER_CLOSED))
    header = Header("search-stream", "https://api.x.com/2/tweets/search/stream",
                    rules=None if rules is None else tuple(rules))  # fmt: skip
    return write_cassette(path, header, records)


def stream_ids(base_url: str, until: int | None = None, token: str = "test-token") -> list[tuple[str, Any]]:
    """(tweet id, matching_rules) of each event of one connection, until it ends (or `until` events).
    Each consumer (token) starts at the first recorded connection."""
    got = []
    auth = {"Authorization": f"Bearer {token}"}
    with requests.get(base_url + "/2/tweets/search/stream", headers=auth, stream=True, timeout=10) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line:
                event = json.loads(line)
                got.append((event["data"]["id"], event["matching_rules"]))
                if until is not None and len(got) >= until:
                    break
    return got


def valid(body: Any, definition: str) -> bool:
    """`body` keeps its schema, in the strict profile too (no member the model does not know)."""
    return all(engine.violations(definition_file(definition), body) == [] for engine in ENGINES)


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    return rules_cassette(tmp_path / "rules.jsonl", recorded_events())


# -- X's filtered-stream sample, with requests -----------------------------------------------------
def sample_bot(base_url: str, wanted: list[dict[str, str]], until: int | None) -> tuple[list[Any], list[Any]]:
    """The shape of X's published sample: get all rules, delete them all, set its own, stream."""
    rules_url = base_url + RULES_PATH
    current = requests.get(rules_url, headers=AUTH, timeout=5).json()
    ids = [rule["id"] for rule in current.get("data", [])]
    if ids:
        deleted = requests.post(rules_url, headers=AUTH, json={"delete": {"ids": ids}}, timeout=5)
        assert deleted.status_code == 200, deleted.text
    added = requests.post(rules_url, headers=AUTH, json={"add": wanted}, timeout=5)
    assert added.status_code == 200, added.text
    return added.json()["data"], stream_ids(base_url, until)


def test_the_x_sample_bot_gets_exactly_the_events_of_its_rules_named_by_its_ids(cassette: Path) -> None:
    with ReplayServer([cassette], speed=None, on_end="close") as server:
        before = server.rules.rules
        made, got = sample_bot(server.base_url, [{"value": "dogs", "tag": "my dogs"}], until=None)
        after = server.rules.rules
    assert before == [dict(r) for r in RECORDED]
    assert [r["value"] for r in made] == ["dogs"] and made[0]["id"] not in ("11", "22")
    assert after == made
    assert [i for i, _ in got] == ["0", "1", "3", "5", "7", "9", "11"]  # every tweet recorded as matching dogs
    assert all(rules == [{"id": made[0]["id"], "tag": "my dogs"}] for _, rules in got)


def test_a_bot_that_keeps_the_recorded_rules_gets_the_events_byte_for_byte(cassette: Path) -> None:
    with ReplayServer([cassette], speed=None, on_end="close") as server:
        listed = requests.get(server.base_url + RULES_PATH, headers=AUTH, timeout=5).json()["data"]
        dry = post(server, {"add": [{"value": r["value"]} for r in listed]}, "?dry_run=true").json()
        with requests.get(server.base_url + "/2/tweets/search/stream", headers=AUTH, timeout=10) as r:
            body = r.content
    assert dry["meta"]["summary"] == {"created": 0, "not_created": 2, "valid": 2, "invalid": 0}  # duplicates
    assert body == b"".join(recorded_events())


def test_no_rule_installed_leaves_the_stream_open_with_heartbeats_only(tmp_path: Path) -> None:
    path = rules_cassette(tmp_path / "c.jsonl", recorded_events(6), gap=1.0)
    with ReplayServer([path], speed=20, rules=[], heartbeat=0.5, on_end="close") as server:
        with requests.get(server.base_url + "/2/tweets/search/stream", headers=AUTH, timeout=10) as r:
            lines = r.content.split(b"\r\n")
            status = r.status_code
        log = server.log[-1]
    assert status == 200 and log.end is End.COMPLETED
    assert log.events == 0 and log.heartbeats >= 3  # a heartbeat after each heartbeat interval of silence
    assert set(lines) == {b""}


def test_rules_changed_mid_stream_apply_at_once(tmp_path: Path) -> None:
    path = rules_cassette(tmp_path / "c.jsonl", recorded_events(20), gap=0.1)
    only_cats = [RECORDED[0]]
    with ReplayServer([path], speed=1, rules=only_cats, on_end="close") as server:
        got: list[str] = []
        with requests.get(server.base_url + "/2/tweets/search/stream", headers=AUTH, stream=True, timeout=10) as r:
            for line in r.iter_lines():
                if not line:
                    continue
                got.append(json.loads(line)["data"]["id"])
                if len(got) == 3:  # tweets 0, 2, 4: now swap cats for dogs
                    change = {"delete": {"values": ["cats has:images"]}}
                    assert requests.post(server.base_url + RULES_PATH, headers=AUTH, json=change).status_code == 200
                    added = requests.post(server.base_url + RULES_PATH, headers=AUTH, json={"add": [{"value": "dogs"}]})
                    assert added.status_code == 200
    ids = [int(i) for i in got]
    assert ids[:3] == [0, 2, 4]
    cats = [i for i in ids if i % 2 == 0 and i != 0]
    dogs = [i for i in ids if i % 2 == 1]
    assert dogs and dogs[-1] == 19 and dogs == list(range(dogs[0], 20, 2))  # every dog after the change
    assert not cats or max(cats) < dogs[0]  # and not one cat after it
    assert dogs[0] >= 5


# -- the API's answers -------------------------------------------------------------------------------
def post(server: Any, body: Any, query: str = "", **kwargs: Any) -> requests.Response:
    return requests.post(server.base_url + RULES_PATH + query, headers=AUTH, json=body, timeout=5, **kwargs)


def test_invalid_duplicate_and_over_cap_rules_get_x_answers_and_change_nothing(cassette: Path) -> None:
    with ReplayServer([cassette], speed=None, max_rules=3) as server:
        invalid = post(server, {"add": [{"value": "birds"}, {"value": "has:images"}]})
        unchanged_after_invalid = server.rules.rules
        partial = post(server, {"add": [{"value": "dogs", "tag": "again"}, {"value": "birds"}]})
        over = post(server, {"add": [{"value": "fish"}, {"value": "frogs"}]})
        final = server.rules.rules
    assert invalid.status_code == 400
    body = invalid.json()
    assert valid(body, "AddOrDeleteRulesResponse")
    assert body["meta"]["summary"] == {"created": 0, "not_created": 2, "valid": 1, "invalid": 1}
    [error] = body["errors"]
    assert error["type"] == "https://api.twitter.com/2/problems/invalid-rules" and error["value"] == "has:images"
    assert "standalone operator" in error["details"][0]
    assert unchanged_after_invalid == [dict(r) for r in RECORDED]

    assert partial.status_code == 200  # partial success: the new rule made, the duplicate named
    body = partial.json()
    assert valid(body, "AddOrDeleteRulesResponse")
    assert body["meta"]["summary"] == {"created": 1, "not_created": 1, "valid": 2, "invalid": 0}
    assert [r["value"] for r in body["data"]] == ["birds"]
    assert body["errors"] == [{"value": "dogs", "id": "22", "title": "DuplicateRule",
                               "type": "https://api.twitter.com/2/problems/duplicate-rules"}]  # fmt: skip

    assert over.status_code == 400
    body = over.json()
    assert valid(body, "AddOrDeleteRulesResponse")
    assert body["errors"][0]["type"] == "https://api.twitter.com/2/problems/rule-cap"
    assert body["meta"]["summary"]["created"] == 0
    assert [r["value"] for r in final] == ["cats has:images", "dogs", "birds"]


def test_dry_run_answers_as_the_real_run_and_changes_nothing(cassette: Path) -> None:
    with ReplayServer([cassette], speed=None) as server:
        dry_add = post(server, {"add": [{"value": "birds"}]}, "?dry_run=true")
        dry_delete = post(server, {"delete": {"ids": ["11", "404"]}}, "?dry_run=true")
        dry_all = post(server, None, "?delete_all=true&dry_run=true")
        kept = server.rules.rules
        real_delete = post(server, {"delete": {"ids": ["11", "404"]}})
        left = server.rules.rules
    assert dry_add.status_code == 200 and dry_add.json()["meta"]["summary"]["created"] == 1
    assert dry_delete.json()["meta"]["summary"] == {"deleted": 1, "not_deleted": 1}
    assert dry_all.json()["meta"]["summary"] == {"deleted": 2, "not_deleted": 0}
    assert kept == [dict(r) for r in RECORDED]
    assert real_delete.json()["meta"]["summary"] == dry_delete.json()["meta"]["summary"]
    assert valid(real_delete.json(), "AddOrDeleteRulesResponse")
    assert left == [dict(RECORDED[1])]


def test_lookup_by_ids_and_pages_and_counts(cassette: Path) -> None:
    with ReplayServer([cassette], speed=None) as server:
        url = server.base_url + RULES_PATH
        by_id = requests.get(url, params={"ids": "22"}, headers=AUTH).json()
        first = requests.get(url, params={"max_results": 1}, headers=AUTH).json()
        second = requests.get(url, params={"max_results": 1, "pagination_token": first["meta"]["next_token"]},
                              headers=AUTH).json()  # fmt: skip
        counts = requests.get(url + "/counts", headers=AUTH).json()
    assert by_id["data"] == [RECORDED[1]] and by_id["meta"]["result_count"] == 1
    assert first["data"] == [RECORDED[0]] and second["data"] == [RECORDED[1]] and "next_token" not in second["meta"]
    assert all(valid(b, "RulesLookupResponse") for b in (by_id, first, second))
    assert valid(counts, "RulesCountResponse") and counts["data"]["client_app_rules_count"]["rule_count"] == 2


@pytest.mark.parametrize(
    ("method", "query", "body", "headers", "status", "says"),
    [
        ("POST", "", b"{not json", {"Content-Type": "application/json"}, 400, "not valid JSON"),
        ("POST", "", b'{"add": []}', {"Content-Type": "text/plain"}, 400, "expected application/json"),
        ("POST", "", b'{"add": [{"value": "a"}], "delete": {"ids": ["1"]}}', {"Content-Type": "application/json"},
         400, "either 'add' or 'delete'"),
        ("POST", "?dry_run=maybe", b'{"add": [{"value": "a"}]}', {"Content-Type": "application/json"}, 400, "dry_run"),
        ("GET", "?max_results=0", b"", {}, 400, "max_results"),
        ("GET", "?ids=abc", b"", {}, 400, "ids"),
        ("GET", "?colour=red", b"", {}, 400, "colour"),
        ("GET", "?pagination_token=0000000000000099", b"", {}, 400, "pagination_token"),
        ("PUT", "", b"", {}, 405, "PUT"),
    ],
)  # fmt: skip
def test_bad_requests_get_x_style_errors(cassette: Path, method: str, query: str, body: bytes,
                                         headers: dict[str, str], status: int, says: str) -> None:  # fmt: skip
    with ReplayServer([cassette], speed=None) as server:
        answer = requests.request(method, server.base_url + RULES_PATH + query, data=body,
                                  headers={**AUTH, **headers}, timeout=5)  # fmt: skip
        no_token = requests.get(server.base_url + RULES_PATH, timeout=5)
        rules = server.rules.rules
    assert answer.status_code == status and says in answer.text
    if status == 400:
        assert answer.json()["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert no_token.status_code == 401
    assert rules == [dict(r) for r in RECORDED]


def test_a_cassette_without_rules_derives_them_from_matching_rules_and_says_so(tmp_path: Path) -> None:
    path = rules_cassette(tmp_path / "old.jsonl", recorded_events(), rules=None)
    said: list[str] = []
    with ReplayServer([path], speed=None, on_end="close", on_message=said.append) as server:
        lookup = requests.get(server.base_url + RULES_PATH, headers=AUTH).json()
        got = stream_ids(server.base_url)
        post(server, {"delete": {"ids": ["11"]}})
        dogs_only = stream_ids(server.base_url, token="another consumer")
    assert lookup["data"] == [{"id": "11", "value": "recorded_rule_11", "tag": "cats"},
                              {"id": "22", "value": "recorded_rule_22", "tag": "dogs"}]  # fmt: skip
    assert any("derived from the events' matching_rules" in m for m in said)
    assert any("derived" in w for w in server.rules.warnings)
    assert len(got) == 12
    assert [i for i, _ in dogs_only] == ["0", "1", "3", "5", "7", "9", "11"]


def test_a_rule_the_recording_has_no_events_for_is_accepted_and_logged(cassette: Path) -> None:
    said: list[str] = []
    with ReplayServer([cassette], speed=None, on_end="close", on_message=said.append) as server:
        added = post(server, {"add": [{"value": "birds", "tag": "b"}]})
        post(server, {"delete": {"values": ["cats has:images", "dogs"]}})
        got = stream_ids(server.base_url)
    assert added.status_code == 200 and added.json()["meta"]["summary"]["created"] == 1
    assert any("'birds': accepted; the recording has no events for it" in m for m in said)
    assert got == []


def test_the_python_api_sets_and_reads_the_rules(cassette: Path) -> None:
    with ReplayServer([cassette], speed=None, on_end="close") as server:
        made = server.rules.set([{"value": "cats has:images", "tag": "mine"}])
        got = stream_ids(server.base_url)
    assert made[0]["tag"] == "mine" and made[0]["id"] != "11"
    assert [i for i, _ in got] == [str(i) for i in range(0, 12, 2)]
    assert all(rules == [{"id": made[0]["id"], "tag": "mine"}] for _, rules in got)


# -- tweepy through the proxy --------------------------------------------------------------------
class RuleBot(tweepy.StreamingClient):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.responses: list[Any] = []

    def on_response(self, response: Any) -> None:
        self.responses.append(response)


def test_tweepy_manages_its_rules_then_filters_through_the_proxy(
    cassette: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ReplayServer([cassette], speed=None, proxy=True, on_end="hold", heartbeat=0.2) as server:
        assert server.proxy_url and server.ca_bundle
        apply_env(monkeypatch, client_env(server.proxy_url, server.ca_bundle))
        bot = RuleBot("tweepy-token", max_retries=2)
        old = bot.get_rules()
        bot.delete_rules([rule.id for rule in old.data])
        dry = bot.add_rules([tweepy.StreamRule("cats has:images", tag="felines")], dry_run=True)
        after_dry = bot.get_rules()
        added = bot.add_rules([tweepy.StreamRule("cats has:images", tag="felines")])
        thread = bot.filter(threaded=True)
        deadline = time.monotonic() + 10
        while len(bot.responses) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        bot.disconnect()
        server.stop()
        thread.join(5)
        # (tweepy may be reconnecting as the server stops: a connection with no request yet has no tunnel)
        tunnels = {log.tunnel for log in server.log if log.target}
    assert [r.value for r in old.data] == ["cats has:images", "dogs"]
    assert dry.meta["summary"]["created"] == 1 and after_dry.data is None  # nothing installed by the dry run
    [rule] = added.data
    assert [r.data.id for r in bot.responses] == [0, 2, 4, 6, 8, 10]
    assert all([(m.id, m.tag) for m in r.matching_rules] == [(rule.id, "felines")] for r in bot.responses)
    assert tunnels == {"api.twitter.com"}


# -- xdk by base URL -----------------------------------------------------------------------------
def test_xdk_rules_calls_and_stream(cassette: Path) -> None:
    with ReplayServer([cassette], speed=None, on_end="close") as server:
        client = Client(base_url=server.base_url, bearer_token="xdk")
        pages = list(client.stream.get_rules(max_results=1))
        deleted = client.stream.update_rules(body=UpdateRulesRequest.model_validate({"delete": {"ids": ["11", "22"]}}))
        added = client.stream.update_rules(
            body=UpdateRulesRequest.model_validate({"add": [{"value": "dogs", "tag": "d2"}]})
        )
        with pytest.raises(ValidationError) as refused:  # xdk's 2.167 models type the caps as strings
            client.stream.get_rule_counts()
        events: list[Any] = []

        def consume() -> None:
            for event in client.stream.posts():
                events.append(event)
                if len(events) == 7:
                    return

        thread = threading.Thread(target=consume, daemon=True)
        thread.start()
        thread.join(10)
    assert [[r.id for r in page.data] for page in pages] == [["11"], ["22"]]
    assert deleted.meta.summary is not None
    new_id = added.data[0].id
    assert {e["loc"][-1] for e in refused.value.errors()} == {"cap_per_client_app", "cap_per_project",
                                                              "project_rules_count"}  # fmt: skip
    assert [e.data.id for e in events] == ["0", "1", "3", "5", "7", "9", "11"]
    assert all([m.id for m in e.matching_rules] == [new_id] for e in events)


# -- harness serve -----------------------------------------------------------------------------------
def loopback_events(server: LoopbackServer, n: int) -> Iterator[dict[str, Any]]:
    with requests.get(server.base_url + "/2/tweets/search/stream", headers=AUTH, stream=True, timeout=10) as r:
        for line in r.iter_lines():
            if line:
                yield json.loads(line)
                n -= 1
                if not n:
                    return


def test_the_loopback_source_serves_the_rules_api_and_its_events_name_the_installed_rules() -> None:
    with LoopbackServer(ServeOptions(rate=200, heartbeat=0.05, seed=3)) as server:
        first = list(loopback_events(server, 3))
        url = server.base_url + RULES_PATH
        start = requests.get(url, headers=AUTH).json()["data"]
        requests.post(url + "?delete_all=true", headers=AUTH)
        added = requests.post(url, headers=AUTH, json={"add": [{"value": "a", "tag": "A"}, {"value": "b"}]}).json()
        named = list(loopback_events(server, 4))
        requests.post(url + "?delete_all=true", headers=AUTH)
        with requests.get(server.base_url + "/2/tweets/search/stream", headers=AUTH, stream=True, timeout=10) as r:
            lines = r.iter_lines(chunk_size=1)
            quiet = [next(lines) for _ in range(3)]
    assert start == [dict(r) for r in DEFAULT_RULES]
    assert all(e["matching_rules"] == [{"id": DEFAULT_RULES[0]["id"], "tag": "loopback"}] for e in first)
    a, b = added["data"]
    assert [e["matching_rules"] for e in named] == [[{"id": a["id"], "tag": "A"}], [{"id": b["id"]}]] * 2
    assert quiet == [b""] * 3  # no rule: heartbeats only


# -- the plugin, and README's filtered-stream example -----------------------------------------------
README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_filtered_stream_example_runs_as_written(pytester: pytest.Pytester) -> None:
    match = re.search(r"<!-- readme-example-filtered: (\S+) -->\n```python\n(.*?)```", README, re.S)
    assert match, "README lost its filtered-stream example"
    name, code = match.groups()
    (pytester.path / "cassettes").mkdir()
    rules_cassette(pytester.path / "cassettes" / "cats.jsonl", recorded_events())
    pytester.makepyfile(**{name.removesuffix(".py"): code})
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_the_marker_sets_the_first_rules_and_the_fixture_reads_them(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes").mkdir()
    rules_cassette(pytester.path / "cassettes" / "pets.jsonl", recorded_events())
    pytester.makepyfile(
        """
        import json, pytest, requests

        @pytest.mark.stream_cassette("pets", speed="max", on_end="close", rules=[{"value": "dogs", "tag": "d"}])
        def test_dogs_only(stream_replay):
            [rule] = stream_replay.rules.rules
            assert rule["value"] == "dogs" and rule["tag"] == "d"
            with requests.get(stream_replay.base_url + "/2/tweets/search/stream",
                              headers={"Authorization": "Bearer t"}) as r:
                ids = [json.loads(line)["data"]["id"] for line in r.iter_lines() if line]
            assert ids == ["0", "1", "3", "5", "7", "9", "11"]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_harness_replay_warns_of_a_cassette_without_rules_and_takes_the_limits(tmp_path: Path) -> None:
    path = rules_cassette(tmp_path / "old.jsonl", recorded_events(), rules=None)
    ready = tmp_path / "ready.json"
    argv = cli_argv("replay", path, "--speed", "max", "--ready-file", ready, "--max-rules", 3,
                    "--max-rule-length", 10)  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("listening ")
        url = ready_info(ready)["url"] + RULES_PATH
        too_long = requests.post(url, headers=AUTH, json={"add": [{"value": "elevenchars"}]}, timeout=5)
        over_cap = requests.post(url, headers=AUTH, json={"add": [{"value": "a"}, {"value": "b"}]}, timeout=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert "warning: " in err and "no rules recorded" in err
    assert "the limit is 10" in too_long.json()["errors"][0]["details"][0]
    assert over_cap.json()["errors"][0]["type"].endswith("/rule-cap")


def raw_request(port: int, data: bytes, shut: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def test_hostile_bodies_get_bounded_x_style_answers(cassette: Path) -> None:
    head = f"POST {RULES_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\n"
    body = b'{"add": [{"value": "birds"}]}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    with ReplayServer([cassette], speed=None, request_timeout=0.5) as server:
        huge = raw_request(server.port, (head + "Content-Length: 99999999\r\n\r\n").encode())
        cut = raw_request(server.port, (head + "Content-Length: 100\r\n\r\n").encode() + b'{"add"', shut=True)
        slow = raw_request(server.port, (head + "Content-Length: 100\r\n\r\n").encode() + b'{"add"')
        by_chunks = raw_request(server.port, (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunked)
        rules = [r["value"] for r in server.rules.rules]
    assert huge.startswith(b"HTTP/1.1 413 ")
    assert cut.startswith(b"HTTP/1.1 400 ") and b"the body ended after 6 of 100 bytes" in cut
    assert slow.startswith(b"HTTP/1.1 400 ") and b"did not come in time" in slow
    assert by_chunks.startswith(b"HTTP/1.1 200 ") and b'"created": 1' in by_chunks
    assert rules == ["cats has:images", "dogs", "birds"]


def test_new_rule_ids_never_take_a_recorded_one(tmp_path: Path) -> None:
    high = [{"id": "1950000000000000000", "value": "cats has:images", "tag": "cats"}]
    path = rules_cassette(tmp_path / "c.jsonl", [tweet_line(1, "1950000000000000000")], rules=high)
    with ReplayServer([path], speed=None) as server:
        made = post(server, {"add": [{"value": "dogs"}]}).json()["data"]
    assert made[0]["id"] == "1950000000000000001"
