"""The vocabulary the object model is declared in.

Every wire field of every X object is declared exactly once, with these types, in the
sibling modules of this package. Schema generation, the fast validator, the hypothesis
strategies and the endpoint parameter checks all read these declarations; none of them
re-declares a field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Str:
    """A JSON string, optionally constrained."""

    pattern: str | None = None
    format: str | None = None  # "date-time", "uri" or "iri": each is checked
    enum: tuple[str, ...] | None = None
    min_length: int | None = None
    max_length: int | None = None
    or_empty: bool = False  # "" is accepted too, whatever the format or pattern say


@dataclass(frozen=True)
class Int:
    """A JSON integer (no fraction), optionally bounded (inclusive)."""

    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Num:
    """Any JSON number."""

    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Bool:
    """A JSON boolean."""


@dataclass(frozen=True)
class Arr:
    """A JSON array whose items all have one type."""

    items: Type
    min_items: int | None = None
    max_items: int | None = None


@dataclass(frozen=True)
class Tup:
    """A fixed-length JSON array with one type per position (`prefixItems`)."""

    items: tuple[Type, ...]


@dataclass(frozen=True)
class Ref:
    """A reference to a named definition (an `Obj`, `Union` or `Alias`)."""

    name: str


@dataclass(frozen=True)
class AnyObj:
    """A JSON object whose members are not described (GeoJSON `properties`)."""


Type = Union[Str, Int, Num, Bool, Arr, Tup, Ref, AnyObj]


@dataclass(frozen=True)
class Field:
    """One member of an object, under its wire name.

    `default` marks the fields X returns without any `*.fields` parameter (the pages'
    "(default)"); `required` means a payload without the member is invalid.
    """

    name: str
    type: Type
    required: bool = False
    default: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Obj:
    """A named JSON object.

    `require_any` lists members of which at least one must be present (a stream line
    carries `data`, `errors`, or both); `one_of` members of which exactly one must be (a
    compliance event is a `delete`, a `drop`... and never two: the spec's `oneOf` of
    objects that each require one member).
    """

    name: str
    fields: tuple[Field, ...]
    doc: str = ""
    require_any: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()

    def extend(self, name: str, *extra: Field, doc: str = "") -> Obj:
        """A new object with this one's fields and `extra` (union subtypes).

        An extra field named like a base field replaces it in place, so a subtype can
        require what the base leaves optional.
        """
        override = {f.name: f for f in extra}
        fields = tuple(override.pop(f.name, f) for f in self.fields) + tuple(override.values())
        return Obj(name, fields, doc or self.doc, self.require_any, self.one_of)

    def field(self, name: str) -> Field:
        """The field with this wire name."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")


@dataclass(frozen=True)
class Variant:
    """One branch of a tagged union: the tag values that select object `obj`."""

    tags: tuple[str, ...]
    obj: str


@dataclass(frozen=True)
class Union_:
    """A tagged union: member `tag` decides which object the payload must be.

    A tag outside every variant is a violation, so a misspelt `type` is caught.
    """

    name: str
    tag: str
    variants: tuple[Variant, ...]
    doc: str = ""

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(t for v in self.variants for t in v.tags)


@dataclass(frozen=True)
class Alias:
    """A named reusable type (ids, usernames, media keys)."""

    name: str
    type: Type
    doc: str = ""


Definition = Union[Obj, Union_, Alias]


@dataclass(frozen=True)
class Param:
    """One query parameter of a stream endpoint.

    `type` is the value's type once parsed: `Arr(Str(enum=...))` for the comma-separated
    lists (`tweet.fields`, `expansions`, ...), whose members are those the page lists.
    """

    name: str
    type: Type
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Endpoint:
    """A stream endpoint: where it lives, what it accepts, what one line of it is."""

    name: str
    path: str
    params: tuple[Param, ...]
    event: str  # name of the Obj one stream line must be
    method: str = "GET"
    doc: str = ""
    notes: tuple[str, ...] = field(default=())

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)
