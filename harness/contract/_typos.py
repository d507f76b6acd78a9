"""Likely typos behind a payload's violations: an unknown member close to a declared one
("did you mean `username`?"), and a missing required member close to an unknown one, which
is one typo and not two violations."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.contract import schemagen
from harness.contract._patterns import ecma_pattern
from harness.contract.schemagen import Profile
from harness.contract.validator import Violation

__all__ = ["Typo", "Typos", "typos", "value_at"]

CUTOFF = 0.75  # difflib's ratio: `usernme`, `user_name`, `UserName` for `username`; not `name`


@dataclass(frozen=True)
class Typo:
    """`found` in the object at `pointer`, where `meant` is declared (and, if `missing`, required)."""

    pointer: str
    found: str
    meant: str
    missing: bool

    def __str__(self) -> str:
        if self.missing:
            return f"{self.pointer or '/'}: likely typo: `{self.found}` where `{self.meant}` is required"
        return f"{self.pointer or '/'}: unknown member `{self.found}`: did you mean `{self.meant}`?"


@dataclass(frozen=True)
class Typos:
    """The typos found, and the violations they do not explain."""

    typos: list[Typo]
    rest: list[Violation]


def value_at(payload: Any, pointer: str) -> Any:
    """The value at a JSON pointer, None where there is none."""
    node = payload
    for part in pointer.split("/")[1:] if pointer else []:
        key = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
    return node


def _object_schema(schemas: Mapping[str, Any], location: str) -> Mapping[str, Any] | None:
    """The schema object holding the keyword at `location` (`File.json#/path/keyword`)."""
    file, _, fragment = location.partition("#")
    node: Any = schemas.get(file)
    for part in fragment.split("/")[1:-1]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isascii() and part.isdigit():
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return None
    return node if isinstance(node, Mapping) else None


def _members(schemas: Mapping[str, Any], v: Violation, payload: Any
             ) -> tuple[Mapping[str, Any], dict[str, Any], list[str], list[str]] | None:  # fmt: skip
    """The object a violation is about, its schema, its declared members and its unknown ones."""
    schema, obj = _object_schema(schemas, v.schema_location), value_at(payload, v.pointer)
    if schema is None or not isinstance(obj, dict):
        return None
    declared = list(schema.get("properties", {}))
    patterns = [ecma_pattern(p) for p in schema.get("patternProperties", {})]
    return schema, obj, declared, [k for k in obj if k not in declared and not any(p.search(k) for p in patterns)]


def typos(profile: Profile | str, violations: list[Violation], payload: Any) -> Typos:
    """The likely typos among `violations` of a decoded `payload`: a `required` violation
    explained by a typo is dropped, as is an `additionalProperties` one whose every unknown
    member is a typo of a missing one."""
    schemas = schemagen.generate(Profile.parse(profile))
    found: list[Typo] = []
    explained: set[int] = set()
    for i, v in enumerate(violations):
        if v.keyword not in ("required", "additionalProperties"):
            continue
        members = _members(schemas, v, payload)
        if members is None:
            continue
        schema, obj, _, unknown = members
        if v.keyword == "required":
            for name in schema.get("required", []):
                if name not in obj and v.message == f"{name!r} is a required property":
                    close = difflib.get_close_matches(name, unknown, n=1, cutoff=CUTOFF)
                    if close:
                        found.append(Typo(v.pointer, close[0], name, missing=True))
                        explained.add(i)
    missing_typos = {(t.pointer, t.found) for t in found}
    for i, v in enumerate(violations):
        if v.keyword != "additionalProperties":
            continue
        members = _members(schemas, v, payload)
        if members is None:
            continue
        _, obj, declared, unknown = members
        rest = [k for k in unknown if (v.pointer, k) not in missing_typos]
        if unknown and not rest:
            explained.add(i)
        for key in rest:
            close = difflib.get_close_matches(key, [d for d in declared if d not in obj], n=1, cutoff=CUTOFF)
            if close:
                found.append(Typo(v.pointer, key, close[0], missing=False))
    return Typos(found, [v for i, v in enumerate(violations) if i not in explained])
