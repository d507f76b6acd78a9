"""Compliance, label and activity events as the live API sends them: `event_at` is the moment
the event is sent (increasing through a session), what an event names was made before it, an
edit lists its versions oldest first, an activity event carries the payload its event_type
announces and the filter it matched."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cassette import Line
from harness.cassette.synth import synthetic_session
from harness.model import DEFINITIONS, ENDPOINTS, Union_
from harness.model.activity import POSTS
from harness.model.practice import TRAFFIC
from harness.model.snowflake import snowflake_ms

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = ["tweets-compliance", "users-compliance", "likes-compliance", "tweets-label"]
ID_KEYS = {"id", "author_id", "user_id", "up_to_tweet_id", "quote_tweet_id", "initial_tweet_id"}


def _ms(moment: str) -> int:
    return int(dt.datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)


def _events(endpoint: str, seed: int, n: int = 15) -> list[dict[str, Any]]:
    _, records = synthetic_session(endpoint, events=n, seed=seed, rate=5.0)
    return [json.loads(r.raw) for r in records if isinstance(r, Line) and not r.is_heartbeat]


def _ids(node: Any) -> list[str]:
    """The ids an action names (its own, its author's, every version's...)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ID_KEYS and isinstance(value, str):
                found.append(value)
            elif key == "edit_tweet_ids":
                found.extend(value)
            else:
                found.extend(_ids(value))
    return found


@SETTINGS
@given(st.sampled_from(KINDS), st.integers(0, 10**6))
def test_compliance_and_label_events_happen_now_about_older_objects(endpoint: str, seed: int) -> None:
    events = _events(endpoint, seed)
    times = []
    for event in events:
        ((kind, action),) = event["data"].items()  # one kind per line
        at = _ms(action["event_at"])
        times.append(at)
        for value in _ids(action):  # made before the event (event_at counts whole seconds)
            assert snowflake_ms(value) < at + 1000, (kind, action)
        if kind == "tweet_edit":
            versions = action["edit_tweet_ids"]
            assert versions == sorted(versions, key=int) and len(set(versions)) == len(versions) >= 2
            assert versions[0] == action["initial_tweet_id"] and versions[-1] == action["tweet"]["id"]
            assert snowflake_ms(versions[-1]) - snowflake_ms(versions[0]) <= 3_600_000  # the edit window
        if "quote_tweet_id" in action:
            assert int(action["quote_tweet_id"]) < int(action["tweet"]["id"])
        if "withheld_in_countries" in action:
            countries = action["withheld_in_countries"]
            assert len(set(countries)) == len(countries)
    assert times == sorted(times)
    assert times[-1] - times[0] < 60_000  # a session of seconds, not a month of events


@SETTINGS
@given(st.integers(0, 10**6))
def test_activity_events_carry_the_payload_their_type_announces(seed: int) -> None:
    union = DEFINITIONS["ActivityEventData"]
    assert isinstance(union, Union_)
    uuids = []
    for event in _events("activity", seed):
        data = event["data"]
        assert "includes" not in data  # the stream takes no expansions
        assert "payload" in data and "filter" in data, data
        uuids.append(int(data["event_uuid"]))
        kind, payload, matched = data["event_type"], data["payload"], data["filter"]
        if kind in POSTS:
            assert payload["id"] and payload["text"]
            assert matched["user_id"] == payload.get("author_id", matched["user_id"])
        elif kind == "post.delete":
            assert int(payload["author_id"]) < int(payload["id"]) and matched["user_id"] == payload["author_id"]
        elif kind.startswith("follow."):
            assert payload["source"]["id"] != payload["target"]["id"]
            assert matched["direction"] in ("inbound", "outbound")
        elif kind == "news.new":
            assert payload["headline"] and matched["keyword"]
        elif kind == "like.create":
            assert matched["user_id"] == payload["tweet_author_id"]
        else:
            assert kind.startswith("profile.update.") and "before" in payload and "after" in payload
    assert uuids == sorted(uuids) and len(set(uuids)) == len(uuids)


def test_compliance_and_labels_are_rare_beside_the_content_they_are_about() -> None:
    def rate(path: str) -> float:
        return TRAFFIC[path].per_second  # every stream declares its figure (no default stands in)

    tweet_streams = [p for p in (e.path for e in ENDPOINTS.values()) if p.endswith("/stream") or "/lang/" in p]
    tweet_streams = [p for p in tweet_streams if p.startswith("/2/tweets/") and not p.endswith(("compliance/stream",
                     "label/stream"))]  # fmt: skip
    assert set(TRAFFIC) == {e.path for e in ENDPOINTS.values()}
    firehose = rate("/2/tweets/firehose/stream")
    assert rate("/2/tweets/compliance/stream") < min(rate(p) for p in tweet_streams if "search" not in p)
    assert rate("/2/tweets/label/stream") < rate("/2/users/compliance/stream") < rate("/2/tweets/compliance/stream")
    assert rate("/2/likes/compliance/stream") < rate("/2/likes/sample10/stream") < rate("/2/likes/firehose/stream")
    # the samples and the language firehoses are parts of the whole
    assert rate("/2/tweets/sample/stream") == pytest.approx(firehose / 100)
    assert rate("/2/tweets/sample10/stream") == pytest.approx(firehose / 10)
    langs = [p for p in tweet_streams if "/lang/" in p]
    assert len(langs) == 4 and sum(rate(p) for p in langs) < firehose


@SETTINGS
@given(st.sampled_from(["likes-sample10", "likes-firehose"]), st.integers(0, 10**6))
def test_a_liked_tweet_is_by_the_likes_tweet_author(endpoint: str, seed: int) -> None:
    for event in _events(endpoint, seed, n=8):
        like = event["data"]
        [tweet] = [t for t in event["includes"]["tweets"] if t["id"] == like["liked_tweet_id"]]
        assert tweet["author_id"] == like["tweet_author_id"]  # the rich request asks for author_id
        assert [u["id"] for u in event["includes"]["users"]] == [like["tweet_author_id"]]
        assert int(like["tweet_author_id"]) < int(like["liked_tweet_id"])  # the author joined first
