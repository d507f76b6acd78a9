"""The two wire dialects: classic (the default contract) and 2.167.

Payloads seen live as recently as 2026 carry the classic member names; spec 2.167 (and
xdk 0.10.6, the SDK built from it) renames them. The differences are declared once here,
as edits to the classic model, read from a comparison of the two specs' components
(2.166 Tweet vs 2.167 Post, User, Expansions, DmEvent): `definitions(dialect)` is the
model of a dialect, `translate` turns a classic payload into a dialect's.

The request parameters keep the classic names in both specs (`tweet.fields=
edit_history_tweet_ids`, `expansions=referenced_tweets.id`): only payloads differ.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from harness._choice import parse_choice
from harness.model._dsl import Alias, AnyObj, Arr, Definition, Field, Obj, Ref, Str, Type, Union_

__all__ = [
    "FLATTENED",
    "LISTED",
    "RENAMES",
    "VALUES",
    "Dialect",
    "Flattened",
    "Listed",
    "Rename",
    "Value",
    "definitions",
    "member",
    "translate",
]


class Dialect(enum.StrEnum):
    """Which member names a payload uses."""

    CLASSIC = "classic"
    V2_167 = "2.167"

    @classmethod
    def parse(cls, value: str | Dialect) -> Dialect:
        return parse_choice(cls, value, "dialect")

    @property
    def folder(self) -> str:
        """Where this dialect's schemas live, relative to the schema root."""
        return "" if self is Dialect.CLASSIC else f"{self.value}/"

    @property
    def other(self) -> Dialect:
        return Dialect.V2_167 if self is Dialect.CLASSIC else Dialect.CLASSIC


@dataclass(frozen=True)
class Rename:
    """Member `classic` of object `definition` is `renamed` in 2.167."""

    definition: str
    classic: str
    renamed: str


@dataclass(frozen=True)
class Value:
    """Enum value `classic` of member `member` is `renamed` in 2.167."""

    definition: str
    member: str
    classic: str
    renamed: str


@dataclass(frozen=True)
class Listed:
    """Member `member` (one object in classic) is an array of such objects in 2.167."""

    definition: str
    member: str


RENAMES: tuple[Rename, ...] = (
    Rename("Tweet", "edit_history_tweet_ids", "edit_history_post_ids"),
    Rename("Tweet", "note_tweet", "note_post"),
    Rename("Tweet", "referenced_tweets", "referenced_posts"),
    Rename("TweetPublicMetrics", "retweet_count", "repost_count"),
    Rename("User", "most_recent_tweet_id", "most_recent_post_id"),
    Rename("User", "pinned_tweet_id", "pinned_post_id"),
    Rename("UserPublicMetrics", "tweet_count", "post_count"),
    Rename("Expansions", "tweets", "posts"),
    Rename("DmEvent", "referenced_tweets", "referenced_posts"),
)
VALUES: tuple[Value, ...] = (Value("TweetWithheld", "scope", "tweet", "post"),)


@dataclass(frozen=True)
class Flattened:
    """Member `member` (objects of `of`, or an array of them) is just their member `to` in 2.167."""

    definition: str
    member: str
    of: str
    to: str


FLATTENED: tuple[Flattened, ...] = (
    Flattened("Tweet", "suggested_source_links", "UrlEntity", "url"),
    Flattened("SuggestedSourceLinkCount", "url", "UrlEntity", "url"),
    Flattened("NoteRequestSuggestions", "source_link", "UrlEntity", "url"),
)
LISTED: tuple[Listed, ...] = (
    Listed("Tweet", "matched_media_notes"),
    Listed("Tweet", "note_request_suggestions"),
    Listed("Tweet", "suggested_source_links_with_counts"),
)


def _edited_field(obj: str, f: Field) -> Field:
    name, t = f.name, f.type
    for r in RENAMES:
        if (r.definition, r.classic) == (obj, f.name):
            name = r.renamed
    for v in VALUES:
        if (v.definition, v.member) == (obj, f.name) and isinstance(t, Str) and t.enum:
            t = Str(t.pattern, t.format, tuple(v.renamed if e == v.classic else e for e in t.enum))
    for fl in FLATTENED:
        if (fl.definition, fl.member) == (obj, f.name):
            t = Arr(_member_type(fl)) if isinstance(t, Arr) else _member_type(fl)
    if any((li.definition, li.member) == (obj, f.name) for li in LISTED):
        t = Arr(t)
    if (name, t) == (f.name, f.type):
        return f
    doc = f"{f.doc} (classic: {f.name})" if name != f.name else f.doc
    return Field(name, t, f.required, f.default, doc)


def _member_type(fl: Flattened) -> Type:
    from harness.model import DEFINITIONS

    target = DEFINITIONS[fl.of]
    assert isinstance(target, Obj)
    return target.field(fl.to).type


@cache
def definitions(dialect: Dialect | str = Dialect.CLASSIC) -> Mapping[str, Definition]:
    """The object model as `dialect` names it (classic: the model itself)."""
    from harness.model import DEFINITIONS

    if Dialect.parse(dialect) is Dialect.CLASSIC:
        return DEFINITIONS
    out: dict[str, Definition] = {}
    for name, d in DEFINITIONS.items():
        if isinstance(d, Obj):
            fields = tuple(_edited_field(name, f) for f in d.fields)
            renamed = {f.name: g.name for f, g in zip(d.fields, fields, strict=True)}
            d = Obj(d.name, fields, d.doc, tuple(renamed.get(n, n) for n in d.require_any))
        out[name] = d
    return out


def member(definition: str, classic: str, dialect: Dialect | str) -> str:
    """The wire name of a classic member of `definition` in `dialect`."""
    if Dialect.parse(dialect) is Dialect.CLASSIC:
        return classic
    return next((r.renamed for r in RENAMES if (r.definition, r.classic) == (definition, classic)), classic)


def translate(payload: Any, definition: str, dialect: Dialect | str) -> Any:
    """A classic-named payload of `definition` as `dialect` names it (a new value).

    Members the model does not declare are kept as they are.
    """
    if Dialect.parse(dialect) is Dialect.CLASSIC:
        return payload
    return _Translate().definition(definition, payload)


class _Translate:
    def __init__(self) -> None:
        from harness.model import DEFINITIONS

        self.model = DEFINITIONS

    def definition(self, name: str, value: Any) -> Any:
        d = self.model[name]
        if isinstance(d, Alias):
            return self.value(d.type, value)
        if isinstance(d, Union_):
            if not isinstance(value, dict):
                return value
            variant = next((v for v in d.variants if value.get(d.tag) in v.tags), None)
            return self.definition(variant.obj, value) if variant else value
        return self.obj(d, value)

    def obj(self, obj: Obj, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        declared = {f.name: f for f in obj.fields}
        out: dict[str, Any] = {}
        for key, item in value.items():
            f = declared.get(key)
            if f is None:
                out[key] = item
                continue
            edited = _edited_field(obj.name, f)
            item = self.value(f.type, item)
            for fl in FLATTENED:
                if (fl.definition, fl.member) == (obj.name, key):
                    item = [_pick(v, fl.to) for v in item] if isinstance(item, list) else _pick(item, fl.to)
            for v in VALUES:
                if (v.definition, v.member) == (obj.name, key) and item == v.classic:
                    item = v.renamed
            if isinstance(edited.type, Arr) and not isinstance(f.type, Arr) and not isinstance(item, list):
                item = [item]
            out[edited.name] = item
        return out

    def value(self, t: Type, value: Any) -> Any:
        if isinstance(t, Ref):
            return self.definition(t.name, value)
        if isinstance(t, Arr) and isinstance(value, list):
            return [self.value(t.items, v) for v in value]
        if isinstance(t, AnyObj):
            return value
        return value


def _pick(value: Any, member: str) -> Any:
    return value.get(member) if isinstance(value, dict) else value
