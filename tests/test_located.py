"""Findings located by jsonschema-rs are the reference's: a differential test over generated,
mutated and drifted events of every endpoint, in both profiles.

Every finding is compared whole: pointer, keyword, schema location and message (the
messages are the reference's own wording everywhere: none may differ)."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fast import DATE_TIMES, REFERENCE, URIS, cases, sites

from harness.contract import schemagen
from harness.contract._fast import FastEngine
from harness.contract._located import Unsettled
from harness.contract.checker import Contract
from harness.contract.schemagen import Profile
from harness.contract.validator import FORMATS, ReferenceEngine, Violation, payload_kind
from harness.model import ENDPOINTS
from harness.testing import strategies as xs

LEGACY = ["Wed Oct 10 20:19:24 +0000 2018", "2018-10-10 20:19:24", "1539202764", "2018-10-10T20:19:24"]


class _Whole(ReferenceEngine):
    """The reference, counting the payloads it is asked about whole."""

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        self.asked = 0

    def violations(self, schema: str, payload: Any) -> list[Violation]:
        self.asked += 1
        return super().violations(schema, payload)


WHOLE = {p: _Whole(p) for p in Profile}
FAST = {p: FastEngine(p, reference=WHOLE[p]) for p in Profile}


@st.composite
def drifted(draw: st.DrawFn, payload: Any) -> Any:
    """`payload` as a drifted API sends it: legacy dates, renamed and unknown members."""
    doc = copy.deepcopy(payload)
    objects = [(path, v) for path, v in sites(doc) if isinstance(v, dict) and v]
    for _ in range(draw(st.integers(1, 3))):
        if not objects:
            break
        _, target = draw(st.sampled_from(objects))
        key = draw(st.sampled_from(sorted(target)))
        how = draw(st.sampled_from(["legacy", "rename", "unknown"]))
        if how == "legacy":
            target[key] = draw(st.sampled_from(LEGACY))
        elif how == "rename":
            target[key + draw(st.sampled_from(["_", "s", "x"]))] = target.pop(key)
        else:
            target["legacy_" + key] = draw(st.sampled_from([1, "x", None, [], {}]))
    return doc


def located(profile: Profile, schema: str, payload: Any) -> list[Violation]:
    engine = FAST[profile]
    assert engine.locator is not None
    errors = list(engine.fallback(schema).iter_errors(payload))
    return engine.locator.violations(schema, payload, errors) if errors else []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), profile=st.sampled_from(list(Profile)), data=st.data())
def test_located_findings_are_the_references(case: tuple[str, Any], profile: Profile, data: st.DataObject) -> None:
    schema, payload = case
    if data.draw(st.booleans()):
        payload = data.draw(drifted(payload))
    expected = REFERENCE[profile].violations(schema, payload)
    try:
        got = located(profile, schema, payload)
    except (Unsettled, UnicodeError):  # the engine asks the reference whole: checked in test_fast
        return
    assert got == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_drifted_lines_are_settled_without_the_whole_reference(data: st.DataObject) -> None:
    """A drifted line's findings come from the located keywords, not from the reference over
    the whole event; they equal the reference's, line by line and in batches."""
    endpoint = data.draw(st.sampled_from(sorted(ENDPOINTS)))
    schema = schemagen.event_file(endpoint)
    profile = data.draw(st.sampled_from(list(Profile)))
    payloads = [data.draw(drifted(data.draw(xs.events(endpoint, optional=0.5)))) for _ in range(3)]
    raws = [json.dumps(p).encode() for p in payloads]
    contract = Contract(profile, FAST[profile])
    before = WHOLE[profile].asked
    got = contract.inspect_lines(raws, endpoint)
    assert WHOLE[profile].asked == before
    assert got == [("event", REFERENCE[profile].violations(schema, p)) for p in payloads]


def test_a_legacy_created_at_is_one_format_finding() -> None:
    event = {"data": {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"], "created_at": LEGACY[0]}}
    raw = json.dumps(event).encode()
    before = WHOLE[Profile.DEFAULT].asked
    kind, found = Contract(Profile.DEFAULT, FAST[Profile.DEFAULT]).inspect_line(raw, "search-stream")
    assert WHOLE[Profile.DEFAULT].asked == before
    assert (kind, found) == (
        "event",
        [
            Violation(
                "/data/created_at",
                "format",
                "Tweet.json#/properties/created_at/format",
                f"{LEGACY[0]!r} is not a 'date-time'",
            )
        ],
    )


def test_a_huge_integer_keeps_the_references_reading() -> None:
    """orjson reads an integer beyond 64 bits as a float: a finding over it is the reference's."""
    raw = b'{"data": {"id": "1", "text": 123456789012345678901234567890, "edit_history_tweet_ids": ["1"]}}'
    _, found = Contract(Profile.DEFAULT, FAST[Profile.DEFAULT]).inspect_line(raw, "search-stream")
    assert [v.message for v in found] == ["123456789012345678901234567890 is not of type 'string'"]


STOCK = jsonschema.Draft202012Validator.FORMAT_CHECKER
DATE_LIKE = st.from_regex(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})?\n?\Z"
)


# \d: any decimal digit, as rfc3339-validator's year takes (the fast refusal of a form without one must agree)
UNICODE_YEAR = st.from_regex(r"\A\d{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.text(max_size=40),
        DATE_LIKE,
        UNICODE_YEAR,
        st.sampled_from([*DATE_TIMES, *URIS, *LEGACY, "\u0662\u0660\u0662\u0660-01-01T00:00:00Z"]),
    )
)
def test_the_format_rules_are_jsonschemas_without_importing_it(value: str) -> None:
    """The formats' slow path runs rfc3339-validator and rfc3986-validator as jsonschema
    sets them up, without jsonschema: the same verdicts as its checker. (`iri` is the
    harness's own rule: jsonschema checks it only with rfc3987 installed.)"""
    for name, rule in FORMATS.items():
        if name == "iri":
            continue
        assert rule(value) == (not value.endswith("\n") and STOCK.conforms(value, name)), (name, value)


def test_an_unusual_valid_uri_is_no_finding_and_asks_no_reference() -> None:
    """jsonschema-rs checks a uri against the pattern of usual URIs; one outside it that the
    reference's rule accepts (`mailto:`) is no finding, and the line is valid."""
    urls = [{"start": 0, "end": 1, "url": u} for u in ("mailto:a@b.c", "https://t.co/x", "http://[::1]:80/x")]
    event = {"data": {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"], "entities": {"urls": urls}}}
    contract = Contract(Profile.DEFAULT, FAST[Profile.DEFAULT])
    before = WHOLE[Profile.DEFAULT].asked
    assert contract.inspect_line(json.dumps(event), "search-stream") == ("event", [])
    assert contract.check_event(event, "search-stream") == []
    urls[0]["url"] = "mailto:a b"
    expected = REFERENCE[Profile.DEFAULT].violations("search-stream.event.json", event)
    assert [v.pointer for v in expected] == ["/data/entities/urls/0/url"]
    assert contract.inspect_line(json.dumps(event), "search-stream") == ("event", expected)
    assert WHOLE[Profile.DEFAULT].asked == before


def test_batches_through_a_drift_and_back_keep_the_references_findings() -> None:
    """A drifted run skips the native checker's pass; the findings stay the reference's as
    the stream drifts, recovers and drifts again."""
    contract = Contract(Profile.DEFAULT, FastEngine(Profile.DEFAULT, reference=WHOLE[Profile.DEFAULT]))
    schema = schemagen.event_file("search-stream")
    tweet = {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"]}
    good = [{"data": {**tweet, "id": str(i + 1)}} for i in range(100)]
    bad = [{"data": {**tweet, "created_at": f"Wed Oct 10 20:19:{i % 60:02d} +0000 2018"}} for i in range(100)]
    mixed = [*good[:50], {"data": {**tweet, "id": "x"}}, *good[50:]]
    for batch in (bad, mixed, bad, good, [*bad[:10], *good]):
        raws = [json.dumps(p).encode() for p in batch]
        assert contract.inspect_lines(raws, "search-stream") == [
            ("event", REFERENCE[Profile.DEFAULT].violations(schema, p)) for p in batch
        ]


class _Counting(FastEngine):
    """A fast engine counting the payloads jsonschema-rs collects errors of."""

    collected = 0

    def collector(self, schema: str) -> Any:
        rust, engine = super().collector(schema), self

        class _Rust:
            def iter_errors(self, payload: Any) -> Any:
                engine.collected += 1
                return rust.iter_errors(payload)

        return _Rust()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(data=st.data())
def test_a_drift_is_located_by_its_signature_with_the_references_findings(data: st.DataObject) -> None:
    """Lines drifted the same way (a legacy `created_at`, at times with more drift) are settled
    from the first one's signature, without jsonschema-rs; every finding is the reference's."""
    profile = data.draw(st.sampled_from(list(Profile)))
    schema = schemagen.event_file("search-stream")
    engine = _Counting(profile, reference=WHOLE[profile])
    contract = Contract(profile, engine)
    bases = [data.draw(xs.events("search-stream", optional=0.5)) for _ in range(4)]
    payloads, drifting = [], 0
    for i in range(80):
        event = copy.deepcopy(bases[i % 4])
        if "data" in event:
            event["data"]["created_at"] = data.draw(st.sampled_from([*LEGACY, "2020-01-01T00:00:00Z"]))
            drifting += i % 10 != 9 and event["data"]["created_at"] in LEGACY
        if i % 10 == 9:
            event = data.draw(drifted(event))
        payloads.append(event)
    raws = [json.dumps(p).encode() for p in payloads]
    got = contract.inspect_lines(raws, "search-stream")
    assert got == [("event", REFERENCE[profile].violations(schema, p)) for p in payloads]
    assert engine.collected < len(payloads) - drifting // 2


TWEET_BASE = {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"]}


def _scalar_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _scalar_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _scalar_paths(v, (*path, i))]
    return [path] if path else []


DRIFTED_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8), st.sampled_from([*LEGACY, "", "x", "1", "2020-01-01T00:00:00Z", "https://t.co/x"]),
)  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(data=st.data())
def test_any_leaf_drifting_line_after_line_keeps_the_references_findings(data: st.DataObject) -> None:
    """Whatever leaf drifts (a type, a pattern, an enum, a bound, a format broken), each line
    with its own value, lines settled by the drift's signature give the reference's findings."""
    profile = data.draw(st.sampled_from(list(Profile)))
    endpoint = data.draw(st.sampled_from(sorted(ENDPOINTS)))
    schema = schemagen.event_file(endpoint)
    base = data.draw(xs.events(endpoint, optional=0.5))
    paths = _scalar_paths(base)
    if not paths:
        return
    drifting = data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=2, unique=True))
    payloads = []
    for i in range(40):
        event = copy.deepcopy(base)
        for path in drifting:
            node = event
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = data.draw(DRIFTED_VALUES)
        payloads.append(data.draw(drifted(event)) if i % 13 == 12 else event)
    engine = _Counting(profile, reference=WHOLE[profile])
    raws = [json.dumps(p).encode() for p in payloads]
    assert Contract(profile, engine).inspect_lines(raws, endpoint) == [
        (payload_kind(p), REFERENCE[profile].violations(schema, p)) for p in payloads
    ]


@pytest.mark.parametrize(
    ("path", "values"),
    [
        (("data", "id"), ["x", 5, None, "1a", ""]),  # a pattern and a type
        (("data", "text"), [5, True, 1.5]),  # a type
        (("data", "created_at"), LEGACY),  # a format
        (("data", "public_metrics", "like_count"), [-1, -7, "3"]),  # a bound and a type
        (("data", "reply_settings"), ["nobody", "ALL", 3]),  # an enum
    ],
)
def test_a_drifted_leaf_is_settled_by_its_signature(path: tuple[str, ...], values: list[Any]) -> None:
    """The native checker finds the failing leaf, then the signature settles the rest (no jsonschema-rs), each
    line's findings the reference's."""
    metrics = {"retweet_count": 1, "reply_count": 1, "like_count": 1, "quote_count": 1}
    event = {"data": {**TWEET_BASE, "reply_settings": "everyone", "public_metrics": metrics}}
    payloads = []
    for value in values * 10:
        payload = copy.deepcopy(event)
        node: Any = payload
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        payloads.append(payload)
    engine = _Counting(Profile.DEFAULT, reference=WHOLE[Profile.DEFAULT])
    schema = schemagen.event_file("search-stream")
    got = Contract(Profile.DEFAULT, engine).inspect_lines([json.dumps(p) for p in payloads], "search-stream")
    assert got == [("event", REFERENCE[Profile.DEFAULT].violations(schema, p)) for p in payloads]
    assert all(found for _, found in got)
    assert engine.collected == 0  # the first line too: its failing leaf found by the native checker


def test_a_drifted_format_never_makes_the_reference() -> None:
    """jsonschema (slow to import and to build) is not needed for a drift of formats: the
    reference's own format rules give the findings, a leaf's type is asked of no validator."""
    engine = FastEngine(Profile.DEFAULT)
    payloads = [{"data": {**TWEET_BASE, "created_at": LEGACY[i % len(LEGACY)]}} for i in range(200)]
    got = Contract(Profile.DEFAULT, engine).inspect_lines([json.dumps(p).encode() for p in payloads], "search-stream")
    schema = schemagen.event_file("search-stream")
    assert got == [("event", REFERENCE[Profile.DEFAULT].violations(schema, p)) for p in payloads]
    assert engine._reference is None


@pytest.mark.parametrize("number", ["-1e400", "1e400", "-Infinity", "NaN", "-1.5", "1e308"])
@pytest.mark.parametrize("field", ["like_count", "probability"])
def test_a_number_json_loads_reads_beyond_a_double_keeps_the_references_findings(number: str, field: str) -> None:
    """json.loads reads 1e400 as inf (and NaN as nan), which jsonschema-rs reads as null: the bound such a
    value breaks (an integer's minimum, a probability's bounds) is still found, as the reference finds it."""
    tweet = {**TWEET_BASE, "public_metrics": {"retweet_count": 1, "reply_count": 1, "like_count": 1, "quote_count": 1}}
    tweet["context_annotations"] = []
    tweet["entities"] = {"annotations": [{"start": 0, "end": 1, "probability": 0.5, "type": "Place",
                                          "normalized_text": "x"}]}  # fmt: skip
    line = json.dumps({"data": tweet}).replace('"like_count": 1' if field == "like_count" else '"probability": 0.5',
                                               f'"{field}": {number}')  # fmt: skip
    assert number in line
    schema = schemagen.event_file("search-stream")
    for engine in (FastEngine(Profile.DEFAULT), FAST[Profile.DEFAULT]):
        got = Contract(Profile.DEFAULT, engine).inspect_lines([line] * 3, "search-stream")
        assert got == [("event", REFERENCE[Profile.DEFAULT].violations(schema, json.loads(line)))] * 3
