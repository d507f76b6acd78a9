"""README's pytest example runs as written: first run records from loopback, second replays."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

# Imported here, before pytester's in-process runs: a module first imported inside a run is
# dropped after it, and a second run's fresh requests then meets the first one's cookie jar
# class ("You can only merge into CookieJar") when harness.cli was imported beforehand.
import requests  # noqa: F401

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

pytest_plugins = ["pytester"]

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_pytest_example(pytester: pytest.Pytester) -> None:
    match = re.search(r"<!-- readme-example: (\S+) -->\n```python\n(.*?)```", README, re.S)
    assert match, "README lost its pytest example"
    name, code = match.groups()
    assert len(code.strip().splitlines()) < 15
    pytester.makepyfile(**{name.removesuffix(".py"): code})
    first = pytester.runpytest("--stream-record-mode=once", "--stream-record-url=loopback")
    first.assert_outcomes(passed=1)
    assert (pytester.path / "cassettes" / "search.jsonl").is_file()
    pytester.runpytest().assert_outcomes(passed=1)
