"""JSON Schemas (draft 2020-12) generated from the object model.

One file per definition (`Tweet.json`, `Problem.json`, ...) and one event schema per
endpoint (`search-stream.event.json`), in two profiles: `default` lets unknown members
through (X adds fields without notice), `strict` refuses them so drift is caught; and in
two dialects (`harness.model.dialect`): classic at the root, 2.167 under `2.167/`. The
output is deterministic, so the checked-in `schemas/` can be compared byte for byte.
"""

from __future__ import annotations

import difflib
import enum
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from harness._choice import parse_choice
from harness.model import (
    DEFINITIONS,
    ENDPOINTS,
    Alias,
    AnyObj,
    Arr,
    Bool,
    Definition,
    Int,
    Num,
    Obj,
    Ref,
    Str,
    Tup,
    Type,
    Union_,
)
from harness.model.dialect import Dialect, definitions
from harness.model.visit import Visitor

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_URI = "https://x-stream-harness.dev/schemas/"

Schema = dict[str, Any]


class Profile(enum.StrEnum):
    """How unknown object members are treated."""

    DEFAULT = "default"
    STRICT = "strict"

    @classmethod
    def parse(cls, value: str | Profile) -> Profile:
        return parse_choice(cls, value, "schema profile")

    @property
    def folder(self) -> str:
        """Where this profile's files live, relative to the schema root."""
        return "" if self is Profile.DEFAULT else "strict/"


def definition_file(name: str) -> str:
    return f"{name}.json"


def event_file(endpoint: str) -> str:
    return f"{endpoint}.event.json"


def schema_uri(filename: str, profile: Profile = Profile.DEFAULT, dialect: Dialect = Dialect.CLASSIC) -> str:
    return f"{BASE_URI}{dialect.folder}{profile.folder}{filename}"


class _Schemas(Visitor[Profile, Schema]):
    """Each declared type's schema (references stay relative, within a profile)."""

    def str_(self, t: Str, profile: Profile) -> Schema:
        s: Schema = {"type": "string"}
        if t.enum is not None:
            s["enum"] = list(t.enum)
        if t.pattern is not None:
            s["pattern"] = t.pattern
        if t.format is not None:
            s["format"] = t.format
        if t.min_length is not None:
            s["minLength"] = t.min_length
        if t.max_length is not None:
            s["maxLength"] = t.max_length
        if t.or_empty:  # the constraints, or the empty string
            s = {"type": "string", "anyOf": [{"const": ""}, {k: v for k, v in s.items() if k != "type"}]}
        return s

    def int_(self, t: Int | Num, profile: Profile) -> Schema:
        s: Schema = {"type": "integer" if isinstance(t, Int) else "number"}
        if t.minimum is not None:
            s["minimum"] = t.minimum
        if t.maximum is not None:
            s["maximum"] = t.maximum
        return s

    def num(self, t: Num, profile: Profile) -> Schema:
        return self.int_(t, profile)

    def bool_(self, t: Bool, profile: Profile) -> Schema:
        return {"type": "boolean"}

    def arr(self, t: Arr, profile: Profile) -> Schema:
        s: Schema = {"type": "array", "items": self.visit(t.items, profile)}
        if t.min_items is not None:
            s["minItems"] = t.min_items
        if t.max_items is not None:
            s["maxItems"] = t.max_items
        return s

    def tup(self, t: Tup, profile: Profile) -> Schema:
        n = len(t.items)
        return {"type": "array", "prefixItems": [self.visit(i, profile) for i in t.items], "minItems": n, "maxItems": n}

    def ref(self, t: Ref, profile: Profile) -> Schema:
        if t.name not in DEFINITIONS:
            raise KeyError(f"reference to undeclared definition {t.name!r}")
        return {"$ref": definition_file(t.name)}

    def any_obj(self, t: AnyObj, profile: Profile) -> Schema:
        return {"type": "object"}

    def obj(self, obj: Obj, profile: Profile) -> Schema:
        properties: Schema = {}
        for f in obj.fields:
            prop = self.visit(f.type, profile)
            if f.doc:
                prop = {"description": f.doc, **prop}
            properties[f.name] = prop
        s: Schema = {"type": "object", "properties": properties}
        required = [f.name for f in obj.fields if f.required]
        if required:
            s["required"] = required
        if obj.require_any:
            s["anyOf"] = [{"required": [name]} for name in obj.require_any]
        if obj.one_of:
            s["oneOf"] = [{"required": [name]} for name in obj.one_of]
        if profile is Profile.STRICT:
            s["additionalProperties"] = False
        return s

    def union(self, union: Union_, profile: Profile) -> Schema:
        # if/then per variant rather than oneOf: a bad member of a subtype is reported at its
        # own pointer instead of as "not valid under any of the given schemas".
        tag = union.tag
        return {
            "type": "object",
            "required": [tag],
            "properties": {tag: {"enum": list(union.tags)}},
            "allOf": [
                {
                    "if": {"required": [tag], "properties": {tag: {"enum": list(v.tags)}}},
                    "then": {"$ref": definition_file(v.obj)},
                }
                for v in union.variants
            ],
        }

    def alias(self, d: Alias, profile: Profile) -> Schema:
        return self.visit(d.type, profile)


_SCHEMAS = _Schemas()


def type_schema(t: Type) -> Schema:
    """The schema of one declared type (references stay relative, within a profile)."""
    return _SCHEMAS.visit(t, Profile.DEFAULT)


def definition_schema(d: Definition, profile: Profile, dialect: Dialect = Dialect.CLASSIC) -> Schema:
    head: Schema = {
        "$schema": DIALECT,
        "$id": schema_uri(definition_file(d.name), profile, dialect),
        "title": d.name,
    }
    if d.doc:
        head["description"] = d.doc
    return {**head, **_SCHEMAS.visit_definition(d, profile)}


def event_schema(endpoint: str, profile: Profile, dialect: Dialect = Dialect.CLASSIC) -> Schema:
    e = ENDPOINTS[endpoint]
    return {
        "$schema": DIALECT,
        "$id": schema_uri(event_file(e.name), profile, dialect),
        "title": f"{e.name} event",
        "description": f"One JSON line of {e.method} {e.path}.",
        "$ref": definition_file(e.event),
    }


@cache
def generate(profile: Profile = Profile.DEFAULT, dialect: Dialect = Dialect.CLASSIC) -> Mapping[str, Schema]:
    """Every schema of one profile and dialect, keyed by file name relative to their folder."""
    out: dict[str, Schema] = {}
    for name, d in definitions(dialect).items():
        out[definition_file(name)] = definition_schema(d, profile, dialect)
    for name in ENDPOINTS:
        out[event_file(name)] = event_schema(name, profile, dialect)
    return dict(sorted(out.items()))


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def rendered_tree() -> dict[str, str]:
    """Every file of every dialect and profile, relative path → text, as `schemas/` must hold them."""
    files: dict[str, str] = {}
    for dialect in Dialect:
        for profile in Profile:
            for filename, schema in generate(profile, dialect).items():
                files[dialect.folder + profile.folder + filename] = render(schema)
    return files


def write_tree(out: Path) -> list[Path]:
    """Write every schema under `out`, removing stale generated files; returns the paths."""
    files = rendered_tree()
    written = []
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    for stale in sorted(out.rglob("*.json")):
        if stale.relative_to(out).as_posix() not in files:
            stale.unlink()
    return written


def diff_tree(root: Path) -> list[str]:
    """What differs between `root` and the generated schemas, one entry per file."""
    expected = rendered_tree()
    found = {p.relative_to(root).as_posix(): p for p in root.rglob("*.json")} if root.is_dir() else {}
    problems: list[str] = []
    for rel, text in expected.items():
        if rel not in found:
            problems.append(f"missing: {rel}")
            continue
        actual = found[rel].read_text(encoding="utf-8")
        if actual != text:
            delta = difflib.unified_diff(
                actual.splitlines(), text.splitlines(), f"{rel} (checked in)", f"{rel} (model)", n=1, lineterm=""
            )
            problems.append(f"differs: {rel}\n" + "\n".join(list(delta)[:40]))
    problems += [f"stale: {rel} (not generated by the model)" for rel in sorted(set(found) - set(expected))]
    return problems


def reached(schemas: Mapping[str, Any], root: str) -> list[str]:
    """The schema files `root` reaches through `$ref`s, itself included (all of them if a
    `$ref` leads elsewhere): what a validator of `root` needs in its registry."""
    seen, todo = {root}, [schemas[root]]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.partition("#")[0]
                if name not in schemas:
                    return list(schemas)
                if name not in seen:
                    seen.add(name)
                    todo.append(schemas[name])
            todo += node.values()
        elif isinstance(node, list):
            todo += node
    return sorted(seen)
