"""Rules around recording and `harness serve`: limits, every page, the loopback source's rules.

X's GET .../rules answers at most 1000 rules a page: a recording of an app with more must
follow `next_token` to keep them all; `harness serve` takes the same limits as the replay;
`harness record --loopback --rules FILE` installs the file's rules into the loopback source.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from test_replayer import cli_argv, ready_info
from test_rules import RULES_PATH

from harness.cassette import Cassette, Line
from harness.cli.app import HarnessGroup
from harness.cli.stream import COMMANDS
from harness.replay.loopback import LoopbackServer, ServeOptions

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

cli = HarnessGroup(commands={c.name or "": c for c in COMMANDS})


def test_the_recorder_reads_every_page_of_the_rules_in_effect(tmp_path: Path) -> None:
    many = [{"value": f"word{i}", "tag": f"t{i}"} for i in range(1234)]
    out = tmp_path / "c.jsonl"
    with LoopbackServer(ServeOptions(rate=50, max_events=2, rules=many, max_rules=2000)) as server:
        argv = ["record", "search-stream", "--base-url", server.base_url, "-o", str(out)]
        result = CliRunner().invoke(cli, argv, env={"X_BEARER_TOKEN": "t"})
        installed = server.rules.rules
    assert result.exit_code == 0, result.output
    header = Cassette(out).header
    assert header.rules is not None and [dict(r) for r in header.rules] == installed
    assert len(installed) == 1234
    pages = [c["query"] for c in header.api_calls]
    assert [list(q) for q in pages] == [[], ["pagination_token"]]  # its value redacted, as a *token* is


def test_harness_serve_takes_the_rule_limits(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    argv = cli_argv("serve", "--ready-file", ready, "--max-rules", 2, "--max-rule-length", 10, "-q")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("listening ")
        url = ready_info(ready)["url"] + RULES_PATH
        auth = {"Authorization": "Bearer t"}
        too_long = requests.post(url, headers=auth, json={"add": [{"value": "elevenchars"}]}, timeout=5)
        over_cap = requests.post(url, headers=auth, json={"add": [{"value": "a"}, {"value": "b"}]}, timeout=5)
        counts = requests.get(url + "/counts", headers=auth, timeout=5).json()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert "the limit is 10" in too_long.json()["errors"][0]["details"][0]
    assert over_cap.json()["errors"][0]["type"].endswith("/rule-cap")  # the loopback rule + 2 > 2
    assert counts["data"]["cap_per_client_app"] == 2


def test_record_from_the_loopback_source_installs_the_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"value": "cats", "tag": "c"}, {"value": "dogs", "tag": "d"}]))
    out = tmp_path / "lb.jsonl"
    argv = ["record", "search-stream", "--loopback", "-o", str(out), "--rules", str(rules), "--max-events", "6"]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    cassette = Cassette(out)
    assert cassette.header.rules is not None
    by_value = {r["value"]: r for r in cassette.header.rules}
    assert {"cats", "dogs", "loopback"} == set(by_value)  # the source's own rule is no token: not redacted
    named = {m["id"] for line in cassette if isinstance(line, Line) and line.raw.strip()
             for m in json.loads(line.raw)["matching_rules"]}  # fmt: skip
    assert {by_value["cats"]["id"], by_value["dogs"]["id"]} <= named
    assert out.read_text().count("<redacted>") == 1  # the Authorization header's token only


def test_replace_rules_at_the_cap_replaces_them(tmp_path: Path) -> None:
    """At the cap, a dry run of the new rules is refused for the cap (it counts the rules in effect):
    --replace-rules, which makes room, goes on; the rules' syntax is checked by the harness."""
    full = [{"value": f"old{i}"} for i in range(3)]
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"value": "cats", "tag": "c"}, {"value": "dogs"}]))
    out = tmp_path / "c.jsonl"
    with LoopbackServer(ServeOptions(rate=50, max_events=2, rules=full, max_rules=3)) as server:
        argv = ["record", "search-stream", "--base-url", server.base_url, "-o", str(out), "--rules", str(rules),
                "--replace-rules"]  # fmt: skip
        result = CliRunner().invoke(cli, argv, env={"X_BEARER_TOKEN": "t"})
        installed = [r["value"] for r in server.rules.rules]
        rules.write_text(json.dumps([{"value": "(cats"}, {"value": "birds"}]))  # invalid, and over the cap
        argv[5] = str(tmp_path / "refused.jsonl")
        refused = CliRunner().invoke(cli, argv, env={"X_BEARER_TOKEN": "t"})
        after = [r["value"] for r in server.rules.rules]
    assert result.exit_code == 0, result.output
    assert installed == ["cats", "dogs"]
    header = Cassette(out).header
    assert header.api_calls[0]["status"] == 400 and header.rules is not None  # the dry run, as answered
    assert [r["value"] for r in header.rules] == ["cats", "dogs"]
    assert refused.exit_code == 2 and "never closed" in refused.output and after == ["cats", "dogs"]
