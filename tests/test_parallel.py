"""`harness validate -j N` reports exactly what `-j 1` reports: same findings, same order,
same locations, same tally, same warnings and errors at the same point."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sequential import SequentialValidation

from harness.cassette import Close, CloseReason, Connection, Header, Line, Record, write_cassette
from harness.cassette.synth import Synth, encode_line, synthetic_session
from harness.cli import main
from harness.contract import _parallel
from harness.contract.checker import Contract
from harness.contract.report import Validation
from harness.errors import HarnessError

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

Outcome = tuple[list[dict[str, Any]], dict[str, Any], tuple[str, str] | None, list[str]]


def outcome(run: Validation | SequentialValidation | _parallel.ParallelValidation, paths: list[Path]) -> Outcome:
    """Everything a run reports: findings, tally, the error it ends with, its warnings."""
    found: list[dict[str, Any]] = []
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for finding in run.run(paths):
                found.append(finding.as_dict())
        except HarnessError as exc:
            error = (type(exc).__name__, str(exc))
    return found, run.tally.as_dict(), error, [str(w.message) for w in caught]


def both(paths: list[Path], endpoint: str | None = None) -> tuple[Outcome, Outcome]:
    """What the sequential oracle reports, and what the product reports with `-j 2`
    (checked equal to what `Validation` reports: `-j 1`, in this process)."""
    sequential = outcome(SequentialValidation(Contract(), endpoint=endpoint), paths)
    alone = outcome(Validation(Contract(), endpoint=endpoint), paths)
    parallel = outcome(_parallel.ParallelValidation(jobs=2, endpoint=endpoint), paths)
    assert alone == parallel
    return sequential, parallel


@pytest.fixture(autouse=True)
def small_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny tasks, so that files are cut into many blocks, error bodies included.
    monkeypatch.setattr(_parallel, "LINES_PER_TASK", 3)
    monkeypatch.setattr(_parallel, "BYTES_PER_TASK", 60)  # about a record each


def _events(endpoint: str, n: int, seed: int) -> list[bytes]:
    synth = Synth(seed, optional=0.3, depth=2)
    lines = [encode_line(synth.event(endpoint)) for _ in range(n)]
    for i in range(0, n, 4):  # every fourth event breaks the contract
        event = json.loads(lines[i])
        event["data"]["id"] = f"x{i}"
        lines[i] = encode_line(event)
    return lines


def _header(endpoint: str) -> Header:
    return Header(endpoint=endpoint, url=f"https://api.x.com/{endpoint}")


def mixed_cassette(path: Path) -> Path:
    """200 events (some bad, heartbeats, not JSON, an error payload), a 503 with a
    multi-line Problem body, a 200 again."""
    events = _events("search-stream", 14, 3)
    problem = json.dumps({"type": "about:blank", "title": 5, "status": 503}, indent=2).encode()
    records: list[Record] = [Connection(0, 200, "OK", (), 0.1, 0.0)]
    t = 0.2
    for i, raw in enumerate(events[:8]):
        t += 0.1
        records.append(Line(t, raw))
        if i % 3 == 0:
            records.append(Line(t + 0.01, b"\r\n"))
    records += [Line(t + 0.02, b"{not json\r\n"), Line(t + 0.03, encode_line(Synth(1).problem()))]
    records.append(Close(t + 0.1, CloseReason.SERVER_CLOSED))
    records.append(Connection(1, 503, "Service Unavailable", (), 0.1, 5.0))
    records += [Line(0.2 + i / 100, line + b"\n") for i, line in enumerate(problem.split(b"\n"))]
    records.append(Close(0.5, CloseReason.SERVER_CLOSED))
    records.append(Connection(2, 200, "OK", (), 0.1, 9.0))
    records += [Line(0.2 + i, raw) for i, raw in enumerate(events[8:])]
    records.append(Close(20.0, CloseReason.CLIENT_STOPPED))
    return write_cassette(path, _header("search-stream"), records)


def test_many_files_and_large_ones_report_as_one_process(tmp_path: Path) -> None:
    header, records = synthetic_session("firehose-ja", events=30, seed=2, connections=3,
                                        errors=["operational-disconnect"] * 2)  # fmt: skip
    write_cassette(tmp_path / "a" / "session.jsonl.gz", header, records)
    mixed = mixed_cassette(tmp_path / "a" / "mixed.jsonl")
    dump = tmp_path / "dump.ndjson"
    lines = _events("firehose-ja", 11, 5)
    lines[3:3] = [b"\r\n", b"[1, 2\r\n", b"\n"]
    dump.write_bytes(b"".join(lines))
    zipped = tmp_path / "dump.ndjson.gz"
    zipped.write_bytes(gzip.compress(b"".join(_events("firehose-ja", 7, 6))))

    sequential, parallel = both([tmp_path / "a", dump, zipped, mixed], endpoint="firehose-ja")
    assert parallel == sequential
    found, tally, error, _ = sequential
    assert error is None
    # the inputs do hold what the equality is about
    assert tally["files"] == 5 and tally["http_errors"] == 2 and tally["heartbeats"] >= 4
    assert {f["payload"] for f in found} == {"event", "http-error"}
    assert any(f["event"] is None for f in found) and any(f["event"] for f in found)  # not JSON / events
    assert len({f["file"] for f in found}) == 3  # the synthetic session is valid


def test_a_cut_cassette_warns_at_the_same_place(tmp_path: Path) -> None:
    mixed = mixed_cassette(tmp_path / "cut.jsonl")
    mixed.write_bytes(mixed.read_bytes() + b'{"kind": "line", "offset": 30, "te')
    data = gzip.compress(mixed_cassette(tmp_path / "whole.jsonl").read_bytes())
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(data[: len(data) * 2 // 3])

    sequential, parallel = both([mixed, truncated])
    assert parallel == sequential
    assert len(sequential[1]["warnings"]) == 2 and len(sequential[3]) == 2


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (lambda text: text.replace('"offset":1.0', '"offset":0.001', 1), "CassetteOrderError"),
        (lambda text: text.replace('"kind":"close"', '"kind":"closed"', 1), "CassetteFormatError"),
    ],
)
def test_a_broken_cassette_fails_after_the_same_findings(tmp_path: Path, damage: Any, error: str) -> None:
    path = mixed_cassette(tmp_path / "broken.jsonl")
    path.write_text(damage(path.read_text()))
    sequential, parallel = both([path])
    assert parallel == sequential
    found, _, raised, _ = sequential
    assert raised is not None and raised[0] == error and found


DAMAGE = {
    "bad event": lambda line: line.replace(b'"id":"', b'"id":"x', 1),
    "blank line": lambda line: line + b"\n",
    "spaces": lambda line: line.replace(b'"offset":', b'"offset": ', 1),
    "crlf": lambda line: line[:-1] + b"\r\n",
    "eol member": lambda line: line.replace(b'"json":', b'"eol":"\\n","json":', 1),
    "offset back": lambda line: line.replace(b'"offset":', b'"offset":0.0001', 1).replace(b"0.0001", b"0.00001", 1),
    "garbage": lambda line: line[: len(line) // 2] + b"\xff}" + line[len(line) // 2 :],
    "cut": lambda line: line[: len(line) // 3],
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_cassettes_read_in_blocks_report_as_one_process(tmp_path: Path, data: st.DataObject) -> None:
    """Lines the native reader stops at, anywhere, in blocks of any size."""
    path = mixed_cassette(tmp_path / "m.jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(1, len(lines) - 1))
        damage = data.draw(st.sampled_from(sorted(DAMAGE)))
        lines[at] = DAMAGE[damage](lines[at])
        if damage == "cut":
            del lines[at + 1 :]
            break
    path.write_bytes(b"".join(lines))
    _parallel.BYTES_PER_TASK = data.draw(st.sampled_from([60, 700, 5000, 1 << 20]))
    sequential = outcome(SequentialValidation(Contract()), [path])
    assert outcome(_parallel.ParallelValidation(jobs=1), [path]) == sequential


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_ndjson_read_in_blocks_reports_as_one_process(tmp_path: Path, data: st.DataObject) -> None:
    lines = _events("firehose-ja", 12, 8)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        damaged = [b"\r\n", b" \t\n", b"[1, 2\r\n", line[:-2] + b" \r\n", line[: len(line) // 2] + b"\xff\n", line[:9]]
        lines[at] = data.draw(st.sampled_from(damaged))
    path = tmp_path / "dump.ndjson"
    path.write_bytes(b"".join(lines))
    _parallel.BYTES_PER_TASK = data.draw(st.sampled_from([60, 3000, 1 << 20]))
    sequential = outcome(SequentialValidation(Contract(), endpoint="firehose-ja"), [path])
    assert outcome(_parallel.ParallelValidation(jobs=1, endpoint="firehose-ja"), [path]) == sequential


def test_cli_jobs_option(tmp_path: Path) -> None:
    path = mixed_cassette(tmp_path / "m.jsonl")
    outs = [CliRunner().invoke(main, ["validate", str(path), "--format", "json", "-j", j]) for j in ("1", "2")]
    assert [o.exit_code for o in outs] == [1, 1]
    assert outs[0].stdout == outs[1].stdout
    assert json.loads(outs[0].stdout)["summary"]["events"] == 15


def test_workers_fork_only_from_a_single_threaded_process(tmp_path: Path) -> None:
    code = (
        "import threading, time\n"
        "from harness.contract._parallel import start_method\n"
        "alone = start_method()\n"
        "t = threading.Thread(target=time.sleep, args=(1,)); t.start()\n"
        "print(alone, start_method())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["fork", "spawn"], done.stderr


def test_a_thread_that_threading_does_not_know_of_still_means_spawn() -> None:
    # a thread started below `threading` (as C libraries do): Python 3.12+ warns on a fork then
    code = (
        "import _thread, threading, time\n"
        "from harness.contract._parallel import start_method\n"
        "_thread.start_new_thread(time.sleep, (1,)); time.sleep(0.05)\n"
        "print(threading.active_count(), start_method())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["1", "spawn"], done.stderr


def test_a_single_threaded_cli_gives_the_same_report_with_forked_workers(tmp_path: Path) -> None:
    path = mixed_cassette(tmp_path / "m.jsonl")
    runs = [
        subprocess.run(
            [sys.executable, "-m", "harness", "validate", str(path), "--format", "json", "-j", j],
            capture_output=True,
            text=True,
            timeout=120,
        )
        for j in ("1", "2")
    ]
    assert [r.returncode for r in runs] == [1, 1], runs[1].stderr
    assert runs[0].stdout == runs[1].stdout


def test_a_dump_that_drifts_and_recovers_reports_as_one_process(tmp_path: Path) -> None:
    """Hundreds of invalid lines in a row (the native pass is skipped, then tried again),
    heartbeats among them, then valid lines, then a drift again: as the sequential reading."""
    _parallel.BYTES_PER_TASK = 1 << 22
    events = [json.loads(line) for line in _events("firehose-ja", 40, 5)]
    for i, event in enumerate(events):
        event["data"]["id"] = str(i + 1)
    good = [encode_line(e) for e in events]
    drifted = [encode_line({**e, "data": {**e["data"], "id": f"x{i}"}}) for i, e in enumerate(events)]
    lines = [*(drifted * 5), b"\r\n", *(drifted * 3), *(good * 10), b"\r\n", *(drifted * 8), *good]
    path = tmp_path / "drift.ndjson"
    path.write_bytes(b"".join(lines))
    sequential = outcome(SequentialValidation(Contract(), endpoint="firehose-ja"), [path])
    assert len(sequential[0]) == 16 * 40
    assert outcome(_parallel.ParallelValidation(jobs=1, endpoint="firehose-ja"), [path]) == sequential
