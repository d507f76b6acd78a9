"""Every stream endpoint of the spec, as data: declared with the spec's parameters, its event
kinds in the model, its synthetic events valid, recorded over loopback and replayed.

The spec's facts come from `tests/data/stream_spec_facts.json`, extracted from the 2.166 and
2.167 documents by `tests/data/extract_spec_facts.py` (the specs are not needed here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness.cassette import Cassette
from harness.cassette.synth import Synth
from harness.cli import main
from harness.contract import schemagen
from harness.contract._native import NativeModel
from harness.contract.checker import Contract
from harness.contract.schemagen import Profile
from harness.model import DEFINITIONS, ENDPOINTS, Arr, Int, Obj, Ref, Str, Union_
from harness.model.field_lists import PAGE_ONLY_OMITS

FACTS = json.loads((Path(__file__).resolve().parent / "data" / "stream_spec_facts.json").read_text())
VERSIONS = sorted(FACTS)
SEEDS = {"search-stream", "firehose-ja", "likes-sample10"}
# What the seed endpoints' pages leave out of the spec's lists, per parameter.
PAGE_OMITS = {
    "tweet.fields": set(PAGE_ONLY_OMITS),
    "like_with_tweet_author.fields": {"attachments_media_keys"},
    "likes expansions": {"attachments.media_keys"},
}


def spec_params(version: str, path: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in FACTS[version]["endpoints"][path]["params"]}


def declared(name: str) -> dict[str, dict[str, Any]]:
    """An endpoint's parameters in the facts' terms."""
    out = {}
    for p in ENDPOINTS[name].params:
        fact: dict[str, Any] = {"name": p.name, "required": p.required}
        t = p.type
        if isinstance(t, Int):
            fact.update(minimum=t.minimum, maximum=t.maximum, format="int32")
        elif isinstance(t, Str):
            fact["format"] = t.format
        elif isinstance(t, Arr) and isinstance(t.items, Str):
            fact["enum"] = list(t.items.enum or ())
        out[p.name] = fact
    return out


def test_every_stream_of_both_specs_is_declared_once() -> None:
    for version in VERSIONS:
        assert FACTS[version]["info_version"] == version
        assert sorted(FACTS[version]["endpoints"]) == sorted(e.path for e in ENDPOINTS.values())


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_parameters_are_the_specs(name: str, version: str) -> None:
    spec = spec_params(version, ENDPOINTS[name].path)
    ours = declared(name)
    if name == "likes-sample10":  # its page lists no media.fields
        assert spec.pop("media.fields")
    assert ours.keys() == spec.keys()
    for param, fact in spec.items():
        mine = dict(ours[param])
        if "enum" in fact:
            enum = fact["enum"]
            if name in SEEDS:  # the page's list: the spec's without the page's omissions, in order
                key = "likes expansions" if (name, param) == ("likes-sample10", "expansions") else param
                enum = [m for m in enum if m not in PAGE_OMITS.get(key, set())]
            assert mine.pop("enum") == enum, param
            assert mine == {"name": param, "required": fact["required"]}
        else:
            assert mine == {k: v for k, v in fact.items()}, param


def test_partition_ranges_differ_per_endpoint() -> None:
    ranges = {
        n: e.param("partition").type for n, e in ENDPOINTS.items() if any(p.name == "partition" for p in e.params)
    }
    tops = {n: t.maximum for n, t in ranges.items() if isinstance(t, Int)}
    assert tops == {
        "firehose-ja": 2,
        "likes-sample10": 2,
        "sample10-stream": 2,
        "firehose": 20,
        "firehose-en": 8,
        "firehose-ko": 2,
        "firehose-pt": 2,
        "likes-firehose": 20,
        "tweets-compliance": 4,
        "users-compliance": 4,
    }


# -- event kinds -----------------------------------------------------------------------------

KIND_DATA = {
    "tweets-compliance": "TweetComplianceData",
    "users-compliance": "UserComplianceData",
    "tweets-label": "TweetLabelData",
}
# The spec's payload schemas, by our name (2.167 renames Tweet to Post, LikeWithTweetAuthor
# to LikeWithPostAuthor).
PAYLOADS = {
    "ProfileUpdateActivityResponsePayload": "ProfileUpdatePayload",
    "NewsActivityResponsePayload": "NewsPayload",
    "FollowActivityResponsePayload": "FollowPayload",
    "PostDeleteActivityResponsePayload": "PostDeletePayload",
    "Tweet": "Tweet",
    "Post": "Tweet",
    "LikeWithPostAuthor": "LikeWithTweetAuthor",
}


@pytest.mark.parametrize("version", VERSIONS)
def test_compliance_and_label_kinds_are_the_specs(version: str) -> None:
    for endpoint, data in KIND_DATA.items():
        d = DEFINITIONS[data]
        assert isinstance(d, Obj)
        assert list(d.one_of) == FACTS[version]["event_kinds"][endpoint] == [f.name for f in d.fields]
    likes = DEFINITIONS["LikeComplianceData"]
    assert isinstance(likes, Obj) and likes.field("delete").required


def test_activity_event_types_and_payloads_are_the_specs() -> None:
    union = DEFINITIONS["ActivityEventData"]
    assert isinstance(union, Union_) and union.tag == "event_type"
    mapping: dict[str, str] = {}
    for version in VERSIONS:
        mapping.update(FACTS[version]["event_kinds"]["activity"])
    assert sorted(union.tags) == sorted(mapping)
    for variant in union.variants:
        obj = DEFINITIONS[variant.obj]
        assert isinstance(obj, Obj)
        for tag in variant.tags:
            assert obj.field("payload").type == Ref(PAYLOADS[mapping[tag]]), tag


# -- synthetic events --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_synthetic_events_of_every_endpoint_validate_over_seeds(name: str, contract: Contract) -> None:
    native = NativeModel()
    schema = schemagen.event_file(name)
    envelope = DEFINITIONS[ENDPOINTS[name].event]
    assert isinstance(envelope, Obj)
    data = envelope.field("data").type
    assert isinstance(data, Ref)
    inner = DEFINITIONS[data.name]
    kinds: set[str] = set()
    for seed in range(25):
        event = Synth(seed).event(name)
        assert contract.check_event(event, name) == [], (seed, event)
        assert native.accepts(schema, event), seed  # the fast path is sure of it
        if isinstance(inner, Obj) and inner.one_of:
            present = [k for k in inner.one_of if k in event["data"]]
            assert len(present) == 1, event  # exactly one kind per line
            kinds.add(present[0])
    if name in KIND_DATA:  # the seeds reach more than one kind
        assert len(kinds) > 1


def test_synthetic_tweets_are_in_the_firehoses_language() -> None:
    for lang in ("en", "ja", "ko", "pt"):
        # as live, `lang` is sent when the request asks for it (a bare request gets id and text)
        live = Synth(3)
        query = {"partition": "1", "tweet.fields": "lang"}
        assert {live.event(f"firehose-{lang}", query)["data"]["lang"] for _ in range(5)} == {lang}
        assert "lang" not in live.event(f"firehose-{lang}", {"partition": "1"})["data"]
        drawn = Synth(3, optional=1.0, practice=False)  # the schema-drawn mode draws every member
        assert {drawn.event(f"firehose-{lang}")["data"]["lang"] for _ in range(5)} == {lang}


# -- exactly one of ----------------------------------------------------------------------------

TWEET = {"id": "1", "author_id": "2"}
AT = "2026-11-01T00:00:00.000Z"
PROBLEM = {
    "type": "https://api.x.com/2/problems/operational-disconnect",
    "title": "Disconnected",
    "disconnect_type": "UpstreamOperationalDisconnect",
}


@pytest.mark.parametrize(
    ("name", "payload", "valid"),
    [
        ("tweets-compliance", {"data": {"delete": {"tweet": TWEET, "event_at": AT}}}, True),
        (
            "tweets-compliance",
            {"data": {"delete": {"tweet": TWEET, "event_at": AT}, "drop": {"tweet": TWEET, "event_at": AT}}},
            False,
        ),
        ("tweets-compliance", {"data": {}}, False),
        ("tweets-compliance", {"errors": [PROBLEM]}, True),
        ("tweets-compliance", {"data": {"drop": {"tweet": TWEET, "event_at": AT}}, "errors": [PROBLEM]}, False),
        ("tweets-compliance", {"data": {"withheld": {"tweet": TWEET, "event_at": AT}}}, False),  # no countries
        ("users-compliance", {"data": {"user_suspend": {"user": {"id": "3"}, "event_at": AT}}}, True),
        (
            "users-compliance",
            {
                "data": {
                    "user_suspend": {"user": {"id": "3"}, "event_at": AT},
                    "user_delete": {"user": {"id": "3"}, "event_at": AT},
                }
            },
            False,
        ),
        (
            "tweets-label",
            {"data": {"public_tweet_unviewable": {"tweet": TWEET, "event_at": AT, "application": "apply"}}},
            True,
        ),
        (
            "tweets-label",
            {"data": {"public_tweet_unviewable": {"tweet": TWEET, "event_at": AT, "application": "hide"}}},
            False,
        ),
        ("activity", {"data": {"event_type": "post.delete", "payload": TWEET}}, True),
        ("activity", {"data": {"event_type": "post.delete", "payload": {"id": "1"}}}, False),
        ("activity", {"data": {"event_type": "post.explode", "payload": TWEET}}, False),
        ("activity", {"data": {"payload": TWEET}}, False),
    ],
)
def test_kinds_are_checked_by_every_engine(name: str, payload: dict[str, Any], valid: bool, contract: Contract) -> None:
    assert (contract.check_event(payload, name) == []) == valid
    schema = schemagen.event_file(name)
    for profile in Profile:
        native = NativeModel(profile)
        assert native.accepts(schema, payload) == valid  # never sure of an invalid one
        raw = json.dumps(payload).encode()
        expected = ("error" if "errors" in payload else "event") if valid else None
        assert native.kinds(schema, [raw]) == [expected]


ROOT = Path(__file__).resolve().parent.parent


def test_readme_table_lists_every_endpoint_with_its_synthetic_sample() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    for name, e in ENDPOINTS.items():
        sample = f"cassettes/synthetic/{name}.jsonl"
        assert any(f"`{name}`" in row and f"`GET {e.path}`" in row and sample in row for row in rows), name
        header = Cassette(ROOT / sample).header
        assert header.endpoint == name and header.labels["source"] == "synthetic"


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_harness_synth_then_validate_each_endpoint(name: str, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.jsonl"
    made = CliRunner().invoke(main, ["synth", ENDPOINTS[name].path, "-o", str(out), "--events", "8", "--seed", "2"])
    assert made.exit_code == 0, made.output
    assert Cassette(out).header.endpoint == name
    checked = CliRunner().invoke(main, ["validate", str(out)])
    assert checked.exit_code == 0 and "all valid" in checked.output, checked.output
