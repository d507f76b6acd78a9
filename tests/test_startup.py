"""Start-up: `harness --help` and `harness validate` of valid input import neither the recorder,
the replay server nor jsonschema (measured in benchmarks/startup.py; here, what is loaded)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from harness.cli import main
from harness.cli._lazy import LAZY, load

pytestmark = pytest.mark.integration

HEAVY = ("harness.record", "harness.replay", "harness.cli.stream", "harness.cli.replay", "jsonschema", "referencing")

PROBE = """
import json, sys
from harness.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded(*args: str) -> set[str]:
    run = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    modules: list[str] = json.loads(run.stderr.strip().splitlines()[-1])
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_help_loads_no_command_module() -> None:
    assert loaded("--help") == set()


def test_validating_valid_input_loads_no_reference(tmp_path: Path) -> None:
    path = tmp_path / "tiny.ndjson"
    path.write_text(json.dumps({"data": {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"]}}) + "\n")
    assert loaded("validate", "-e", "search-stream", str(path)) == set()


def test_a_drifted_date_is_found_without_jsonschema(tmp_path: Path) -> None:
    path = tmp_path / "drifted.ndjson"
    event = {"data": {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"], "created_at": "Wed Oct 10 20:19:24"}}
    path.write_text(json.dumps(event) + "\n")
    assert loaded("validate", "-e", "search-stream", str(path)) == set()


def test_an_invalid_event_still_gets_the_references_findings(tmp_path: Path) -> None:
    path = tmp_path / "tiny.ndjson"
    path.write_text(json.dumps({"data": {"id": "x", "text": "hi", "edit_history_tweet_ids": ["1"]}}) + "\n")
    run = subprocess.run(
        [sys.executable, "-m", "harness", "validate", "-e", "search-stream", str(path)], capture_output=True, text=True
    )
    assert run.returncode == 1 and "'x' does not match '^[0-9]{1,19}$' [pattern at TweetId.json#/pattern]" in run.stdout


def test_the_lazy_table_says_what_the_modules_hold() -> None:
    group = click.Group()
    for module in {m for m, _ in LAZY.values()}:
        load(group, module)
    assert set(group.commands) == set(LAZY)
    for name, command in group.commands.items():
        assert LAZY[name][1] == (command.help or "").split("\n\n")[0]


def test_lazy_commands_run_and_show_their_help() -> None:
    run = subprocess.run([sys.executable, "-m", "harness", "replay", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "CASSETTES" in run.stdout
    assert set(LAZY) <= set(main.list_commands(click.Context(main)))
