"""Hostile requests to the API paths around the streams (rules, connections): always an X-style answer.

Whatever the query or the head holds, the replay and `harness serve` answer with a status and a
JSON body: never a dropped connection (an internal error), never a stack overflow.
"""

from __future__ import annotations

import json
import re
import socket
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_replayer import cassette
from test_request_matching import EVENT as MATCHING_EVENT
from test_request_matching import RECORDED, get
from test_rules import AUTH, RULES_PATH, recorded_events, rules_cassette, tweet_line

from harness._wire import STREAM_HEADERS, encode_chunk, response_head, send_response
from harness.cassette import Cassette, CloseReason
from harness.cassette.synth import encode_line
from harness.errors import UsageError
from harness.record.recorder import Recorder, RecordOptions
from harness.replay._http_server import Client, LoopbackHTTPServer
from harness.replay.server import ReplayServer

pytestmark = pytest.mark.integration  # real sockets

#: text str.isdigit() takes and int() does not ("²"), or does (Arabic-Indic digits), and the very long
DIGITISH = st.one_of(
    st.text(st.sampled_from("0123456789²³¹\u0661\u0662\u07c0p-+ "), max_size=20),
    st.integers(0, 10**40).map(str),
    st.text(max_size=30),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplayServer]:
    path = rules_cassette(tmp_path_factory.mktemp("api") / "rules.jsonl", recorded_events())
    with ReplayServer([path], speed=None, max_rule_length=1024) as replay:
        yield replay


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def answered(reply: bytes) -> tuple[int, object]:
    """The status and the JSON body of a raw HTTP answer (fails on none)."""
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), f"no answer: {reply[:200]!r}"
    return int(head.split()[1]), json.loads(body)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=DIGITISH)
@example(token="²" * 16)  # the rules API's tokens are 16 digits
@example(token="p²")  # the connections API's: p and digits
def test_any_pagination_token_gets_an_answer(server: ReplayServer, token: str) -> None:
    rules = requests.get(server.base_url + RULES_PATH, params={"pagination_token": token}, headers=AUTH, timeout=10)
    assert (rules.status_code, "meta" in rules.json() or "errors" in rules.json()) in ((200, True), (400, True))
    history = requests.get(server.base_url + "/2/connections", params={"pagination_token": token}, headers=AUTH,
                           timeout=10)  # fmt: skip
    assert history.status_code in (200, 400) and history.json()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(length=DIGITISH.filter(lambda t: t.strip() and t.isprintable() and not (t.isascii() and t.strip().isdigit())))
def test_a_content_length_that_is_no_byte_count_gets_a_400(server: ReplayServer, length: str) -> None:
    for method, path in (("POST", RULES_PATH), ("DELETE", "/2/connections")):
        head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
                f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n")  # fmt: skip
        try:
            data = head.encode("latin-1")  # as the head is read: "²" is one byte
        except UnicodeEncodeError:
            data = head.encode()
        status, body = answered(raw(server.port, data))
        assert status == 400 and "Content-Length" in json.dumps(body)


def test_a_huge_content_length_number_gets_a_413_or_400(server: ReplayServer) -> None:
    for method, path in (("POST", RULES_PATH), ("DELETE", "/2/connections")):
        head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
                f"Content-Type: application/json\r\nContent-Length: {'9' * 5000}\r\n\r\n")  # fmt: skip
        status, _ = answered(raw(server.port, head.encode()))
        assert status in (400, 413)


def test_a_cassette_with_an_odd_rule_id_still_replays(tmp_path: Path) -> None:
    odd = [{"id": "²", "value": "cats has:images", "tag": "cats"}, {"id": "9" * 5000, "value": "dogs"}]
    path = rules_cassette(tmp_path / "odd.jsonl", recorded_events(2), rules=odd)
    with ReplayServer([path], speed=None) as replay:
        made = requests.post(replay.base_url + RULES_PATH, json={"add": [{"value": "birds"}]}, headers=AUTH,
                             timeout=10)  # fmt: skip
        assert made.status_code == 200 and made.json()["data"][0]["value"] == "birds"


def test_deeply_nested_rules_are_checked_without_overflowing(server: ReplayServer) -> None:
    """At X's Pro length (1024), 510 nested groups fit in a rule: checked like any other."""
    deep = "(" * 510 + "cats" + ")" * 510
    negated = "-(" * 300 + "cats" + ")" * 300 + " dogs"
    reply = requests.post(server.base_url + RULES_PATH, json={"add": [{"value": deep}, {"value": negated}]},
                          params={"dry_run": "true"}, headers=AUTH, timeout=10)  # fmt: skip
    assert reply.status_code == 200, reply.text
    assert reply.json()["meta"]["summary"] == {"created": 2, "not_created": 0, "valid": 2, "invalid": 0}


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"value": "cats"}, {"value": "cats", "tag": "again"}], "the value 'cats' is given twice"),
        ([{"value": "cats", "id": "5"}, {"value": "dogs", "id": "5"}], "the id '5' is given twice"),
        ([{"value": "cats", "id": "xyz"}], "expected an id of 1 to 19 digits, found 'xyz'"),
        ([{"value": f"word{i}"} for i in range(26)], "26 rules given, over the cap of 25"),
    ],
)
def test_a_tests_own_rules_are_checked_as_the_api_would(tmp_path: Path, rules: list[dict[str, str]],
                                                        message: str) -> None:  # fmt: skip
    path = rules_cassette(tmp_path / "c.jsonl", recorded_events(2))
    with pytest.raises(UsageError, match=re.escape(message)):
        ReplayServer([path], rules=rules)
    with ReplayServer([path], speed=None) as replay:
        with pytest.raises(UsageError, match=re.escape(message)):
            replay.rules.set(rules)
        assert [r["value"] for r in replay.rules.rules] == ["cats has:images", "dogs"]  # unchanged


def test_a_tests_own_rules_never_take_a_recorded_id(tmp_path: Path) -> None:
    high = [{"id": "1950000000000000000", "value": "cats has:images", "tag": "cats"}]
    path = rules_cassette(tmp_path / "c.jsonl", [tweet_line(1, "1950000000000000000")], rules=high)
    with ReplayServer([path], speed=None, rules=[{"value": "dogs"}]) as replay:
        first = replay.rules.rules
        again = replay.rules.set([{"value": "birds"}])
    assert first[0]["id"] == "1950000000000000001" and again[0]["id"] == "1950000000000000002"


def test_delete_all_ends_the_stream_of_a_client_that_does_not_read(tmp_path: Path) -> None:
    """The stuck consumer the connections API is for: its stream is cut (as X closes it), its slot freed."""
    fat = [encode_line({"data": {"id": str(i), "text": "x" * 4000, "edit_history_tweet_ids": [str(i)]},
                        "matching_rules": [{"id": "11", "tag": "cats"}]}) for i in range(2500)]  # fmt: skip
    path = rules_cassette(tmp_path / "fat.jsonl", fat)
    with ReplayServer([path], speed=None, max_connections=1) as replay:  # 10 MB: more than the buffers take
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
        stuck.connect(("127.0.0.1", replay.port))
        stuck.sendall(b"GET /2/tweets/search/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer stuck\r\n\r\n")
        assert stuck.recv(12) == b"HTTP/1.1 200"  # streaming; then never read again
        for _ in range(200):  # until it is about to block writing (here: at about 500 events)
            if replay.log[0].events >= 200 or replay.log[0].finished.wait(0.05):
                break
        killed = requests.delete(replay.base_url + "/2/connections/all", headers=AUTH, timeout=30)
        with requests.get(replay.base_url + "/2/tweets/search/stream", headers=AUTH, stream=True, timeout=10) as again:
            status = again.status_code
        stuck.close()
        ended = replay.log[0]
    assert killed.json()["data"]["successful_kills"] == 1
    assert status == 200  # the slot was free
    assert ended.finished.is_set() and ended.killed == "operator_disconnect"


def drain(port: int, target: str) -> int:
    """Bytes of one stream's body read and dropped (the client holds none of it), until it ends."""
    total = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer same\r\n\r\n".encode())
        while chunk := sock.recv(65536):
            total += len(chunk)
    return total


def test_a_backfill_is_read_as_it_is_sent_not_held(tmp_path: Path) -> None:
    """Five minutes of a busy stream may be many megabytes: a reconnect with backfill_minutes
    must not hold them all (one such list per reconnecting consumer)."""
    fat = [encode_line({"data": {"id": str(i), "text": "x" * 4000, "edit_history_tweet_ids": [str(i)]},
                        "matching_rules": [{"id": "11", "tag": "cats"}]}) for i in range(2000)]  # fmt: skip
    path = rules_cassette(tmp_path / "fat.jsonl", fat, gap=0.01)  # 8 MB in 20 s
    with ReplayServer([path], speed=None, faults=["disconnect@1990"]) as replay:
        drain(replay.port, "/2/tweets/search/stream")
        tracemalloc.start()
        try:
            body = drain(replay.port, "/2/tweets/search/stream?backfill_minutes=1")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert body > 2000 * 4000  # all 1990 again, then the last 10
    assert peak < 2_000_000, f"peak {peak} bytes while sending {body}"


@pytest.mark.parametrize(("method", "path"), [("POST", RULES_PATH), ("DELETE", "/2/connections")])
def test_a_json_nesting_bomb_gets_a_400(server: ReplayServer, method: str, path: str) -> None:
    bomb = b'{"add":' + b"[" * 60_000  # under both body limits
    reply = requests.request(method, server.base_url + path, data=bomb, timeout=10,
                             headers={**AUTH, "Content-Type": "application/json"})  # fmt: skip
    assert reply.status_code == 400 and "not" in reply.text and "JSON" in reply.text


def test_the_recorder_takes_a_rules_answer_that_is_a_nesting_bomb(tmp_path: Path) -> None:
    """A hostile server's answer to GET .../rules: recorded as text, no rules, the stream still recorded."""

    def handle(client: Client) -> None:
        request = client.read_request()
        assert request is not None
        if request.path.endswith("/rules"):
            send_response(client.sock, 200, "OK", (("Content-Type", "application/json"),), b"[" * 100_000)
        else:
            client.sock.sendall(response_head(200, "OK", STREAM_HEADERS) + encode_chunk(recorded_events(1)[0])
                                + b"0\r\n\r\n")  # fmt: skip

    out = tmp_path / "c.jsonl"
    with LoopbackHTTPServer(handle) as hostile:
        options = RecordOptions(token="t", base_url=hostile.base_url, read_rules=True, max_events=1)
        Recorder("search-stream", out, options).run().raise_for_error()
    header = Cassette(out).header
    assert header.rules == () and header.api_calls[0]["response"]["text"].startswith("[[[")


def test_the_fields_a_cassette_lacks_are_remembered_up_to_a_bound(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Each different set of missing fields is one message: a client asking for ever other sets
    (2^N of them) must not grow a long-running replay's memory."""
    import harness.replay._library as library

    monkeypatch.setattr(library, "MAX_MISMATCHES", 2)
    lines = [(0.1, MATCHING_EVENT)]
    path = cassette(tmp_path / "rich.jsonl", "search-stream", (lines, CloseReason.SERVER_CLOSED, 0.2), query=RECORDED)
    with ReplayServer([path], speed=None) as replay:
        for fields in ("possibly_sensitive", "source", "conversation_id", "possibly_sensitive,source"):
            get(replay, "/2/tweets/search/stream", f"tweet.fields={fields}", token=fields)
        kept = list(replay.mismatches)
    assert len(kept) == 2 and "possibly_sensitive" in kept[0] and "source" in kept[1]


@pytest.mark.parametrize(("method", "path"), [("POST", RULES_PATH), ("DELETE", "/2/connections")])
def test_expect_100_continue_gets_its_interim_answer(server: ReplayServer, method: str, path: str) -> None:
    """curl sends a body over 1 KB only after `100 Continue` (or after waiting a second for it)."""
    body = json.dumps({"add": [{"value": "birds"}]} if method == "POST" else {"uuids": ["x"]}).encode()
    head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n")  # fmt: skip
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode())
        interim = sock.recv(25)  # the body is not sent before it
        sock.sendall(body)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert answered(reply)[0] == 200
