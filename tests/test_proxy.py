"""Proxy mode: clients given only HTTPS_PROXY and REQUESTS_CA_BUNDLE reach the replay for api.x.com
and api.twitter.com, over TLS from a test CA; nothing is forwarded anywhere."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from test_replayer import cassette, cli_argv, event_line, events, ready_info

from harness.cassette import CloseReason
from harness.replay._proxy import client_env
from harness.replay.server import ReplayServer
from harness.testing.plugin import apply_env

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses


@pytest.fixture
def proxied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    """A proxy-mode replay of five events, with the environment a client would be given."""
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 5), CloseReason.SERVER_CLOSED, 0.6))
    with ReplayServer([path], speed=None, proxy=True) as server:
        assert server.proxy_url is not None and server.ca_bundle is not None
        apply_env(monkeypatch, client_env(server.proxy_url, server.ca_bundle))
        yield server


@pytest.mark.parametrize("host", ["api.x.com", "api.twitter.com"])
def test_an_unmodified_requests_client_reaches_the_replay_for_both_hosts(proxied: ReplayServer, host: str) -> None:
    r = requests.get(f"https://{host}/2/tweets/search/stream", headers={"Authorization": "Bearer t"}, stream=True,
                     timeout=5)  # fmt: skip
    assert r.status_code == 200
    assert [line for line in r.iter_lines() if line] == [event_line(i).rstrip(b"\r\n") for i in range(5)]
    assert proxied.log[0].tunnel == host and proxied.log[0].events == 5


def test_the_contract_holds_inside_the_tunnel(proxied: ReplayServer) -> None:
    r = requests.get("https://api.twitter.com/2/tweets/search/stream", timeout=5)
    assert r.status_code == 401 and r.json()["title"] == "Unauthorized"
    url = "https://api.x.com/2/tweets/search/stream?backfill_minutes=6"
    r = requests.get(url, headers={"Authorization": "Bearer t"}, timeout=5)
    assert r.status_code == 400 and "backfill_minutes" in r.json()["errors"][0]["parameters"]


def test_the_certificate_is_only_trusted_through_the_test_ca(
    proxied: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(requests.exceptions.SSLError):  # the system store knows nothing of it
        requests.get("https://api.x.com/2/tweets/search/stream", timeout=5, verify=True)
    assert proxied.ca_bundle is not None
    pem = proxied.ca_bundle.read_text()
    assert pem.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in pem


def test_other_hosts_are_refused_and_nothing_is_forwarded(proxied: ReplayServer) -> None:
    with pytest.raises(requests.exceptions.ProxyError, match="403"):
        requests.get("https://example.com/", timeout=5)
    with socket.create_connection(("127.0.0.1", proxied.port)) as s:
        s.sendall(b"CONNECT 10.0.0.1:443 HTTP/1.1\r\nHost: 10.0.0.1:443\r\n\r\n")
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 403") and b"intercepts api.x.com and api.twitter.com only" in head


def test_a_client_that_does_not_trust_the_ca_is_logged_and_the_server_carries_on(proxied: ReplayServer) -> None:
    with socket.create_connection(("127.0.0.1", proxied.port)) as raw:
        raw.sendall(b"CONNECT api.x.com:443 HTTP/1.1\r\nHost: api.x.com:443\r\n\r\n")
        assert raw.recv(4096).startswith(b"HTTP/1.1 200")
        context = ssl.create_default_context()  # the system store: the handshake fails
        with pytest.raises(ssl.SSLError), context.wrap_socket(raw, server_hostname="api.x.com"):
            pass
    assert proxied.log[0].finished.wait(3)
    assert proxied.log[0].error is not None and "TLS handshake failed" in proxied.log[0].error
    r = requests.get("https://api.x.com/2/tweets/search/stream", headers={"Authorization": "Bearer t"}, timeout=5)
    assert r.status_code == 200


def test_without_proxy_mode_a_connect_is_refused(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 1), CloseReason.SERVER_CLOSED, 0.2))
    with ReplayServer([path], speed=None) as server, socket.create_connection(("127.0.0.1", server.port)) as s:
        assert server.proxy_url is None and server.ca_bundle is None
        s.sendall(b"CONNECT api.x.com:443 HTTP/1.1\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 405")


def test_the_ca_is_removed_when_the_server_stops(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 1), CloseReason.SERVER_CLOSED, 0.2))
    with ReplayServer([path], proxy=True) as server:
        assert server.ca_bundle is not None and server.ca_bundle.exists()
        bundle = server.ca_bundle
    assert not bundle.exists()


def test_cli_proxy_mode_puts_the_proxy_and_the_ca_bundle_in_the_ready_file(tmp_path: Path) -> None:
    path = cassette(tmp_path / "c.jsonl", "search-stream", (events(0, 3), CloseReason.SERVER_CLOSED, 0.4))
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(cli_argv("replay", path, "--proxy", "--speed", "max", "--ready-file", ready),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        info = ready_info(ready)
        assert info["proxy"] == info["url"] and Path(info["ca_bundle"]).is_file()
        session = requests.Session()
        session.trust_env = False  # only what the ready file says
        r = session.get("https://api.twitter.com/2/tweets/search/stream", headers={"Authorization": "Bearer t"},
                        proxies={"https": info["proxy"]}, verify=info["ca_bundle"], timeout=5)  # fmt: skip
        assert r.status_code == 200 and len([x for x in r.iter_lines() if x]) == 3
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert not Path(info["ca_bundle"]).exists()
