"""The fast engine gives the reference's verdicts: a differential test over valid and
mutated payloads of every endpoint, raw lines included, and the edge cases one by one."""

from __future__ import annotations

import copy
import json
from collections import OrderedDict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.contract import schemagen
from harness.contract._fast import FastEngine
from harness.contract.checker import Contract
from harness.contract.schemagen import Profile
from harness.contract.validator import PROBLEM_SCHEMA, ReferenceEngine, Violation, not_json, payload_kind
from harness.model import ENDPOINTS
from harness.testing import strategies as xs

REFERENCE = {p: ReferenceEngine(p) for p in Profile}
FAST = {p: FastEngine(p, reference=REFERENCE[p]) for p in Profile}
CONTRACTS = {p: Contract(p, FAST[p]) for p in Profile}
# jsonschema-rs alone, as where the native checker could not be built
FALLBACK_FAST = {p: FastEngine(p, reference=REFERENCE[p], native=False) for p in Profile}
FALLBACK = {p: Contract(p, FALLBACK_FAST[p]) for p in Profile}
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
BATCH = 256  # lines per inspect_lines call, as `harness validate` gives them

DATE_TIMES = [
    "2026-11-05T10:11:12Z", "2026-11-05t10:11:12z", "2026-11-05T10:11:12.123456789+05:30", "2026-11-05T10:11:12-00:00",
    "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
    "2023-02-30T00:00:00Z", "2023-04-31T00:00:00Z", "2023-12-31T23:59:60Z", "0000-01-01T00:00:00Z",
    "2023-01-01 00:00:00Z", "2023-01-01T00:00:00+0530", "2023-01-01T00:00:00+24:00", "2023-01-01T00:00:00",
    "2023-01-01T00:00:00.Z", "2023-01-01T24:00:00Z", "2023-1-01T00:00:00Z", "2023-01-01T00:00:00Z\n",
    "\uff12\uff10\uff12\uff13-01-01T00:00:00Z", "Wed Jan 06 18:40:40 +0000 2021",
]  # fmt: skip
URIS = [
    "https://t.co/abc", "http://example.com:8080/a/b?c=d&e#f", "mailto:a@b.c", "urn:isbn:0451450523", "about:blank",
    "http://[::1]:80/x", "https://a/%41%zz", "https://a/%41", "https://a b", "//no-scheme", "https://a#b#c",
    "https://user@host/", "HTTPS://X.COM", "https://a\n", "https://é.com", "https:", "", "1http://x",
    "http:a//b?c", "https:?q", "https:///", "https://a:b", "http://a/b:c", "https://a\nhttps://b",
]  # fmt: skip
IDS = [
    "0",
    "1234567890123456789",
    "12345678901234567890",
    "\u0661\u0662\u0663",
    "12\n",
    " 12",
    "-1",
    "1.0",
    "",
    "1e5",
    "00",
]
KEYS = ["1_2", "13_1263145212760805376", "1__2", "_1", "1_", "a_1", "1_2\n", "1_2_3", "\u0661_2"]
NAMES = ["a", "abcdefghijklmno", "abcdefghijklmnop", "é", "a-b", "_", "A1_", "ab\n", "\uff21"]
CODES = ["US", "us", "USA", "U", "ÜS", "U1", "US\n"]
STRINGS = DATE_TIMES + URIS + IDS + KEYS + NAMES + CODES + ["photo", "video", "x" * 1001, "\ud800"]
NUMBERS = [-1, 0, 1.0, 2.5, 100.0, True, False, 2**64, -(2**63) - 1, 10**30, 1e300, 599, 600, 10080, 10081, None, "1"]


def reference_line(raw: bytes | str, schema: str, profile: Profile) -> tuple[str, list[Violation]]:
    """What the reference path makes of a raw line: json.loads, then jsonschema."""
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        return "event", [not_json(raw if isinstance(raw, str) else raw.decode("utf-8", "replace"), str(exc))]
    return payload_kind(payload), REFERENCE[profile].violations(schema, payload)


def sites(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    found = [(path, value)]
    if isinstance(value, dict):
        for k, v in value.items():
            found += sites(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += sites(v, (*path, i))
    return found


def replace(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = new
    return doc


@st.composite
def mutated(draw: st.DrawFn, payload: Any) -> Any:
    """`payload` with a few targeted changes: wrong types, edge strings and numbers,
    members added or removed, lists emptied or grown."""
    doc = copy.deepcopy(payload)
    for _ in range(draw(st.integers(0, 3))):
        candidates = sites(doc)
        strings = [s for s in candidates if isinstance(s[1], str)]
        use_strings: bool = draw(st.booleans())
        path, value = draw(st.sampled_from(strings if strings and use_strings else candidates))
        if isinstance(value, str):
            new: Any = draw(st.sampled_from(STRINGS) | st.just(value + "\n") | st.text(max_size=4) | st.just(5))
        elif isinstance(value, (bool, int, float)):
            new = draw(st.sampled_from(NUMBERS))
        elif isinstance(value, list):
            kind = draw(st.sampled_from(["empty", "drop", "grow", "dict", "null"]))
            new = {"empty": [], "drop": value[1:], "grow": [*value, *value[:1], 7], "dict": {}, "null": None}[kind]
        elif isinstance(value, dict):
            kind = draw(st.sampled_from(["drop", "add", "type", "list", "null"]))
            keys = sorted(value)
            if kind == "drop" and keys:
                new = {k: v for k, v in value.items() if k != draw(st.sampled_from(keys))}
            elif kind == "add":
                key = draw(st.sampled_from(["brand_new", "data", "errors", "type"]))
                new = {**value, key: draw(st.sampled_from(STRINGS))}
            elif kind == "type":
                new = {**value, "type": draw(st.sampled_from(["video", "VIDEO", "photo", "about:blank", 5, "x"]))}
            else:
                new = [] if kind == "list" else None
        else:
            new = draw(st.sampled_from(["null", 0, [], {}]))
        doc = replace(doc, path, new)
    return doc


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, Any]:
    endpoint = draw(st.sampled_from(sorted(ENDPOINTS)))
    payload = draw(xs.events(endpoint, optional=0.4, edge=True) | xs.error_payloads())
    return schemagen.event_file(endpoint), draw(mutated(payload))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), profile=st.sampled_from(list(Profile)), ascii_only=st.booleans())
def test_verdicts_equal_the_reference(case: tuple[str, Any], profile: Profile, ascii_only: bool) -> None:
    schema, payload = case
    expected = REFERENCE[profile].violations(schema, payload)
    assert FAST[profile].violations(schema, payload) == expected
    try:
        raw = json.dumps(payload, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    except ValueError:  # NaN in strict dumps: not possible here, floats are finite
        return
    endpoint = next(e for e in ENDPOINTS if schemagen.event_file(e) == schema)
    expected_line = reference_line(raw, schema, profile)
    assert CONTRACTS[profile].inspect_line(raw, endpoint) == expected_line
    assert FALLBACK[profile].inspect_line(raw, endpoint) == expected_line


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), profile=st.sampled_from(list(Profile)), data=st.data())
def test_the_fallback_never_accepts_what_the_reference_rejects(
    case: tuple[str, Any], profile: Profile, data: st.DataObject
) -> None:
    """jsonschema-rs (where the C checker is not built) only ever settles valid payloads:
    events of every endpoint, in-stream error payloads and HTTP error bodies, mutated."""
    schema, payload = case
    strings = [s for s in sites(payload) if isinstance(s[1], str) and s[0]]
    more: bool = data.draw(st.booleans())
    if strings and more:  # and one string more, often a date-time or URI one
        formatted = [s for s in strings if FORMATS.conforms(s[1], "date-time") or FORMATS.conforms(s[1], "uri")]
        path, value = data.draw(st.sampled_from(formatted or strings))
        new = data.draw(st.sampled_from(STRINGS) | st.just(value + "\n") | st.just(value[:-1]))
        payload = replace(copy.deepcopy(payload), path, new)
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors and data.draw(st.booleans()):  # an HTTP error body: one Problem
        schema, payload = PROBLEM_SCHEMA, errors[0]
    fallback = FALLBACK_FAST[profile]
    for candidate in (payload, json.loads(json.dumps(payload))):
        if fallback.accepts(schema, candidate):
            assert REFERENCE[profile].violations(schema, candidate) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batches_of_lines_equal_the_reference_line_by_line(data: st.DataObject) -> None:
    endpoint = data.draw(st.sampled_from(sorted(ENDPOINTS)))
    payloads = data.draw(
        st.lists(xs.events(endpoint, optional=0.3, edge=True) | xs.error_payloads(), min_size=2, max_size=6)
    )
    payloads = [data.draw(mutated(p)) if data.draw(st.booleans()) else p for p in payloads]
    raws = [json.dumps(p, ensure_ascii=False).encode("utf-8", "surrogatepass") for p in payloads]
    schema = schemagen.event_file(endpoint)
    expected = [reference_line(r, schema, Profile.DEFAULT) for r in raws]
    assert CONTRACTS[Profile.DEFAULT].inspect_lines(raws, endpoint) == expected
    assert FALLBACK[Profile.DEFAULT].inspect_lines(raws, endpoint) == expected


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_valid_payloads_take_the_fast_path(data: st.DataObject) -> None:
    """Not just equal verdicts: generated (valid) payloads never need the reference."""
    endpoint = data.draw(st.sampled_from(sorted(ENDPOINTS)))
    payload = data.draw(xs.events(endpoint, edge=True) | xs.error_payloads())
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")
    for profile in Profile:
        for native in (True, False):
            contract = Contract(profile, FastEngine(profile, reference=NO_REFERENCE, native=native))
            assert contract.check_event(payload, endpoint) == []
            assert contract.inspect_line(raw, endpoint) == (payload_kind(payload), [])


class _NoReference:
    def violations(self, schema: str, payload: Any) -> list[Violation]:
        raise AssertionError(f"the reference was asked about a valid payload: {payload!r}")

    def line_kinds(self, schema: str, raws: Sequence[bytes | str]) -> list[str | None]:
        raise AssertionError("the reference was asked about raw lines")


NO_REFERENCE = _NoReference()


TWEET = {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"]}


def event(**tweet: Any) -> dict[str, Any]:
    return {"data": {**TWEET, **tweet}}


def same(payload: Any, schema: str = "search-stream.event.json") -> list[Violation]:
    for profile in Profile:
        expected = REFERENCE[profile].violations(schema, payload)
        assert FAST[profile].violations(schema, payload) == expected, (profile, payload)
        assert FALLBACK_FAST[profile].violations(schema, payload) == expected, (profile, payload)
    return FAST[Profile.DEFAULT].violations(schema, payload)


@pytest.mark.parametrize("value", DATE_TIMES)
def test_date_times(value: str) -> None:
    same(event(created_at=value))


@pytest.mark.parametrize("value", URIS)
def test_uris(value: str) -> None:
    same(event(entities={"urls": [{"start": 0, "end": 1, "url": value, "expanded_url": value}]}))


@pytest.mark.parametrize("value", IDS + KEYS + NAMES + CODES)
def test_patterns(value: str) -> None:
    same(event(id=value, author_id=value, attachments={"media_keys": [value]}))
    same({"data": TWEET, "includes": {"users": [{"id": "1", "name": "n", "username": value}]}})
    same({"data": TWEET, "includes": {"places": [{"id": "p", "full_name": "f", "country_code": value}]}})


@pytest.mark.parametrize("value", [*NUMBERS, float("nan"), float("inf")])
def test_numbers(value: Any) -> None:
    same(event(public_metrics={"retweet_count": value, "reply_count": 0, "like_count": 0, "quote_count": 0}))
    same({"data": TWEET, "includes": {"polls": [{"id": "1", "options": [
        {"position": value, "label": "a", "votes": 0}, {"position": 1, "label": "b", "votes": 0}]}]}})  # fmt: skip
    same(event(context_annotations=[{"domain": {"id": "1"}, "entity": {"id": "2"}}], display_text_range=[0, value]))


def test_integers_as_json_floats_and_booleans() -> None:
    # 1.0 is an integer to JSON Schema 2020-12 (and to jsonschema): valid, via the reference.
    assert same(event(public_metrics={"retweet_count": 1.0, "reply_count": 0, "like_count": 0, "quote_count": 0})) == []
    [v] = same(event(public_metrics={"retweet_count": True, "reply_count": 0, "like_count": 0, "quote_count": 0}))
    assert (v.pointer, v.keyword) == ("/data/public_metrics/retweet_count", "type")


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_fixed_length_and_minimum_length_arrays(n: int) -> None:
    same(event(display_text_range=list(range(n))))
    same(event(edit_history_tweet_ids=["1"] * n))
    options = [{"position": i, "label": "a", "votes": 0} for i in range(n + 2)]
    same({"data": TWEET, "includes": {"polls": [{"id": "1", "options": options}]}})


@pytest.mark.parametrize(
    "media",
    [{"type": t, "media_key": "1_2", **extra} for t in ("photo", "video", "animated_gif", "VIDEO", "", 5, None)
     for extra in ({}, {"duration_ms": 5}, {"alt_text": "a"}, {"duration_ms": "5"})] + [{"media_key": "1_2"}],
)  # fmt: skip
def test_media_union_by_type(media: dict[str, Any]) -> None:
    same({"data": TWEET, "includes": {"media": [media]}})


@pytest.mark.parametrize("host", ["https://api.x.com", "https://api.twitter.com", "https://example.com"])
@pytest.mark.parametrize("slug", ["operational-disconnect", "resource-not-found", "nope", "client-forbidden"])
def test_problem_union_by_type_uri(host: str, slug: str) -> None:
    problem = {"type": f"{host}/2/problems/{slug}", "title": "t", "disconnect_type": "SlowReader",
               "resource_type": "tweet", "parameter": "id", "value": "1", "resource_id": "1",
               "registration_url": "not a uri"}  # fmt: skip
    same(problem, "Problem.json")
    same({"errors": [problem]})
    same({"errors": [{"type": "about:blank", "title": "t"}]})


@pytest.mark.parametrize(
    "payload",
    [{}, {"data": TWEET}, {"errors": []}, {"data": None}, {"includes": {}}, {"data": TWEET, "errors": [{"title": 1}]}],
)
def test_envelopes_need_data_or_errors(payload: dict[str, Any]) -> None:
    same(payload)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"], "x": NaN}}',
        b'{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"], "x": Infinity}}',
        b'{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"], "public_metrics": '
        b'{"retweet_count": 123456789012345678901234567890, "reply_count": 1e2, "like_count": 0, "quote_count": 0}}}',
        b'{"data": {"id": "1", "text": "\\ud800", "edit_history_tweet_ids": ["1"]}}',
        b'{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"], "x": "\xed\xa0\x80"}}',
        b'{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"], "x": "\xff"}}',
        b'{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"], "x": "\xc0\xaf"}}',
        b'\xef\xbb\xbf{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"]}}',
        '{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"]}}'.encode("utf-16"),
        b'{"data": {"id": "x", "text": "x", "edit_history_tweet_ids": ["1"]}, "data": {"id": "1", "text": "x", '
        b'"edit_history_tweet_ids": ["1"]}}',
        b'{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"]}, "data": {"id": "x"}}',
        b'{"d\\u0061ta": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"]}}',
        b'{"data": {"id": "\\u0031", "text": "x", "edit_history_tweet_ids": ["1"], "source": "a\\/b"}}',
        b'{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"], "entities": {"urls": '
        b'[{"start": 0, "end": 1, "url": "https:\\/\\/t.co\\/a"}]}}}',
        b' \t{"data":\n{"id":"1","text":"x","edit_history_tweet_ids":["1"]}}\r\n',
        b'{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"]}} x',
        b'{"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"]}}{}',
        b"[]", b'"data"', b"{}", b"", b"{", b'{"errors": [{"type": "about:blank", "title": "t"}]}',
    ],
)  # fmt: skip
def test_raw_lines_the_parsers_disagree_on(raw: bytes) -> None:
    try:
        text: str | None = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        text = None
    for profile in Profile:
        for endpoint in ENDPOINTS:
            schema = schemagen.event_file(endpoint)
            for contract in (CONTRACTS[profile], FALLBACK[profile]):
                assert contract.inspect_line(raw, endpoint) == reference_line(raw, schema, profile)
                if text is not None:  # a str line too (json.loads reads no BOM in a str)
                    assert contract.inspect_line(text, endpoint) == reference_line(text, schema, profile)


@pytest.mark.parametrize(
    "payload",
    [
        {"data": {**TWEET, "edit_history_tweet_ids": ("1",)}},
        {"data": OrderedDict(TWEET)},
        {"data": {**TWEET, "public_metrics": {"retweet_count": Decimal(1), "reply_count": 0, "like_count": 0,
                                              "quote_count": 0}}},
        {"data": {**TWEET, 5: "x"}},
        {"data": {**TWEET, "possibly_sensitive": 1}},
        {"data": {**TWEET, "edit_history_tweet_ids": {"1"}}},
    ],
)  # fmt: skip
def test_python_payloads_that_are_not_plain_json(payload: dict[str, Any]) -> None:
    same(payload)


def test_an_invalid_line_in_a_batch_is_found_alone() -> None:
    good = json.dumps({"data": TWEET}).encode()
    bad = json.dumps(event(author_id="9\n")).encode()
    results = CONTRACTS[Profile.DEFAULT].inspect_lines([good, bad, good, b"nope", good], "firehose-ja")
    assert [(kind, [v.pointer for v in found]) for kind, found in results] == [
        ("event", []), ("event", ["/data/author_id"]), ("event", []), ("event", [""]), ("event", [])]  # fmt: skip


def test_bad_lines_anywhere_in_full_batches_are_found() -> None:
    good = json.dumps({"data": TWEET}).encode()
    bad = json.dumps(event(author_id="9\n", entities={"urls": [{"start": 0, "end": 1, "url": "https://a b"}]})).encode()
    at = [0, 7, BATCH - 1, BATCH, BATCH + 1, 2 * BATCH - 1]
    raws = [bad if i in at else good for i in range(2 * BATCH + 3)]
    for contract in (CONTRACTS[Profile.DEFAULT], FALLBACK[Profile.DEFAULT]):
        results = contract.inspect_lines(raws, "firehose-ja")
        assert [i for i, (_, found) in enumerate(results) if found] == at


def test_contract_engines() -> None:
    assert isinstance(Contract().engine, FastEngine)
    assert isinstance(Contract(engine="reference").engine, ReferenceEngine)
    with pytest.raises(Exception, match="unknown engine 'turbo'"):
        Contract(engine="turbo")
    line = json.dumps(event(id="x")).encode()
    assert Contract(engine="reference").check_line(line, "firehose-ja") == Contract().check_line(line, "firehose-ja")


@pytest.mark.parametrize(
    "tweet",
    [
        {"created_at": "2021-01-06T18:40:40.000Z\ud800"},
        {"created_at": "\udc00"},
        {"entities": {"urls": [{"start": 0, "end": 1, "url": "https://t.co/\ud800"}]}},
        {"id": "1\ud800"},
    ],
)
def test_lone_surrogates_in_checked_strings_are_violations_not_exceptions(tweet: dict[str, Any]) -> None:
    # a lone surrogate has no UTF-8: the fast paths must hand it to the reference, not raise
    payload = event(**tweet)
    raw = json.dumps(payload).encode()  # as \ud800 escapes
    schema = schemagen.event_file("search-stream")
    for profile in Profile:
        expected = Contract(profile, "reference").check_event(payload, "search-stream")
        assert len(expected) == 1
        for contract in (CONTRACTS[profile], FALLBACK[profile]):
            assert contract.check_event(payload, "search-stream") == expected
            assert contract.inspect_line(raw, "search-stream") == reference_line(raw, schema, profile)
