"""The pytest plugin, through pytester: options, markers, settings, contract failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.cassette import Cassette

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "cassettes" / "synthetic" / "search-stream.jsonl"


def test_help_shows_one_option_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "x-stream harness: record and replay X API v2 streams:",
            "*--stream-record-mode={none,once,all}*",
            "*--stream-cassette-dir=*",
            "*--replay-speed=*",
            "*--stream-record-url=*",
            "*--stream-token-env=*",
        ]
    )


def test_marker_and_fixtures_are_documented(pytester: pytest.Pytester) -> None:
    pytester.runpytest("--markers").stdout.fnmatch_lines(["@pytest.mark.stream_cassette(name=None, *, speed=None*"])
    result = pytester.runpytest("--fixtures")
    for name in ("stream_replay", "stream_replay_proxy", "stream_recorder", "contract", "stream_config"):
        result.stdout.fnmatch_lines([f"{name} -- *", "    *"])


def test_missing_cassette_in_none_mode_says_how_to_record(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.stream_cassette("nowhere")
        def test_consumer(stream_replay):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "test_missing_cassette_in_none_mode_says_how_to_record.py::test_consumer: "
            "cassette not found: */cassettes/nowhere.jsonl (record mode 'none' only replays). Record it with "
            "`pytest --stream-record-mode=once`*or `harness record ENDPOINT -o */cassettes/nowhere.jsonl`."
        ]
    )


def test_contract_failure_names_pointer_keyword_and_value(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_event(contract):
            contract.assert_valid({"data": {"id": "12a", "text": "hi"}}, endpoint="search-stream")

        def test_raw_line(contract):
            contract.assert_valid(b'{"data":{"id":"1","text":"ok"}}\\r\\n', endpoint="firehose-ja")

        def test_not_json(contract):
            contract.assert_valid(b"{oops", endpoint="likes-sample10")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*ContractViolation: payload breaks the search-stream contract (1 violation(s)):",
            "*  /data/id: pattern failed (TweetId.json#/pattern)",
            '*    value: "12a"',
            "*'12a' does not match '^[[]0-9]{1,19}$'",
        ]
    )
    result.stdout.fnmatch_lines(["*payload breaks the likes-sample10 contract*", "*/: not JSON", "*value: b'{oops'"])


def test_cassette_wide_check(pytester: pytest.Pytester) -> None:
    shutil.copy(ROOT / "cassettes" / "seed-examples" / "search-stream.jsonl", pytester.path / "seed.jsonl")
    shutil.copy(SAMPLE, pytester.path / "good.jsonl")
    pytester.makepyfile(
        """
        def test_good(contract):
            contract.assert_cassette_valid("good.jsonl")

        def test_seed(contract):
            contract.assert_cassette_valid("seed.jsonl")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*seed.jsonl breaks the contract (5 violation(s)):", "*seed.jsonl:3 event 0 *"])


def test_settings_precedence_marker_over_cli_over_config(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def stream_config():
            return {"speed": 3, "cassette_dir": "tapes", "on_end": "close", "faults": ["stall=1@2"]}
        """
    )
    pytester.makepyfile(
        """
        import pytest
        from pathlib import Path

        def test_config_only(stream_settings):
            assert stream_settings.on_end == "close"
            assert stream_settings.faults == ("stall=1@2",)
            # the default name: MODULE/TEST
            module = "test_settings_precedence_marker_over_cli_over_config"
            assert stream_settings.cassette == Path(f"tapes/{module}/test_config_only.jsonl")

        def test_cli_beats_config(stream_settings):
            assert stream_settings.speed is None  # --replay-speed=max

        @pytest.mark.stream_cassette("sub/named.jsonl.gz", speed=7, faults="disconnect@1")
        def test_marker_beats_cli(stream_settings):
            assert stream_settings.speed == 7
            assert stream_settings.faults == ("disconnect@1",)
            assert stream_settings.cassette == Path("tapes/sub/named.jsonl.gz")
        """
    )
    pytester.runpytest("--replay-speed=max").assert_outcomes(passed=3)


def test_a_limit_set_to_none_means_no_limit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.stream_cassette(max_events=None, duration=None)
        def test_unlimited(stream_settings):
            assert stream_settings.max_events is None and stream_settings.duration is None

        def test_defaults(stream_settings):
            assert stream_settings.max_events == 20 and stream_settings.duration == 30.0
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_bad_settings_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.stream_cassette("x", sped=2)
        def test_typo(stream_settings):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["stream_cassette: unknown argument(s) [[]'sped'[]]: expected some of *"])
    assert "Traceback" not in result.stdout.str()
    bad = pytester.runpytest("--replay-speed=fast")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*replay speed: expected a factor > 0 or 'max', found 'fast'"])


def test_cassette_name_without_extension_finds_gz(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes").mkdir()
    shutil.copy(SAMPLE, pytester.path / "cassettes" / "s.jsonl.gz")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.stream_cassette("s")
        def test_found(stream_cassette):
            assert stream_cassette.name == "s.jsonl.gz"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


CONSUMER = """
import pytest, requests

def consume(url, **kw):
    with requests.get(url, headers={"Authorization": "Bearer t"}, stream=True, timeout=10, **kw) as r:
        return r.status_code, [l for l in r.iter_lines() if l]

@pytest.mark.stream_cassette("demo", endpoint="search-stream", max_events=5, speed="max", on_end="close")
def test_consumer(stream_replay, contract):
    status, events = consume(stream_replay.url("search-stream"))
    assert status == 200 and len(events) == 5
    for line in events:
        contract.assert_valid(line, endpoint="search-stream")
"""


def test_records_on_first_run_and_replays_on_the_second(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_demo=CONSUMER)
    cassette = pytester.path / "cassettes" / "demo.jsonl"
    pytester.runpytest("--stream-record-mode=once", "--stream-record-url=loopback").assert_outcomes(passed=1)
    recorded = cassette.read_bytes()
    header = Cassette(cassette).header
    assert header.endpoint == "search-stream" and header.url.startswith("http://127.0.0.1:")
    assert sum(1 for _ in Cassette(cassette).events()) == 5
    # second run: record mode none replays what is there, without touching it
    pytester.runpytest().assert_outcomes(passed=1)
    assert cassette.read_bytes() == recorded
    # once with a cassette present: replay, no new recording
    pytester.runpytest("--stream-record-mode=once", "--stream-record-url=loopback").assert_outcomes(passed=1)
    assert cassette.read_bytes() == recorded
    # all: recorded again (new arrival times)
    pytester.runpytest("--stream-record-mode=all", "--stream-record-url=loopback").assert_outcomes(passed=1)
    assert cassette.read_bytes() != recorded


def test_faults_from_the_marker_reach_the_consumer(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes").mkdir()
    shutil.copy(SAMPLE, pytester.path / "cassettes" / "s.jsonl")
    pytester.makepyfile(
        """
        import json, pytest, requests

        @pytest.mark.stream_cassette("s", speed="max", faults=["disconnect@3"], on_end="close")
        def test_disconnect(stream_replay):
            with requests.get(stream_replay.url("search-stream"), headers={"Authorization": "Bearer t"},
                              stream=True, timeout=10) as r:
                lines = [json.loads(l) for l in r.iter_lines() if l]
            assert [("data" in l) for l in lines] == [True, True, True, False]
            assert "operational-disconnect" in lines[-1]["errors"][0]["type"]
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_proxy_fixture_serves_hard_coded_hosts(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes").mkdir()
    shutil.copy(SAMPLE, pytester.path / "cassettes" / "s.jsonl")
    pytester.makepyfile(
        """
        import os, pytest, requests

        @pytest.mark.stream_cassette("s", speed="max", on_end="close")
        def test_hard_coded_host(stream_replay_proxy):
            assert os.environ["HTTPS_PROXY"] == stream_replay_proxy.proxy_url
            url = "https://api.twitter.com/2/tweets/search/stream"
            with requests.get(url, headers={"Authorization": "Bearer t"}, stream=True, timeout=10) as r:
                assert len([l for l in r.iter_lines() if l]) == 40

        def test_environment_is_restored():
            assert os.environ.get("HTTPS_PROXY") != "set-by-fixture"
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_works_under_xdist(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes").mkdir()
    shutil.copy(SAMPLE, pytester.path / "cassettes" / "s.jsonl")
    pytester.makepyfile(
        """
        import pytest, requests

        @pytest.mark.parametrize("n", range(4))
        @pytest.mark.stream_cassette("s", speed="max", on_end="close")
        def test_each_worker_its_own_port(stream_replay, n):
            with requests.get(stream_replay.url("search-stream"), headers={"Authorization": "Bearer t"},
                              stream=True, timeout=10) as r:
                assert len([l for l in r.iter_lines() if l]) == 40
        """
    )
    pytester.runpytest("-n", "2").assert_outcomes(passed=4)
