"""The replay's connections API: listing streams, ending them, and the way out of a 429.

Real sockets on 127.0.0.1; each answer is checked against the schema generated for it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from test_replayer import cassette, cli_argv, events

from harness.cassette import CloseReason
from harness.contract.validator import ReferenceEngine
from harness.model import ENDPOINTS
from harness.model.connections import STREAM_ID_OF, STREAM_IDS
from harness.replay.loopback import LoopbackServer, ServeOptions
from harness.replay.server import ReplayServer

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

ENGINE = ReferenceEngine()
AUTH = {"Authorization": "Bearer t"}


def valid(schema: str, body: Any) -> Any:
    assert [str(v) for v in ENGINE.violations(f"{schema}.json", body)] == []
    return body


@pytest.fixture
def two(tmp_path: Path) -> Path:
    """A search-stream cassette of two events, then the recording stopped: replays hold the stream."""
    return cassette(tmp_path / "s.jsonl", "search-stream", (events(0, 2), CloseReason.CLIENT_STOPPED, 0.5))


class Stream:
    """A stream read by requests, line by line (one iterator: dropping it would close the response)."""

    def __init__(self, base: str, token: str = "t") -> None:
        self.r = requests.get(base + "/2/tweets/search/stream", headers={"Authorization": f"Bearer {token}"},
                              stream=True, timeout=10)  # fmt: skip
        self.status_code = self.r.status_code
        self.lines: Iterator[bytes] = self.r.iter_lines()

    def json(self) -> Any:
        return self.r.json()

    def take(self, n: int) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        while len(got) < n:
            line = next(self.lines)
            if line:
                got.append(json.loads(line))
        return got

    def rest(self) -> list[dict[str, Any]]:
        """Every line up to the end of the body (which must end cleanly: requests raises otherwise)."""
        return [json.loads(line) for line in self.lines if line]

    def close(self) -> None:
        self.r.close()


def open_stream(base: str, token: str = "t") -> Stream:
    return Stream(base, token)


def too_many_then_delete_all_then_reconnect(base: str) -> None:
    """X's documented way out of a 429 TooManyConnections, as a requests script."""
    first = open_stream(base)
    assert first.status_code == 200
    assert [e["data"]["id"] for e in first.take(2)] == ["0", "1"]
    refused = open_stream(base)
    assert refused.status_code == 429
    assert refused.json()["connection_issue"] == "TooManyConnections"
    listed = requests.get(base + "/2/connections?connection.fields=id,client_ip", headers=AUTH, timeout=10)
    assert listed.status_code == 200
    body = valid("Get2ConnectionsResponse", listed.json())
    assert body["meta"]["result_count"] == 1
    [conn] = body["data"]
    assert conn["endpoint_name"] == "filtered_stream" and conn["client_ip"] == "127.0.0.1"
    killed = requests.delete(base + "/2/connections/all", headers=AUTH, timeout=10)
    assert killed.status_code == 200
    data = valid("KillAllConnectionsResponse", killed.json())["data"]
    assert data["successful_kills"] == 1 and data["failed_kills"] == 0
    assert data["results"] == [{"uuid": conn["id"], "success": True, "error_message": ""}]
    # the ended stream: a disconnect payload, then the body ends cleanly (no exception from requests)
    rest = first.rest()
    assert rest[-1]["errors"][0]["disconnect_type"] == "ForceDisconnect"
    again = open_stream(base)
    assert again.status_code == 200
    again.close()
    first.close()


def test_delete_all_ends_the_stream_and_frees_its_slot_for_a_reconnect(two: Path) -> None:
    with ReplayServer([two], speed=None, max_connections=1) as server:
        too_many_then_delete_all_then_reconnect(server.base_url)
        past = requests.get(server.base_url + "/2/connections?status=inactive&connection.fields=disconnect_reason,id",
                            headers=AUTH, timeout=10)  # fmt: skip
        reasons = [c["disconnect_reason"] for c in valid("Get2ConnectionsResponse", past.json())["data"]]
        assert reasons[0] == "operator_disconnect"


def test_the_cli_replay_serves_the_connections_api(two: Path, tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    argv = cli_argv("replay", two, "--speed", "max", "--max-connections", "1", "--ready-file", ready)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip().removeprefix("listening ")
        too_many_then_delete_all_then_reconnect(base)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "DELETE /2/connections/all -> 200" in err


def test_delete_by_endpoint_and_by_uuid_name_what_they_ended(two: Path) -> None:
    with ReplayServer([two], speed=None) as server:
        base = server.base_url
        a, b = open_stream(base), open_stream(base, "u")
        a.take(1)
        b.take(1)
        ids = [c["id"] for c in requests.get(base + "/2/connections?connection.fields=id", headers=AUTH,
                                            timeout=10).json()["data"]]  # fmt: skip
        assert len(ids) == 2
        other = requests.delete(base + "/2/connections/firehose_stream_lang_ja", headers=AUTH, timeout=10).json()
        assert valid("KillConnectionsByEndpointResponse", other)["data"]["successful_kills"] == 0
        r = requests.delete(base + "/2/connections", json={"uuids": [ids[0], "nope"]}, headers=AUTH, timeout=10)
        data = valid("KillConnectionsByUuidsResponse", r.json())["data"]
        assert (data["successful_kills"], data["failed_kills"]) == (1, 1)
        assert {(x["uuid"], x["success"]) for x in data["results"]} == {(ids[0], True), ("nope", False)}
        assert a.rest()[-1]["errors"][0]["disconnect_type"] == "ForceDisconnect"
        left = requests.get(base + "/2/connections?connection.fields=id", headers=AUTH, timeout=10).json()
        assert [c["id"] for c in left["data"]] == [ids[1]]
        by_endpoint = requests.delete(base + "/2/connections/filtered_stream", headers=AUTH, timeout=10).json()
        assert by_endpoint["data"]["successful_kills"] == 1
        assert b.rest()[-1]["errors"][0]["disconnect_type"] == "ForceDisconnect"
        empty = requests.get(base + "/2/connections", headers=AUTH, timeout=10).json()
        assert valid("Get2ConnectionsResponse", empty) == {"meta": {"result_count": 0}}
        a.close()
        b.close()


def test_history_pages_through_max_results(two: Path) -> None:
    with ReplayServer([two], speed=None) as server:
        streams = [open_stream(server.base_url, str(i)) for i in range(3)]
        for s in streams:
            s.take(1)
        url = server.base_url + "/2/connections?max_results=2"
        first = valid("Get2ConnectionsResponse", requests.get(url, headers=AUTH, timeout=10).json())
        assert first["meta"]["result_count"] == 2 and set(first["data"][0]) == {"connected_at", "endpoint_name"}
        token = first["meta"]["next_token"]
        second = requests.get(url + f"&pagination_token={token}", headers=AUTH, timeout=10).json()
        assert second["meta"] == {"result_count": 1}
        for s in streams:
            s.close()


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "says"),
    [
        ("GET", "/2/connections", {"headers": {}}, 401, "Unauthorized"),
        ("DELETE", "/2/connections/everything", {}, 400, "endpoint_id: expected one of filtered_stream"),
        ("DELETE", "/2/connections", {"data": "{", "headers": {**AUTH, "Content-Type": "application/json"}}, 400,
         "not JSON"),
        ("DELETE", "/2/connections", {"json": {"uuids": []}}, 400, "uuids: expected a list of 1 to 100"),
        ("DELETE", "/2/connections", {"data": "x", "headers": {**AUTH, "Content-Type": "text/plain"}}, 400,
         "Content-Type application/json"),
        ("GET", "/2/connections?status=gone", {}, 400, "status: expected one of active, inactive, all"),
        ("POST", "/2/connections/all", {}, 405, "expected DELETE"),
    ],
)  # fmt: skip
def test_bad_calls_get_x_style_errors(two: Path, method: str, path: str, kwargs: dict[str, Any], status: int,
                                      says: str) -> None:  # fmt: skip
    with ReplayServer([two], speed=None) as server:
        r = requests.request(method, server.base_url + path, **{"headers": AUTH, "timeout": 10, **kwargs})
        assert r.status_code == status
        assert says in r.text


def test_killing_takes_effect_at_once_whatever_the_speed(two: Path) -> None:
    """At recorded speed the stream sits in a long wait (heartbeats every 20 s): the kill wakes it."""
    with ReplayServer([two], speed=1.0) as server:
        a = open_stream(server.base_url)
        a.take(2)
        r = requests.delete(server.base_url + "/2/connections/all", headers=AUTH, timeout=10)
        assert r.json()["data"]["successful_kills"] == 1
        assert a.rest()[-1]["errors"][0]["disconnect_type"] == "ForceDisconnect"
        assert server.log[0].end == "completed" and server.log[0].killed == "operator_disconnect"
        a.close()


def test_harness_serve_lists_and_ends_its_streams_too(tmp_path: Path) -> None:
    argv = cli_argv("serve", "--port", 0, "--rate", 50, "--heartbeat", 0.1, "--seed", 1)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().split()[1]
        a, b = open_stream(base), open_stream(base, "u")
        a.take(2)
        b.take(2)
        listed = requests.get(base + "/2/connections?connection.fields=id", headers=AUTH, timeout=10).json()
        ids = [c["id"] for c in valid("Get2ConnectionsResponse", listed)["data"]]
        assert len(ids) == 2
        r = requests.delete(base + "/2/connections", json={"uuids": [ids[0]]}, headers=AUTH, timeout=10)
        assert valid("KillConnectionsByUuidsResponse", r.json())["data"]["successful_kills"] == 1
        assert a.rest()[-1]["errors"][0]["disconnect_type"] == "ForceDisconnect"  # and the body ended cleanly
        assert len(b.take(3)) == 3  # the other stream goes on
        left = requests.get(base + "/2/connections?connection.fields=id", headers=AUTH, timeout=10).json()
        assert [c["id"] for c in left["data"]] == [ids[1]]
        b.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_a_loopback_stream_is_listed_as_soon_as_its_head_has_come(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that has its 200 finds its stream listed, and so killable (X's way out of a 429 is to
    delete the connections right away). The loopback wrote the head before listing the stream: a
    handler held up there (load) left an answered stream unlisted, and two streams listed out of
    order, which hung test_harness_serve_lists_and_ends_its_streams_too (it killed the wrong one)."""
    with LoopbackServer(ServeOptions(rate=20, heartbeat=0.1, seed=2)) as server:
        table = server.connection_table
        register = table.open

        def held_up(*args: Any, **kwargs: Any) -> Any:
            time.sleep(0.3)  # the handler's thread not scheduled for a while: the window, made wide
            return register(*args, **kwargs)

        monkeypatch.setattr(table, "open", held_up)
        a = open_stream(server.base_url)
        try:
            listed = requests.get(server.base_url + "/2/connections?connection.fields=id", headers=AUTH, timeout=10)
            assert len(valid("Get2ConnectionsResponse", listed.json()).get("data", [])) == 1
        finally:
            a.close()


def test_every_stream_of_the_loopback_is_listed_by_its_spec_name() -> None:
    """Each spec stream under its `endpoint_name`, ended by it; the activity stream, which the
    spec's enum does not name, is served but not listed (the new streams crashed the handler)."""
    with LoopbackServer(ServeOptions(rate=20, heartbeat=0.1, seed=2)) as server:
        held: dict[str, Any] = {}
        try:
            for name, e in ENDPOINTS.items():
                query = {p.name: "1" for p in e.params if p.required}
                r = requests.get(server.url(name, query), headers=AUTH, stream=True, timeout=10)
                lines = (line for line in r.iter_lines() if line)
                assert r.status_code == 200 and "data" in json.loads(next(lines)), name
                held[name] = (r, lines)
            listed = requests.get(server.base_url + "/2/connections?max_results=100", headers=AUTH, timeout=10).json()
            names = sorted(c["endpoint_name"] for c in valid("Get2ConnectionsResponse", listed)["data"])
            assert names == sorted(STREAM_ID_OF[n] for n in ENDPOINTS if n != "activity")
            assert names == sorted(STREAM_IDS) and "activity" not in STREAM_ID_OF
            killed = requests.delete(server.base_url + "/2/connections/tweet_label_stream", headers=AUTH, timeout=10)
            assert valid("KillConnectionsByEndpointResponse", killed.json())["data"]["successful_kills"] == 1
            rest = [json.loads(line) for line in held["tweets-label"][1]]
            assert rest[-1]["errors"][0]["disconnect_type"] == "ForceDisconnect"
            assert "data" in json.loads(next(held["activity"][1]))  # the unlisted stream goes on
        finally:
            for r, _ in held.values():
                r.close()
