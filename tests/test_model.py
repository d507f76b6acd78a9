"""Properties of the declarative object model (harness.model)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.errors import UnknownEndpointError
from harness.model import (
    DEFINITIONS,
    ENDPOINTS,
    Alias,
    AnyObj,
    Arr,
    Endpoint,
    Int,
    Num,
    Obj,
    Ref,
    Str,
    Tup,
    Type,
    Union_,
    connections,
    resolve_endpoint,
    rules,
)

HOSTS = ("https://api.twitter.com", "https://api.x.com")

# Problem subtypes and their slugs (2.166 discriminator, plus oauth1-permissions and 2.167's).
PROBLEM_SLUGS: dict[str, str | tuple[str, ...]] = {
    "OperationalDisconnectProblem": "operational-disconnect",
    "ConnectionExceptionProblem": "streaming-connection",
    "UsageCapExceededProblem": "usage-capped",
    "ClientForbiddenProblem": "client-forbidden",
    "InvalidRequestProblem": "invalid-request",
    "ResourceNotFoundProblem": "resource-not-found",
    "ResourceUnauthorizedProblem": "not-authorized-for-resource",
    "FieldUnauthorizedProblem": ("not-authorized-for-field", "field-unauthorized"),
    "FieldHydrationFailureProblem": "field-hydration-failure",
    "InternalErrorProblem": "internal-error",
    "ClientDisconnectedProblem": "client-disconnected",
    "DisallowedResourceProblem": "disallowed-resource",
    "ResourceUnavailableProblem": "resource-unavailable",
    "RulesCapProblem": "rule-cap",
    "InvalidRuleProblem": "invalid-rules",
    "DuplicateRuleProblem": "duplicate-rules",
    "NonCompliantRulesProblem": "noncompliant-rules",
    "ConflictProblem": "conflict",
    "UnsupportedAuthenticationProblem": "unsupported-authentication",
    "Oauth1PermissionsProblem": "oauth1-permissions",
}

# Members of a `*.fields` parameter whose wire name differs from the object's property.
FIELD_PARAM_RENAMES = {"like_with_tweet_author.fields": {"liked_tweet_author_id": "tweet_author_id"}}

# Object members no `*.fields` parameter of the pages can select (spec-only, or sent unasked).
UNSELECTABLE = {
    "Tweet": {"matched_media_notes", "note_request_suggestions", "paid_partnership", "username"},
}

# Which object each `*.fields` parameter describes.
FIELDS_PARAM_OBJECT = {
    "tweet.fields": "Tweet",
    "user.fields": "User",
    "media.fields": "Media",
    "poll.fields": "Poll",
    "place.fields": "Place",
    "like_with_tweet_author.fields": "LikeWithTweetAuthor",
}

# "(default)" fields of the object model pages.
PAGE_DEFAULTS = {
    "Tweet": {"id", "text", "edit_history_tweet_ids"},
    "User": {"id", "name", "username"},
    "Photo": {"media_key", "type"},
    "Video": {"media_key", "type"},
    "AnimatedGif": {"media_key", "type"},
    "Poll": {"id", "options"},
    "Place": {"full_name", "id"},
    "Space": {"id", "state"},
    "List": {"id", "name"},
    "DmEvent": {"id", "event_type", "text"},
    "Community": set(),
}


def obj(name: str) -> Obj:
    d = DEFINITIONS[name]
    assert isinstance(d, Obj), f"{name} is not an Obj"
    return d


def union(name: str) -> Union_:
    d = DEFINITIONS[name]
    assert isinstance(d, Union_), f"{name} is not a union"
    return d


def field_names(name: str) -> set[str]:
    """Wire names of an object, or of every variant of a union."""
    d = DEFINITIONS[name]
    if isinstance(d, Union_):
        return {f.name for v in d.variants for f in obj(v.obj).fields}
    return {f.name for f in obj(name).fields}


def walk(t: Type) -> Iterator[Type]:
    yield t
    if isinstance(t, Arr):
        yield from walk(t.items)
    elif isinstance(t, Tup):
        for item in t.items:
            yield from walk(item)


def all_types() -> Iterator[tuple[str, Type]]:
    for name, d in DEFINITIONS.items():
        if isinstance(d, Obj):
            for f in d.fields:
                yield from ((f"{name}.{f.name}", t) for t in walk(f.type))
        elif isinstance(d, Alias):
            yield from ((name, t) for t in walk(d.type))
    for e in ENDPOINTS.values():
        for p in e.params:
            yield from ((f"{e.name}?{p.name}", t) for t in walk(p.type))


def enum_of(e: Endpoint, param: str) -> tuple[str, ...]:
    t = e.param(param).type
    assert isinstance(t, Arr) and isinstance(t.items, Str) and t.items.enum is not None
    return t.items.enum


# -- references and unions -------------------------------------------------------------------


def test_every_ref_resolves() -> None:
    dangling = [(where, t.name) for where, t in all_types() if isinstance(t, Ref) and t.name not in DEFINITIONS]
    assert dangling == []


def test_every_definition_is_reachable_or_a_root() -> None:
    used = {t.name for _, t in all_types() if isinstance(t, Ref)}
    used |= {v.obj for d in DEFINITIONS.values() if isinstance(d, Union_) for v in d.variants}
    used |= {e.event for e in ENDPOINTS.values()}
    roots = {"Space", "List", "Community", "DmEvent"}  # on the object pages, in no stream
    roots |= {d.name for d in rules.ROOTS}  # the rules API's requests and answers
    roots |= set(connections.ROOTS)  # the connections API's requests and answers
    assert set(DEFINITIONS) - used - roots == set()


def test_field_names_are_unique_and_documented() -> None:
    for name, d in DEFINITIONS.items():
        if isinstance(d, Obj):
            names = [f.name for f in d.fields]
            assert len(names) == len(set(names)), name
            assert all(f.doc for f in d.fields), name
            assert set(d.require_any) <= set(names), name
        assert d.doc, name


@pytest.mark.parametrize("name", [n for n, d in DEFINITIONS.items() if isinstance(d, Union_)])
def test_union_variants_are_objects_with_the_tag(name: str) -> None:
    u = union(name)
    tags = u.tags
    assert len(tags) == len(set(tags)), f"{name} has a tag twice"
    for v in u.variants:
        assert v.tags, v
        variant = obj(v.obj)
        assert variant.field(u.tag).required, f"{v.obj}.{u.tag} must be required"


def test_media_union() -> None:
    media = union("Media")
    assert media.tag == "type"
    assert {v.obj: v.tags for v in media.variants} == {
        "Photo": ("photo",),
        "Video": ("video",),
        "AnimatedGif": ("animated_gif",),
    }
    base = {"type", "media_key", "height", "width"}
    for v in media.variants:
        assert base <= field_names(v.obj)
    assert {"alt_text", "url"} <= field_names("Photo")
    assert "duration_ms" in field_names("Video")
    assert "duration_ms" not in field_names("AnimatedGif")


def test_problem_union_lists_both_hosts_for_every_subtype() -> None:
    problem = union("Problem")
    assert problem.tag == "type"
    by_obj = {v.obj: set(v.tags) for v in problem.variants}
    assert by_obj.pop("GenericProblem") == {"about:blank"}
    assert set(by_obj) == set(PROBLEM_SLUGS)
    for name, slugs in PROBLEM_SLUGS.items():
        slugs = (slugs,) if isinstance(slugs, str) else slugs
        assert by_obj[name] == {f"{host}/2/problems/{s}" for s in slugs for host in HOSTS}, name


def test_problem_subtypes_share_the_base() -> None:
    for v in union("Problem").variants:
        p = obj(v.obj)
        assert [f.name for f in p.fields[:4]] == ["type", "title", "detail", "status"]
        assert {f.name for f in p.fields if f.required} >= {"type", "title"}
    assert {f.name for f in obj("ResourceNotFoundProblem").fields if f.required} == {
        "type",
        "title",
        "parameter",
        "value",
        "resource_id",
        "resource_type",
    }
    issue = obj("ConnectionExceptionProblem").field("connection_issue").type
    assert isinstance(issue, Str) and issue.enum is not None and "TooManyConnections" in issue.enum


# -- objects ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PAGE_DEFAULTS))
def test_default_fields_are_the_pages(name: str) -> None:
    assert {f.name for f in obj(name).fields if f.default} == PAGE_DEFAULTS[name]


def test_tweet_requirements() -> None:
    tweet = obj("Tweet")
    assert {f.name for f in tweet.fields if f.required} == {"id", "text"}
    created = tweet.field("created_at").type
    assert isinstance(created, Str) and created.format == "date-time"
    assert tweet.field("display_text_range").type == Tup((Int(minimum=0), Int(minimum=0)))
    metrics = obj("TweetPublicMetrics")
    required = {f.name for f in metrics.fields if f.required}
    assert required == {"retweet_count", "reply_count", "like_count", "quote_count"}
    assert {"impression_count", "bookmark_count"} <= {f.name for f in metrics.fields}


def test_like_timestamp_accepts_epoch_milliseconds() -> None:
    t = obj("LikeWithTweetAuthor").field("timestamp_ms").type
    assert isinstance(t, Int) and t.minimum == 0
    assert t.maximum is None or t.maximum >= 1_700_000_000_000
    assert "tweet_author_id" in field_names("LikeWithTweetAuthor")
    assert "liked_tweet_author_id" not in field_names("LikeWithTweetAuthor")


def test_id_patterns() -> None:
    patterns = {n: d.type.pattern for n, d in DEFINITIONS.items() if isinstance(d, Alias) and isinstance(d.type, Str)}
    assert patterns["TweetId"] == patterns["UserId"] == "^[0-9]{1,19}$"
    assert patterns["UserName"] == "^[A-Za-z0-9_]{1,15}$"
    assert patterns["MediaKey"] == "^([0-9]+)_([0-9]+)$"


def test_place_geo_is_geojson_feature() -> None:
    geo = obj("PlaceGeo")
    assert geo.field("type").type == Str(enum=("Feature",))
    bbox = geo.field("bbox").type
    assert isinstance(bbox, Arr) and bbox.min_items == bbox.max_items == 4 and isinstance(bbox.items, Num)
    assert geo.field("properties").type == AnyObj()


def test_expansions_lists_need_an_item() -> None:
    for f in obj("Expansions").fields:
        assert isinstance(f.type, Arr) and f.type.min_items == 1, f.name
    assert field_names("Expansions") == {"media", "places", "polls", "topics", "tweets", "users"}


# -- endpoints ----------------------------------------------------------------------------------


def test_endpoint_names_and_paths() -> None:
    assert {e.name: e.path for e in ENDPOINTS.values()} == {
        "search-stream": "/2/tweets/search/stream",
        "firehose-ja": "/2/tweets/firehose/stream/lang/ja",
        "likes-sample10": "/2/likes/sample10/stream",
    }


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_event_envelope(name: str) -> None:
    e = ENDPOINTS[name]
    event = obj(e.event)
    assert event.require_any == ("data", "errors")
    errors = event.field("errors").type
    assert errors == Arr(Ref("Problem"), min_items=1)
    assert event.field("includes").type == Ref("Expansions")
    data = event.field("data").type
    assert data == Ref("LikeWithTweetAuthor" if name == "likes-sample10" else "Tweet")
    assert ("matching_rules" in field_names(e.event)) == (name == "search-stream")
    names = [p.name for p in e.params]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_resolve_endpoint_by_name_and_path(name: str) -> None:
    e = ENDPOINTS[name]
    assert resolve_endpoint(name) is e
    assert resolve_endpoint(e.path) is e
    assert resolve_endpoint(e.path + "?partition=1&tweet.fields=id") is e


@pytest.mark.parametrize("bad", ["search", "/2/tweets/sample/stream", "", "firehose-en"])
def test_resolve_endpoint_rejects_others(bad: str) -> None:
    with pytest.raises(UnknownEndpointError) as info:
        resolve_endpoint(bad)
    message = str(info.value)
    for e in ENDPOINTS.values():
        assert e.name in message and e.path in message


def test_partition() -> None:
    for name in ("firehose-ja", "likes-sample10"):
        p = ENDPOINTS[name].param("partition")
        assert p.required and p.type == Int(minimum=1, maximum=2)
    with pytest.raises(KeyError):
        ENDPOINTS["search-stream"].param("partition")


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_common_parameters(name: str) -> None:
    e = ENDPOINTS[name]
    assert e.param("backfill_minutes").type == Int(minimum=0, maximum=5)
    assert e.param("start_time").type == Str(format="date-time")
    assert e.param("end_time").type == Str(format="date-time")
    assert {p.name for p in e.params if p.required} == ({"partition"} if name != "search-stream" else set())
    for p in e.params:
        if p.name.endswith(".fields") or p.name == "expansions":
            assert isinstance(p.type, Arr) and p.type.min_items == 1, p.name
            assert isinstance(p.type.items, Str) and p.type.items.enum, p.name
            assert len(set(p.type.items.enum)) == len(p.type.items.enum), p.name


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_fields_parameters_match_objects(name: str) -> None:
    e = ENDPOINTS[name]
    for p in e.params:
        if not p.name.endswith(".fields"):
            continue
        target = FIELDS_PARAM_OBJECT[p.name]
        renames = FIELD_PARAM_RENAMES.get(p.name, {})
        members = {renames.get(m, m) for m in enum_of(e, p.name)}
        declared = field_names(target)
        assert members <= declared, f"{p.name}: not on {target}: {members - declared}"
        assert declared - members == UNSELECTABLE.get(target, set()), f"{p.name}: not selectable"


def test_page_parameter_lists() -> None:
    likes = ENDPOINTS["likes-sample10"]
    assert {p.name for p in likes.params} == {
        "backfill_minutes",
        "partition",
        "start_time",
        "end_time",
        "like_with_tweet_author.fields",
        "expansions",
        "user.fields",
        "tweet.fields",
    }
    assert enum_of(likes, "expansions") == ("liked_tweet_author_id", "liked_tweet_id")
    for name in ("search-stream", "firehose-ja"):
        e = ENDPOINTS[name]
        assert len(enum_of(e, "tweet.fields")) == 31
        assert len(enum_of(e, "expansions")) == 14
        assert len(enum_of(e, "user.fields")) == 26
        assert enum_of(e, "poll.fields") == ("duration_minutes", "end_datetime", "id", "options", "voting_status")
        assert "paid_partnership" not in enum_of(e, "tweet.fields")  # spec only, not on the pages
    assert enum_of(ENDPOINTS["search-stream"], "tweet.fields") == enum_of(likes, "tweet.fields")


# Tweet expansions whose path does not follow member names (documented by the pages).
EXPANSION_EXCEPTIONS = {
    "attachments.media_source_tweet": "member is attachments.media_source_tweet_id",
    "entities.note.mentions.username": "mentions of note_tweet.entities",
}


def _follow(start: str, path: list[str]) -> bool:
    """Whether a dotted expansion path names members, restarting at Tweet after `.id`."""
    current = start
    for i, segment in enumerate(path):
        if segment not in field_names(current):
            return False
        t = obj(current).field(segment).type
        t = t.items if isinstance(t, Arr) else t
        if isinstance(t, Ref) and isinstance(DEFINITIONS[t.name], Obj):
            current = t.name
        elif i + 1 < len(path):
            if current != "ReferencedTweet":
                return False
            return _follow("Tweet", path[i + 1 :])
    return True


@pytest.mark.parametrize("name", ["search-stream", "firehose-ja"])
def test_tweet_expansions_name_members(name: str) -> None:
    for expansion in enum_of(ENDPOINTS[name], "expansions"):
        if expansion in EXPANSION_EXCEPTIONS:
            continue
        assert _follow("Tweet", expansion.split(".")), expansion


def test_like_expansions_name_members() -> None:
    renames = FIELD_PARAM_RENAMES["like_with_tweet_author.fields"]
    for expansion in enum_of(ENDPOINTS["likes-sample10"], "expansions"):
        assert renames.get(expansion, expansion) in field_names("LikeWithTweetAuthor")
