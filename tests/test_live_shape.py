"""Synthetic data as the wire carries it: consistency within an event and across a session, the
request deciding what is present, the two dialects, and the strategies' schema-edge mode."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from harness.cassette import Line
from harness.cassette._live import LiveEvents
from harness.cassette.synth import Synth
from harness.contract import schemagen
from harness.contract._fast import FastEngine
from harness.contract.checker import Contract
from harness.contract.schemagen import Profile
from harness.contract.validator import ReferenceEngine
from harness.model import ENDPOINTS, Endpoint
from harness.model.dialect import Dialect
from harness.model.snowflake import TWEPOCH_MS, snowflake, snowflake_ms
from harness.testing import strategies as xs

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# every stream of Tweets, not only the seeds' two
TWEET_STREAMS = [n for n, e in ENDPOINTS.items() if e.path.startswith("/2/tweets/") and "/compliance/" not in e.path
                 and "/label/" not in e.path]  # fmt: skip
RICH = {
    "tweet.fields": "author_id,created_at,attachments,referenced_tweets,entities,public_metrics,lang",
    "expansions": "author_id,attachments.media_keys,referenced_tweets.id,referenced_tweets.id.author_id,"
    "entities.mentions.username,attachments.poll_ids",
    "user.fields": "created_at,public_metrics",
    "media.fields": "url,public_metrics",
}


def _seconds(created_at: str) -> int:
    return int(dt.datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp())


def _tweets(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [event["data"], *event.get("includes", {}).get("tweets", [])]


@pytest.fixture(scope="module")
def contracts() -> dict[str, Contract]:
    return {d: Contract(dialect=d) for d in ("classic", "2.167")}


def test_snowflakes_carry_their_time() -> None:
    ms = 1_793_491_206_349
    assert snowflake_ms(snowflake(ms, 1023, 4095)) == ms
    assert snowflake(ms) < snowflake(ms + 1)
    with pytest.raises(ValueError, match="epoch ms"):
        snowflake(TWEPOCH_MS - 1)


@SETTINGS
@given(st.sampled_from(TWEET_STREAMS).flatmap(lambda e: xs.events(e, query=RICH)))
def test_ids_are_snowflakes_that_agree_with_created_at_and_never_repeat(event: dict[str, Any]) -> None:
    ids: list[str] = []
    for tweet in _tweets(event):
        assert len(tweet["id"]) >= 18 and tweet["id"].isdigit()
        assert snowflake_ms(tweet["id"]) // 1000 == _seconds(tweet["created_at"])
        assert tweet["edit_history_tweet_ids"] == [tweet["id"]]
        ids.append(tweet["id"])
    for user in event.get("includes", {}).get("users", []):
        assert snowflake_ms(user["id"]) // 1000 == _seconds(user["created_at"])
        assert _seconds(user["created_at"]) < _seconds(event["data"]["created_at"])
        ids.append(user["id"])
    assert len(ids) == len(set(ids))
    for ref in event["data"].get("referenced_tweets", []):  # referenced Tweets are older
        assert int(ref["id"]) < int(event["data"]["id"])


@SETTINGS
@given(st.sampled_from(TWEET_STREAMS).flatmap(lambda e: xs.events(e, query=RICH)))
def test_includes_hold_exactly_what_the_expansions_reference(event: dict[str, Any]) -> None:
    data, includes = event["data"], event.get("includes", {})
    tweets = includes.get("tweets", [])
    users = {data["author_id"]} | {t["author_id"] for t in tweets}
    users |= {m["username"] for m in data.get("entities", {}).get("mentions", [])}
    assert {u["id"] if u["id"] in users else u["username"] for u in includes.get("users", [])} == users
    assert [t["id"] for t in tweets] == [r["id"] for r in data.get("referenced_tweets", [])]
    media = set(data.get("attachments", {}).get("media_keys", []))
    assert {m["media_key"] for m in includes.get("media", [])} == media
    for m in includes.get("media", []):
        assert m["media_key"].split("_")[0] == {"photo": "3", "video": "7", "animated_gif": "16"}[m["type"]]
    assert {p["id"] for p in includes.get("polls", [])} == set(data.get("attachments", {}).get("poll_ids", []))
    assert set(includes) <= {"users", "tweets", "media", "polls"}
    assert all(includes.values()), "an empty includes member is never sent"


@SETTINGS
@given(xs.sessions("search-stream", max_events=15, max_connections=2))
def test_ids_and_times_increase_through_a_session(session: Any) -> None:
    _, records = session
    events = [json.loads(r.raw) for r in records if isinstance(r, Line) and r.raw.startswith(b'{"data"')]
    ids = [int(e["data"]["id"]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(e["matching_rules"] and all("tag" in r for r in e["matching_rules"]) for e in events)


@pytest.mark.parametrize("endpoint", TWEET_STREAMS)
def test_the_request_decides_what_is_present(endpoint: str) -> None:
    synth = Synth(7)
    partition = {"partition": "1"} if any(p.required for p in ENDPOINTS[endpoint].params) else {}
    for _ in range(30):
        bare = synth.event(endpoint, partition)
        assert set(bare["data"]) == {"id", "text", "edit_history_tweet_ids"} and "includes" not in bare
        lang = synth.event(endpoint, {**partition, "tweet.fields": "lang"})
        assert set(lang["data"]) == {"id", "text", "edit_history_tweet_ids", "lang"}
        path = ENDPOINTS[endpoint].path
        assert lang["data"]["lang"] == (path.rsplit("/", 1)[1] if "/lang/" in path else "en")
        authored = synth.event(endpoint, {**partition, "expansions": "author_id"})
        assert [u["id"] for u in authored["includes"]["users"]] == [authored["data"]["author_id"]]
        assert set(authored["includes"]["users"][0]) == {"id", "name", "username"}


@SETTINGS
@given(st.sampled_from(list(ENDPOINTS)), st.sampled_from(["classic", "2.167"]), st.data())
def test_every_drawn_event_keeps_the_contract_of_its_dialect_only_in_strict(
    endpoint: str, dialect: str, data: st.DataObject
) -> None:
    event = data.draw(xs.events(endpoint, dialect=dialect))
    assert Contract(dialect=dialect).check_event(event, endpoint) == []
    strict = Contract(Profile.STRICT, dialect=dialect)
    assert strict.check_event(event, endpoint) == []


def test_each_dialect_rejects_the_other_in_strict() -> None:
    query = {"tweet.fields": "public_metrics", "expansions": "author_id", "user.fields": "public_metrics"}
    synth = Synth(3)
    classic, renamed = synth.event("search-stream", query), synth.event("search-stream", query, "2.167")
    assert "retweet_count" in classic["data"]["public_metrics"] and "edit_history_tweet_ids" in classic["data"]
    assert "repost_count" in renamed["data"]["public_metrics"] and "edit_history_post_ids" in renamed["data"]
    assert "post_count" in renamed["includes"]["users"][0]["public_metrics"]
    strict_classic, strict_renamed = Contract(Profile.STRICT), Contract(Profile.STRICT, dialect="2.167")
    assert strict_classic.check_event(classic, "search-stream") == []
    assert strict_renamed.check_event(renamed, "search-stream") == []
    assert {v.pointer for v in Contract(dialect="2.167").check_event(classic, "search-stream")} >= {
        "/data/public_metrics"
    }
    assert {v.pointer for v in Contract().check_event(renamed, "search-stream")} >= {"/data/public_metrics"}


def test_the_edge_mode_still_draws_the_schema_minimum() -> None:
    # a media object without media_key is valid by the schema (and crashes tweepy): the edge
    # mode must still reach it, the default never does
    def keyless(event: dict[str, Any]) -> bool:
        return any("media_key" not in m for m in event.get("includes", {}).get("media", []))

    found = find(xs.events("search-stream", edge=True), keyless, settings=settings(max_examples=2000))
    assert Contract().check_event(found, "search-stream") == []
    with pytest.raises(NoSuchExample):
        find(xs.events("search-stream", query=RICH), keyless, settings=settings(max_examples=200))


@SETTINGS
@given(st.sampled_from(TWEET_STREAMS).flatmap(lambda e: xs.events(e, query={"tweet.fields": "entities"})))
def test_entities_sit_in_the_text_where_their_indices_say(event: dict[str, Any]) -> None:
    text, entities = event["data"]["text"], event["data"].get("entities", {})
    for kind, mark, member in (("mentions", "@", "username"), ("hashtags", "#", "tag"), ("cashtags", "$", "tag")):
        for e in entities.get(kind, []):
            assert text[e["start"] : e["end"]] == mark + e[member]
    for e in entities.get("urls", []):
        assert text[e["start"] : e["end"]] == e["url"]
    for e in entities.get("annotations", []):  # inclusive end
        assert text[e["start"] : e["end"] + 1] == e["normalized_text"]


ENGINES = {
    p: (FastEngine(p, dialect="2.167"), ReferenceEngine(p, "2.167"), Contract(p, dialect="2.167")) for p in Profile
}


@SETTINGS
@given(
    st.sampled_from(list(ENDPOINTS)),
    st.sampled_from(["classic", "2.167"]),
    st.booleans(),
    st.sampled_from(list(Profile)),
    st.data(),
)
def test_the_2167_engines_give_the_reference_verdicts(
    endpoint: str, dialect: str, edge: bool, profile: Profile, data: st.DataObject
) -> None:
    event = data.draw(xs.events(endpoint, dialect=dialect, edge=edge))
    fast, reference, contract = ENGINES[profile]
    schema = schemagen.event_file(endpoint)
    expected = reference.violations(schema, event)
    assert fast.violations(schema, event) == expected
    raw = json.dumps(event, ensure_ascii=False).encode()
    assert contract.inspect_line(raw, endpoint)[1] == expected


def test_an_object_no_parameter_selects_is_drawn_whole() -> None:
    # an endpoint whose objects no `*.fields` parameter governs (as compliance or label
    # events): their optional members are drawn as the schema allows, not left out
    bare = Endpoint("bare", "/2/bare/stream", (), "FirehoseJaEvent")
    live = LiveEvents(Synth(1), bare, {}, Dialect.CLASSIC)
    events = [live.event() for _ in range(30)]
    assert any(set(e["data"]) - {"id", "text", "edit_history_tweet_ids"} for e in events)
    contract = Contract()
    assert all(contract.check_event(e, "firehose-ja") == [] for e in events)
