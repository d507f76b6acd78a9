"""The built-in loopback stream source: wire protocol, auth, parameters, pacing, reproducibility."""

from __future__ import annotations

import itertools
import json
import math
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median

import pytest
import requests
from servers import cli_argv

from harness._wire import ChunkDecoder
from harness.contract.checker import Contract
from harness.errors import UsageError
from harness.model import ENDPOINTS
from harness.replay.loopback import LoopbackServer, ServeOptions

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

AUTH = {"Authorization": "Bearer anything"}
QUERY = {
    name: ("?partition=2" if name == "likes-sample10" else "?partition=1") if any(p.required for p in e.params) else ""
    for name, e in ENDPOINTS.items()
}


def raw_stream(server: LoopbackServer, target: str, *, limit: int, token: str = "anything") -> tuple[bytes, bytes]:
    """The response head and the raw (still chunked) body, read from a plain socket."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        data = b""
        while len(data) < limit and not data.endswith(b"0\r\n\r\n"):
            got = s.recv(65536)
            if not got:
                break
            data += got
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def chunks(body: bytes) -> list[bytes]:
    """The payload of each chunk, framing checked."""
    out, pos = [], 0
    while pos < len(body):
        eol = body.index(b"\r\n", pos)
        size = int(body[pos:eol], 16)
        if size == 0:
            break
        out.append(body[eol + 2 : eol + 2 + size])
        assert body[eol + 2 + size : eol + 4 + size] == b"\r\n"
        pos = eol + 4 + size
    return out


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_each_stream_sends_valid_events_one_chunk_per_line(name: str, contract: Contract) -> None:
    with LoopbackServer(ServeOptions(rate=math.inf, max_events=40, seed=1, error_every=10)) as server:
        head, body = raw_stream(server, ENDPOINTS[name].path + QUERY[name], limit=10**7)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Type: application/json; charset=utf-8" in head and b"Transfer-Encoding: chunked" in head
    assert body.endswith(b"0\r\n\r\n")  # max_events: a clean end
    lines = chunks(body)
    assert len(lines) == 44 and all(line.endswith(b"\r\n") and line.count(b"\n") == 1 for line in lines)
    for line in lines:
        payload = json.loads(line)
        assert contract.check_event(payload, name) == [], line[:200]
    assert [("errors" in json.loads(line)) for line in lines[10::11]] == [True] * 4


def test_heartbeats_fill_the_silence() -> None:
    with LoopbackServer(ServeOptions(rate=0, heartbeat=0.1)) as server:
        resp = requests.get(server.base_url + "/2/tweets/search/stream", headers=AUTH, stream=True, timeout=5)
        t0, stamps = time.monotonic(), []
        for chunk in resp.raw.read_chunked():
            assert chunk == b"\r\n"
            stamps.append(time.monotonic() - t0)
            if len(stamps) == 11:
                break
        resp.close()
    # a one-off stall (up to ~0.3 s) stretches one gap and, on this side, squeezes the next few:
    # the median of ten tells the interval (none: the read times out; a flood: ~0)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert 0.07 < median(gaps) < 0.2, gaps


def test_the_rate_paces_events() -> None:
    sent: list[tuple[int, float]] = []
    options = ServeOptions(rate=100, max_events=60, heartbeat=5)
    with LoopbackServer(options, on_send=lambda n, t: sent.append((n, t))) as server:
        asked = time.monotonic()
        resp = requests.get(server.base_url + "/2/tweets/search/stream", headers=AUTH, timeout=5)
    assert resp.status_code == 200 and len(resp.content.splitlines()) == 60
    assert [n for n, _ in sent] == list(range(60))
    # paced on the monotonic clock from the stream's start (after the request): the 60th is due 0.59 s
    # in, never sooner (all at once: ~0); a stall (~0.3 s) is caught up after it. Not measured from
    # the first event: a stall before it is noted makes the next ones come sooner after it.
    times = [t - asked for _, t in sent]
    assert 0.59 < times[-1] < 1.2, times
    assert median(t - n / 100 for n, t in enumerate(times)) < 0.03, times


def test_same_seed_same_stream_and_other_seeds_differ() -> None:
    def first_lines(seed: int) -> list[bytes]:
        with LoopbackServer(ServeOptions(rate=math.inf, max_events=15, seed=seed)) as server:
            return [requests.get(server.base_url + "/2/tweets/search/stream", headers=AUTH, timeout=5).content]

    assert first_lines(4) == first_lines(4) != first_lines(5)


@pytest.mark.parametrize(
    ("headers", "required"),
    [({}, None), ({"Authorization": "Bearer "}, None), ({"Authorization": "Basic abc"}, None),
     ({"Authorization": "Bearer wrong"}, "right")],
)  # fmt: skip
def test_bearer_auth_is_checked(headers: dict[str, str], required: str | None) -> None:
    with LoopbackServer(ServeOptions(token=required, rate=0)) as server:
        resp = requests.get(server.base_url + "/2/tweets/search/stream", headers=headers, timeout=5)
    assert resp.status_code == 401 and resp.json()["title"] == "Unauthorized"


def test_the_required_token_lets_in() -> None:
    with LoopbackServer(ServeOptions(token="right", rate=math.inf, max_events=1)) as server:
        resp = requests.get(server.base_url + "/2/tweets/search/stream", headers={"Authorization": "Bearer right"})
    assert resp.status_code == 200 and resp.content.endswith(b"\r\n")


def test_bad_parameters_get_xs_400(contract: Contract) -> None:
    with LoopbackServer() as server:
        resp = requests.get(server.base_url + "/2/tweets/firehose/stream/lang/ja?partition=3", headers=AUTH, timeout=5)
        dup = requests.get(
            server.base_url + "/2/likes/sample10/stream?partition=1&partition=2", headers=AUTH, timeout=5
        )
    assert resp.status_code == 400 and contract.check_problem(resp.json()) == []
    assert resp.json()["errors"][0]["parameters"] == {"partition": ["3"]}
    assert dup.status_code == 400 and "given twice" in dup.json()["errors"][0]["message"]


def test_unknown_paths_and_methods() -> None:
    with LoopbackServer() as server:
        assert requests.get(server.base_url + "/2/tweets/sample/streams", headers=AUTH, timeout=5).status_code == 404
        assert requests.post(server.base_url + "/2/tweets/search/stream", headers=AUTH, timeout=5).status_code == 405
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"nonsense\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 400")


def test_gzip_only_for_clients_that_ask() -> None:
    with LoopbackServer(ServeOptions(rate=math.inf, max_events=3, seed=2, gzip=True)) as server:
        plain = requests.get(
            server.base_url + "/2/tweets/search/stream", headers={**AUTH, "Accept-Encoding": "identity"}
        )
        zipped = requests.get(server.base_url + "/2/tweets/search/stream", headers={**AUTH, "Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers and zipped.headers["Content-Encoding"] == "gzip"
    assert plain.content == zipped.content  # requests decodes


def test_send_log_and_close_cut_streams_promptly() -> None:
    sent: list[tuple[int, float]] = []

    def source(endpoint: str, index: int) -> Iterator[bytes]:
        while True:
            yield b'{"data":{"id":"1","text":"x"}}\r\n'

    log = sent.append
    server = LoopbackServer(ServeOptions(rate=200), source=source, on_send=lambda n, t: log((n, t))).start()
    resp = requests.get(server.base_url + "/2/tweets/search/stream", headers=AUTH, stream=True, timeout=5)
    content = resp.iter_content(1)  # kept: a collected generator would close the connection
    next(content)
    time.sleep(0.1)
    t = time.monotonic()
    server.close()
    assert time.monotonic() - t < 4.0  # a stream not cut holds its handler: the 5 s join timeout
    assert [n for n, _ in sent] == list(range(len(sent))) and len(sent) >= 5
    assert server.events_sent == len(sent)
    resp.close()


@pytest.mark.parametrize(
    "options",
    [{"rate": -1}, {"heartbeat": 0}, {"max_events": -2}, {"error_every": 0}, {"token": " "}, {"error_kind": "nope"}],
)
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        ServeOptions(**options)  # type: ignore[arg-type]


def test_a_decoder_reads_what_the_source_writes() -> None:
    with LoopbackServer(ServeOptions(rate=math.inf, max_events=5)) as server:
        _, body = raw_stream(server, "/2/tweets/search/stream", limit=10**6)
    decoder = ChunkDecoder()
    assert decoder.feed(body).count(b"\r\n") == 5 and decoder.done


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    ready = tmp_path / "ready.json"
    argv = cli_argv("serve", "--port", 0, "--rate", 100, "--heartbeat", 0.1, "--seed", 1, "--ready-file", ready)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        yield proc, first, ready
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_harness_serve_announces_its_url_and_stops_on_sigterm(
    served: tuple[subprocess.Popen[str], str, Path],
) -> None:
    proc, first, ready = served
    assert first.startswith("listening http://127.0.0.1:")
    url = first.split()[1]
    assert json.loads(ready.read_text())["url"] == url
    resp = requests.get(url + "/2/tweets/firehose/stream/lang/ja?partition=1", headers=AUTH, stream=True, timeout=5)
    lines = resp.iter_lines()
    assert resp.status_code == 200 and next(lines)
    resp.close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert not ready.exists()
