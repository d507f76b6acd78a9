"""Validation on hostile input (issue 11): the inputs fuzzing found, each once, through
every engine and through `harness validate` against `--engine reference`."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cassette._lines import MAX_LINE, LineCutter, Long
from harness.cli import main
from harness.contract import _fast
from harness.contract._patterns import DATE_TIME, URI_FAST
from harness.contract.checker import Contract
from harness.contract.report import validate_paths
from harness.contract.schemagen import Profile
from harness.contract.validator import FORMAT_CHECKER, ReferenceEngine, SpecValidator

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

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
    from harness.contract import schemagen

    real = schemagen.generate
    monkeypatch.setattr(
        schemagen, "generate", lambda *a: {**real(*a), "X.json": {"$id": "X.json", "unevaluatedProperties": False}}
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


# -- integers json.loads refuses -------------------------------------------------------------
@pytest.mark.parametrize("where", ["unknown member", "metrics"])
def test_an_integer_of_more_than_4300_digits_is_not_json(tmp_path: Path, where: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # As where the C extension could not be built; its own reading is the C side's (h-native).
    monkeypatch.setattr(_fast, "available", lambda: False)
    huge = "9" * 4301
    if where == "metrics":
        metrics = f'{{"retweet_count": {huge}, "reply_count": 0, "like_count": 0, "quote_count": 0}}'
        line = f'{{"data": {{"id": "1", "text": "x", "edit_history_tweet_ids": ["1"], "public_metrics": {metrics}}}}}'
    else:
        line = f'{{"data": {{"id": "1", "text": "x", "edit_history_tweet_ids": ["1"]}}, "x": {huge}}}'
    for name in ("reference", "no C compiler"):
        [v] = CONTRACTS[name].check_line(line.encode(), ENDPOINT)
        assert v.keyword == "json" and "4300" in v.message, name
    dump = tmp_path / "dump.ndjson"
    dump.write_text(line + "\n" + line.replace(huge, huge[:4300]) + "\n")
    code, out = agree(dump, "--endpoint", ENDPOINT)
    assert code == 1 and f"{dump}:1 (event) /: not JSON" in out
    assert f"{dump}:2" not in out  # 4,300 digits are fine (beyond 64 bits: the reference reads them)


# -- nesting, cycles -------------------------------------------------------------------------
DEEP = b"[" * 100_000


def test_a_payload_that_contains_itself_gets_the_references_verdict() -> None:
    # The typed path's walk over the payload never returned on this; the reference (and
    # jsonschema-rs) only walk what the schema describes.
    loop: list[Any] = []
    loop.append(loop)
    looped: dict[str, Any] = {"data": {**TWEET}}
    looped["data"]["self"] = looped
    payloads = [{"data": {**TWEET, "x": loop}}, looped, {"data": {**TWEET, "edit_history_tweet_ids": loop}}]
    for profile in Profile:
        reference = Contract(profile, engine="reference")
        for contract in (Contract(profile), Contract(profile, _fast.FastEngine(profile, native=False))):
            for payload in payloads:
                assert contract.check_event(payload, ENDPOINT) == reference.check_event(payload, ENDPOINT)
            problem = {"type": "about:blank", "title": "t", "x": loop}
            assert contract.check_problem(problem) == reference.check_problem(problem)
    [v] = reference.check_event(payloads[2], ENDPOINT)
    assert (v.pointer, v.keyword) == ("/data/edit_history_tweet_ids/0", "type")
    with pytest.raises(_fast.Cyclic):
        _fast.plain_json(looped)
    shared = ["1"]  # the same list twice is no cycle
    assert _fast.plain_json({"a": shared, "b": [shared, shared]})


def test_a_payload_nested_too_deep_is_one_violation() -> None:
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    for name, contract in CONTRACTS.items():
        # where the schema says nothing, nothing walks it; where the reference walks, it gives up
        assert contract.check_event({"data": {**TWEET, "x": deep}}, ENDPOINT) == [], name
        [v] = contract.check_event({"data": {**TWEET, "edit_history_tweet_ids": deep}}, ENDPOINT)
        assert v.message == "not JSON: nested too deep to check", name
        [v] = contract.check_line(b'{"data": ' + DEEP, ENDPOINT)
        assert v.keyword == "json" and "nested too deep" in v.message, name


def header(**extra: Any) -> bytes:
    h = {
        "format": "x-stream-cassette",
        "version": 2,
        "endpoint": ENDPOINT,
        "url": "https://api.x.com/2/tweets/search/stream",
    }
    return json.dumps(h | extra).encode() + b"\n"


CONNECTION = b'{"kind":"connection","index":0,"started":0,"offset":0.1,"status":200,"reason":"OK","headers":[]}\n'


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_deep_nesting_is_a_finding_or_one_line(tmp_path: Path, jobs: str) -> None:
    dump = tmp_path / "deep.ndjson"
    dump.write_bytes(DEEP + b"\n" + json.dumps({"data": TWEET}).encode() + b"\n")
    code, out = validate(dump, "--endpoint", ENDPOINT, "-j", jobs)
    assert code == 1 and f"{dump}:1 (event) /: not JSON (nested too deep)" in out and "2 event(s)" in out

    record = tmp_path / "record.jsonl"
    record.write_bytes(header() + CONNECTION + b'{"kind":"line","offset":0.2,"json":' + DEEP + b"}\n")
    code, out = validate(record, "-j", jobs)
    assert (code, out) == (2, f"error: {record}:3: malformed record: nested too deep to read\n")

    text = tmp_path / "text.jsonl"  # as the recorder stores such a line: text, checked as a payload
    text.write_bytes(header() + CONNECTION + b'{"kind":"line","offset":0.2,"text":"' + DEEP + b'"}\n')
    code, out = validate(text, "-j", jobs)
    assert code == 1 and f"{text}:3 @0.200000s (event) /: not JSON (nested too deep)" in out

    head = tmp_path / "head.jsonl"
    head.write_bytes(b'{"format": "x-stream-cassette", "labels": ' + DEEP + b"\n" + CONNECTION)
    code, out = validate(head, "-j", jobs)
    assert (code, out) == (
        2,
        f"error: {head} is not a cassette: give --endpoint NAME to validate it as raw NDJSON lines\n",
    )


def test_the_recorder_stores_a_deep_line_as_text() -> None:
    from harness.cassette.records import encode_lines, parse_record

    record = encode_lines([DEEP + b"\r\n"], 0.5)
    assert b'"text":' in record and parse_record(record).raw == DEEP + b"\r\n"  # type: ignore[union-attr]


# -- the uri check is linear -----------------------------------------------------------------
def test_the_fallback_checks_each_uri_once_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The typed path matched one regex over all URIs of a batch joined by newlines, which
    backtracked exponentially on this line (minutes). Each value is now checked alone, once."""
    from harness.contract import validator

    seen: list[str] = []

    def counting(value: str) -> bool:
        seen.append(value)
        return validator.uri(value)

    monkeypatch.setitem(validator.FORMATS, "uri", counting)
    urls = [{"start": 0, "end": 1, "url": f"https://example.com/{'a' * 40}/{i}"} for i in range(30)]
    urls.append({"start": 0, "end": 1, "url": "a b"})
    line = json.dumps({"data": {**TWEET, "entities": {"urls": urls}}}).encode()
    contract = Contract(engine=_fast.FastEngine(native=False))
    [v] = contract.check_line(line, ENDPOINT)
    assert (v.pointer, v.keyword) == ("/data/entities/urls/30/url", "format")
    assert all("\n" not in value for value in seen) and set(seen) <= {u["url"] for u in urls}
    # jsonschema-rs checks the usual URIs against their pattern (a linear regex) without
    # asking the rule; the rule is asked of the unusual one only, alone
    assert "a b" in seen and len(seen) <= 2 * len(urls)


# -- a line limit: bounded memory, linear time -----------------------------------------------
class Counting(bytes):
    """A chunk that counts the bytes its `find` calls look at."""

    scanned = 0

    def find(self, sub: Any, start: Any = 0, *args: Any) -> int:
        found = super().find(sub, start, *args)
        Counting.scanned += (found + 1 if found >= 0 else len(self)) - start
        return found


def test_lines_are_cut_looking_at_each_byte_once() -> None:
    Counting.scanned = 0
    cutter, size, out = LineCutter(limit=1 << 20), 0, []
    for i in range(200):  # a 12.5 MiB line in 64 KiB chunks, then short ones
        chunk = Counting(b"a" * (1 << 16) if i < 199 else b"a\nb\nc")
        size += len(chunk)
        out += cutter.feed(chunk)
    last = cutter.end()
    assert last is not None
    out.append(last)
    assert Counting.scanned == size
    assert out == [Long(size - 3), b"b\n", b"c"]
    cutter = LineCutter(limit=5)  # bytes, the newline included
    assert cutter.feed(b"abcd\nabcde\nab") + cutter.feed(b"cdef") + [cutter.end()] == [
        b"abcd\n",
        Long(6),
        Long(6, terminated=False),
    ]


TOO_LONG = MAX_LINE + 1


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_ndjson_line_beyond_the_limit_is_a_finding(tmp_path: Path, gz: bool, jobs: str) -> None:
    good = json.dumps({"data": TWEET}).encode() + b"\n"
    data = good + b'{"data": "' + b"a" * TOO_LONG + b'"}\n' + good + b"x" * TOO_LONG
    dump = tmp_path / ("dump.ndjson.gz" if gz else "dump.ndjson")
    dump.write_bytes(gzip.compress(data, 1) if gz else data)
    code, out = validate(dump, "--endpoint", ENDPOINT, "-j", jobs)
    assert code == 1
    assert f"{dump}:2 (event) /: not JSON (a line of {TOO_LONG + 13} bytes, more than the {MAX_LINE}" in out
    assert f"{dump}:4 (event) /: not JSON (a line of {TOO_LONG} bytes" in out
    assert "4 event(s)" in out and "2 violation(s)" in out


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_cassette_record_beyond_the_limit_is_one_line(tmp_path: Path, gz: bool, jobs: str) -> None:
    record = b'{"kind":"line","offset":0.2,"text":"' + b"a" * TOO_LONG + b'"}'
    good = b'{"kind":"line","offset":0.3,"json":' + json.dumps({"data": TWEET}).encode() + b"}\n"
    for name, data in (
        ("long", header() + CONNECTION + record + b"\n" + good),
        ("cut", header() + CONNECTION + good + record),
    ):
        path = tmp_path / (f"{name}.jsonl.gz" if gz else f"{name}.jsonl")
        path.write_bytes(gzip.compress(data, 1) if gz else data)
        code, out = validate(path, "-j", jobs)
        if name == "long":
            assert (code, out) == (
                2,
                f"error: {path}:3: a record of {len(record) + 1} bytes, more than the {MAX_LINE} one may have\n",
            )
        else:
            assert code == 0 and f"line 4 is cut short ({len(record)} bytes, no newline): ignored" in out


def peak_rss_mb(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Peak RSS of `harness *args` run in a fresh process, its workers included, in MB."""
    probe = (
        "import resource, subprocess, sys, json\n"
        "done = subprocess.run([sys.executable, '-m', 'harness', *sys.argv[1:]], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([peak, done.returncode, done.stdout, done.stderr]))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
    kb, code, out, err = json.loads(result.stdout)
    return kb / 1024, subprocess.CompletedProcess(args, code, out, err)


@pytest.mark.parametrize("gz", [False, True])
def test_a_huge_line_without_newline_keeps_memory_bounded(tmp_path: Path, gz: bool) -> None:
    """256 MB on one line, no newline: main peaked at 6x that. Bounded by the line limit."""
    size = 256 << 20
    path = tmp_path / ("huge.ndjson.gz" if gz else "huge.ndjson")
    with gzip.open(path, "wb", 1) if gz else open(path, "wb") as f:
        f.write(json.dumps({"data": TWEET}).encode() + b"\n")
        for _ in range(size >> 20):
            f.write(b"[" * (1 << 20))
    for jobs in ("1", "2"):
        peak, done = peak_rss_mb("validate", str(path), "--endpoint", ENDPOINT, "-j", jobs)
        assert done.returncode == 1, done.stderr
        assert f"{path}:2 (event) /: not JSON (a line of {size} bytes" in done.stdout
        assert peak < 250, f"-j {jobs}: {peak:.0f} MB"


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\r\n", b"xyz" * 3]), max_size=40).map(b"".join),
    cuts=st.lists(st.integers(0, 120), max_size=6),
    limit=st.integers(1, 12),
)
def test_lines_are_cut_as_splitting_the_whole_would(data: bytes, cuts: list[int], limit: int) -> None:
    expected: list[bytes | Long] = []
    for line in _lf_lines(data):  # split at LF only, as stream lines are
        expected.append(Long(len(line), line.endswith(b"\n")) if len(line) > limit else line)
    cutter, got, start = LineCutter(limit), list[bytes | Long](), 0
    for end in [*sorted(c for c in cuts if c <= len(data)), len(data)]:
        got += cutter.feed(data[start:end]) if end > start else []
        start = max(start, end)
    last = cutter.end()
    assert got + ([last] if last is not None else []) == expected


def _lf_lines(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    return [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
