"""Every stream endpoint over real sockets: recorded from the loopback source, validated,
replayed byte for byte, and served by `harness serve` (127.0.0.1 only)."""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from servers import cli_argv

from harness.cassette import Cassette, Line
from harness.contract.checker import Contract
from harness.model import ENDPOINTS
from harness.record.recorder import Recorder, RecordOptions
from harness.replay.loopback import LoopbackServer, ServeOptions
from harness.replay.server import ReplayServer

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

AUTH = {"Authorization": "Bearer anything"}


def query(name: str) -> dict[str, str]:
    """The least query each endpoint takes: the top partition where there is one."""
    e = ENDPOINTS[name]
    partition = [p for p in e.params if p.name == "partition"]
    top = getattr(partition[0].type, "maximum", 1) if partition else None
    return {"partition": str(top)} if top else {}


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_each_endpoint_records_over_loopback_and_replays(name: str, tmp_path: Path, contract: Contract) -> None:
    path = ENDPOINTS[name].path
    out = tmp_path / f"{name}.jsonl"
    with LoopbackServer(ServeOptions(rate=math.inf, max_events=6, seed=7, error_every=4)) as source:
        options = RecordOptions(params=query(name), token="t", max_events=6, validate=True, read_timeout=5.0)
        result = Recorder(source.base_url + path, out, options).run()
    assert result.ok and result.error is None, result.error
    assert result.stats.events == 6 and result.stats.violations == 0 and result.stats.errors >= 1
    cassette = Cassette(out)
    assert cassette.header.endpoint == name and dict(cassette.header.query) == query(name)
    recorded = [r.raw for r in cassette if isinstance(r, Line) and r.raw != b"\r\n"]
    assert len(recorded) == 6 + result.stats.errors
    for raw in recorded:
        assert contract.check_event(json.loads(raw), name) == [], raw[:200]

    with ReplayServer([out], speed=None, on_end="close") as replay:
        url = (
            replay.base_url + path + ("?" + "&".join(f"{k}={v}" for k, v in query(name).items()) if query(name) else "")
        )
        with requests.get(url, headers=AUTH, stream=True, timeout=5) as resp:
            assert resp.status_code == 200
            replayed = [line + b"\r\n" for line in resp.iter_lines(delimiter=b"\r\n") if line]
    assert replayed == recorded  # byte for byte


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    ready = tmp_path_factory.mktemp("serve") / "ready.json"
    argv = cli_argv("serve", "--port", 0, "--rate", 200, "--heartbeat", 0.1, "--seed", 3, "--ready-file", ready)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("listening http://127.0.0.1:")
        yield json.loads(ready.read_text())["endpoints"]
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_harness_serve_streams_every_endpoint(name: str, served: dict[str, str], contract: Contract) -> None:
    assert set(served) == set(ENDPOINTS)
    with requests.get(served[name], params=query(name), headers=AUTH, stream=True, timeout=5) as resp:
        assert resp.status_code == 200
        lines = resp.iter_lines(delimiter=b"\r\n")
        events = [json.loads(line) for line in (next(lines) for _ in range(12)) if line]
    assert events and all(contract.check_event(e, name) == [] for e in events)


def test_harness_serve_answers_a_partition_out_of_range_with_400(served: dict[str, str]) -> None:
    for name, top in (("firehose-en", 8), ("tweets-compliance", 4), ("firehose", 20)):
        ok = requests.get(served[name], params={"partition": top}, headers=AUTH, stream=True, timeout=5)
        ok.close()
        bad = requests.get(served[name], params={"partition": top + 1}, headers=AUTH, timeout=5)
        assert ok.status_code == 200 and bad.status_code == 400, name
        assert bad.json()["errors"][0]["parameters"] == {"partition": [str(top + 1)]}
    resp = requests.get(served["sample-stream"], params={"start_time": "2026-11-01T00:00:00Z"}, headers=AUTH, timeout=5)
    assert resp.status_code == 400 and "unknown parameter 'start_time'" in resp.json()["errors"][0]["message"]
