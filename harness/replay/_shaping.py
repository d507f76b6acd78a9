"""Fields and expansions: a recorded line served as the live API would answer the consumer's query.

The live API returns an object's default fields (the object model's `default` marks: id, text
and edit_history_tweet_ids for a Tweet; id, name and username for a User; media_key and type
for Media; ...) and the ones a `*.fields` parameter asks for; `includes` holds the objects the
requested `expansions` reference. A cassette recorded with more than a consumer asks for is
cut down to that; one recorded with less is served as it is, and `Shape.missing` says which
requested fields and expansions it lacks and how to record them.

An object the model declares no defaults for (LikeWithTweetAuthor) is left whole: what the live
API returns without its `*.fields` is not documented. A field an asked-for expansion hangs on
(author_id for `author_id`, ...) stays in `data`, as the live API keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from harness.model import DEFINITIONS, Endpoint, Obj, Union_, practice, resolve_endpoint
from harness.replay._recorded import Item
from harness.replay._stream import Finish

#: Each fields parameter and the object it selects members of (declared in the model's practice).
FIELD_PARAMS = {param: p.definition for param, p in practice.FIELD_PARAMS.items()}
_INCLUDES = {"tweets": "Tweet", "users": "User", "media": "Media", "polls": "Poll", "places": "Place"}
#: Parameter member -> payload member, where they differ (as the model's practice declares).
_MEMBER = {k: v for p in practice.FIELD_PARAMS.values() for k, v in p.members}

Json = Any


def _get(obj: Json, *path: str) -> Json:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _ids(value: Json) -> list[Json]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _referenced_tweets(data: Json, includes: Json) -> list[Json]:
    ids = {r.get("id") for r in _ids(_get(data, "referenced_tweets")) if isinstance(r, dict)}
    return [t for t in _ids(_get(includes, "tweets")) if isinstance(t, dict) and t.get("id") in ids]


# expansion -> (includes member, matching field, the values referenced by (data, includes))
_Refs = Callable[[Json, Json], list[Json]]
EXPANSIONS: dict[str, tuple[str, str, _Refs]] = {
    "author_id": ("users", "id", lambda d, i: _ids(_get(d, "author_id"))),
    "in_reply_to_user_id": ("users", "id", lambda d, i: _ids(_get(d, "in_reply_to_user_id"))),
    "entities.mentions.username": (
        "users",
        "username",
        lambda d, i: [m.get("username") for m in _ids(_get(d, "entities", "mentions")) if isinstance(m, dict)],
    ),
    "entities.note.mentions.username": (
        "users",
        "username",
        lambda d, i: [
            m.get("username") for m in _ids(_get(d, "note_tweet", "entities", "mentions")) if isinstance(m, dict)
        ],
    ),
    "referenced_tweets.id": (
        "tweets",
        "id",
        lambda d, i: [r.get("id") for r in _ids(_get(d, "referenced_tweets")) if isinstance(r, dict)],
    ),
    "referenced_tweets.id.author_id": (
        "users",
        "id",
        lambda d, i: [t.get("author_id") for t in _referenced_tweets(d, i)],
    ),
    "referenced_tweets.id.attachments.media_keys": (
        "media",
        "media_key",
        lambda d, i: [k for t in _referenced_tweets(d, i) for k in _ids(_get(t, "attachments", "media_keys"))],
    ),
    "attachments.media_keys": ("media", "media_key", lambda d, i: _ids(_get(d, "attachments", "media_keys"))),
    "attachments.poll_ids": ("polls", "id", lambda d, i: _ids(_get(d, "attachments", "poll_ids"))),
    "attachments.media_source_tweet": (
        "tweets",
        "id",
        lambda d, i: _ids(_get(d, "attachments", "media_source_tweet_id")),
    ),
    "geo.place_id": ("places", "id", lambda d, i: _ids(_get(d, "geo", "place_id"))),
    "edit_history_tweet_ids": ("tweets", "id", lambda d, i: _ids(_get(d, "edit_history_tweet_ids"))),
    "article.cover_media": ("media", "media_key", lambda d, i: _ids(_get(d, "article", "cover_media"))),
    "article.media_entities": ("media", "media_key", lambda d, i: _ids(_get(d, "article", "media_entities"))),
    "liked_tweet_id": ("tweets", "id", lambda d, i: _ids(_get(d, "liked_tweet_id"))),
    "liked_tweet_author_id": ("users", "id", lambda d, i: _ids(_get(d, "tweet_author_id"))),
}
#: The `data` member an expansion hangs on: kept when the expansion is asked for.
_HANGS_ON = {
    "author_id": "author_id",
    "in_reply_to_user_id": "in_reply_to_user_id",
    "referenced_tweets.id": "referenced_tweets",
    "attachments.media_keys": "attachments",
    "attachments.poll_ids": "attachments",
    "attachments.media_source_tweet": "attachments",
    "geo.place_id": "geo",
    "liked_tweet_id": "liked_tweet_id",
    "liked_tweet_author_id": "tweet_author_id",
}


def defaults(name: str) -> frozenset[str]:
    """The members the live API returns for object `name` without a `*.fields` parameter."""
    d = DEFINITIONS[name]
    objs = [d] if isinstance(d, Obj) else [DEFINITIONS[v.obj] for v in d.variants] if isinstance(d, Union_) else []
    names = {f.name for o in objs if isinstance(o, Obj) for f in o.fields if f.default}
    if isinstance(d, Union_):
        names.add(d.tag)  # a union's tag is part of every answer (media: type)
    return frozenset(names)


def _members(query: Mapping[str, str], param: str) -> list[str]:
    value = query.get(param)
    return [_MEMBER.get(m, m) for m in value.split(",")] if value else []


@dataclass(frozen=True)
class Shape:
    """How one request's lines differ from the recording's: what to keep, what the cassette lacks."""

    keep: Mapping[str, frozenset[str]]  # object name -> members kept (only the objects cut down)
    expansions: frozenset[str] | None  # the expansions asked for, when includes must be cut down
    hangs_on: frozenset[str]  # data members the asked-for expansions need
    missing: tuple[str, ...]  # "tweet.fields lang", ... the request asks for and the cassette lacks

    @property
    def changes(self) -> bool:
        return bool(self.keep) or self.expansions is not None

    def line(self, raw: bytes, data_type: str) -> bytes:
        """`raw` as served to this request (the same bytes when nothing needs to go)."""
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
            return raw
        data, includes = payload["data"], payload.get("includes")
        if self.expansions is not None and isinstance(includes, dict):
            self._cut_includes(data, includes)
            if not includes:
                del payload["includes"]
        if data_type in self.keep:
            payload["data"] = self._cut(data, data_type, self.hangs_on)
        if isinstance(includes, dict):
            for member, name in _INCLUDES.items():
                if name in self.keep and isinstance(includes.get(member), list):
                    includes[member] = [self._cut(o, name) for o in includes[member]]
        return orjson.dumps(payload) + b"\r\n"  # compact UTF-8, as encode_line writes it

    def _cut(self, obj: Json, name: str, extra: frozenset[str] = frozenset()) -> Json:
        if not isinstance(obj, dict):
            return obj
        keep = self.keep[name] | extra
        return {k: v for k, v in obj.items() if k in keep}

    def _cut_includes(self, data: Json, includes: dict[str, Json]) -> None:
        assert self.expansions is not None
        wanted: dict[str, tuple[str, set[Json]]] = {}
        for exp in self.expansions:
            if exp in EXPANSIONS:
                member, key, refs = EXPANSIONS[exp]
                wanted.setdefault(member, (key, set()))
        for exp in self.expansions:
            if exp in EXPANSIONS:
                member, key, refs = EXPANSIONS[exp]
                wanted[member][1].update(v for v in refs(data, includes) if isinstance(v, str))
        for member in list(includes):
            if member not in _INCLUDES:
                continue
            if member not in wanted:
                del includes[member]
                continue
            key, values = wanted[member]
            kept = [o for o in _ids(includes[member]) if isinstance(o, dict) and o.get(key) in values]
            if kept:
                includes[member] = kept
            else:
                del includes[member]


def shape(endpoint: Endpoint, recorded: Mapping[str, str], asked: Mapping[str, str]) -> Shape:
    """The `Shape` of a request with query `asked` to a recording of `endpoint` made with query `recorded`."""
    names = {p.name for p in endpoint.params}
    keep: dict[str, frozenset[str]] = {}
    missing: list[str] = []
    for param, obj in FIELD_PARAMS.items():
        if param not in names:
            continue
        base = defaults(obj)
        had, want = set(_members(recorded, param)), set(_members(asked, param))
        lacking = sorted(want - had - base)
        if lacking:
            missing.append(f"{param} {', '.join(lacking)}")
        if base and had - want - base:
            keep[obj] = frozenset(base | want)
    expansions = None
    if "expansions" in names:
        had_e, want_e = set(_members(recorded, "expansions")), set(_members(asked, "expansions"))
        if want_e - had_e:
            missing.append(f"expansions {', '.join(sorted(want_e - had_e))}")
        if had_e - want_e:
            expansions = frozenset(want_e)
    hangs = frozenset(_MEMBER.get(_HANGS_ON[e], _HANGS_ON[e]) for e in _members(asked, "expansions") if e in _HANGS_ON)
    return Shape(keep, expansions, hangs, tuple(missing))


def missing_message(endpoint: str, cassette: str, shape_: Shape, recorded: Mapping[str, str],
                    asked: Mapping[str, str]) -> str:  # fmt: skip
    """What the cassette lacks for this request, and the command that records it."""
    union = dict(recorded)
    for param in (*FIELD_PARAMS, "expansions"):
        members = list(dict.fromkeys([*_raw(recorded, param), *_raw(asked, param)]))
        if members:
            union[param] = ",".join(members)
    flags = " ".join(f"--param {k}={v}" for k, v in union.items())
    return (
        f"{endpoint}: the request asks for {'; '.join(shape_.missing)}, which the cassette {cassette} lacks "
        f"(served without them); re-record with: harness record {endpoint} CASSETTE {flags}"
    )


def _raw(query: Mapping[str, str], param: str) -> list[str]:
    value = query.get(param)
    return value.split(",") if value else []


def _data_type(endpoint: str) -> str:
    """The object an endpoint's events carry in `data`, as the model declares it."""
    event = DEFINITIONS[resolve_endpoint(endpoint).event]
    data = next(f.type for f in getattr(event, "fields", ()) if f.name == "data")
    return str(getattr(data, "name", ""))


def shaped(items: Iterator[Item | Finish], shape_: Shape, endpoint: str) -> Iterator[Item | Finish]:
    """The items with their event lines cut down to `shape_`."""
    data_type = _data_type(endpoint)
    for item in items:
        if isinstance(item, Item) and item.event:
            raw = shape_.line(item.raw, data_type)
            if raw is not item.raw:
                item = Item(item.offset, raw, *item[2:])
        yield item
