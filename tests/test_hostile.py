"""Validation on hostile input (issue 11): the inputs fuzzing found, each once, through
every engine and through `harness validate` against `--engine reference`."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import _fast
from harness._patterns import DATE_TIME, URI_FAST
from harness.cli import main
from harness.report import validate_paths
from harness.schemagen import Profile
from harness.validator import FORMAT_CHECKER, Contract, ReferenceEngine, SpecValidator

TWEET = {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"]}
ENDPOINT = "search-stream"
STOCK = jsonschema.Draft202012Validator.FORMAT_CHECKER


def contracts() -> dict[str, Contract]:
    return {
        "reference": Contract(engine="reference"),
        "fast": Contract(),
        "no C compiler": Contract(engine=_fast.FastEngine(native=False)),
    }


CONTRACTS = contracts()


@pytest.fixture(params=["native", "no C compiler"])
def native(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`harness validate` as built, and as where the C extension could not be built."""
    if request.param != "native":
        monkeypatch.setattr(_fast, "available", lambda: False)
    yield request.param


def validate(path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", str(path), "-j", "1", *args])
    return result.exit_code, result.stdout + result.stderr


def agree(path: Path, *args: str) -> tuple[int, str]:
    """`harness validate` and `--engine reference` on one file: the same exit code and output."""
    fast, reference = validate(path, *args), validate(path, *args, "--engine", "reference")
    assert fast == reference
    return fast


# -- date-time and uri take no trailing newline ----------------------------------------------
@pytest.mark.parametrize(
    ("member", "value", "pointer"),
    [
        ("created_at", "2021-01-06T18:40:40.000Z\n", "/data/created_at"),
        ("entities", {"urls": [{"start": 0, "end": 1, "url": "https://t.co/a\n"}]}, "/data/entities/urls/0/url"),
    ],
)
def test_a_trailing_newline_is_no_date_time_nor_uri(member: str, value: Any, pointer: str) -> None:
    payload = {"data": {**TWEET, member: value}}
    for name, contract in CONTRACTS.items():
        [v] = contract.check_event(payload, ENDPOINT)
        assert (v.pointer, v.keyword) == (pointer, "format"), name
        [v] = contract.check_line(json.dumps(payload).encode(), ENDPOINT)
        assert (v.pointer, v.keyword) == (pointer, "format"), name
    text, fmt = (value, "date-time") if isinstance(value, str) else (value["urls"][0]["url"], "uri")
    assert not FORMAT_CHECKER.conforms(text, fmt)
    assert FORMAT_CHECKER.conforms(text[:-1], fmt)
    valid = {"data": {**TWEET, member: json.loads(json.dumps(value).replace("\\n", ""))}}
    assert all(not c.check_event(valid, ENDPOINT) for c in CONTRACTS.values())


def test_a_trailing_newline_through_the_cli(tmp_path: Path, native: str) -> None:
    dump = tmp_path / "dump.ndjson"
    dump.write_text(json.dumps({"data": {**TWEET, "created_at": "2021-01-06T18:40:40.000Z\n"}}) + "\n")
    code, out = agree(dump, "--endpoint", ENDPOINT)
    assert code == 1 and "is not a 'date-time'" in out


def test_pattern_properties_read_dollar_as_the_spec_does() -> None:
    schema = {"type": "object", "patternProperties": {"^[0-9]+$": {"type": "integer"}}, "additionalProperties": False}
    validator = SpecValidator(schema, format_checker=FORMAT_CHECKER)
    assert validator.is_valid({"12": 1})
    assert not validator.is_valid({"12": "x"})
    # "12\n" matches no pattern: an additional member, not one the pattern's schema checks
    assert [e.message for e in validator.iter_errors({"12\n": "x"})] == [
        "'12\\n' does not match any of the regexes: '^[0-9]+$'"
    ]
    open_schema = {"type": "object", "patternProperties": {"^a$": {"type": "integer"}}}
    assert SpecValidator(open_schema).is_valid({"a\n": "not checked: another member"})
    assert not SpecValidator(open_schema).is_valid({"a": "x"})


def test_the_reference_refuses_what_it_would_misread(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import schemagen

    real = schemagen.generate
    monkeypatch.setattr(
        schemagen, "generate", lambda p: {**real(p), "X.json": {"$id": "X.json", "unevaluatedProperties": False}}
    )
    with pytest.raises(ValueError, match="unevaluatedProperties"):
        ReferenceEngine(Profile.DEFAULT)


# -- JSON whitespace is space, tab, CR and LF ------------------------------------------------
@pytest.mark.parametrize("blank", [b"\x0b", b"\x0c", b"\x0b\x0c \t"])
@pytest.mark.parametrize("gz", [False, True])
def test_a_vertical_tab_or_form_feed_is_no_heartbeat(tmp_path: Path, blank: bytes, gz: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # The native checker's own reading of these is the C side's (branch h-native): here the
    # Python paths, as where the extension could not be built.
    monkeypatch.setattr(_fast, "available", lambda: False)
    lines = [json.dumps({"data": TWEET}).encode(), b" \t", blank, blank + json.dumps({"data": TWEET}).encode()]
    data = b"\r\n".join(lines) + b"\r\n"
    dump = tmp_path / ("dump.ndjson.gz" if gz else "dump.ndjson")
    dump.write_bytes(gzip.compress(data) if gz else data)
    code, out = agree(dump, "--endpoint", ENDPOINT)
    assert code == 1
    assert f"{dump}:3 (event) /: not JSON" in out and f"{dump}:4 (event) /: not JSON" in out
    assert "3 event(s), 0 error payload(s), 1 heartbeat(s)" in out
    findings, tally = validate_paths([dump], endpoint=ENDPOINT)
    assert [f.line for f in findings] == [3, 4] and tally.heartbeats == 1


# -- the native checker's string rules are a part of the reference's ---------------------------
@settings(max_examples=300, deadline=None)
@given(value=st.from_regex(f"\\A(?:{DATE_TIME})\\Z"))
def test_the_usual_date_times_are_reference_date_times(value: str) -> None:
    assert STOCK.conforms(value, "date-time") and FORMAT_CHECKER.conforms(value, "date-time")


@settings(max_examples=300, deadline=None)
@given(value=st.from_regex(f"\\A(?:{URI_FAST})\\Z"))
def test_the_usual_uris_are_reference_uris(value: str) -> None:
    assert STOCK.conforms(value, "uri") and FORMAT_CHECKER.conforms(value, "uri")
