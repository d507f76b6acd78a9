"""Events shaped as the live API sends them, for one endpoint and one request.

Driven by the endpoint's event object and its request's parameters, never by the
endpoint's name: the `data` object carries its default members, the members its
`*.fields` parameter requests (present as often as live: see `harness.model.practice`),
and what the requested expansions reference; `includes` holds exactly the objects those
references name. Ids are unique snowflakes that agree with `created_at` and grow through
a session; the event is then named as the dialect names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.cassette._live_kinds import AGREE as KINDS
from harness.model import Arr, Endpoint, Int, Obj, Ref, Str, Union_
from harness.model.dialect import Dialect, definitions, translate
from harness.model.practice import (
    ALWAYS,
    COMMON,
    EXPANSIONS,
    FIELD_PARAMS,
    MEDIA_KEY_PREFIX,
    NON_EMPTY,
    RARE,
    USER_CONTEXT,
    Expansion,
)
from harness.model.snowflake import created_at, snowflake_ms

if TYPE_CHECKING:
    from harness.cassette.synth import Synth

_DAY_MS = 86_400_000
_RARE = 0.05
_LIKE_ID_HEX = 32


def typical_query(endpoint: Endpoint) -> dict[str, str]:
    """A rich request an app makes: every `*.fields` member a stream can send, every
    expansion, and the first partition where one is required."""
    query: dict[str, str] = {}
    for p in endpoint.params:
        t = p.type
        if p.name in FIELD_PARAMS or p.name == "expansions":
            assert isinstance(t, Arr) and isinstance(t.items, Str) and t.items.enum
            query[p.name] = ",".join(v for v in t.items.enum if v not in USER_CONTEXT)
        elif p.required and isinstance(t, Int):
            query[p.name] = str(t.minimum if t.minimum is not None else 1)
    return query


class LiveEvents:
    """Successive events of one endpoint for one request (`query`), in one dialect."""

    def __init__(self, synth: Synth, endpoint: Endpoint, query: Mapping[str, str], dialect: Dialect) -> None:
        self.synth = synth
        self.endpoint = endpoint
        self.dialect = dialect
        self.model = definitions(Dialect.CLASSIC)
        envelope = self.model[endpoint.event]
        assert isinstance(envelope, Obj)
        self.envelope = envelope
        data = envelope.field("data").type if "data" in {f.name for f in envelope.fields} else None
        self.data = data.name if isinstance(data, Ref) else None
        accepted = {p.name for p in endpoint.params}
        #: objects whose members a `*.fields` parameter of this endpoint selects; the others'
        #: optional members are drawn as the schema allows
        self.governed = {fp.definition for name, fp in FIELD_PARAMS.items() if name in accepted}
        #: object -> members requested by its `*.fields` parameter
        self.requested: dict[str, set[str]] = {}
        for name, value in query.items():
            fp = FIELD_PARAMS.get(name)
            if fp is not None and name in accepted:
                self.requested[fp.definition] = {fp.member(v) for v in value.split(",") if v}
        asked = {v for v in query.get("expansions", "").split(",") if v} if "expansions" in accepted else set()
        self.expansions = [(n, x) for n, x in EXPANSIONS.items() if n in asked]

    # -- one event -----------------------------------------------------------------------
    def event(self) -> dict[str, Any]:
        s = self.synth
        s.now_ms += s.source.integer(1, 1_000)  # events arrive in time order
        out: dict[str, Any] = {}
        if self.data is not None:
            extra = {x.path.split(".")[0] for _, x in self.expansions if x.via is None and x.definition == self.data}
            out["data"] = self.object(self.data, s.now_ms, extra=extra)
            includes = self.includes(out["data"])
            _liked_by_its_author(out["data"], includes)
            if includes:
                out["includes"] = includes
        always = ALWAYS.get(self.envelope.name, ())
        for f in self.envelope.fields:
            if f.name in always and f.name not in out:
                t = f.type
                if isinstance(t, Arr) and (self.envelope.name, f.name) in NON_EMPTY:
                    t = Arr(t.items, max(1, t.min_items or 0), t.max_items)
                out[f.name] = s.value(t, f.name, 1)
        if not out:
            out = s.obj(self.envelope, (self.envelope.name, 0))
        return dict(translate(out, self.endpoint.event, self.dialect))

    # -- objects -------------------------------------------------------------------------
    def object(self, name: str, at: int, *, fixed: Mapping[str, Any] | None = None,
               extra: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:  # fmt: skip
        """One object of `name` made at epoch ms `at`, with its members as a request shapes them."""
        s = self.synth
        d = self.model[name]
        fixed = fixed or {}
        if isinstance(d, Union_):
            tags = [_media_type(fixed)] if name == "Media" and "media_key" in fixed else list(d.tags)
            variant = next(v for v in d.variants if tags[0] in v.tags) if len(tags) == 1 else s.choice(d.variants)
            target = self.model[variant.obj]
            assert isinstance(target, Obj)
            out = self._members(target, name, extra)
            out[d.tag] = tags[0] if len(tags) == 1 else s.choice(variant.tags)
        else:
            assert isinstance(d, Obj)
            out = self._members(d, name, extra)
        out.update(fixed)
        _AGREE.get(name, _nothing)(self, out, at, fixed)
        return out

    def _members(self, obj: Obj, requested_as: str, extra: set[str] | frozenset[str]) -> dict[str, Any]:
        s = self.synth
        if requested_as not in self.governed:
            drawn: dict[str, Any] = s.obj(obj, (obj.name, 1))
            return drawn
        wanted = self.requested.get(requested_as, set()) | extra
        out: dict[str, Any] = {}
        for f in obj.fields:
            keys = {(obj.name, f.name), (requested_as, f.name)}
            sent = f.required or f.default or f.name in ALWAYS.get(obj.name, ())
            if not sent and f.name in wanted:
                sent = bool(keys & COMMON) or s.chance(_RARE if keys & RARE else s.optional)
            if sent:
                out[f.name] = s.value(f.type, f.name, 1)
        return out

    # -- includes ------------------------------------------------------------------------
    def includes(self, data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for _, x in self.expansions:
            if x.via is None and x.definition == self.data:
                self._join(x, [data], found)
        for _, x in self.expansions:
            if x.via is not None:
                via = EXPANSIONS[x.via]
                self._join(x, list(found.get(via.include, {}).values()), found)
        return {k: list(v.values()) for k, v in found.items() if v}

    def _join(self, x: Expansion, sources: list[dict[str, Any]], found: dict[str, dict[str, dict[str, Any]]]) -> None:
        into = found.setdefault(x.include, {})
        for source in sources:
            for value in _at_path(source, x.path.split(".")):
                if isinstance(value, str) and value not in into:
                    needs = {y.path.split(".")[0] for _, y in self.expansions if y.via is not None}
                    at = _made_at(value) if x.key == "id" else self.synth.now_ms - _DAY_MS
                    into[value] = self.object(x.target, at, fixed={x.key: value}, extra=needs)


# -- what agrees with what, per object ------------------------------------------------------


def _nothing(live: LiveEvents, out: dict[str, Any], at: int, fixed: Mapping[str, Any]) -> None:
    return None


def _fresh(live: LiveEvents, ms: int) -> str:
    return str(live.synth.snowflake(ms))


def _earlier(live: LiveEvents, at: int, span: int) -> int:
    return at - live.synth.source.integer(1_000, span)


def _tweet(live: LiveEvents, t: dict[str, Any], at: int, fixed: Mapping[str, Any]) -> None:
    s = live.synth
    if "id" not in fixed:  # an included Tweet keeps the id it was referenced by
        t["id"] = _fresh(live, at)
    at = _made_at(t["id"])
    if "created_at" in t:
        t["created_at"] = created_at(at)
    if "edit_history_tweet_ids" in t:
        t["edit_history_tweet_ids"] = [t["id"]]
    if "author_id" in t:
        t["author_id"] = _fresh(live, _earlier(live, at, 3_000 * _DAY_MS))
    refs = t.get("referenced_tweets")
    if refs:
        seen: set[str] = set()
        for r in list(refs):  # a Tweet quotes, retweets or replies to one Tweet each at most
            if r["type"] in seen:
                refs.remove(r)
            seen.add(r["type"])
        for r in refs:
            r["id"] = _fresh(live, _earlier(live, at, 30 * _DAY_MS))
    if "conversation_id" in t:
        replied = [r["id"] for r in refs or () if r["type"] == "replied_to"]
        t["conversation_id"] = replied[0] if replied else t["id"]
    if "in_reply_to_user_id" in t:
        t["in_reply_to_user_id"] = _fresh(live, _earlier(live, at, 3_000 * _DAY_MS))
    if "attachments" in t:  # media or a poll, never both, never nothing
        n = s.source.integer(1, 4)
        if s.chance(0.8):
            prefixes = list(MEDIA_KEY_PREFIX.values())
            t["attachments"] = {"media_keys": [f"{s.choice(prefixes)}_{_fresh(live, at - 1_000)}" for _ in range(n)]}
        else:
            t["attachments"] = {"poll_ids": [_fresh(live, at - 1_000)]}
    for member in ("entities", "geo", "withheld", "note_tweet", "article", "scopes"):
        if t.get(member) == {}:  # sent only when there is something to say
            del t[member]
    geo = t.get("geo")
    if geo and "place_id" in geo:
        geo["place_id"] = s.regex("^[0-9a-f]{16}$")
    for mention in (t.get("entities") or {}).get("mentions", ()):
        mention["username"] = s.regex("^[a-z][a-z0-9_]{3,12}$")
        if "id" in mention:
            mention["id"] = _fresh(live, _earlier(live, at, 3_000 * _DAY_MS))
    if "lang" in t:
        t["lang"] = s.lang
    _spell(live, t)


def _spell(live: LiveEvents, t: dict[str, Any]) -> None:
    """The text holds its entities where their indices say (code points, as X counts)."""
    s = live.synth
    text = t["text"]
    entities = t.get("entities") or {}
    sep = "" if s.lang == "ja" else " "
    for kind, mark in (("mentions", "@"), ("hashtags", "#"), ("cashtags", "$"), ("urls", "")):
        for entity in entities.get(kind, ()):
            if kind == "hashtags":
                entity["tag"] = s.words(1)
            elif kind == "cashtags":
                entity["tag"] = s.regex("^[A-Z]{2,5}$")
            token = mark + (entity["url"] if kind == "urls" else entity.get("username") or entity["tag"])
            text += " "
            entity["start"], entity["end"] = len(text), len(text) + len(token)
            text += token
    for annotation in entities.get("annotations", ()):
        word = text.split(sep)[0] if sep else text[:2]
        annotation.update(start=0, end=len(word) - 1, normalized_text=word)  # an annotation's end is inclusive
    t["text"] = text
    if "display_text_range" in t:
        t["display_text_range"] = [0, len(text)]


def _user(live: LiveEvents, u: dict[str, Any], at: int, fixed: Mapping[str, Any]) -> None:
    if "id" not in fixed:
        u["id"] = _fresh(live, _earlier(live, at, 3_000 * _DAY_MS))
    if "created_at" in u:
        u["created_at"] = created_at(_made_at(u["id"]))
    if "username" not in fixed:
        u["username"] = live.synth.regex("^[a-z][a-z0-9_]{3,12}$")
    u["name"] = live.synth.words(2)
    if u.get("entities") == {}:
        del u["entities"]


def _media(live: LiveEvents, m: dict[str, Any], at: int, fixed: Mapping[str, Any]) -> None:
    if "media_key" not in fixed:
        m["media_key"] = f"{MEDIA_KEY_PREFIX.get(m['type'], '3')}_{_fresh(live, at)}"


def _media_type(fixed: Mapping[str, Any]) -> str:
    """The media type a media key names (its number before `_`)."""
    prefix = str(fixed["media_key"]).partition("_")[0]
    return next((t for t, p in MEDIA_KEY_PREFIX.items() if p == prefix), "photo")


def _poll(live: LiveEvents, p: dict[str, Any], at: int, fixed: Mapping[str, Any]) -> None:
    for position, option in enumerate(p.get("options", ()), 1):
        option["position"] = position
    if "end_datetime" in p:
        p["end_datetime"] = created_at(at + p.get("duration_minutes", 1440) * 60_000)


def _like(live: LiveEvents, like: dict[str, Any], at: int, fixed: Mapping[str, Any]) -> None:
    like["id"] = live.synth.regex(f"^[0-9a-f]{{{_LIKE_ID_HEX}}}$")
    if "created_at" in like:
        like["created_at"] = created_at(at)
    if "timestamp_ms" in like:
        like["timestamp_ms"] = at
    liked = _earlier(live, at, 30 * _DAY_MS)
    if "liked_tweet_id" in like:
        like["liked_tweet_id"] = _fresh(live, liked)
    if "tweet_author_id" in like:  # the author joined before posting the liked Tweet
        like["tweet_author_id"] = _fresh(live, _earlier(live, liked, 3_000 * _DAY_MS))


def _liked_by_its_author(data: dict[str, Any], includes: dict[str, list[dict[str, Any]]]) -> None:
    """The liked Tweet, when included, is by the like's `tweet_author_id`."""
    for t in includes.get("tweets", ()):
        if t["id"] == data.get("liked_tweet_id") and "author_id" in t and "tweet_author_id" in data:
            t["author_id"] = data["tweet_author_id"]


_AGREE = {"Tweet": _tweet, "User": _user, "Media": _media, "Poll": _poll, "LikeWithTweetAuthor": _like, **KINDS}


def _made_at(value: str) -> int:
    return snowflake_ms(value) if value.isascii() and value.isdigit() else 0


def _at_path(node: Any, path: list[str]) -> list[Any]:
    """The values at a dotted member path, following each item of an array."""
    if not path:
        return node if isinstance(node, list) else [node]
    if isinstance(node, list):
        return [v for item in node for v in _at_path(item, path)]
    if isinstance(node, dict) and path[0] in node:
        return _at_path(node[path[0]], path[1:])
    return []
