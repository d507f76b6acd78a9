"""`harness validate`, `harness schemas` and `harness synth`: exit codes, output, bad input."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "cassettes" / "seed-examples"
VALID_TWEET = {"id": "1", "text": "hello", "edit_history_tweet_ids": ["1"]}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    code, out, _ = run("synth", "search-stream", "-o", str(tmp_path / "s.jsonl"), "--events", "12", "--seed", "4")
    assert code == 0, out
    return tmp_path / "s.jsonl"


def test_valid_cassette_exits_0_with_a_summary(synthetic: Path) -> None:
    code, out, err = run("validate", str(synthetic))
    assert (code, err) == (0, "")
    assert out.startswith("1 file(s): 12 event(s), 0 error payload(s)")
    assert "search-stream: 12 payload(s); all valid" in out


def test_violations_exit_1_naming_every_location(tmp_path: Path) -> None:
    dump = tmp_path / "dump.ndjson"
    lines = [
        json.dumps({"data": VALID_TWEET}),
        "",  # heartbeat
        json.dumps({"data": {**VALID_TWEET, "id": "x1"}}),
        "{not json",
        json.dumps({"errors": [{"type": "https://api.x.com/2/problems/operational-disconnect", "title": "t"}]}),
    ]
    dump.write_text("\r\n".join(lines) + "\r\n")
    code, out, _ = run("validate", str(dump), "--endpoint", "/2/tweets/search/stream")
    assert code == 1
    assert (
        f"{dump}:3 event 1 (event) /data/id: 'x1' does not match '^[0-9]{{1,19}}$' [pattern at TweetId.json#/pattern]"
        in out
    )
    assert f"{dump}:4" in out and "not JSON" in out
    assert "1 file(s): 3 event(s), 1 error payload(s), 1 heartbeat(s), 0 HTTP error(s), 2 violation(s)" in out
    assert "search-stream: 4 payload(s); json: 1, pattern: 1" in out


def test_json_format_gives_pointers_as_strings(tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    dump.write_text(json.dumps({"data": {**VALID_TWEET, "created_at": "Wed Jan 06 18:40:40 +0000 2021"}}) + "\n")
    code, out, _ = run("validate", str(dump), "-e", "firehose-ja", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    [v] = doc["violations"]
    assert v["pointer"] == "/data/created_at" and isinstance(v["pointer"], str)
    assert (v["keyword"], v["schema_location"], v["line"], v["event"]) == (
        "format",
        "Tweet.json#/properties/created_at/format",
        1,
        0,
    )
    assert doc["summary"]["violations_per_endpoint"] == {"firehose-ja": {"format": 1}}


def test_strict_flag_catches_unknown_members(tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    dump.write_text(json.dumps({"data": {**VALID_TWEET, "new_thing": 1}}) + "\n")
    assert run("validate", str(dump), "-e", "search-stream")[0] == 0
    code, out, _ = run("validate", str(dump), "-e", "search-stream", "--strict")
    assert code == 1 and "additionalProperties" in out and "new_thing" in out


def test_directories_gz_and_baseline(tmp_path: Path, synthetic: Path) -> None:
    (tmp_path / "sub").mkdir()
    gz = tmp_path / "sub" / "s.jsonl.gz"
    gz.write_bytes(gzip.compress(synthetic.read_bytes()))
    code, out, _ = run("validate", str(tmp_path))
    assert code == 0 and out.startswith("2 file(s): 24 event(s)")
    # the seed examples break the contract in known ways; the baseline states them exactly
    baseline = ROOT / "cassettes" / "known-violations.json"
    code, out, _ = run("validate", str(SEEDS), "--baseline", str(baseline))
    assert code == 0, out
    assert "baseline: 14 known violation(s), 0 new" in out
    assert "known (the page's example uses the legacy form" in out
    # a baseline entry that no longer matches is stale, and fails the run
    stale = tmp_path / "stale.json"
    entries = [*json.loads(baseline.read_text()), {"file": "x.jsonl", "pointer": "/data", "keyword": "type"}]
    stale.write_text(json.dumps(entries))
    code, out, _ = run("validate", str(SEEDS), "--baseline", str(stale))
    assert code == 1 and "stale baseline entry (no longer found): x.jsonl /data type" in out


def test_http_error_bodies_are_checked_against_problem(tmp_path: Path) -> None:
    from harness.cassette import Close, CloseReason, Connection, Header, Line, Record, write_cassette

    body = {"title": "ConnectionException", "type": "https://api.twitter.com/2/problems/streaming-connection"}
    body["connection_issue"] = "TooManyConnectionz"
    header = Header(endpoint="search-stream", url="http://127.0.0.1/2/tweets/search/stream")
    records: list[Record] = [
        Connection(0, 429, "Too Many Requests"),
        Line(0.1, json.dumps(body).encode()),
        Close(0.1, CloseReason.SERVER_CLOSED),
    ]
    path = write_cassette(tmp_path / "429.jsonl", header, records)
    code, out, _ = run("validate", str(path))
    assert code == 1
    assert "(http-error) /connection_issue: 'TooManyConnectionz' is not one of" in out
    assert "0 event(s), 0 error payload(s), 0 heartbeat(s), 1 HTTP error(s), 1 violation(s)" in out


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, [], "no such file or directory"),
        ('{"data": {}}\n', [], "is not a cassette: give --endpoint NAME"),
        ('{"format": "x-stream-cassette", "version": 99, "endpoint": "search-stream", "url": "u"}\n', [], "version 99"),
        (
            '{"format": "x-stream-cassette", "version": 1, "endpoint": "search-stream", "url": "u"}\ngarbage\n',
            [],
            ":2: not JSON: 'garbage'",
        ),
        ('{"data": {}}\n', ["--endpoint", "timeline"], "unknown endpoint 'timeline': expected one of search-stream"),
        ("[]", ["--baseline", "/nonexistent.json"], "cannot read the baseline"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(
    tmp_path: Path, content: str | None, args: list[str], message: str
) -> None:
    path = tmp_path / "in.jsonl"
    if content is not None:
        path.write_text(content)
    code, out, err = run("validate", str(path), *args)
    assert code == 2
    assert message in err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in out + err


def test_schemas_check_and_generate(tmp_path: Path) -> None:
    code, out, _ = run("schemas", "check", "--dir", str(ROOT / "schemas"))
    assert code == 0 and "schema files match the object model" in out
    code, out, _ = run("schemas", "generate", "--out", str(tmp_path))
    assert code == 0
    (tmp_path / "strict" / "User.json").write_text("{}\n")
    code, _, err = run("schemas", "check", "--dir", str(tmp_path))
    assert code == 1
    assert "1 schema file(s)" in err and "differs: strict/User.json" in err and "run: harness schemas generate" in err


def test_synth_is_reproducible_and_valid(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert (
            run("synth", "firehose-ja", "-o", str(tmp_path / f"{name}.jsonl"), "--seed", "9", "--connections", "2")[0]
            == 0
        )
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    code, out, _ = run("validate", str(tmp_path / "a.jsonl"))
    assert code == 0 and "1 error payload(s)" in out  # the operational disconnect between connections


@pytest.mark.integration
def test_real_subprocess_exit_codes(tmp_path: Path, synthetic: Path) -> None:
    exe = [sys.executable, "-m", "harness"]
    ok = subprocess.run([*exe, "validate", str(synthetic)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*exe, "validate", str(SEEDS)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "/data/created_at" in bad.stdout
    missing = subprocess.run([*exe, "validate", str(tmp_path / "nope")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr


def test_event_indices_count_within_each_file(tmp_path: Path) -> None:
    bad = json.dumps({"data": {**VALID_TWEET, "id": "x"}})
    good = json.dumps({"data": VALID_TWEET})
    (tmp_path / "a.ndjson").write_text(f"{good}\n{good}\n{bad}\n")
    (tmp_path / "b.ndjson").write_text(f"{bad}\n{good}\n")
    for jobs in ("1", "2"):
        code, out, _ = run("validate", str(tmp_path), "-e", "search-stream", "--format", "json", "-j", jobs)
        assert code == 1
        found = [(Path(v["file"]).name, v["line"], v["event"]) for v in json.loads(out)["violations"]]
        assert found == [("a.ndjson", 3, 2), ("b.ndjson", 1, 0)], jobs


@pytest.mark.parametrize("command", ["inspect", "validate"])
@pytest.mark.integration
def test_a_cut_cassette_is_said_once_in_the_commands_own_words(synthetic: Path, command: str) -> None:
    data = synthetic.read_bytes()
    synthetic.write_bytes(data[: len(data) - 40])  # the close record and the end of a line: cut
    exe = [sys.executable, "-m", "harness", command, str(synthetic)]
    done = subprocess.run(exe, capture_output=True, text=True, timeout=60)
    out = done.stdout + done.stderr
    assert "cut short" in out and out.count("cut short") == 1, out
    assert "CassetteWarning" not in out and "Traceback" not in out
