"""`harness record search-stream` and the rules: the rules in effect into the header, `--rules` installed
(dry run first), `--replace-rules`, every call into `api_calls`, the token nowhere.

Against a loopback fake of the live rules API (state, dry runs, summaries as X answers them) that
also serves a short stream; it echoes the bearer token in its answers, as a hostile server may.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness._wire import STREAM_HEADERS, encode_chunk, response_head, send_response
from harness.cassette import Cassette
from harness.cli.app import HarnessGroup
from harness.cli.stream import COMMANDS
from harness.replay._http_server import Client, LoopbackHTTPServer

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

TOKEN = "rules-test-token-7c2e9a41d0"
EVENT = b'{"data":{"id":"5","text":"a dog","edit_history_tweet_ids":["5"]},"matching_rules":[{"id":"2"}]}\r\n'
cli = HarnessGroup(commands={c.name or "": c for c in COMMANDS})


class FakeRulesAPI:
    """The filtered stream's rules API and a two-event stream, on 127.0.0.1."""

    def __init__(self, rules: list[dict[str, str]], *, rules_api: bool = True) -> None:
        self.rules, self.rules_api = rules, rules_api
        self.next_id = 100
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.http = LoopbackHTTPServer(self._handle)

    def __enter__(self) -> FakeRulesAPI:
        self.http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _handle(self, client: Client) -> None:
        request = client.read_request()
        assert request is not None
        length = int(request.header("Content-Length") or 0)
        body = json.loads(client.rfile.read(length)) if length else None
        with self.lock:
            self.calls.append((request.method, request.target))
        echo = request.header("Authorization") or ""
        if request.path == "/2/tweets/search/stream":
            client.sock.sendall(response_head(200, "OK", STREAM_HEADERS) + encode_chunk(EVENT) * 2 + b"0\r\n\r\n")
            return
        if not self.rules_api:
            send_response(client.sock, 404, "Not Found", (("Content-Type", "application/json"),), b'{"title":"no"}')
            return
        if request.method == "GET":
            answer: dict[str, Any] = {"meta": {"sent": "now", "result_count": len(self.rules), "echo": echo}}
            if self.rules:
                answer["data"] = self.rules
        else:
            answer = self._post(body, "dry_run=true" in request.target)
            answer["meta"]["echo"] = echo
        send_response(client.sock, 200, "OK", (("Content-Type", "application/json"),), json.dumps(answer).encode())

    def _post(self, body: Any, dry: bool) -> dict[str, Any]:
        if "add" in body:
            bad = [r for r in body["add"] if "(" in r["value"] and ")" not in r["value"]]
            good = [r for r in body["add"] if r not in bad]
            created = []
            if not dry:
                for r in good:
                    self.next_id += 1
                    created.append({"id": str(self.next_id), **r})
                self.rules += created
            summary = {"created": len(created), "not_created": len(bad), "valid": len(good), "invalid": len(bad)}
            answer: dict[str, Any] = {"meta": {"sent": "now", "summary": summary}}
            if bad:
                kind = "https://api.twitter.com/2/problems/invalid-rules"
                answer["errors"] = [
                    {"value": r["value"], "title": "UnprocessableEntity", "details": ["unbalanced"], "type": kind}
                    for r in bad
                ]
            if created:
                answer["data"] = created
            return answer
        ids = body["delete"]["ids"]
        self.rules = [r for r in self.rules if r["id"] not in ids]
        return {"meta": {"sent": "now", "summary": {"deleted": len(ids), "not_deleted": 0}}}


@pytest.fixture
def fake() -> Iterator[FakeRulesAPI]:
    with FakeRulesAPI([{"id": "1", "value": "cats", "tag": "c"}]) as server:
        yield server


def record(fake: FakeRulesAPI, out: Path, *args: object) -> tuple[int, str]:
    argv = ["record", "search-stream", "--base-url", fake.http.base_url, "-o", str(out), *map(str, args)]
    result = CliRunner().invoke(cli, argv, env={"X_BEARER_TOKEN": TOKEN})
    return result.exit_code, result.output


def test_the_rules_in_effect_are_read_before_connecting(fake: FakeRulesAPI, tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    code, output = record(fake, out)
    assert code == 0, output
    header = Cassette(out).header
    assert header.rules == ({"id": "1", "value": "cats", "tag": "c"},)
    [call] = header.api_calls
    assert (call["method"], call["path"], call["status"]) == ("GET", "/2/tweets/search/stream/rules", 200)
    assert [m for m, _ in fake.calls] == ["GET", "GET"]  # the rules, then the stream
    assert fake.calls[0][1] == "/2/tweets/search/stream/rules"
    text = out.read_text()
    assert TOKEN not in text and "Bearer <redacted>" in text  # the echoed token


def test_rules_from_a_file_replace_the_others_dry_run_first(fake: FakeRulesAPI, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    fake.rules.append({"id": "2", "value": "birds"})
    rules.write_text(json.dumps([{"value": "dogs has:images", "tag": "d"}, {"value": "birds"}]))
    out = tmp_path / "c.jsonl"
    code, output = record(fake, out, "--rules", rules, "--replace-rules")
    assert code == 0, output
    header = Cassette(out).header
    assert header.rules is not None
    assert sorted(r["value"] for r in header.rules) == ["birds", "dogs has:images"]
    assert {r["value"] for r in fake.rules} == {"birds", "dogs has:images"}
    calls = [(c["method"], c["query"], c["body"]) for c in header.api_calls]
    assert calls[0] == ("POST", {"dry_run": "true"}, {"add": [{"value": "dogs has:images", "tag": "d"},
                                                              {"value": "birds"}]})  # fmt: skip
    assert calls[1][0] == "GET"
    assert calls[2] == ("POST", {}, {"delete": {"ids": ["1"]}})  # cats goes, birds stays
    assert calls[3] == ("POST", {}, {"add": [{"value": "dogs has:images", "tag": "d"}]})
    assert calls[4][0] == "GET" and len(calls) == 5
    assert all(c["status"] == 200 for c in header.api_calls)
    assert TOKEN not in out.read_text()


def test_rules_already_in_effect_are_not_added_twice(fake: FakeRulesAPI, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"value": "cats", "tag": "c"}]))
    code, output = record(fake, tmp_path / "c.jsonl", "--rules", rules)
    assert code == 0, output
    assert [m for m, _ in fake.calls] == [
        "POST",
        "GET",
        "GET",
        "GET",
    ]  # dry run, rules, (nothing to add), rules, stream
    assert fake.rules == [{"id": "1", "value": "cats", "tag": "c"}]


def test_rules_the_dry_run_refuses_change_nothing_and_record_nothing(fake: FakeRulesAPI, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"value": "(dogs OR cats"}]))
    out = tmp_path / "c.jsonl"
    code, output = record(fake, out, "--rules", rules, "--replace-rules")
    assert code == 2
    assert "refused the rules in a dry run" in output and "(dogs OR cats" in output
    assert fake.rules == [{"id": "1", "value": "cats", "tag": "c"}]
    assert [m for m, _ in fake.calls] == ["POST"]
    assert TOKEN not in output


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{", "not JSON"),
        ("[]", "expected a non-empty JSON list"),
        ('[{"tag": "x"}]', "item 0: expected"),
        ('[{"value": "a", "id": "1"}]', "expected members value and tag"),
    ],
)
def test_a_bad_rules_file_is_a_usage_error(fake: FakeRulesAPI, tmp_path: Path, content: str, says: str) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(content)
    code, output = record(fake, tmp_path / "c.jsonl", "--rules", rules)
    assert code == 2 and says in output
    assert fake.calls == []


def test_replace_rules_needs_rules(fake: FakeRulesAPI, tmp_path: Path) -> None:
    code, output = record(fake, tmp_path / "c.jsonl", "--replace-rules")
    assert code == 2 and "--replace-rules: expected --rules FILE" in output


def test_a_server_without_a_rules_api_still_records_saying_so(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    with FakeRulesAPI([], rules_api=False) as server:
        code, output = record(server, out)
    assert code == 0, output
    assert "the rules in effect could not be read" in output
    header = Cassette(out).header
    assert header.rules is None and header.api_calls[0]["status"] == 404


def test_the_loopback_sources_rules_are_recorded(tmp_path: Path) -> None:
    from harness.replay.loopback import DEFAULT_RULES, LoopbackServer, ServeOptions

    out = tmp_path / "c.jsonl"
    with LoopbackServer(ServeOptions(rate=50, max_events=2)) as server:
        argv = ["record", "search-stream", "--base-url", server.base_url, "-o", str(out)]
        result = CliRunner().invoke(cli, argv, env={"X_BEARER_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert Cassette(out).header.rules == tuple({k: v for k, v in r.items()} for r in DEFAULT_RULES)
