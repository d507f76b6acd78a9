"""msgspec types compiled from the object model: a one-pass decoder that validates.

Each definition becomes a `msgspec.Struct` (or a constrained scalar, or a tagged union),
so `msgspec.json.decode(raw, type=...)` parses and checks a whole event in C. Strings with
a pattern or a format are the exception, as msgspec would call Python's `re` for each:
such members are decoded unchecked (absent ones as ""), every decoded object holding some
appends itself to a list (its `__post_init__` *is* that list's `append`, so no Python runs)
and `batch_ok` checks them afterwards, all the strings of a check at once for a whole batch
of payloads (see `_patterns`); likewise objects that require one of some members. The types
accept a *subset* of what the reference validator accepts: where the two could differ, they
are stricter, never looser.
"""

from __future__ import annotations

import keyword
from types import GenericAlias
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import UNSET, Meta

from harness._patterns import URI_EXACT, URI_FAST, StringCheck, check_for_format, check_for_pattern
from harness._readers import Reader, lacking, strings_of
from harness.model import DEFINITIONS, Alias, AnyObj, Arr, Bool, Field, Int, Num, Obj, Ref, Str, Tup, Type, Union_
from harness.schemagen import Profile

__all__ = ["TypedModel"]

_NEVER = "(?!)"


def _ecma(pattern: str) -> str:
    from harness.validator import ecma_pattern  # the reference's own reading of `$`

    return ecma_pattern(pattern).pattern


class _Collected:
    """The decoded objects of one Struct class, and how to read their checked strings."""

    def __init__(self) -> None:
        self.objects: list[Any] = []
        self.members: list[tuple[StringCheck, str, bool]] = []  # (check, attribute, a list of strings?)

    def add(self, attr: str, many: bool, check: StringCheck) -> None:
        self.members.append((check, attr, many))

    def reads(self) -> list[tuple[StringCheck, Reader]]:
        return [(check, strings_of(attr, many)) for check, attr, many in self.members]


class TypedModel:
    """The msgspec type of every definition, in one profile (strict forbids unknown members).

    Not reentrant: decoding collects objects that `batch_ok` then checks; callers call
    `reset` first (`FastEngine` holds a lock around the three).
    """

    def __init__(self, profile: Profile | str = Profile.DEFAULT) -> None:
        self.profile = Profile.parse(profile)
        #: wire name -> attribute name, per generated Struct class
        self.attributes: dict[type, dict[str, str]] = {}
        self._objects: list[list[Any]] = []
        self._reads: dict[StringCheck, list[tuple[list[Any], Reader]]] = {}  # (objects, reader of their strings)
        self._required: list[tuple[list[Any], Reader]] = []  # (objects, reader of those lacking all required)
        self._shared: dict[tuple[Any, ...], _Collected] = {}
        self._checks: dict[str, tuple[StringCheck, int, int | None] | None] = {}
        self._definitions: dict[str, Any] = {}
        self._variants: dict[tuple[str, str], type[msgspec.Struct]] = {}
        self._building: set[str] = set()

    def reset(self) -> None:
        for objects in self._objects:
            if objects:
                objects.clear()

    def batch_ok(self) -> bool:
        """Whether the objects decoded since `reset` pass what is checked a batch at a time:
        each holds a member it requires one of, and every string passes its check (and reset).
        """
        try:
            for objects, lacking_all in self._required:
                if objects and lacking_all(objects):
                    return False
            for check, reads in self._reads.items():
                # All strings of a check, whatever their class, in one list and one call.
                values: list[str] = []
                for objects, read in reads:
                    if objects:
                        values += read(objects)
                if values and not check.ok(values):
                    return False
            return True
        finally:
            self.reset()

    def _collect(self, collected: _Collected) -> None:
        self._objects.append(collected.objects)
        for check, read in collected.reads():
            self._reads.setdefault(check, []).append((collected.objects, read))

    # -- types -----------------------------------------------------------------------
    def definition(self, name: str) -> Any:
        """The type of one named definition."""
        found = self._definitions.get(name)
        if found is None:
            if name in self._building:  # msgspec types are built bottom-up
                raise ValueError(f"{name} is recursive: the typed decoder cannot express it")
            self._building.add(name)
            try:
                found = self._build(DEFINITIONS[name])
            finally:
                self._building.discard(name)
            self._definitions[name] = found
        return found

    def _build(self, d: Any) -> Any:
        if isinstance(d, Alias):
            return self.type_of(d.type)
        if isinstance(d, Union_):
            return self._union(d)
        assert isinstance(d, Obj)
        return self._struct(d)

    def type_of(self, t: Type) -> Any:
        """The type of one declaration, every string constraint checked per value."""
        if isinstance(t, Str):
            return self._string(t)
        if isinstance(t, (Int, Num)):
            base: type = int if isinstance(t, Int) else float
            if t.minimum is None and t.maximum is None:
                return base
            return Annotated[base, Meta(ge=t.minimum, le=t.maximum)]
        if isinstance(t, Bool):
            return bool
        if isinstance(t, Arr):
            return self._array(t, self.type_of(t.items))
        if isinstance(t, Tup):
            return GenericAlias(tuple, tuple(self.type_of(i) for i in t.items))
        if isinstance(t, Ref):
            return self.definition(t.name)
        if isinstance(t, AnyObj):
            return dict
        raise TypeError(f"not a model type: {t!r}")

    @staticmethod
    def _array(t: Arr, items: Any) -> Any:
        listed = GenericAlias(list, (items,))
        if t.min_items is None and t.max_items is None:
            return listed
        return Annotated[listed, Meta(min_length=t.min_items, max_length=t.max_items)]

    def _string(self, t: Str) -> Any:
        patterns = [_ecma(t.pattern)] if t.pattern is not None else []
        if t.format is not None:
            patterns.append(_format_regex(t.format))
        # Several patterns: each must match somewhere (a `^` inside still anchors at 0).
        joined = patterns[0] if len(patterns) == 1 else "".join(f"(?=[\\s\\S]*?(?:{p}))" for p in patterns)
        plain = _constrained(t, joined if patterns else None, t.min_length)
        if t.enum is None:
            return plain
        # Literal takes no constraints: keep only the members the constraints accept.
        members = tuple(v for v in t.enum if _accepts(plain, v))
        return Literal[members] if members else Annotated[str, Meta(pattern=_NEVER)]

    def _collected_string(self, t: Type) -> tuple[Any, StringCheck] | None:
        """A string type without its pattern or format, and the check of its class."""
        while isinstance(t, Ref) and isinstance(DEFINITIONS[t.name], Alias):
            t = DEFINITIONS[t.name].type  # type: ignore[union-attr]
        if not isinstance(t, Str) or t.enum is not None or (t.pattern is None) == (t.format is None):
            return None  # plain, enum, or both constraints: per value
        key = t.pattern or f"format:{t.format}"
        found = self._checks.get(key)
        if key not in self._checks:
            if t.pattern is not None:
                found = check_for_pattern(_ecma(t.pattern))
            else:
                check = check_for_format(t.format or "")
                found = (check, 1, None) if check is not None else None
            self._checks[key] = found
        if found is None:
            return None
        check, lo, hi = found
        # At least one character: "" is what an absent member is collected as.
        lo = max(1, lo, t.min_length or 0)
        hi = t.max_length if hi is None else hi if t.max_length is None else min(hi, t.max_length)
        return Annotated[str, Meta(min_length=lo, max_length=hi)], check

    # -- objects ---------------------------------------------------------------------
    def _struct(self, obj: Obj, tag_field: str | None = None, tag: str | None = None) -> type[msgspec.Struct]:
        collected = _Collected()
        fields: list[tuple[str, Any, Any]] = []
        attrs: dict[str, str] = {}
        defaults: dict[str, Any] = {}
        for i, f in enumerate(obj.fields):
            if f.name == tag_field:
                continue
            attr = f.name
            if not attr.isidentifier() or keyword.iskeyword(attr) or attr.startswith("_"):
                attr = next(a for a in (f"field_{i}{'_' * n}" for n in range(len(obj.fields) + 1)) if a not in attrs)
            attrs[f.name] = attr
            t, defaults[f.name] = self._field_type(f, attr, collected)
            default = msgspec.NODEFAULT if f.required else defaults[f.name]
            fields.append((attr, t, msgspec.field(default=default, name=f.name)))
        if obj.require_any:
            # Checked with the batch (no Python per object): an own list, as the requirement
            # reads members only this class has. A present member never is the very default
            # object ("", () or UNSET) it holds when absent.
            names = [n for n in obj.require_any if n in attrs]
            if not names:
                raise ValueError(f"{obj.name} requires one of members it does not declare")
            self._collect(collected)
            lacking_all = lacking([attrs[n] for n in names], [defaults[n] for n in names])
            self._required.append((collected.objects, lacking_all))
        elif collected.members:
            # Classes whose strings are read the same way (same attributes, same checks)
            # share one list: fewer lists to go through per batch.
            signature = tuple(sorted((id(check), attr, many) for check, attr, many in collected.members))
            shared = self._shared.get(signature)
            if shared is None:
                shared = self._shared[signature] = collected
                self._collect(collected)
            collected = shared
        namespace: dict[str, Any] = {}
        if obj.require_any or collected.members:
            # The list's own append: msgspec calls it with the object, no Python frame.
            namespace["__post_init__"] = collected.objects.append
        cls = msgspec.defstruct(
            obj.name if tag is None else f"{obj.name}[{tag}]",
            fields,
            kw_only=True,
            forbid_unknown_fields=self.profile is Profile.STRICT,
            gc=False,  # decoded payloads hold no cycles
            tag_field=tag_field,
            tag=tag,
            namespace=namespace,
            module=__name__,
        )
        self.attributes[cls] = attrs
        return cls

    def _field_type(self, f: Field, attr: str, collected: _Collected) -> tuple[Any, Any]:
        """A field's type and its default when absent, registering collected strings.

        The annotation is never `T | UnsetType` (slower to decode): an absent member takes
        the default, a present one must still be a `T`.
        """
        found = self._collected_string(f.type)
        if found is not None:
            collected.add(attr, False, found[1])
            return found[0], ""
        if isinstance(f.type, Arr):
            found = self._collected_string(f.type.items)
            if found is not None:
                collected.add(attr, True, found[1])
                return self._array(f.type, found[0]), ()
        return self.type_of(f.type), UNSET

    def _union(self, union: Union_) -> Any:
        members: list[Any] = []
        for variant in union.variants:
            obj = DEFINITIONS[variant.obj]
            assert isinstance(obj, Obj)
            tag_decl = next((f for f in obj.fields if f.name == union.tag), None)
            for tag in variant.tags:
                # The reference also checks the tag against the variant's own declaration
                # (and strict refuses a tag the variant does not declare): a tag that would
                # fail there is left out, so such payloads go to the reference.
                if tag_decl is None and self.profile is Profile.STRICT:
                    continue
                if tag_decl is not None and not _accepts(self.type_of(tag_decl.type), tag):
                    continue
                key = (variant.obj, tag)
                if key not in self._variants:
                    self._variants[key] = self._struct(obj, union.tag, tag)
                members.append(self._variants[key])
        # msgspec only insists on the tag when it has to choose between two or more structs.
        members.append(_refusing(union.tag))
        return Union[tuple(members)]


def _format_regex(name: str) -> str:
    """A per-value regex for a `format` (used where strings are not collected)."""
    if name == "date-time":
        return rf"^(?:{_DATE_TIME})\Z"
    if name == "uri":
        return rf"^(?:{URI_FAST})\Z|^(?:{URI_EXACT})\Z" if URI_EXACT is not None else _NEVER
    raise ValueError(f"format {name!r} has no fast check: add one to harness._patterns")


_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"  # 0001-9999
_DAY = r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
_LEAP = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
# rfc3339_validator's rule on value.upper() (ASCII, year 0 refused, days per the calendar)
_DATE_TIME = (
    rf"(?:{_YEAR}-{_DAY}|{_LEAP})[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)


def _constrained(t: Str, pattern: str | None, min_length: int | None) -> Any:
    if pattern is None and min_length is None and t.max_length is None:
        return str
    return Annotated[str, Meta(pattern=pattern, min_length=min_length, max_length=t.max_length)]


def _accepts(t: Any, value: Any) -> bool:
    try:
        msgspec.convert(value, t)
    except msgspec.ValidationError:
        return False
    return True


def _refusing(tag_field: str) -> type[msgspec.Struct]:
    def __post_init__(self: Any) -> None:
        raise ValueError("never valid")

    return msgspec.defstruct(
        "Refused", [], tag_field=tag_field, tag="\x00never", namespace={"__post_init__": __post_init__}
    )
