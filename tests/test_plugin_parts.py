"""The plugin's parts without a server: push encoding, the network guard's host rules, conduct
settings, default cassette names (issue 16)."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import HarnessError, NetworkBlockedError
from harness.testing._conduct import Check
from harness.testing._network import Guard, blocked_network
from harness.testing._replay import encode_push
from harness.testing.plugin import default_name

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON.filter(lambda p: not isinstance(p, str)))
def test_a_pushed_payload_is_one_json_line(payload: Any) -> None:
    data = encode_push(payload)
    assert data.endswith(b"\r\n") and b"\n" not in data[:-2] and b"\r" not in data[:-2]
    assert json.loads(data) == payload


def test_a_pushed_str_is_json_text_given_its_line_end() -> None:
    assert encode_push('{"data":{"id":"1"}}') == encode_push('{"data":{"id":"1"}}\r\n') == b'{"data":{"id":"1"}}\r\n'


@given(st.binary())
def test_pushed_bytes_go_as_they_are(raw: bytes) -> None:
    assert encode_push(raw) == raw


HOSTS = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){0,2}", fullmatch=True) | st.ip_addresses(v=4).map(str)
PORTS = st.integers(1, 65535)


@given(HOSTS, PORTS, PORTS)
def test_an_allowed_host_with_a_port_allows_that_port_only(host: str, port: int, other: int) -> None:
    guard = Guard(("127.0.0.1", 1), [f"{host}:{port}"])
    assert guard.host_allowed(host, port)
    assert guard.host_allowed(host.upper(), port)
    replay = host in ("127.0.0.1", "localhost") and other == 1
    assert guard.host_allowed(host, other) is (other == port or replay)


@given(HOSTS, PORTS)
def test_an_allowed_host_without_a_port_allows_every_port(host: str, port: int) -> None:
    assert Guard(("127.0.0.1", 1), [host]).host_allowed(host, port)


@given(HOSTS, PORTS)
def test_only_the_replay_and_the_allowed_pass(host: str, port: int) -> None:
    guard = Guard(("127.0.0.1", 4242), [])
    assert guard.host_allowed(host, port) is (host in ("127.0.0.1", "localhost") and port == 4242)


def test_the_block_is_lifted_afterwards_and_names_the_host() -> None:
    before = (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)
    guard = Guard(("127.0.0.1", 4242), [])
    with blocked_network(guard), pytest.raises(NetworkBlockedError, match=r"example\.com:80 is not allowed"):
        socket.getaddrinfo("example.com", 80)
    assert (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo) == before
    assert guard.blocked == ["example.com:80"]
    assert isinstance(NetworkBlockedError("x"), OSError)


def test_relax_names_are_checked() -> None:
    assert Check.parse_all(True) == frozenset(Check)
    assert Check.parse_all("backoff") == {Check.BACKOFF}
    assert Check.parse_all(["connections", "read-timeout"]) == {Check.CONNECTIONS, Check.READ_TIMEOUT}
    with pytest.raises(HarnessError, match="backoff"):
        Check.parse_all(["back-off"])


@pytest.mark.parametrize(
    ("nodeid", "name"),
    [
        ("tests/test_a.py::test_x", "test_a/test_x"),
        ("test_b.py::TestStream::test_x[2-gzip]", "test_b/TestStream.test_x[2-gzip]"),
    ],
)
def test_default_names_include_the_module(nodeid: str, name: str) -> None:
    assert default_name(nodeid) == name
