"""`harness validate`'s reports: findings grouped (a TTY's default), JSON with groups that stays
JSON when an input fails, JUnit XML read back by a parser, baselines naming groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cassette import CassetteWriter, CloseReason, Header
from harness.cli import main
from harness.contract._findings import Finding
from harness.contract._groups import Grouper, group_pointer
from harness.contract.validator import Violation

pytestmark = pytest.mark.integration

TWEET = {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"]}
LEGACY = "Wed Oct 10 20:19:{:02d} +0000 2018"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def drifted_cassette(path: Path, n: int) -> Path:
    """`n` events, each with a legacy `created_at` (one time per second of a minute)."""
    header = Header(endpoint="search-stream", url="https://api.x.com/2/tweets/search/stream", labels={})
    with CassetteWriter(path, header) as w:
        w.connection(200, "OK", offset=0.1)
        for i in range(n):
            event = {"data": {**TWEET, "id": str(i + 1), "created_at": LEGACY.format(i % 60)}}
            w.line(json.dumps(event).encode() + b"\r\n", 0.2 + i / 1000)
        w.close_connection(CloseReason.CLIENT_STOPPED, 0.3 + n / 1000)
    return path


def on_a_tty(*args: str) -> tuple[int, str]:
    """`harness ARGS` with stdout on a pseudo-terminal of 24 rows: (exit status, what it shows)."""
    primary, secondary = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *args], stdout=secondary, stderr=subprocess.DEVNULL, close_fds=True
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return proc.wait(timeout=120), b"".join(chunks).decode().replace("\r\n", "\n")


def test_a_drifted_100k_cassette_fits_on_one_screen_and_names_the_drift(tmp_path: Path) -> None:
    path = drifted_cassette(tmp_path / "drifted.jsonl", 100_000)
    code, shown = on_a_tty("validate", str(path))
    lines = shown.rstrip("\n").split("\n")
    assert code == 1
    assert len(lines) <= 24, shown
    assert "/data/created_at: format at Tweet.json#/properties/created_at/format" in shown
    assert "100000 finding(s) in 100000 payload(s) (100.0% of them)" in shown
    assert f"first {path}:3 @0.200000s, last {path}:100002 @100.199000s" in shown
    assert "e.g. 'Wed Oct 10 20:19:00 +0000 2018' is not a 'date-time'" in shown


def test_all_shows_every_finding_and_max_examples_keeps_more(tmp_path: Path) -> None:
    path = drifted_cassette(tmp_path / "drifted.jsonl", 5)
    code, shown = on_a_tty("validate", "--all", str(path))
    assert code == 1 and shown.count("is not a 'date-time' [format at") == 5
    code, out, _ = run("validate", "--grouped", "--max-examples", "3", str(path))
    assert code == 1 and out.count("    e.g. ") == 3 and "is not a 'date-time' [format" not in out


def two_bad_ids(tmp_path: Path) -> Path:
    dump = tmp_path / "ids.ndjson"
    events = [{"data": {**TWEET, "edit_history_tweet_ids": ["x", "y"]}}, {"data": TWEET}]
    dump.write_text("".join(json.dumps(e) + "\n" for e in events))
    return dump


def test_json_carries_groups_and_findings_and_stays_json_when_an_input_fails(tmp_path: Path) -> None:
    dump = two_bad_ids(tmp_path)
    code, out, err = run("validate", "--format", "json", "-e", "search-stream", str(dump), str(tmp_path / "missing"))
    doc = json.loads(out)
    assert code == 2 and "missing: no such file or directory" in err
    assert "missing: no such file or directory" in doc["error"]
    assert [v["pointer"] for v in doc["violations"]] == [
        "/data/edit_history_tweet_ids/0",
        "/data/edit_history_tweet_ids/1",
    ]
    [group] = doc["groups"]
    assert group | {"first": None, "last": None} == {
        "schema_location": "TweetId.json#/pattern",
        "keyword": "pattern",
        "pointer": "/data/edit_history_tweet_ids/*",
        "count": 2,
        "events": 1,
        "share_of_events": 0.5,
        "known": 0,
        "endpoints": ["search-stream"],
        "first": None,
        "last": None,
        "examples": ["'x' does not match '^[0-9]{1,19}$'"],
    }
    assert (group["first"]["line"], group["last"]["line"]) == (1, 1)


def test_junit_loads_in_a_junit_parser(tmp_path: Path) -> None:
    bad = drifted_cassette(tmp_path / "drifted.jsonl", 3)
    good = tmp_path / "good.jsonl"
    assert run("synth", "search-stream", "-o", str(good), "--events", "4")[0] == 0
    code, out, _ = run("validate", "--format", "junit", str(bad), str(good))
    assert code == 1
    root = ElementTree.fromstring(out.encode())
    [suite] = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.findall("testcase")}
    assert set(cases) == {(str(bad), "search-stream"), (str(good), "search-stream")}
    [failure] = cases[(str(bad), "search-stream")].findall("failure")
    assert failure.get("type") == "format"
    assert failure.get("message") == "/data/created_at: format at Tweet.json#/properties/created_at/format (3 new)"
    assert "3 finding(s) in 3 payload(s)" in (failure.text or "")
    assert cases[(str(good), "search-stream")].findall("failure") == []


def test_junit_says_an_input_failed_as_an_error(tmp_path: Path) -> None:
    code, out, _ = run("validate", "--format", "junit", str(tmp_path / "missing.jsonl"))
    suite = ElementTree.fromstring(out.encode()).find("testsuite")
    assert code == 2 and suite is not None and suite.get("errors") == "1"


def test_a_baseline_entry_may_name_a_group(tmp_path: Path) -> None:
    dump = two_bad_ids(tmp_path)
    entry: dict[str, Any] = {"pointer": "/data/edit_history_tweet_ids/*", "keyword": "pattern", "reason": "legacy ids"}
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps([entry | {"schema_location": "TweetId.json#/pattern"}]))
    code, out, _ = run("validate", "--grouped", "-e", "search-stream", "--baseline", str(baseline), str(dump))
    assert code == 0 and "baseline: 2 known violation(s), 0 new" in out and "2 known" in out
    baseline.write_text(json.dumps([entry | {"schema_location": "Other.json#/pattern"}]))
    code, out, _ = run("validate", "-e", "search-stream", "--baseline", str(baseline), str(dump))
    assert code == 1 and "stale baseline entry (no longer found): * /data/edit_history_tweet_ids/* pattern" in out


def test_strict_findings_group_by_object(tmp_path: Path) -> None:
    dump = tmp_path / "unknown.ndjson"
    dump.write_text("".join(json.dumps({"data": {**TWEET, "legacy_id": i}}) + "\n" for i in range(3)))
    code, out, _ = run("validate", "--grouped", "--strict", "-e", "search-stream", str(dump))
    assert code == 1 and "3 finding(s) in 1 group(s):" in out and "/data: additionalProperties at" in out


SEGMENT = st.one_of(st.integers(0, 10**6).map(str), st.text("abcdef_", min_size=1, max_size=5))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(SEGMENT, max_size=5), st.sampled_from(["type", "format", "required"])), max_size=30))
def test_groups_partition_the_findings(found: list[tuple[list[str], str]]) -> None:
    grouper = Grouper()
    for i, (parts, keyword) in enumerate(found):
        pointer = "".join("/" + p for p in parts)
        violation = Violation(pointer, keyword, f"T.json#/{keyword}", "m")
        grouper.add(Finding(file="f", line=i + 1, endpoint="e", payload="event", violation=violation, event=i))
    assert sum(g.count for g in grouper.ranked()) == len(found)
    keys = {("".join("/" + ("*" if p.isdigit() else p) for p in parts), k) for parts, k in found}
    assert {(g.key.pointer, g.key.keyword) for g in grouper.ranked()} == keys
    for parts, _ in found:
        assert "/".join(group_pointer("".join("/" + p for p in parts)).split("/")[1:]).count("*") == sum(
            p.isdigit() for p in parts
        )
