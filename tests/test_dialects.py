"""The two wire dialects across the tools: synth, validate (which dialect a file matches),
serve over a socket, schemas for both, and the plugin's option."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from harness.cassette import Cassette, Header, Line
from harness.cli.app import main
from harness.contract import schemagen
from harness.model import ENDPOINTS
from harness.model.practice import DEFAULT_TRAFFIC, TRAFFIC, live_rate
from harness.model.snowflake import snowflake_ms
from harness.replay.loopback import LoopbackServer, ServeOptions

pytestmark = pytest.mark.integration  # real sockets, subprocess-free CLI runs, pytester

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[1]


def _events(path: Path) -> list[dict[str, object]]:
    records = [r for _, r in Cassette(path).entries()]
    return [json.loads(r.raw) for r in records if isinstance(r, Line) and r.raw.startswith(b'{"data"')]


def _header(path: Path) -> Header:
    return Cassette(path).header


def _synth(tmp_path: Path, name: str, *args: str) -> Path:
    out = tmp_path / name
    result = CliRunner().invoke(main, ["synth", "firehose-ja", "-o", str(out), "--events", "12", *args])
    assert result.exit_code == 0, result.output
    return out


def test_validate_says_which_dialect_a_cassette_matches(tmp_path: Path) -> None:
    renamed = _synth(tmp_path, "renamed.jsonl", "--dialect", "2.167")
    classic = _synth(tmp_path, "classic.jsonl")
    assert all("edit_history_post_ids" in e["data"] for e in _events(renamed))  # type: ignore[operator]
    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(renamed), str(classic)])
    assert result.exit_code == 1
    assert f"{renamed}: matches the 2.167 dialect, not classic (try --dialect 2.167)" in result.output
    assert str(classic) not in result.output  # valid: nothing to say
    result = runner.invoke(main, ["validate", "--dialect", "2.167", str(renamed), str(classic)])
    assert result.exit_code == 1
    assert f"{classic}: matches the classic dialect, not 2.167 (try --dialect classic)" in result.output
    assert "renamed.jsonl" not in result.output
    assert runner.invoke(main, ["validate", "--dialect", "2.167", str(renamed)]).exit_code == 0
    doc = json.loads(runner.invoke(main, ["validate", "--format", "json", str(renamed)]).output)
    assert doc["summary"]["dialect"] == "classic"
    assert doc["summary"]["matches_other_dialect"] == {str(renamed): "2.167"}


def test_validate_gives_no_dialect_hint_for_a_file_broken_in_both(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ndjson"
    broken.write_text('{"data":{"id":"x1","text":"t","edit_history_tweet_ids":["1"]}}\n')
    result = CliRunner().invoke(main, ["validate", "-e", "firehose-ja", str(broken)])
    assert result.exit_code == 1 and "matches the" not in result.output


def test_synth_answers_the_request_given(tmp_path: Path) -> None:
    out = _synth(tmp_path, "lang.jsonl", "--param", "partition=2", "--param", "tweet.fields=lang,created_at",
                 "--param", "expansions=author_id")  # fmt: skip
    assert _header(out).query == {"partition": "2", "tweet.fields": "lang,created_at", "expansions": "author_id"}
    for event in _events(out):
        data: dict[str, str] = event["data"]  # type: ignore[assignment]
        assert set(data) == {"id", "text", "edit_history_tweet_ids", "lang", "created_at", "author_id"}
        assert data["lang"] == "ja"
        assert [u["id"] for u in event["includes"]["users"]] == [data["author_id"]]  # type: ignore[index]
    bad = CliRunner().invoke(
        main, ["synth", "search-stream", "-o", str(tmp_path / "x"), "--param", "tweet.fields=nope"]
    )
    assert bad.exit_code == 2 and "tweet.fields" in bad.output


def test_serve_answers_each_request_as_live_in_the_dialect_asked() -> None:
    auth = {"Authorization": "Bearer x"}
    with LoopbackServer(ServeOptions(rate=float("inf"), max_events=40, seed=4, dialect="2.167")) as server:
        url = server.url("search-stream", {"tweet.fields": "lang,public_metrics"})
        with requests.get(url, headers=auth, stream=True, timeout=10) as r:
            events = [json.loads(line) for line in r.iter_lines() if line]
    assert len(events) == 40
    ids = [e["data"]["id"] for e in events]
    assert len(set(ids)) == 40 and ids == sorted(ids, key=int)  # "8" twice in 20, no more
    assert all(snowflake_ms(i) > 1_700_000_000_000 for i in ids)
    for e in events:
        assert set(e["data"]) == {"id", "text", "edit_history_post_ids", "lang", "public_metrics"}
        assert set(e["data"]["public_metrics"]) >= {"repost_count", "like_count", "bookmark_count"}
        assert e["matching_rules"]


def test_schemas_are_generated_and_checked_for_both_dialects(tmp_path: Path) -> None:
    metrics = json.loads((ROOT / "schemas" / "2.167" / "TweetPublicMetrics.json").read_text())
    assert "repost_count" in metrics["required"] and "retweet_count" not in metrics["properties"]
    assert metrics["$id"].endswith("/schemas/2.167/TweetPublicMetrics.json")
    strict = json.loads((ROOT / "schemas" / "2.167" / "strict" / "Expansions.json").read_text())
    assert "posts" in strict["properties"] and strict["additionalProperties"] is False
    copy = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", copy)
    assert schemagen.diff_tree(copy) == []
    (copy / "2.167" / "Tweet.json").unlink()
    result = CliRunner().invoke(main, ["schemas", "check", "--dir", str(copy)])
    assert result.exit_code == 1 and "missing: 2.167/Tweet.json" in result.output


def test_the_plugin_checks_the_dialect_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        EVENT = {"data": {"id": "1", "text": "t", "public_metrics": {
            "repost_count": 1, "reply_count": 0, "like_count": 0, "quote_count": 0}}}

        def test_renamed(contract):
            contract.assert_valid(EVENT, endpoint="search-stream")
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)
    pytester.runpytest("-p", "no:cacheprovider", "--stream-dialect=2.167").assert_outcomes(passed=1)


def test_live_rates_split_each_stream_over_its_partitions(tmp_path: Path) -> None:
    for e in ENDPOINTS.values():
        partition = next((p for p in e.params if p.name == "partition"), None)
        parts = 1 if partition is None else getattr(partition.type, "maximum", 1)
        assert live_rate(e) * parts == pytest.approx(TRAFFIC.get(e.path, DEFAULT_TRAFFIC).per_second)
    out = tmp_path / "ja.jsonl"
    argv = ["synth", "firehose-ja", "-o", str(out), "--events", "400", "--rate", "live", "--param", "partition=1"]
    assert CliRunner().invoke(main, argv).exit_code == 0
    offsets = [r.offset for _, r in Cassette(out).entries() if isinstance(r, Line)]
    mean_gap = (offsets[-1] - offsets[0]) / (len(offsets) - 1)
    assert mean_gap == pytest.approx(1 / live_rate(ENDPOINTS["firehose-ja"]), rel=0.2)
    bad = CliRunner().invoke(main, ["synth", "firehose-ja", "-o", str(out), "--rate", "fast"])
    assert bad.exit_code == 2 and "expected events per second or 'live'" in bad.output


def test_the_plugin_records_loopback_sessions_in_the_dialect_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_demo="""
        import json, pytest, requests

        @pytest.mark.stream_cassette("demo", endpoint="search-stream", max_events=5, speed="max", on_end="close",
                                     params={"tweet.fields": "public_metrics"})
        def test_consumer(stream_replay, contract):
            url = stream_replay.url("search-stream")  # with the query it was recorded with
            with requests.get(url, headers={"Authorization": "Bearer t"}, stream=True, timeout=10) as r:
                events = [json.loads(line) for line in r.iter_lines() if line]
            assert len(events) == 5
            for event in events:
                assert "repost_count" in event["data"]["public_metrics"]
                contract.assert_valid(event, endpoint="search-stream")
        """
    )
    args = ["-p", "no:cacheprovider", "--stream-record-mode=once", "--stream-record-url=loopback"]
    pytester.runpytest(*args, "--stream-dialect=2.167").assert_outcomes(passed=1)
    events = _events(pytester.path / "cassettes" / "demo.jsonl")
    assert len(events) == 5 and all("edit_history_post_ids" in e["data"] for e in events)  # type: ignore[operator]


def test_each_partition_carries_its_own_events() -> None:
    auth = {"Authorization": "Bearer x"}
    ids: dict[str, list[str]] = {}
    with LoopbackServer(ServeOptions(rate=float("inf"), max_events=30, seed=1)) as server:
        for partition in ("1", "2", "1"):
            url = server.url("firehose-ja", {"partition": partition})
            with requests.get(url, headers=auth, stream=True, timeout=10) as r:
                got = [json.loads(line)["data"]["id"] for line in r.iter_lines() if line]
            assert ids.setdefault(partition, got) == got  # reproducible per partition
    assert len(ids["1"]) == 30 and not set(ids["1"]) & set(ids["2"])


def test_the_dialect_hint_stops_at_the_first_line_the_other_dialect_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drifted file (broken in both dialects) costs the hint a line, not a second
    validation, and never the reference (slow to start: the fast path's verdict is enough)."""
    from harness.contract._fast import FastEngine
    from harness.contract.dialects import matching_dialects
    from harness.contract.validator import ReferenceEngine

    broken = tmp_path / "drifted.ndjson"
    broken.write_text('{"data":{"id":"x1","text":"t","edit_history_tweet_ids":["1"]}}\n' * 5000)
    seen = [0]
    real = FastEngine.proves

    def counting(self: FastEngine, schema: str, raw: bytes | str) -> bool:
        seen[0] += 1
        return real(self, schema, raw)

    def no_reference(*args: object, **kwargs: object) -> None:
        raise AssertionError("the hint built the reference")

    monkeypatch.setattr(FastEngine, "proves", counting)
    monkeypatch.setattr(ReferenceEngine, "__init__", no_reference)
    assert matching_dialects([str(broken)], "classic", endpoint="firehose-ja") == {}
    assert seen[0] == 1
